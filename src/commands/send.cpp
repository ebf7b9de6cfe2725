// SPDX-License-Identifier: Apache-2.0
#include "cli/command.hpp"
#include "commands/await.hpp"
#include "commands/smtp_session.hpp"
#include "mail/address.hpp"
#include "mail/compose.hpp"
#include "output/probe.hpp"
#include "output/render.hpp"
#include "smtp/client.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

std::string read_file(std::istream& stdin_stream, const std::string& path, const char* what)
{
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(stdin_stream), {});
  }
  std::ifstream in(path, std::ios::binary);
  struct stat info {};
  if (!in || (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode))) {
    throw Error(ExitCode::no_input, std::string("cannot read the ") + what + " '" + path + "'");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string random_token()
{
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw Error(ExitCode::software, "the random number generator failed");
  }
  static constexpr char k_digits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string token;
  for (auto b : bytes) {
    token += k_digits[b & 31];
    token += k_digits[(b >> 3) & 31];
  }
  return token;
}

int utc_offset_minutes(std::time_t now)
{
  std::tm local{};
  localtime_r(&now, &local);
  return static_cast<int>(local.tm_gmtoff / 60);
}

// The domain of an address, or else this machine's name (for a Message-ID).
std::string domain_of(const std::string& address, const std::function<std::string()>& host_name)
{
  auto at = address.rfind('@');
  return at == std::string::npos ? host_name() : address.substr(at + 1);
}

output::SmtpOutcome outcome_of(const smtp::Reply& reply)
{
  return {reply.code, reply.enhanced.present() ? reply.enhanced.text() : "", reply.text()};
}

// Where send --quit-after stops (swaks' --quit-after stop points of the same names).
enum class Stage { connect, tls, auth, mail, rcpt };

constexpr std::pair<std::string_view, Stage> k_stages[] = {{"connect", Stage::connect},
                                                           {"tls", Stage::tls},
                                                           {"auth", Stage::auth},
                                                           {"mail", Stage::mail},
                                                           {"rcpt", Stage::rcpt}};

// send's own options.
struct SendOptions {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::vector<std::string> bcc;
  std::string subject;
  std::optional<std::string> body;       // --body
  std::string body_file;                 // --body-file ("-" = stdin)
  std::vector<std::string> attachments;  // --attach
  std::vector<std::string> extra_headers;
  bool raw = false;  // stdin is the whole message
  std::string ehlo;  // "" = this machine's FQDN
  bool chunking = false;
  std::string dsn_notify;
  std::string dsn_return;
  std::string dsn_envid;
  bool dry_run = false;
  std::optional<AwaitOptions> await;  // --await ACCOUNT
  bool lmtp = false;                  // --lmtp: RFC 2033
  std::optional<Stage> quit_after;    // --quit-after: a probe, no message
  std::string quit_after_name;
};

// The message to send and its envelope, from the flags or from stdin (--raw).
struct Prepared {
  std::string message;
  std::string from;  // envelope sender
  std::vector<std::string> recipients;
  std::string message_id;
  bool eight_bit = false;
  std::size_t longest_line = 0;
};

// Everything read from files and stdin, read once, before any connection: a missing file is
// an error before the server is bothered, and stdin cannot be read twice.
struct Inputs {
  std::string raw;  // --raw: the message from stdin
  std::string body;
  std::vector<mail::Attachment> attachments;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::sys_seconds now;
  int utc_offset_minutes = 0;
  std::string id_token;
  std::string boundary_token;
  std::function<std::string()> host_name;  // asked only when no address gives the domain
};

