// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/channel.hpp"
#include "net/stream.hpp"
#include "pop3/listing.hpp"
#include "pop3/protocol.hpp"
#include "util/error.hpp"
#include "util/secret.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mw::sasl {
class Mechanism;
}

namespace mw::pop3 {

// Receives each protocol line for the -v transcript (secrets already redacted).
using Transcript = net::Transcript;

// Receives the replies of a Pipeline, told apart by the tag each command was pushed with (what
// Requests builds on; commands use Requests).
class ReplySink {
public:
  virtual ~ReplySink() = default;
  virtual void on_status(std::size_t index, const Status& status) = 0;
  virtual void on_data(std::size_t index, std::string_view data) = 0;
  virtual void on_end(std::size_t index) = 0;
};

class Client;

// Commands in flight, sent ahead of their replies when the server announced PIPELINING
// (RFC 2449 section 6.6) and one at a time otherwise. Commands may be pushed while replies
// are being read (e.g. DELE n once message n is safely stored). The window is bounded, so
// writes always fit in the socket buffers while replies wait: no deadlock.
class Pipeline {
public:
  Pipeline(Client& client, ReplySink& sink);

  // Queues a command (with CRLF); its reply events reach the sink with `tag` as index. The
  // transcript shows `shown` instead of the command when it is not empty.
  void push(std::string command, ReplyShape shape, LineEnding ending, std::size_t tag,
            std::string shown = {});

  // Sends what the window allows and reads one reply; false when nothing is left.
  bool step();

  // Steps until every pushed command (including those pushed meanwhile) is answered.
  void run();

  // How many commands wait to be sent.
  std::size_t queued() const { return m_queued.size(); }

private:
  struct Request {
    std::string command;
    ReplyShape shape;
    LineEnding ending;
    std::size_t tag;
    std::string shown;
  };

  Client& m_client;
  ReplySink& m_sink;
  std::deque<Request> m_queued;
  std::deque<Request> m_in_flight;
  std::size_t m_in_flight_octets = 0;
  std::string m_batch;
};

// What to do with the reply to one request: its status line, then, for a multi-line reply that
// is +OK, its data in chunks (dot-unstuffed) and its end. Empty members are skipped.
struct Reply {
  std::function<void(const Status&)> status;
  std::function<void(std::string_view)> data;
  std::function<void()> end;
};

// Typed POP3 requests (RFC 1939), pipelined when the server allows it (RFC 2449 section 6.6),
// each reply handed to the callbacks of its own request, as Boost.Redis pairs a request with
// its response: no caller writes a verb, picks a reply shape or tells replies apart by index.
// Requests may be added while replies are being read (a DELE once a message is safe).
class Requests {
public:
  explicit Requests(Client& client);
  Requests(const Requests&) = delete;
  Requests& operator=(const Requests&) = delete;

  // TOP n lines (RFC 1939 section 7): the header section and `lines` lines of the body, with
  // LF line endings.
  void top(std::uint64_t number, std::uint64_t lines, Reply reply);
  // RETR n (section 5): the whole message, with `ending` line endings.
  void retr(std::uint64_t number, LineEnding ending, Reply reply);
  // DELE n (section 5): marks message n; the server deletes it only at +OK to QUIT.
  void dele(std::uint64_t number, std::function<void(const Status&)> done);
  // UIDL n (section 7): message n's UID, or nullopt when the reply is -ERR.
  void uidl(std::uint64_t number, std::function<void(const Status&, std::optional<UniqueId>)> done);
  // RSET (section 5): unmarks every message marked in this session.
  void rset(std::function<void(const Status&)> done = {});
  // NOOP (section 5).
  void noop(std::function<void(const Status&)> done = {});
  // A command line a person typed in `mailwrench session` (without CRLF), already checked by
  // its caller: never a login, never DELE (the Deleter sends those). Its reply has `shape`,
  // with LF line endings; the transcript shows `shown` instead when it is not empty.
  void typed(std::string_view line, ReplyShape shape, Reply reply, std::string shown = {});

  // Adds requests as they are needed: `next` adds one request (or more) and returns true, or
  // returns false once it has none left. run() calls it whenever fewer requests than fill a
  // pipelining window wait to be sent, so that a run over a mailbox of any size holds a
  // window's worth of requests, not one per message.
  void feed(std::function<bool()> next) { m_feed = std::move(next); }

