// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mail/headers.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mw::mail {

// How bad a finding is: an error is likely to break clients or servers, a warning is unusual
// but survivable.
enum class Severity { warning, error };

// "error" or "warning".
std::string_view to_string(Severity severity);

// Every finding code a check can report, sorted: those of MessageChecker and those of the
// server's failures while sending a message (commands/check_messages.cpp). `--broken=CODES`
// accepts these.
const std::vector<std::string_view>& known_codes();

// One problem found in a message: a stable code (documented in the man page), its severity,
// what and how big in words, and where: a byte offset, a header name or a MIME part path.
struct Finding {
  std::string code;
  Severity severity = Severity::warning;
  std::string detail;
  std::string where;
};

// The limits a check holds a message to; beyond them a message is reported, not followed.
struct CheckLimits {
  std::uint64_t header_section = 256 * 1024;  // octets of one header section
  std::size_t depth = 20;                     // nested multiparts and message/rfc822 parts
  std::size_t parts = 1000;                   // MIME parts in one message
};

// A streaming checker for one message (RFC 5322, RFC 2045-2049, RFC 2047) that never holds the
// message: it is fed the message's octets in chunks of any size (as RETR delivers them,
// dot-unstuffed, CRLF or LF line endings) and keeps bounded state whatever their number: the
// current line up to a few KiB, one header section up to CheckLimits::header_section, and a
// boundary per open multipart up to CheckLimits::depth. Sans-IO: it never reads or prints.
class MessageChecker {
public:
  explicit MessageChecker(CheckLimits limits = {});

  // The next octets of the message.
  void feed(std::string_view data);

  // The end of the message: what is still open (a header section, a multipart) is judged.
  void finish();

  // What was found so far (complete after finish()); at most k_max_findings, in order.
  const std::vector<Finding>& findings() const { return m_findings; }

  // The top-level From and Subject, decoded (RFC 2047) and cut to a few hundred octets, once its
  // header section has been read ("" before, or when absent): what a report shows of it.
  const std::string& from() const { return m_from; }
  const std::string& subject() const { return m_subject; }

  // The octets fed so far.
  std::uint64_t octets() const { return m_offset; }

  // Findings kept per message; more are counted in dropped().
  static constexpr std::size_t k_max_findings = 100;
  std::size_t dropped() const { return m_dropped; }

private:
  enum class Phase { header, body };
  enum class Encoding { none, base64, quoted_printable };

  // An open multipart (RFC 2046 section 5.1): its boundary and where its parts are.
  struct Multipart {
    std::string boundary;
    std::string path;
    std::size_t parts = 0;
    std::size_t depth = 0;  // of the multipart itself
    bool digest = false;    // multipart/digest: parts are message/rfc822 by default
  };

  void line_bytes(std::string_view bytes);
  void end_line(bool crlf);
  void header_line(std::string_view line, std::uint64_t length, std::uint64_t start);
  void body_line(std::string_view line, bool complete, std::uint64_t start);
  bool boundary_line(std::string_view line);
  void end_header_section();
  void check_message_fields(const Headers& headers);
  void start_entity(std::string path, bool is_message);
  void end_leaf();
  void decode_bytes(std::string_view bytes, std::uint64_t offset);
  void decode_line_end(std::uint64_t start);
  void add(std::string code, Severity severity, std::string detail, std::string where);
  std::string where_part() const;
  // Whether one more level of nesting is over --max-depth (reported once per message).
  bool too_deep();
  std::string where_header(std::string_view name) const;

  CheckLimits m_limits;
  std::vector<Finding> m_findings;
  std::size_t m_dropped = 0;
  std::string m_from;
  std::string m_subject;

  // Bytes and lines.
  std::uint64_t m_offset = 0;       // octets fed
  std::uint64_t m_line_start = 0;   // offset of the current line
  std::uint64_t m_line_length = 0;  // octets of the current line so far
  std::string m_line;               // its first octets (up to k_line_keep)
  bool m_line_flushed = false;      // part of it went to the decoder already
  bool m_cr = false;                // the last octet was CR (a line end if LF follows)
  std::uint64_t m_nuls = 0;
  std::uint64_t m_first_nul = 0;
  std::uint64_t m_bare_crs = 0;
  std::uint64_t m_first_bare_cr = 0;
  std::uint64_t m_long_body_lines = 0;
  std::uint64_t m_longest_body_line = 0;
  std::uint64_t m_first_long_body_line = 0;

  // The entity (message, part or message/rfc822 part) being read.
  Phase m_phase = Phase::header;
  bool m_entity_is_message = true;  // its header is a message's (top or message/rfc822)
  std::string m_path;               // "" for the top, else e.g. "2.1"
  std::size_t m_depth = 0;          // multiparts and messages around it
  std::string m_header;             // its header section so far (up to the limit)
  std::uint64_t m_header_octets = 0;
  std::size_t m_header_lines = 0;  // lines of its header section
  bool m_header_cut = false;       // fields of it did not fit in the limit and were dropped
  std::string m_field;             // name of the field being read (for long lines)
  bool m_long_header_reported = false;
  bool m_8bit_reported = false;

  // The multiparts the entity is inside, outermost first.
  std::vector<Multipart> m_multiparts;
  std::size_t m_parts = 0;  // parts seen in the whole message
  bool m_parts_reported = false;
  bool m_depth_reported = false;
  bool m_opaque = false;
  bool m_in_digest = false;  // the entity is a part of a multipart/digest  // the body is not
                             // followed (over a limit): only boundaries count

  // The decoder check of the current leaf's body.
  Encoding m_encoding = Encoding::none;
  std::uint64_t m_bad = 0;        // invalid octets found
  std::uint64_t m_first_bad = 0;  // offset of the first
  std::uint64_t m_b64_chars = 0;  // base64 alphabet characters
  int m_qp_state = 0;             // 0 text, 1 after '=', 2 after '=X', 3 soft break whitespace
};

}  // namespace mw::mail