Inputs read_inputs(const cli::Context& context, const SendOptions& s)
{
  Inputs in;
  in.now = std::chrono::time_point_cast<std::chrono::seconds>(context.now());
  in.utc_offset_minutes = utc_offset_minutes(std::chrono::system_clock::to_time_t(context.now()));
  in.id_token = random_token();
  in.boundary_token = random_token();
  in.host_name = context.host_name;
  if (s.raw) {
    in.raw = read_file(context.in, "-", "message");
    return in;
  }
  if (s.body) {
    in.body = *s.body;
  } else if (!s.body_file.empty()) {
    in.body = read_file(context.in, s.body_file, "body file");
  }
  // Without --body or --body-file the body is empty: stdin is read only when asked for
  // (--body-file -, --raw), so that "while read a; do mailwrench send ...; done < list" does
  // not swallow the rest of the list as the first message's text.
  for (const auto& path : s.attachments) {
    auto slash = path.rfind('/');
    in.attachments.push_back({slash == std::string::npos ? path : path.substr(slash + 1),
                              read_file(context.in, path, "attachment")});
  }
  for (const auto& h : s.extra_headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw UsageError("invalid --header '" + h + "' (expected 'Name: value')");
    }
    auto value = h.substr(colon + 1);
    value.erase(0, std::min(value.find_first_not_of(" \t"), value.size()));
    in.headers.emplace_back(h.substr(0, colon), value);
  }
  return in;
}

Prepared prepare(const SendOptions& s, const Inputs& in, bool eight_bit_allowed)
{
  auto now = in.now;
  int offset = in.utc_offset_minutes;
  Prepared p;
  std::vector<mail::Mailbox> to;
  std::vector<mail::Mailbox> cc;
  std::vector<mail::Mailbox> bcc;
  for (const auto& a : s.to) {
    to.push_back(mail::parse_mailbox(a));
  }
  for (const auto& a : s.cc) {
    cc.push_back(mail::parse_mailbox(a));
  }
  for (const auto& a : s.bcc) {
    bcc.push_back(mail::parse_mailbox(a));
  }
  std::optional<mail::Mailbox> from;
  if (!s.from.empty()) {
    from = mail::parse_mailbox(s.from);
  }

  if (s.raw) {
    auto id_domain = from ? domain_of(from->address, in.host_name) : in.host_name();
    auto raw =
        mail::prepare_raw(in.raw, now, offset, mail::make_message_id(id_domain, in.id_token));
    if (!from) {
      from = raw.from;
    }
    if (!from) {
      throw Error(ExitCode::data, "the message on stdin has no From header; give --from ADDR");
    }
    p.message = std::move(raw.message);
    p.message_id = raw.message_id;
    p.eight_bit = raw.eight_bit;
    p.longest_line = raw.longest_line;
    if (to.empty() && cc.empty() && bcc.empty()) {
      if (!raw.invalid_addresses.empty()) {
        throw Error(ExitCode::data, "the message on stdin has an address that cannot be used "
                                    "for the envelope: " +
                                        raw.invalid_addresses.front() +
                                        " (give the recipients with --to)");
      }
      for (const auto& r : raw.recipients) {
        p.recipients.push_back(r.address);
      }
    }
  } else {
    mail::Composition c;
    c.from = *from;
    c.to = to;
    c.cc = cc;
    c.subject = s.subject;
    c.body = in.body;
    c.attachments = in.attachments;
    c.extra_headers = in.headers;
    c.eight_bit_allowed = eight_bit_allowed;
    c.date = now;
    c.utc_offset_minutes = offset;
    c.message_id = mail::make_message_id(domain_of(from->address, in.host_name), in.id_token);
    c.boundary = mail::make_boundary(in.boundary_token);
    auto composed = mail::compose(c);
    p.message = std::move(composed.message);
    p.message_id = composed.message_id;
    p.eight_bit = composed.eight_bit;
    p.longest_line = composed.longest_line;
  }
  p.from = from->address;
  for (const auto* list : {&to, &cc, &bcc}) {
    for (const auto& m : *list) {
      if (std::find(p.recipients.begin(), p.recipients.end(), m.address) == p.recipients.end()) {
        p.recipients.push_back(m.address);
      }
    }
  }
  if (p.recipients.empty()) {
    throw UsageError("no recipient: give --to, --cc or --bcc (or To/Cc/Bcc headers with --raw)");
  }
  return p;
}

