// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "cli/password.hpp"
#include "net/connection.hpp"
#include "pop3/client.hpp"
#include "sasl/mechanism.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mw::commands {

// The --proxy of the settings, with the password of its user (RFC 1929) from
// MAILWRENCH_PROXY_PASSWORD (Error 78 if the URL names a user and that is empty or unset).
net::Proxy proxy_for(const cli::Context& context);

// Where and how to connect, from the settings (POP3 and SMTP alike); warns about --insecure.
net::Endpoint endpoint_for(const cli::Context& context);

// The SASL credentials of a login for the server of `settings` (RFC 7628's OAUTHBEARER sends
// its host and port).
sasl::Credentials credentials_for(cli::Login login, const cli::Settings& settings);

// The transcript hook for -v: each protocol line to the log, unless verbosity is 0.
std::function<void(char, std::string_view)> transcript_for(const cli::Context& context);

// Reads the greeting (read_greeting) of a server not spoken to in TLS yet. A server that
// speaks TLS from the first byte (POP3S, SMTPS) waits for our ClientHello and sends nothing:
// the timeout (Error 75) then suggests --tls implicit, and on ports 995 and 465 the greeting is
// awaited a few seconds only, not the whole --timeout.
void await_greeting(const cli::Context& context, net::Connection& connection,
                    const std::function<void()>& read_greeting);

// Connects to `endpoint` (from endpoint_for) and logs where, and the TLS session when it begins
// with one; `starttls` names the command that upgrades a clear connection (STLS, STARTTLS).
std::unique_ptr<net::Connection> connect(const cli::Context& context, const net::Endpoint& endpoint,
                                         std::string_view starttls);

// Refuses (77) to send a password over a connection that is not encrypted, unless
// --allow-plaintext: checked after STLS or STARTTLS had its chance, before any login.
void refuse_plaintext(const cli::Settings& settings, bool encrypted);

// Refuses (77) the SASL mechanism `name` (upper case) when the server does not offer it;
// `offers` ends the message with what it offers instead (may be empty).
void require_offered(const std::string& name, const std::vector<std::string>& offered,
                     const std::string& offers);

// The SASL mechanism `name` with the login's credentials (credentials_for); one mailwrench does
// not implement is a usage error of --auth.
std::unique_ptr<sasl::Mechanism> mechanism_for(const std::string& name, cli::Login login,
                                               const cli::Settings& settings);

// A logged-in POP3 session: the connection and the client over it. Opening it does what a
// person does first in telnet: connect, read the greeting, CAPA, STLS, log in, CAPA again.
class Pop3Session {
public:
  static Pop3Session open(const cli::Context& context);
  // The same with the login obtained before (login_for), e.g. before a lock is taken.
  static Pop3Session open(const cli::Context& context, cli::Login login);
  // The user and password open() uses (usage errors in the settings come first): it may run
  // the --password-command or ask on the terminal.
  static cli::Login login_for(const cli::Context& context);

  pop3::Client& client() { return *m_client; }

  // QUIT; a failed QUIT is only logged: read-only commands have nothing to commit.
  void quit_quietly();

private:
  Pop3Session() = default;
  void authenticate(const cli::Settings& settings, cli::Login login);

  const cli::Context* m_context = nullptr;
  std::unique_ptr<net::Connection> m_connection;
  std::unique_ptr<pop3::Client> m_client;
};

}  // namespace mw::commands
