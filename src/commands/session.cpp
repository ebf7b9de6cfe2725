// SPDX-License-Identifier: Apache-2.0
#include "commands/session.hpp"

#include "cli/password.hpp"
#include "sasl/mechanism.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace mw::commands {

namespace {

using text::upper;

// The names a server offers, for an error message.
std::string offered(const std::vector<std::string>& words)
{
  return words.empty() ? "none" : text::join(words, " ");
}

// How long a greeting is awaited with --tls none or starttls on a port meant for implicit TLS.
constexpr std::chrono::seconds k_tls_port_greeting{5};

}  // namespace

void await_greeting(const cli::Context& context, net::Connection& connection,
                    const std::function<void()>& read_greeting)
{
  const auto& s = context.settings;
  if (s.tls == cli::TlsMode::implicit) {
    read_greeting();
    return;
  }
  const auto limit = connection.timeout();
  const bool tls_port = s.port == 995 || s.port == 465;
  const bool shortened = tls_port && (limit.count() == 0 || limit > k_tls_port_greeting);
  if (shortened) {
    connection.set_timeout(k_tls_port_greeting);
  }
  try {
    read_greeting();
  } catch (const Error& e) {
    // A timeout (not a refusal such as -ERR [SYS/TEMP] or a 421 greeting, also 75).
    if (e.code() != ExitCode::temporary || !std::string_view(e.what()).starts_with("timed out")) {
      throw;
    }
    std::string hint;
    if (shortened) {
      hint = "the server sent no greeting within " + std::to_string(k_tls_port_greeting.count()) +
             " s: port " + std::to_string(s.port) + " is the usual " +
             (s.port == 995 ? "POP3S" : "SMTPS") +
             " port, where a server waits for the client to begin TLS (without --tls implicit "
             "the greeting is awaited " +
             std::to_string(k_tls_port_greeting.count()) + " s there, not the whole --timeout); ";
    } else {
      hint = std::string(e.what()) +
             ": the server sent no greeting: is this an implicit-TLS port (POP3S, SMTPS)? ";
    }
    throw Error(ExitCode::temporary, hint + "try --tls implicit");
  }
  connection.set_timeout(limit);
}

net::Proxy proxy_for(const cli::Context& context)
{
  auto proxy = net::parse_proxy(context.settings.proxy, "--proxy");
  if (proxy.user.empty()) {
    return proxy;
  }
  auto password = context.getenv ? context.getenv("MAILWRENCH_PROXY_PASSWORD") : std::nullopt;
  if (!password || password->empty()) {
    throw Error(ExitCode::config, "the --proxy URL names the user '" + proxy.user +
                                      "' but MAILWRENCH_PROXY_PASSWORD holds no password for it");
  }
  proxy.password = Secret(std::move(*password));
  wipe_string(*password);
  return proxy;
}

net::Endpoint endpoint_for(const cli::Context& context)
{
  const auto& s = context.settings;
  auto& log = *context.log;
  net::Endpoint endpoint;
  endpoint.host = s.host;
  endpoint.port = s.port;
  endpoint.implicit_tls = s.tls == cli::TlsMode::implicit;
  endpoint.timeout = s.timeout;
  endpoint.tls.cacert = s.cacert;
  endpoint.tls.fingerprint = s.fingerprint;
  endpoint.tls.insecure = s.insecure;
  endpoint.tls.client_cert = s.tls_cert;
  endpoint.tls.client_key = s.tls_key;
  endpoint.source_address = s.source_address;
  endpoint.proxy = proxy_for(context);
  if (s.insecure && s.tls != cli::TlsMode::none) {
    log.warn("--insecure: the certificate of {} is not checked; anyone on the path can read "
             "the password and the mail",
             s.host);
  }
  if (!s.fingerprint.empty()) {
    net::normalize_fingerprint(s.fingerprint);  // a usage error before connecting
  }
  return endpoint;
}

std::unique_ptr<net::Connection> connect(const cli::Context& context, const net::Endpoint& endpoint,
                                         std::string_view starttls)
{
  const auto& s = context.settings;
  auto& log = *context.log;
  log.debug("connecting to {} ({}){}",
            s.host.starts_with('/') ? "socket " + s.host
                                    : (net::is_ipv6_literal(s.host) ? "[" + s.host + "]" : s.host) +
                                          ":" + std::to_string(s.port),
            s.tls == cli::TlsMode::implicit   ? std::string_view("implicit TLS")
            : s.tls == cli::TlsMode::starttls ? starttls
                                              : std::string_view("no TLS"),
            s.proxy.empty() ? std::string() : " through " + s.proxy);
  auto connection = net::Connection::open(endpoint);
  log.debug("connected to {}", connection->peer());
  if (connection->encrypted()) {
    log.info("-- TLS: {}", connection->tls_description());
  }
  return connection;
}

void refuse_plaintext(const cli::Settings& settings, bool encrypted)
{
  if (!encrypted && !settings.allow_plaintext) {
    throw Error(ExitCode::permission,
                "refusing to send the password over an unencrypted connection; use --tls "
                "implicit or --tls starttls (or --tls none --allow-plaintext to accept it)");
  }
}