// RFC 5321 section 4.1.4 (and RFC 6152 for 8BITMIME) allows no NUL octet in a message; only
// BODY=BINARYMIME with BDAT (RFC 3030) carries one, and mailwrench does not send that. So a
// message on stdin with a NUL cannot go, whatever the server offers: refused before anything
// is sent, naming where it is in the input (a NUL is no text a reader can see).
void refuse_nul(std::string_view raw)
{
  auto at = raw.find('\0');
  if (at == std::string_view::npos) {
    return;
  }
  auto line_start = raw.rfind('\n', at);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  auto line = 1 + static_cast<std::size_t>(
                      std::count(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  throw Error(ExitCode::data,
              "the message on stdin has a NUL octet on line " + std::to_string(line) + " (octet " +
                  std::to_string(at - line_start + 1) + " of the line, offset " +
                  std::to_string(at) +
                  " of the input); SMTP does not carry NUL (RFC 5321 section 4.1.4, RFC 6152) "
                  "and mailwrench does not send BINARYMIME, so nothing was sent");
}

bool is_ascii(std::string_view s)
{
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Whether the envelope needs SMTPUTF8 (RFC 6531 section 3.4).
bool has_utf8_address(const Prepared& prepared)
{
  return !is_ascii(prepared.from) ||
         std::any_of(prepared.recipients.begin(), prepared.recipients.end(),
                     [](const std::string& r) { return !is_ascii(r); });
}

// What the server's EHLO says the message must fit (RFC 1870 SIZE, RFC 6531 SMTPUTF8).
void check_limits(const cli::Context& context, const smtp::Extensions& ext,
                  const Prepared& prepared)
{
  if (prepared.longest_line > 998) {
    context.log->warn("the message has a line of {} octets; RFC 5322 allows 998, and servers "
                      "may break or refuse it",
                      prepared.longest_line);
  }
  if (ext.size && *ext.size > 0 && prepared.message.size() > *ext.size) {
    throw Error(ExitCode::data, "the message is " + std::to_string(prepared.message.size()) +
                                    " octets, and the server accepts at most " +
                                    std::to_string(*ext.size) + " (SIZE)");
  }
  if (prepared.eight_bit && !ext.eight_bit_mime) {
    context.log->warn("the message has 8-bit content and the server does not offer 8BITMIME");
  }

  if (has_utf8_address(prepared) && !ext.smtputf8) {
    throw Error(ExitCode::data, "an address has non-ASCII characters and the server does not "
                                "offer SMTPUTF8");
  }
}

// The warning of a partial send: who did not get the message, and what to do about it.
std::string partial_summary(const std::vector<std::string>& deferred,
                            const std::vector<std::string>& refused)
{
  std::string summary = "the message went to the accepted recipients only";
  if (!refused.empty()) {
    summary += "; refused: " + text::join(refused, ", ");
  }
  if (!deferred.empty()) {
    summary += "; deferred (temporary failure): " + text::join(deferred, ", ") +
               " (send again to these only: the others have it)";
  }
  return summary;
}

// sysexits for the outcome of a transaction (the scheme in mailwrench(1), EXIT STATUS).
int exit_code_of(const smtp::Transaction& t, std::size_t recipients)
{
  if (!t.mail.positive()) {
    return static_cast<int>(smtp::exit_code_for(t.mail, ExitCode::data));
  }
  std::size_t accepted = 0;
  bool temporary = false;
  if (!t.delivery.empty()) {
    // LMTP (RFC 2033 section 4.2): each recipient has its own reply after the message.
    for (std::size_t i = 0; i < t.recipients.size(); ++i) {
      const auto& r = i < t.delivery.size() && t.delivery[i] ? *t.delivery[i] : t.recipients[i];
      accepted += r.positive() ? 1U : 0U;
      temporary = temporary || r.transient();
    }
    if (accepted == 0) {
      return static_cast<int>(temporary ? ExitCode::temporary : ExitCode::data);
    }
    return static_cast<int>(accepted == recipients ? ExitCode::ok : ExitCode::partial);
  }
  for (const auto& r : t.recipients) {
    if (r.positive()) {
      ++accepted;
    }
    temporary = temporary || r.transient();
  }
  if (!t.data || !t.data->positive()) {
    if (t.data && t.data->transient()) {
      return static_cast<int>(ExitCode::temporary);
    }
    if (accepted == 0) {
      return static_cast<int>(temporary ? ExitCode::temporary : ExitCode::data);
    }
    return static_cast<int>(ExitCode::data);
  }
  // The message went to someone: a retry of the whole would give them a second copy, so a
  // deferred recipient makes this partial, not temporary (75 says "try again later").
  return static_cast<int>(accepted == recipients ? ExitCode::ok : ExitCode::partial);
}

// MAIL FROM and RCPT TO for the prepared message, with the parameters the server offers:
// SIZE (RFC 1870), BODY=8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461).
Envelope envelope_for(const cli::Context& context, const smtp::Extensions& ext,
                      const SendOptions& o, const Prepared& prepared)
{
  Envelope envelope;
  envelope.from = prepared.from;
  auto& mail = envelope.parameters;
  if (ext.size) {
    mail.size = prepared.message.size();
  }
  mail.eight_bit = prepared.eight_bit && ext.eight_bit_mime;
  mail.smtputf8 = has_utf8_address(prepared);
  bool dsn = ext.dsn && (!o.dsn_notify.empty() || !o.dsn_return.empty() || !o.dsn_envid.empty());
  if (!ext.dsn && (!o.dsn_notify.empty() || !o.dsn_return.empty() || !o.dsn_envid.empty())) {
    context.log->warn("the server does not offer DSN; --dsn-* options are ignored");
  }
  if (dsn) {
    mail.ret = o.dsn_return;
    mail.envid = o.dsn_envid;
  }
  for (const auto& r : prepared.recipients) {
    smtp::Recipient recipient{r, {}};
    if (dsn) {
      recipient.parameters.notify = o.dsn_notify;
    }
    envelope.recipients.push_back(std::move(recipient));
  }
  return envelope;
}

// What the server said to the envelope and the message.
output::SendResult result_of(const Prepared& prepared, const Envelope& envelope,
                             const smtp::Transaction& t)
{
  output::SendResult result;
  result.message_id = prepared.message_id;
  result.from = prepared.from;
  const auto& recipients = envelope.recipients;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    // A refused MAIL FROM refuses every recipient with it; in LMTP a recipient accepted at
    // RCPT has its own reply to the message (RFC 2033 section 4.2).
    const auto& reply = i < t.delivery.size() && t.delivery[i] ? *t.delivery[i]
                        : i < t.recipients.size()              ? t.recipients[i]
                                                               : t.mail;
    result.recipients.push_back(
        {recipients[i].address, reply.positive() && t.mail.positive(), outcome_of(reply)});
  }
  if (t.data) {
    result.data = outcome_of(*t.data);
    if (t.data->positive()) {
      result.queue_id = smtp::queue_id(*t.data);
    }
  }
  return result;
}

// The result on stdout (plain unless --quiet and all went well, or JSON), and on stderr why
// the exit code is not 0.
void report(const cli::Context& context, const output::SendResult& result,
            const smtp::Transaction& t, int code)
{
  const auto& s = context.settings;
  if (s.json) {
    output::write_json(output::to_json(result), context.out);
  } else if (!s.quiet || code != 0) {
    output::render_plain(result, context.out);
  }
  if (code == 0) {
    return;
  }
  std::vector<std::string> deferred;
  std::vector<std::string> refused;
  for (const auto& r : result.recipients) {
    if (!r.accepted) {
      (r.reply.code >= 400 && r.reply.code < 500 ? deferred : refused).push_back(r.address);
    }
  }
  std::string why =
      !t.mail.positive()              ? "the server refused the sender: " + smtp::describe(t.mail)
      : t.data && !t.data->positive() ? "the server refused the message: " + smtp::describe(*t.data)
      : code == static_cast<int>(ExitCode::partial) ? partial_summary(deferred, refused)
                                                    : "the server refused recipients";
  if (code == static_cast<int>(ExitCode::partial)) {
    context.log->warn("{}", why);
  } else {
    context.log->error("{}", why);
  }
}

// The recipients of a probe: --to, --cc and --bcc, each once, as addresses.
std::vector<std::string> probe_recipients(const SendOptions& o)
{
  std::vector<std::string> out;
  for (const auto* list : {&o.to, &o.cc, &o.bcc}) {
    for (const auto& a : *list) {
      auto address = mail::parse_mailbox(a).address;
      if (std::find(out.begin(), out.end(), address) == out.end()) {
        out.push_back(std::move(address));
      }
    }
  }
  return out;
}

// sysexits for a probe that reached MAIL or RCPT: a refused sender as send reports it; at rcpt
// 0 when every recipient was accepted, 1 when some were (as send's partial), else 75 when a
// refusal was temporary and 65 when all were permanent (swaks: non-zero when none was).
int probe_exit_code(const smtp::Transaction& t, Stage stage)
{
  if (!t.mail.positive()) {
    return static_cast<int>(smtp::exit_code_for(t.mail, ExitCode::data));
  }
  if (stage != Stage::rcpt) {
    return 0;
  }
  std::size_t accepted = 0;
  bool temporary = false;
  for (const auto& r : t.recipients) {
    accepted += r.positive() ? 1U : 0U;
    temporary = temporary || r.transient();
  }
  if (accepted == t.recipients.size()) {
    return 0;
  }
  if (accepted > 0) {
    return static_cast<int>(ExitCode::partial);
  }
  return static_cast<int>(temporary ? ExitCode::temporary : ExitCode::data);
}

// send --quit-after STAGE: the session up to STAGE, then QUIT; no DATA, so no message. What a
// swaks user does to ask "does this server accept mail for this address?".
int probe(const cli::Context& context, const SendOptions& o)
{
  const auto stage = *o.quit_after;
  const auto until = stage == Stage::connect ? SmtpSession::Until::greeting
                     : stage == Stage::tls   ? SmtpSession::Until::tls
                                             : SmtpSession::Until::all;
  // The addresses are read before connecting: a bad one fails before the server is bothered.
  Envelope envelope;
  if (stage == Stage::mail || stage == Stage::rcpt) {
    envelope.from = mail::parse_mailbox(o.from).address;
  }
  if (stage == Stage::rcpt) {
    for (auto& address : probe_recipients(o)) {
      envelope.recipients.push_back({std::move(address), {}});
    }
  }
  auto session = SmtpSession::open(context, o.ehlo, o.lmtp, until);
  output::ProbeResult result;
  result.quit_after = o.quit_after_name;
  result.lmtp = o.lmtp;
  result.greeting = outcome_of(session.greeting());
  result.hello = stage != Stage::connect;
  result.tls = session.tls_description();
  result.auth_user = session.auth_user();
  result.auth_mechanism = session.auth_mechanism();
  int code = 0;
  std::string why;
  if (stage == Stage::mail || stage == Stage::rcpt) {
    for (auto& recipient : envelope.recipients) {
      recipient.parameters.notify = session.extensions().dsn ? o.dsn_notify : "";
    }
    auto utf8 = [](const std::string& a) { return !is_ascii(a); };
    envelope.parameters.smtputf8 =
        utf8(envelope.from) ||
        std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                    [&](const smtp::Recipient& r) { return utf8(r.address); });
    if (envelope.parameters.smtputf8 && !session.extensions().smtputf8) {
      session.check([] {
        throw Error(ExitCode::data, "an address has non-ASCII characters and the server does not "
                                    "offer SMTPUTF8");
      });
    }
    auto t = session.envelope(envelope);
    result.from = envelope.from;
    result.mail = outcome_of(t.mail);
    for (std::size_t i = 0; i < t.recipients.size(); ++i) {
      result.recipients.push_back({envelope.recipients[i].address, t.recipients[i].positive(),
                                   outcome_of(t.recipients[i])});
    }
    code = probe_exit_code(t, stage);
    if (!t.mail.positive()) {
      why = "the server refused the sender: " + smtp::describe(t.mail);
    } else if (code != 0) {
      std::vector<std::string> refused;
      for (std::size_t i = 0; i < t.recipients.size(); ++i) {
        if (!t.recipients[i].positive()) {
          refused.push_back(envelope.recipients[i].address + " (" +
                            smtp::describe(t.recipients[i]) + ")");
        }
      }
      why = "the server refused recipients: " + text::join(refused, ", ");
    }
  }
  session.quit_quietly();
  const auto& s = context.settings;
  if (s.json) {
    output::write_json(output::to_json(result), context.out);
  } else if (!s.quiet || code != 0) {
    output::render_plain(result, context.out);
  }
  if (code == static_cast<int>(ExitCode::partial)) {
    context.log->warn("{}", why);
  } else if (code != 0) {
    context.log->error("{}", why);
  }
  return code;
}

// The telnet session it replaces: EHLO, STARTTLS, EHLO, AUTH (the session), MAIL FROM,
// RCPT TO..., DATA, the message, ".", QUIT.
int run(const cli::Context& context, const SendOptions& o)
{
  // Compose once before connecting, so that bad input fails before the server is bothered.
  auto inputs = read_inputs(context, o);
  refuse_nul(inputs.raw);
  auto preview = prepare(o, inputs, false);
  if (o.dry_run) {
    // Nothing is asked of a server: the envelope and the message, no outcomes.
    output::SendPreview shown{preview.message_id, preview.from, preview.recipients,
                              preview.message};
    if (context.settings.json) {
      output::write_json(output::to_json(shown), context.out);
    } else {
      output::render_plain(shown, context.out);
    }
    return 0;
  }

  // What is in the awaited mailbox before the send cannot be the message sent.
  AwaitBaseline baseline;
  if (o.await) {
    baseline = await_baseline(context, *o.await);
  }
  auto session = SmtpSession::open(context, o.ehlo, o.lmtp);
  const auto& ext = session.extensions();
  auto prepared = ext.eight_bit_mime ? prepare(o, inputs, true) : std::move(preview);
  session.check([&] { check_limits(context, ext, prepared); });
  auto envelope = envelope_for(context, ext, o, prepared);
  auto t = session.send(envelope, prepared.message,
                        o.chunking ? smtp::Chunking::yes : smtp::Chunking::no);
  auto handed_over = std::chrono::steady_clock::now();
  session.quit_quietly();

  auto result = result_of(prepared, envelope, t);
  int code = exit_code_of(t, envelope.recipients.size());
  // The mail-flow check: wait for the message in a POP3 account.
  const bool delivered =
      (t.data && t.data->positive()) ||
      std::any_of(t.delivery.begin(), t.delivery.end(),
                  [](const std::optional<smtp::Reply>& r) { return r && r->positive(); });
  if (o.await && delivered) {
    try {
      result.await = await_delivery(context, *o.await, prepared.message_id, handed_over, baseline);
    } catch (const Error& e) {
      if (context.settings.json) {
        auto doc = output::to_json(result);
        doc["error"] = output::error_json(e.code(), e.what())["error"];
        output::write_json(doc, context.out);
        context.log->error("{}", e.what());
        return static_cast<int>(e.code());
      }
      output::render_plain(result, context.out);
      throw;
    }
  }
  report(context, result, t, code);
  return code;
}

// "90", "90s" or "2m".
std::chrono::seconds await_timeout(const std::string& text)
{
  std::string number = text;
  std::uint64_t unit = 1;
  if (!number.empty() && (number.back() == 's' || number.back() == 'm')) {
    unit = number.back() == 'm' ? 60 : 1;
    number.pop_back();
  }
  auto seconds = cli::parse_number(number, "--await-timeout") * unit;
  if (seconds == 0 || seconds > 86400) {
    throw UsageError("invalid --await-timeout '" + text + "' (expected e.g. 60, 90s or 2m)");
  }
  return std::chrono::seconds(seconds);
}

// The DSN options, upper-cased and checked (RFC 3461 section 4).
void check_dsn(SendOptions& o)
{
  o.dsn_return = text::upper(o.dsn_return);
  if (!o.dsn_return.empty() && o.dsn_return != "FULL" && o.dsn_return != "HDRS") {
    throw UsageError("invalid --dsn-return '" + o.dsn_return + "' (expected full or hdrs)");
  }
  o.dsn_notify = text::upper(o.dsn_notify);
  if (!o.dsn_notify.empty() && o.dsn_notify != "NEVER") {
    std::string_view rest = o.dsn_notify;
    while (!rest.empty()) {
      auto word = rest.substr(0, rest.find(','));
      if (word != "SUCCESS" && word != "FAILURE" && word != "DELAY") {
        throw UsageError("invalid --dsn-notify '" + o.dsn_notify +
                         "' (expected NEVER, or a list of SUCCESS, FAILURE, DELAY)");
      }
      rest.remove_prefix(std::min(rest.size(), word.size() + 1));
    }
  }
}

// Which of the options go together.
void check_combination(const SendOptions& o)
{
  if (o.body && !o.body_file.empty()) {
    throw UsageError("give the text with --body or with --body-file, not both");
  }
  if (o.raw && (o.body || !o.body_file.empty() || !o.attachments.empty() || !o.subject.empty() ||
                !o.extra_headers.empty())) {
    throw UsageError("--raw sends stdin as it is: --subject, --body, --body-file, --attach "
                     "and --header do not apply");
  }
  if (!o.raw && o.to.empty() && o.cc.empty() && o.bcc.empty()) {
    throw UsageError("send needs at least one recipient: --to, --cc or --bcc");
  }
  if (!o.raw && o.from.empty()) {
    throw UsageError("send needs --from ADDR (or 'from = ...' in the config file)");
  }
}

// What a probe (--quit-after) needs and refuses: it sends no message, so nothing of one
// applies and stdin is never read; MAIL FROM needs a sender, RCPT TO recipients.
void check_probe(const SendOptions& o)
{
  std::vector<std::string> message;
  const std::pair<bool, const char*> k_message_options[] = {{!o.subject.empty(), "--subject"},
                                                            {o.body.has_value(), "--body"},
                                                            {!o.body_file.empty(), "--body-file"},
                                                            {!o.attachments.empty(), "--attach"},
                                                            {!o.extra_headers.empty(), "--header"},
                                                            {o.raw, "--raw"},
                                                            {o.chunking, "--chunking"},
                                                            {o.dry_run, "--dry-run"},
                                                            {o.await.has_value(), "--await"}};
  for (const auto& [given, name] : k_message_options) {
    if (given) {
      message.emplace_back(name);
    }
  }
  if (!message.empty()) {
    throw UsageError("--quit-after " + o.quit_after_name +
                     " sends no message: " + text::join(message, ", ") + " do not apply");
  }
  const auto stage = *o.quit_after;
  if ((stage == Stage::mail || stage == Stage::rcpt) && o.from.empty()) {
    throw UsageError("--quit-after " + o.quit_after_name +
                     " needs --from ADDR for MAIL FROM (or 'from = ...' in the config file)");
  }
  if (stage == Stage::rcpt && o.to.empty() && o.cc.empty() && o.bcc.empty()) {
    throw UsageError("--quit-after rcpt needs a recipient to ask about: --to, --cc or --bcc");
  }
}

}  // namespace

