// SPDX-License-Identifier: Apache-2.0
#include "commands/smtp_session.hpp"

#include "cli/password.hpp"
#include "commands/session.hpp"
#include "sasl/mechanism.hpp"
#include "util/text.hpp"

#include <spdlog/spdlog.h>

namespace mw::commands {

SmtpSession SmtpSession::open(const cli::Context& context, const std::string& ehlo, bool lmtp,
                              Until until)
{
  const auto& s = context.settings;
  SmtpSession session;
  session.m_context = &context;
  session.m_connection = connect(context, endpoint_for(context), "STARTTLS");
  auto& connection = *session.m_connection;
  session.m_client = std::make_unique<smtp::Client>(connection, transcript_for(context));
  auto& client = *session.m_client;
  client.set_pipelining(s.pipelining);
  client.set_reply_timeout(s.timeout);
  client.set_lmtp(lmtp);
  await_greeting(context, connection,
                 [&client, &session] { session.m_greeting = client.read_greeting(); });
  if (until == Until::greeting) {
    return session;
  }

  auto ehlo_name = ehlo.empty() ? context.host_name() : ehlo;
  client.hello(ehlo_name);
  if (s.tls == cli::TlsMode::starttls) {
    // RFC 3207: STARTTLS chosen is STARTTLS required; nothing else goes out in clear text.
    if (!client.extensions().starttls) {
      session.give_up(Error(ExitCode::permission,
                            "the server does not offer STARTTLS, so the connection cannot be "
                            "encrypted; nothing was sent (use --tls implicit on port 465, or "
                            "--tls none)"));
    }
    client.starttls();
    context.log->info("-- TLS: {}", connection.tls_description());
    client.hello(ehlo_name);
  }
  if (until == Until::tls) {
    return session;
  }
  if (!s.user.empty()) {
    session.check([&session] { session.authenticate(); });
  }
  return session;
}

void SmtpSession::authenticate()
{
  const auto& context = *m_context;
  const auto& s = context.settings;
  const auto& ext = m_client->extensions();
  const bool encrypted = m_connection->encrypted();
  refuse_plaintext(s, encrypted);
  if (ext.auth.empty()) {
    throw Error(ExitCode::permission, "the server offers no AUTH" +
                                          std::string(encrypted ? "" : " before TLS") +
                                          ", so the password cannot be used");
  }
  std::string name;
  if (s.auth == "auto") {
    auto best = sasl::strongest(ext.auth);
    if (!best) {
      throw Error(ExitCode::permission, "no AUTH mechanism in common with the server (it "
                                        "offers " +
                                            text::join(ext.auth, " ") + ")");
    }
    name = *best;
  } else if (s.auth == "user" || s.auth == "apop") {
    throw UsageError("--auth " + s.auth + " is a POP3 login; SMTP uses SASL mechanisms");
  } else {
    name = text::upper(s.auth);
    require_offered(name, ext.auth, "");
  }
  auto login = cli::obtain_login(s, context.getenv);
  if (context.hide_in_log) {
    context.hide_in_log(login.password);
  }
  for (const auto& warning : login.warnings) {
    context.log->warn("{}", warning);
  }
  context.log->debug("authenticating as {} with {}", login.user, name);
  auto user = login.user;
  m_client->authenticate(*mechanism_for(name, std::move(login), s));
  m_auth_user = std::move(user);
  m_auth_mechanism = name;
}

smtp::Transaction SmtpSession::send(const Envelope& envelope, std::string_view message,
                                    smtp::Chunking chunking)
{
  return m_client->send(envelope.from, envelope.parameters, envelope.recipients, message, chunking);
}

smtp::Transaction SmtpSession::envelope(const Envelope& envelope)
{
  return m_client->envelope(envelope.from, envelope.parameters, envelope.recipients);
}

void SmtpSession::quit_quietly()
{
  try {
    m_client->quit();
  } catch (const Error& e) {
    m_context->log->debug("QUIT failed: {}", e.what());
  }
}

void SmtpSession::give_up(const Error& e)
{
  if (e.code() != ExitCode::io && e.code() != ExitCode::protocol) {
    try {
      m_client->quit();
    } catch (const Error&) {
    }
  }
  throw Error(e.code(), e.what());
}

}  // namespace mw::commands
