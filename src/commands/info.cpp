// SPDX-License-Identifier: Apache-2.0
#include "output/info.hpp"

#include "cli/command.hpp"
#include "commands/session.hpp"
#include "commands/smtp_session.hpp"
#include "output/render.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start)
{
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

const char* mode_name(cli::TlsMode mode)
{
  return mode == cli::TlsMode::implicit   ? "implicit"
         : mode == cli::TlsMode::starttls ? "starttls"
                                          : "none";
}

net::Endpoint inspect_endpoint(const cli::Context& context)
{
  const auto& s = context.settings;
  net::Endpoint endpoint;
  endpoint.host = s.host;
  endpoint.port = s.port;
  endpoint.implicit_tls = s.tls == cli::TlsMode::implicit;
  endpoint.timeout = s.timeout;
  // The chain and the name are checked against --cacert or the system store, whatever
  // --insecure or --fingerprint say, and reported rather than refused.
  endpoint.tls.cacert = s.cacert;
  endpoint.tls.inspect = true;
  endpoint.tls.client_cert = s.tls_cert;
  endpoint.tls.client_key = s.tls_key;
  endpoint.source_address = s.source_address;
  endpoint.proxy = proxy_for(context);
  return endpoint;
}

// Connects as inspect_endpoint() says, timing it.
std::unique_ptr<net::Connection> connect_timed(const cli::Context& context,
                                               output::ServerInfo& info)
{
  const auto start = Clock::now();
  auto connection = net::Connection::open(inspect_endpoint(context));
  info.connect_ms = ms_since(start);
  info.peer = connection->peer();
  return connection;
}

// QUIT, POP3's or SMTP's: its failure is no news for a report that is complete.
template <typename Client> void quit_quietly(const cli::Context& context, Client& client)
{
  try {
    client.quit();
  } catch (const Error& e) {
    context.log->debug("QUIT failed: {}", e.what());
  }
}

output::CapabilityStage stage_of(const char* name, const pop3::Capabilities& caps, bool encrypted)
{
  return {name, caps.known, encrypted, caps.known ? caps.lines : std::vector<std::string>{}};
}

// Greeting, CAPA, STLS and CAPA again, without logging in: what the server shows anybody.
void look(const cli::Context& context, output::ServerInfo& info)
{
  const auto& s = context.settings;
  auto connection = connect_timed(context, info);
  pop3::Client client(*connection, transcript_for(context));
  client.set_reply_timeout(s.timeout);
  auto start = Clock::now();
  await_greeting(context, *connection, [&client] { client.read_greeting(); });
  info.greeting_ms = ms_since(start);
  info.greeting = client.greeting();
  if (connection->encrypted()) {
    info.tls = connection->tls_session();
  }
  start = Clock::now();
  const auto& caps = client.capa();
  info.capa_ms = ms_since(start);
  info.capabilities.push_back(
      stage_of(connection->encrypted() ? "tls" : "plain", caps, connection->encrypted()));
  if (s.tls == cli::TlsMode::starttls) {
    if (caps.known && !caps.stls) {
      info.login_detail = "the server does not offer STLS";
    } else {
      try {
        client.stls();
      } catch (const Error& e) {
        // Refused, or the handshake failed: reported (a verdict with --check), not an error.
        info.tls_error = e.what();
        return;
      }
      info.tls = connection->tls_session();
      info.capabilities.push_back(stage_of("tls", client.capa(), true));
    }
  }
  quit_quietly(context, client);
}

output::CapabilityStage stage_of(const char* name, const smtp::Extensions& ext, bool encrypted)
{
  return {name, ext.known, encrypted, ext.known ? ext.lines : std::vector<std::string>{}};
}

// Greeting, EHLO, STARTTLS and EHLO again, without AUTH: what the server shows anybody.
void look_smtp(const cli::Context& context, output::ServerInfo& info)
{
  const auto& s = context.settings;
  auto connection = connect_timed(context, info);
  smtp::Client client(*connection, transcript_for(context));
  client.set_reply_timeout(s.timeout);
  auto start = Clock::now();
  smtp::Reply greeting;
  await_greeting(context, *connection, [&client, &greeting] { greeting = client.read_greeting(); });
  info.greeting_ms = ms_since(start);
  info.greeting = text::join(greeting.lines, " ");
  if (connection->encrypted()) {
    info.tls = connection->tls_session();
  }
  const auto name = context.host_name();
  start = Clock::now();
  const auto& ext = client.hello(name);
  info.capa_ms = ms_since(start);
  info.capabilities.push_back(
      stage_of(connection->encrypted() ? "tls" : "plain", ext, connection->encrypted()));
  if (s.tls == cli::TlsMode::starttls) {
    if (!ext.starttls) {
      info.login_detail = "the server does not offer STARTTLS";
    } else {
      try {
        client.starttls();
      } catch (const Error& e) {
        // Refused, or the handshake failed: reported (a verdict with --check), not an error.
        info.tls_error = e.what();
        return;
      }
      info.tls = connection->tls_session();
      info.capabilities.push_back(stage_of("tls", client.hello(name), true));
    }
  }
  quit_quietly(context, client);
}

// Logs in as a command would (the same checks: no password over a connection that is not
// encrypted, nor to a certificate that fails verification) and reads CAPA after it.
void log_in(const cli::Context& context, output::ServerInfo& info)
{
  const auto& s = context.settings;
  if (s.user.empty()) {
    info.login = "skipped";
    info.login_detail = info.protocol == "smtp"
                            ? "no user given (--user): AUTH is not tried"
                            : "no user given (--user): the capabilities after login are not shown";
    return;
  }
  if (info.protocol == "smtp") {
    // AUTH as send does (SmtpSession); SMTP has no capabilities after it to show.
    try {
      auto session = SmtpSession::open(context, "");
      session.quit_quietly();
      info.login = "ok";
      info.login_detail = "authenticated as " + s.user;
    } catch (const Error& e) {
      info.login = "failed";
      info.login_detail = e.what();
    }
    return;
  }
  try {
    auto session = Pop3Session::open(context, Pop3Session::login_for(context));
    info.capabilities.push_back(
        stage_of("login", session.client().capabilities(), info.tls.has_value()));
    session.quit_quietly();
    info.login = "ok";
    info.login_detail = "logged in as " + s.user;
  } catch (const Error& e) {
    info.login = "failed";
    info.login_detail = e.what();
  }
}

// Whether the server accepts TLS 1.0 or 1.1 (RFC 8996 forbids both).
void probe_legacy_tls(const cli::Context& context, output::ServerInfo& info)
{
  const auto& s = context.settings;
  if (s.tls == cli::TlsMode::none || !info.tls) {
    return;
  }
  auto endpoint = inspect_endpoint(context);
  endpoint.tls.inspect = false;
  endpoint.tls.legacy_only = true;
  try {
    auto connection = net::Connection::open(endpoint);
    if (s.tls == cli::TlsMode::starttls && info.protocol == "smtp") {
      smtp::Client client(*connection, transcript_for(context));
      client.set_reply_timeout(s.timeout);
      client.read_greeting();
      client.hello(context.host_name());
      client.starttls();
    } else if (s.tls == cli::TlsMode::starttls) {
      pop3::Client client(*connection, transcript_for(context));
      client.set_reply_timeout(s.timeout);
      client.read_greeting();
      client.stls();
    }
    info.legacy_tls = true;
    info.legacy_tls_detail = connection->tls_session().protocol + " accepted";
  } catch (const Error& e) {
    context.log->debug("the TLS 1.0/1.1 probe failed: {}", e.what());
    info.legacy_tls = false;
    info.legacy_tls_detail = "TLS 1.0 and 1.1 refused";
  }
}

int run(const cli::Context& context, bool check, bool smtp)
{
  const auto& s = context.settings;
  output::ServerInfo info;
  info.protocol = smtp ? "smtp" : "pop3";
  info.host = s.host;
  info.port = s.port;
  info.tls_mode = mode_name(s.tls);
  if (!s.fingerprint.empty()) {
    info.pin = net::normalize_fingerprint(s.fingerprint);  // a usage error before connecting
  }
  if (smtp) {
    look_smtp(context, info);
  } else {
    look(context, info);
  }
  log_in(context, info);
  if (check) {
    probe_legacy_tls(context, info);
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(context.now().time_since_epoch()).count();
  auto verdicts = output::judge(info, now);
  int code = 0;
  if (check) {
    const bool failed = std::any_of(verdicts.begin(), verdicts.end(), [](const auto& v) {
      return v.status == output::Verdict::Status::fail;
    });
    code = failed ? 1 : 0;
  } else {
    // Without --check: 1 when the certificate fails verification (with --fingerprint: has
    // another SHA-256), STLS (STARTTLS) fails or the login fails.
    const bool trusted =
        info.pin.empty() ? info.tls && info.tls->verified() : output::pin_matches(info);
    code = (info.tls && !trusted) || !info.tls_error.empty() || info.login == "failed" ? 1 : 0;
  }
  // -q (cron): nothing to say when all is well.
  if (s.quiet && !s.json && code == 0) {
    return code;
  }
  const auto* shown = check ? &verdicts : nullptr;
  if (s.json) {
    output::write_json(output::to_json(info, shown, now), context.out);
  } else {
    output::render_plain(info, shown, now, context.out);
  }
  return code;
}

}  // namespace

void info_options(po::options_description& options)
{
  options.add_options()("check", po::bool_switch(),
                        "judge the server: a verdict list (pass, warn, fail), exit 1 on a fail")(
      "smtp", po::bool_switch(),
      "the account's SMTP server instead (smtp-* keys; ports 465, 587, 25)");
}

cli::Run info(const cli::Options& options)
{
  options.require_server();
  return [check = options.flag("check"), smtp = options.flag("smtp")](const cli::Context& context) {
    return run(context, check, smtp);
  };
}

}  // namespace mw::commands