void require_offered(const std::string& name, const std::vector<std::string>& offered,
                     const std::string& offers)
{
  if (std::find(offered.begin(), offered.end(), name) == offered.end()) {
    throw Error(ExitCode::permission, "the server does not offer AUTH " + name + offers);
  }
}

std::unique_ptr<sasl::Mechanism> mechanism_for(const std::string& name, cli::Login login,
                                               const cli::Settings& settings)
{
  auto mechanism = sasl::make(name, credentials_for(std::move(login), settings));
  if (!mechanism) {
    throw UsageError("unsupported --auth " + settings.auth);
  }
  return mechanism;
}

sasl::Credentials credentials_for(cli::Login login, const cli::Settings& settings)
{
  sasl::Credentials credentials;
  credentials.user = std::move(login.user);
  credentials.password = std::move(login.password);
  credentials.host = settings.host;
  credentials.port = settings.port;
  return credentials;
}

std::function<void(char, std::string_view)> transcript_for(const cli::Context& context)
{
  if (context.settings.verbosity < 1) {
    return {};
  }
  auto log = context.log;
  return [log](char direction, std::string_view line) { log->info("{} {}", direction, line); };
}

cli::Login Pop3Session::login_for(const cli::Context& context)
{
  if (!context.settings.fingerprint.empty()) {
    net::normalize_fingerprint(context.settings.fingerprint);  // a usage error first
  }
  auto login = cli::obtain_login(context.settings, context.getenv);
  if (context.hide_in_log) {
    context.hide_in_log(login.password);
  }
  return login;
}

Pop3Session Pop3Session::open(const cli::Context& context)
{
  // The login first: a missing password file or a failing command is found before the server
  // is bothered, and a prompt does not hold a connection open.
  return open(context, login_for(context));
}

Pop3Session Pop3Session::open(const cli::Context& context, cli::Login login)
{
  const auto& s = context.settings;
  auto& log = *context.log;
  Pop3Session session;
  session.m_context = &context;
  auto endpoint = endpoint_for(context);
  for (const auto& warning : login.warnings) {
    log.warn("{}", warning);
  }

  session.m_connection = connect(context, endpoint, "STLS");

  session.m_client = std::make_unique<pop3::Client>(*session.m_connection, transcript_for(context));
  auto& client = *session.m_client;
  client.set_pipelining(s.pipelining);
  client.set_reply_timeout(s.timeout);
  await_greeting(context, *session.m_connection, [&client] { client.read_greeting(); });
  client.capa();

  if (s.tls == cli::TlsMode::starttls) {
    // RFC 2595 section 4: STLS chosen is STLS required. A server that answers CAPA but does
    // not list STLS is not asked; one without CAPA is asked and must say +OK.
    if (client.capabilities().known && !client.capabilities().stls) {
      throw Error(ExitCode::permission,
                  "the server does not offer STLS, so the connection cannot be encrypted; no "
                  "password was sent (use --tls implicit on port 995, or --tls none "
                  "--allow-plaintext if you accept sending it in clear text)");
    }
    client.stls();
    log.info("-- TLS: {}", session.m_connection->tls_description());
    // RFC 2595 section 4: capabilities may change after STLS.
    client.capa();
  }
  refuse_plaintext(s, session.m_connection->encrypted());
  session.authenticate(s, std::move(login));
  // RFC 2449 section 5: capabilities may change after login (e.g. PIPELINING).
  if (client.capabilities().known) {
    client.capa();
  }
  log.debug("logged in; server pipelining: {}", client.capabilities().pipelining ? "yes" : "no");
  return session;
}

void Pop3Session::authenticate(const cli::Settings& s, cli::Login login)
{
  auto& client = *m_client;
  const auto& caps = client.capabilities();
  std::string how = s.auth;
  if (how == "auto") {
    // The strongest SASL mechanism offered, then APOP, then USER/PASS (RFC 1939).
    if (auto best = sasl::strongest(caps.sasl); best && *best != "PLAIN" && *best != "LOGIN") {
      how = *best;
    } else if (pop3::apop_timestamp(client.greeting())) {
      how = "apop";
    } else if (best) {
      how = *best;
    } else {
      how = "user";
    }
  }
  m_context->log->debug("authenticating as {} with {}", login.user, how);
  if (how == "user") {
    client.login_user(login.user, login.password);
    return;
  }
  if (how == "apop") {
    client.login_apop(login.user, login.password);
    return;
  }
  auto name = upper(how);
  if (caps.known) {
    require_offered(name, caps.sasl,
                    " (it offers SASL: " + offered(caps.sasl) + (caps.user ? ", and USER" : "") +
                        ")");
  }
  client.login_sasl(*mechanism_for(name, std::move(login), s));
}

void Pop3Session::quit_quietly()
{
  try {
    auto status = m_client->quit();
    if (!status.ok()) {
      m_context->log->debug("QUIT failed: {}", status.text);
    }
  } catch (const Error& e) {
    m_context->log->debug("QUIT failed: {}", e.what());
  }
}

}  // namespace mw::commands
