// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// POP3 protocol core, sans-IO: command encoding and an incremental reply parser.
// Nothing here touches a socket; the client (pop3/client.hpp) feeds it bytes.

namespace mw::pop3 {

// The longest status line or line of a line-oriented reply (CAPA, LIST, UIDL) accepted.
// RFC 1939 section 3 allows 512 octets; real servers send longer text, so be generous.
inline constexpr std::size_t k_max_line = 8192;

// The most rows a LIST or UIDL reply may have, and the most octets of UIDs a UIDL reply may
// carry in all (RFC 1939 sets no limit; no real maildrop comes near): a server that sends
// more gets a ProtocolError rather than our memory.
inline constexpr std::size_t k_max_listing_rows = 1'000'000;
inline constexpr std::size_t k_max_uidl_octets = 64 * 1024 * 1024;
// The longest CAPA reply accepted (RFC 2449; a real one is a few hundred octets).
inline constexpr std::size_t k_max_capa_octets = 64 * 1024;

// A status indicator line: "+OK text", "-ERR [CODE] text" (RFC 1939 section 3,
// RESP-CODES RFC 2449 section 8), or a SASL continuation "+ base64" (RFC 5034 section 4).
struct Status {
  enum class Kind { ok, err, continuation };
  Kind kind = Kind::ok;
  std::string code;  // response code without brackets, e.g. "IN-USE", "SYS/TEMP"; or ""
  std::string text;  // the rest of the line (for a continuation: the base64 challenge)

  bool ok() const { return kind == Kind::ok; }
};

// Parses one status line (without its line ending). Throws ProtocolError when the line is
// neither +OK, -ERR nor (if allowed) a "+" continuation.
Status parse_status(std::string_view line, bool allow_continuation = false);

// What the next reply is expected to look like.
enum class ReplyShape {
  single,      // one status line
  multi_line,  // status line, then on +OK a dot-terminated body (RFC 1939 section 3)
  sasl,        // one status line, which may be a "+ " continuation (RFC 5034)
};

// Whether body lines keep their CRLF or are converted to LF.
enum class LineEnding { crlf, lf };

// Incremental parser for one reply at a time. feed() takes whatever bytes arrived and
// returns one event; it never buffers body data (only a status line), so memory stays
// bounded for a message of any size, and it is correct for input split at any byte.
class ReplyParser {
public:
  struct Event {
    enum class Type {
      need_more,  // all input consumed (or none given); feed more bytes
      status,     // the status line was parsed: see status()
      data,       // a chunk of dot-unstuffed body bytes: see data
      end,        // the reply is complete; bytes after it belong to the next reply
    };
    Type type = Type::need_more;
    std::string_view data;  // for Type::data: a view into the input given to feed()
  };

  // Starts parsing a new reply of the given shape.
  void start(ReplyShape shape, LineEnding ending = LineEnding::crlf);

  // Consumes a prefix of input (sets consumed) and returns the next event. Call again with
  // the unconsumed rest until need_more. Throws ProtocolError on a malformed or over-long
  // status line.
  Event feed(std::string_view input, std::size_t& consumed);

  // The status line of the current reply (valid after the status event).
  const Status& status() const { return m_status; }

  // True between start() and the end event.
  bool active() const { return m_state != State::idle; }

private:
  enum class State {
    idle,
    status_line,  // collecting the status line
    line_start,   // body: at the start of a line
    dot,          // body: line started with '.'
    dot_cr,       // body: line is ".\r" so far
    in_line,      // body: inside a line
    cr,           // body: saw CR inside a line (LineEnding::lf holds it back)
    finished,     // status of a single-line reply returned; end comes next
  };

  Event feed_status(std::string_view input, std::size_t& consumed);

  State m_state = State::idle;
  ReplyShape m_shape = ReplyShape::single;
  LineEnding m_ending = LineEnding::crlf;
  std::string m_line;
  Status m_status;
};

// Splits body data of a line-oriented multi-line reply (CAPA, LIST, UIDL) into lines.
// Body bytes arrive in arbitrary chunks; complete lines (without line ending) come out.
class LineSplitter {
public:
  // Appends chunk; calls on_line(std::string_view) for every complete line. Throws
  // ProtocolError for a line longer than k_max_line.
  template <typename F> void feed(std::string_view chunk, F&& on_line)
  {
    while (!chunk.empty()) {
      auto nl = chunk.find('\n');
      auto piece = chunk.substr(0, nl);
      append(piece);
      if (nl == std::string_view::npos) {
        return;
      }
      on_line(finish_line());
      chunk.remove_prefix(nl + 1);
    }
  }

  // Returns the trailing line that had no line ending (or "" if none).
  std::string_view rest() { return finish_line(); }

private:
  void append(std::string_view piece);
  std::string_view finish_line();

  std::string m_line;
  std::string m_done;
};

// Capabilities from a CAPA reply (RFC 2449 section 5).
struct Capabilities {
  bool known = false;  // the server answered CAPA with +OK
  bool top = false;
  bool uidl = false;
  bool user = false;
  bool stls = false;
  bool pipelining = false;
  bool resp_codes = false;
  bool auth_resp_code = false;
  bool utf8 = false;
  std::vector<std::string> sasl;  // mechanism names, upper case
  std::string implementation;
  std::vector<std::string> lines;  // every line as the server sent it (mailwrench info)

  // Adds one CAPA line (without line ending).
  void add_line(std::string_view line);
};

// One row of a LIST reply or the +OK of "LIST n" (RFC 1939 section 5).
struct ScanListing {
  std::uint64_t number = 0;
  std::uint64_t octets = 0;
};

// One row of a UIDL reply or the +OK of "UIDL n" (RFC 1939 section 7).
struct UniqueId {
  std::uint64_t number = 0;
  std::string uid;
};

// The maildrop size from STAT's +OK text (RFC 1939 section 5).
struct Maildrop {
  std::uint64_t messages = 0;
  std::uint64_t octets = 0;
};

// Parses "nn mm" of STAT's +OK text; extra text after the numbers is allowed.
Maildrop parse_stat(std::string_view text);

// Parses "msg octets" (a LIST line or the text of "LIST n"'s +OK).
ScanListing parse_scan_listing(std::string_view line);

// Parses "msg uid" (a UIDL line or the text of "UIDL n"'s +OK). UIDs are 1-70 characters
// in 0x21-0x7E (RFC 1939 section 7); longer or odd ones are accepted up to k_max_line but
// must not be empty or contain control characters.
UniqueId parse_unique_id(std::string_view line);

// The APOP timestamp "<...@...>" in the greeting, if any (RFC 1939 section 7).
std::optional<std::string> apop_timestamp(std::string_view greeting);

// Command encoding (RFC 1939, 2449, 2595, 5034): each returns the line with CRLF.
// Arguments must not contain CR or LF (throws UsageError otherwise: a UID from the user).
std::string command(std::string_view name);
std::string command(std::string_view name, std::string_view argument);
std::string command(std::string_view name, std::uint64_t number);
std::string command(std::string_view name, std::uint64_t number, std::uint64_t lines);

}  // namespace mw::pop3
