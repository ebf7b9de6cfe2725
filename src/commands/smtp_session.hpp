// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "net/connection.hpp"
#include "smtp/client.hpp"
#include "util/error.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mw::commands {

// The envelope of one mail transaction (RFC 5321 section 3.3): MAIL FROM with its parameters,
// and each RCPT TO with its own.
struct Envelope {
  std::string from;
  smtp::MailParameters parameters;
  std::vector<smtp::Recipient> recipients;
};

// An SMTP session ready for a mail transaction: the connection and the client over it, every
// command line written by the encoders of smtp/protocol.hpp. Opening it does what a person does
// first in telnet: connect, read the greeting, EHLO, STARTTLS and EHLO again, AUTH. A session
// given up after a refusal still ends with QUIT (RFC 5321 section 4.1.1.10); after an I/O or
// TLS failure there is nobody to say it to.
class SmtpSession {
public:
  // How far open() goes (send --quit-after): the greeting only; EHLO and STARTTLS; or all of
  // it, AUTH too.
  enum class Until { greeting, tls, all };

  // `ehlo` is the name to greet with ("" = this machine's name). With --tls starttls the
  // session is encrypted or not opened (RFC 3207); with a --user it is authenticated. With
  // `lmtp` it speaks LMTP (RFC 2033: LHLO, a reply per recipient after the message).
  static SmtpSession open(const cli::Context& context, const std::string& ehlo, bool lmtp = false,
                          Until until = Until::all);

  // The server's greeting (RFC 5321 section 4.3.1).
  const smtp::Reply& greeting() const { return m_greeting; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384", or "" when the session is not encrypted.
  std::string tls_description() const { return m_connection->tls_description(); }
  // The user and the SASL mechanism of AUTH (RFC 4954), or "" when there was none.
  const std::string& auth_user() const { return m_auth_user; }
  const std::string& auth_mechanism() const { return m_auth_mechanism; }

  // The client, for the commands a person types in `mailwrench session --smtp`.
  smtp::Client& client() { return *m_client; }

  // What the server offers, from its last EHLO.
  const smtp::Extensions& extensions() const { return m_client->extensions(); }

  // Runs a check between the opening and the transaction; if it throws, gives up (QUIT) and
  // throws its error on.
  template <typename Step> void check(Step&& step)
  {
    try {
      step();
    } catch (const Error& e) {
      give_up(e);
    }
  }

  // MAIL FROM, RCPT TO each recipient, and DATA or BDAT with the message (CRLF line endings,
  // not dot-stuffed); RSET when no recipient was accepted (smtp::Client::send).
  smtp::Transaction send(const Envelope& envelope, std::string_view message,
                         smtp::Chunking chunking);

  // MAIL FROM and RCPT TO each recipient, and nothing more (smtp::Client::envelope).
  smtp::Transaction envelope(const Envelope& envelope);

  // QUIT; a failed QUIT is only logged: the transaction's outcome is known by then.
  void quit_quietly();

private:
  SmtpSession() = default;
  void authenticate();
  // QUIT unless the connection failed (an I/O or protocol error), then throws `e` on.
  [[noreturn]] void give_up(const Error& e);

  const cli::Context* m_context = nullptr;
  std::unique_ptr<net::Connection> m_connection;
  std::unique_ptr<smtp::Client> m_client;
  smtp::Reply m_greeting;
  std::string m_auth_user;
  std::string m_auth_mechanism;
};

}  // namespace mw::commands