  // Sends and reads until every request, also those added meanwhile or fed, is answered.
  void run();

private:
  class Dispatch : public ReplySink {
  public:
    explicit Dispatch(Requests& requests) : m_requests(requests) {}
    void on_status(std::size_t tag, const Status& status) override;
    void on_data(std::size_t tag, std::string_view data) override;
    void on_end(std::size_t tag) override;

  private:
    Requests& m_requests;
  };

  void add(std::string command, ReplyShape shape, LineEnding ending, Reply reply,
           std::string shown = {});

  // The callbacks of the requests not answered yet, by tag (references stay valid while
  // callbacks add requests).
  std::unordered_map<std::size_t, Reply> m_replies;
  std::size_t m_next_tag = 0;
  std::function<bool()> m_feed;
  Dispatch m_dispatch;
  Pipeline m_pipeline;
};

// The exit code class for a -ERR reply: from its RESP-CODE (RFC 2449 section 8, RFC 3206)
// when it has one, else `otherwise`.
ExitCode exit_code_for(const Status& status, ExitCode otherwise);

// A POP3 session over a connected stream (RFC 1939, 2449, 2595, 5034). Each method sends one
// command and reads its reply; -ERR replies throw mw::Error with the exit code class of the
// reply's RESP-CODE. Nothing here prints.
class Client {
public:
  explicit Client(net::Stream& stream, Transcript transcript = {});

  // Reads the greeting (RFC 1939 section 4); throws if it is -ERR.
  void read_greeting();
  const std::string& greeting() const { return m_greeting; }

  // CAPA (RFC 2449 section 5); capabilities().known is false if the server answered -ERR.
  const Capabilities& capa();
  const Capabilities& capabilities() const { return m_capabilities; }

  // STLS and the TLS handshake (RFC 2595 section 4). Throws 77 if the server refuses.
  void stls();

  // USER/PASS (RFC 1939 section 7).
  void login_user(const std::string& user, const Secret& password);

  // APOP (RFC 1939 section 7) with the timestamp from the greeting.
  void login_apop(const std::string& user, const Secret& password);

  // AUTH with a SASL mechanism (RFC 5034).
  void login_sasl(sasl::Mechanism& mechanism);

  // STAT (RFC 1939 section 5).
  Maildrop stat();

  // LIST (RFC 1939 section 5).
  std::vector<ScanListing> list();

  // UIDL (RFC 1939 section 7); nullopt if the server does not support it.
  std::optional<std::vector<UniqueId>> uidl();

  // LIST, then UIDL unless the server lacks it (then has_uids() is false): the session's
  // listing, read row by row into its compact form. `rows` (when given) hears of each row
  // read: the command ("LIST", "UIDL") and how many rows it has given so far.
  Listing listing(const std::function<void(std::string_view, std::size_t)>& rows = {});

  // QUIT (RFC 1939 section 6): the server commits deletions only on +OK.
  Status quit();

  // Runs `before` each time a reply needs more bytes from the server (see
  // net::Channel::before_fill); an empty function removes it.
  void before_reading(std::function<void()> before) { m_channel.before_fill(std::move(before)); }

  // Whether PIPELINING is used (the server offers it, unless forced off).
  bool pipelining() const { return m_capabilities.pipelining && m_allow_pipelining; }
  void set_pipelining(bool allowed) { m_allow_pipelining = allowed; }

  // The time a reply's first line may take, and the window for the minimum data rate after
  // it (see Pace); 0 = no limit beyond the transport's per-read deadline.
  void set_reply_timeout(std::chrono::seconds limit) { m_channel.pace().set_limit(limit); }

private:
  friend class Pipeline;

  Status read_reply(ReplyShape shape, LineEnding ending,
                    const std::function<void(std::string_view)>& on_data,
                    const std::function<void(const Status&)>& on_status = {});
  Status read_status(ReplyShape shape = ReplyShape::single);
  // LIST and UIDL, each row handed over as it is parsed; read_uidl is false without UIDL.
  void read_list(const std::function<void(const ScanListing&)>& row);
  bool read_uidl(const std::function<void(const UniqueId&)>& row);
  // Throws 76 if anything has arrived that no command asked for (see Channel::quiet); `next`
  // names the command about to be sent.
  void expect_quiet(std::string_view next);
  // Sends a command that is answered before anything else is sent, after expect_quiet.
  void send_in_step(std::string_view line, std::string_view shown = {});
  [[noreturn]] void fail_login(const Status& status, std::string_view how,
                               const std::vector<std::string>& secrets);

  net::Channel m_channel;
  ReplyParser m_parser;
  std::string m_greeting;
  Capabilities m_capabilities;
  bool m_allow_pipelining = true;
};

}  // namespace mw::pop3
