// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "net/channel.hpp"
#include "net/stream.hpp"
#include "smtp/protocol.hpp"
#include "util/error.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::sasl {
class Mechanism;
}

namespace mw::smtp {

// Receives each protocol line for the -v transcript (secrets and message data left out).
using Transcript = net::Transcript;

// One envelope recipient with its DSN parameters (RFC 3461).
struct Recipient {
  std::string address;
  RcptParameters parameters;
};

// The outcome of one mail transaction (RFC 5321 section 3.3).
struct Transaction {
  Reply mail;                     // the reply to MAIL FROM
  std::vector<Reply> recipients;  // the reply to each RCPT TO, in order
  std::optional<Reply> data;      // the final reply for the message, if it was sent (SMTP)
  bool sent = false;              // whether the message data went out
  // LMTP (RFC 2033 section 4.2): each recipient's own reply after the message, by the index of
  // its RCPT TO; nullopt for one refused at RCPT. Empty for SMTP, or when no message went out.
  std::vector<std::optional<Reply>> delivery;
};

// How the message data goes out: DATA with dot-stuffing, or BDAT (RFC 3030).
enum class Chunking { no, yes };

// An SMTP session over a connected stream (RFC 5321, 3207, 4954, 2920). Methods send
// commands and read replies; failures that end the session throw mw::Error with the exit code
// class of the reply. Nothing here prints.
class Client {
public:
  explicit Client(net::Stream& stream, Transcript transcript = {});

  // Reads the 220 greeting (RFC 5321 section 4.3.1): 554 → 69, 4xx → 75.
  Reply read_greeting();

  // EHLO, falling back to HELO when the server does not know EHLO (RFC 5321 section 4.1.1.1);
  // LHLO for LMTP (RFC 2033 section 4.1), with no fallback.
  const Extensions& hello(std::string_view domain);
  const Extensions& extensions() const { return m_extensions; }

  // STARTTLS and the TLS handshake (RFC 3207); a refusal throws 77.
  void starttls();

  // AUTH with a SASL mechanism (RFC 4954); 535 → 77, 454 → 75.
  void authenticate(sasl::Mechanism& mechanism);

  // MAIL FROM, RCPT TO for each recipient, and the message when at least one recipient was
  // accepted: pipelined when the server offers PIPELINING (RFC 2920). `message` has CRLF line
  // endings and is not dot-stuffed (the client does that for DATA).
  Transaction send(std::string_view from, const MailParameters& parameters,
                   const std::vector<Recipient>& recipients, std::string_view message,
                   Chunking chunking);

  // QUIT (RFC 5321 section 4.1.1.10).
  void quit();

  // A command line a person typed in `mailwrench session --smtp` (without CRLF), already
  // checked by its caller (never AUTH or STARTTLS: the session does those): sent once every
  // earlier reply has been read, and its whole reply read, every line of it. A line with CR,
  // LF or NUL throws UsageError. An EHLO answered 250 sets extensions() (a HELO clears them);
  // the transcript shows `shown` instead of the line when it is not empty.
  Reply typed(std::string_view line, std::string_view shown = {});
  // The message after a 354 to a typed DATA (LF or CRLF line endings, not dot-stuffed: the
  // client does that and sends the line "." after it); returns the final reply.
  Reply typed_message(std::string_view message);

  // Speak LMTP (RFC 2033): LHLO instead of EHLO, and after the message one reply for each
  // accepted recipient (Transaction::delivery) instead of one for the message.
  void set_lmtp(bool lmtp) { m_lmtp = lmtp; }
  bool lmtp() const { return m_lmtp; }

  // MAIL FROM and RCPT TO each recipient, in lock-step, then nothing more: no DATA and no RSET
  // (send --quit-after mail|rcpt; the caller ends the session with QUIT). With `recipients`
  // empty only MAIL FROM; no RCPT after a refused MAIL FROM.
  Transaction envelope(std::string_view from, const MailParameters& parameters,
                       const std::vector<Recipient>& recipients);

  // Whether to pipeline when the server offers PIPELINING (--no-pipelining turns it off).
  void set_pipelining(bool allowed) { m_allow_pipelining = allowed; }

  // The time a whole reply may take to arrive (see Pace); 0 = only the per-read deadline.
  void set_reply_timeout(std::chrono::seconds limit) { m_channel.pace().set_limit(limit); }

private:
  Reply read_reply();
  // Throws 76 if anything has arrived that no command asked for (see Channel::quiet); `next`
  // names what is about to be sent.
  void expect_quiet(std::string_view next);
  // Sends a command that is answered before anything else is sent, after expect_quiet.
  void send_in_step(std::string_view line, std::string_view shown = {});
  void write_message(std::string_view message, Chunking chunking);
  // Reads what answers the message: one reply (SMTP), or one for each accepted recipient
  // (LMTP); marks the transaction sent.
  void read_outcome(Transaction& t);

  net::Channel m_channel;
  ReplyParser m_parser;
  Extensions m_extensions;
  bool m_allow_pipelining = true;
  bool m_lmtp = false;
};

// The exit code class for a failed reply: 4xx → 75, 5xx → `permanent`.
ExitCode exit_code_for(const Reply& reply, ExitCode permanent);

// "550 5.1.1 <nobody@lab.test>: Recipient address rejected" for messages.
std::string describe(const Reply& reply);

}  // namespace mw::smtp