void send_options(po::options_description& options)
{
  // clang-format off
  options.add_options()
    ("from", po::value<std::string>()->value_name("ADDR"),
     "sender (From header and MAIL FROM)")
    ("to", po::value<std::vector<std::string>>()->value_name("ADDR")->composing(),
     "recipient (repeatable)")
    ("cc", po::value<std::vector<std::string>>()->value_name("ADDR")->composing(),
     "copy recipient (repeatable)")
    ("bcc", po::value<std::vector<std::string>>()->value_name("ADDR")->composing(),
     "blind copy recipient: envelope only, never in the headers (repeatable)")
    ("subject", po::value<std::string>()->value_name("TEXT"), "the Subject")
    ("body", po::value<std::string>()->value_name("TEXT"), "the text of the message")
    ("body-file", po::value<std::string>()->value_name("FILE"),
     "read the text from FILE ('-' = stdin; stdin is read only then or with --raw: "
     "without --body or --body-file the body is empty)")
    ("attach", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
     "attach FILE (repeatable; type from the extension)")
    ("header", po::value<std::vector<std::string>>()->value_name("'NAME: VALUE'")->composing(),
     "add or replace a header (repeatable)")
    ("raw", po::bool_switch(),
     "stdin is a complete message; the envelope comes from --from/--to or its headers")
    ("ehlo", po::value<std::string>()->value_name("NAME"),
     "the name to greet with (default: this machine's FQDN)")
    ("dry-run,n", po::bool_switch(), "print the message that would be sent; connect to nothing")
    ("chunking", po::bool_switch(), "send with BDAT when the server offers CHUNKING")
    ("dsn-notify", po::value<std::string>()->value_name("LIST"),
     "delivery status notifications: NEVER, or SUCCESS,FAILURE,DELAY")
    ("dsn-return", po::value<std::string>()->value_name("full|hdrs"),
     "what a bounce returns: the full message or its headers")
    ("dsn-envid", po::value<std::string>()->value_name("ID"), "envelope id for DSNs")
    ("await", po::value<std::string>()->value_name("ACCOUNT"),
     "then poll the POP3 account ACCOUNT (config file) until the message arrives")
    ("await-timeout", po::value<std::string>()->value_name("SECONDS"),
     "how long --await waits (default 60)")
    ("await-purge", po::bool_switch(), "delete the message from ACCOUNT once it arrived")
    ("quit-after", po::value<std::string>()->value_name("STAGE"),
     "probe: stop after connect, tls, auth, mail or rcpt, send QUIT and report; no message "
     "is sent")
    ("lmtp", po::bool_switch(),
     "speak LMTP (RFC 2033) to a local delivery agent: LHLO, a reply per recipient "
     "(default port 24, --tls none; -H /PATH for a Unix socket)");
  // clang-format on
}

cli::Run send(const cli::Options& options)
{
  SendOptions o;
  o.dry_run = options.flag("dry-run");
  if (!o.dry_run) {
    options.require_server();
  }
  o.from = options.configured("from").value_or("");
  o.to = options.given_all("to");
  o.cc = options.given_all("cc");
  o.bcc = options.given_all("bcc");
  o.subject = options.given("subject").value_or("");
  o.body = options.given("body");
  o.body_file = options.given("body-file").value_or("");
  o.attachments = options.given_all("attach");
  o.extra_headers = options.given_all("header");
  o.raw = options.flag("raw");
  o.chunking = options.flag("chunking");
  o.ehlo = options.given("ehlo").value_or("");
  o.dsn_notify = options.given("dsn-notify").value_or("");
  o.dsn_return = options.given("dsn-return").value_or("");
  o.dsn_envid = options.given("dsn-envid").value_or("");
  if (auto watched = options.given("await")) {
    o.await = AwaitOptions{options.account(*watched)};
  }
  if (auto t = options.given("await-timeout")) {
    auto timeout = await_timeout(*t);
    if (o.await) {
      o.await->timeout = timeout;
    }
  }
  if (options.flag("await-purge")) {
    if (!o.await) {
      throw UsageError("--await-purge needs --await ACCOUNT");
    }
    o.await->purge = true;
  }
  // --lmtp's defaults (port 24, --tls none) are the settings' (cli/options.cpp).
  o.lmtp = options.flag("lmtp");
  if (auto stage = options.given("quit-after")) {
    o.quit_after_name = text::lower(*stage);
    for (const auto& [name, value] : k_stages) {
      if (o.quit_after_name == name) {
        o.quit_after = value;
      }
    }
    if (!o.quit_after) {
      throw UsageError("invalid --quit-after '" + *stage +
                       "' (expected connect, tls, auth, mail or rcpt)");
    }
    check_probe(o);
  } else {
    check_combination(o);
  }
  check_dsn(o);
  return [o = std::move(o)](const cli::Context& context) {
    return o.quit_after ? probe(context, o) : run(context, o);
  };
}

}  // namespace mw::commands
