// SPDX-License-Identifier: Apache-2.0
#include "output/info.hpp"

#include "mail/date.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace mw::output {

namespace {

constexpr std::int64_t k_day = 86400;
constexpr std::int64_t k_warn_days = 30;
constexpr std::int64_t k_fail_days = 7;

std::string time_text(std::int64_t seconds)
{
  return mail::format_rfc3339(std::chrono::sys_seconds{std::chrono::seconds{seconds}});
}

std::string milliseconds(double ms)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

bool offers(const std::vector<std::string>& words, std::string_view word)
{
  return std::find(words.begin(), words.end(), word) != words.end();
}

// The stage of the capabilities seen before TLS, if there was one.
const CapabilityStage* plain_stage(const ServerInfo& info)
{
  for (const auto& stage : info.capabilities) {
    if (stage.stage == "plain") {
      return &stage;
    }
  }
  return nullptr;
}

std::string yes_no(bool b)
{
  return b ? "yes" : "no";
}

// The verdicts on what an SMTP server offers before TLS (RFC 3207, RFC 4954 section 4).
void judge_smtp_plain(const ServerInfo& info, const SmtpFacts& facts, std::vector<Verdict>& out)
{
  using S = Verdict::Status;
  std::vector<std::string> password, other;
  for (const auto& mech : facts.auth) {
    (mech == "PLAIN" || mech == "LOGIN" ? password : other).push_back(mech);
  }
  out.push_back(password.empty()
                    ? Verdict{"password-before-tls", S::pass, "no password login before TLS"}
                    : Verdict{"password-before-tls", S::fail,
                              "password login (AUTH " + text::join(password, ", AUTH ") +
                                  ") is offered before TLS"});
  if (!info.tls_error.empty()) {
    out.push_back({"starttls-offered", S::fail, "STARTTLS failed: " + info.tls_error});
  } else {
    out.push_back(facts.starttls ? Verdict{"starttls-offered", S::pass, "STARTTLS is offered"}
                                 : Verdict{"starttls-offered", S::fail,
                                           "no STARTTLS on a plain port: the connection cannot "
                                           "be encrypted"});
  }
  out.push_back(other.empty() ? Verdict{"auth-in-clear", S::pass, "no AUTH offered before TLS"}
                              : Verdict{"auth-in-clear", S::warn,
                                        "AUTH " + text::join(other, " ") + " offered before TLS"});
}

std::string size_text(const std::optional<std::uint64_t>& size)
{
  return !size        ? std::string("(not offered)")
         : *size == 0 ? std::string("no fixed limit")
                      : std::to_string(*size) + " bytes";
}

// The rows of one capability stage for people: CAPA's facts, or EHLO's.
std::vector<std::string> stage_rows(const ServerInfo& info, const CapabilityStage& stage)
{
  if (info.protocol == "smtp") {
    const auto facts = smtp_facts(stage.lines);
    return {
        "AUTH:                " +
            (facts.auth.empty() ? std::string("(none)") : text::join(facts.auth, " ")),
        "STARTTLS:            " + yes_no(facts.starttls),
        "SIZE:                " + size_text(facts.size),
        "PIPELINING:          " + yes_no(facts.pipelining),
        "8BITMIME:            " + yes_no(facts.eight_bit_mime),
        "SMTPUTF8:            " + yes_no(facts.smtputf8),
        "DSN:                 " + yes_no(facts.dsn),
        "CHUNKING:            " + yes_no(facts.chunking),
        "ENHANCEDSTATUSCODES: " + yes_no(facts.enhanced_status_codes),
    };
  }
  const auto facts = pop3_facts(stage.lines);
  const auto given = [](const std::optional<std::string>& v) {
    return v ? text::one_line(*v) : std::string("(not given)");
  };
  return {
      "SASL mechanisms: " +
          (facts.sasl.empty() ? std::string("(none)") : text::join(facts.sasl, " ")),
      "USER:            " + yes_no(facts.user),
      "STLS:            " + yes_no(facts.stls),
      "implementation:  " + (facts.implementation.empty() ? std::string("(not given)")
                                                          : text::one_line(facts.implementation)),
      "EXPIRE:          " + given(facts.expire),
      "LOGIN-DELAY:     " + given(facts.login_delay),
      "PIPELINING:      " + yes_no(facts.pipelining),
      "TOP:             " + yes_no(facts.top),
      "UIDL:            " + yes_no(facts.uidl),
      "RESP-CODES:      " + yes_no(facts.resp_codes),
  };
}

}  // namespace

Pop3Facts pop3_facts(const std::vector<std::string>& lines)
{
  Pop3Facts facts;
  for (const auto& raw : lines) {
    std::string_view line = raw;
    auto space = line.find(' ');
    auto name = text::upper(line.substr(0, space));
    std::string args =
        space == std::string_view::npos ? std::string() : std::string(line.substr(space + 1));
    if (name == "SASL") {
      std::string_view rest = args;
      while (!rest.empty()) {
        auto sp = rest.find(' ');
        auto mech = rest.substr(0, sp);
        if (!mech.empty() && !offers(facts.sasl, text::upper(mech))) {
          facts.sasl.push_back(text::upper(mech));
        }
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
      }
    } else if (name == "IMPLEMENTATION") {
      facts.implementation = args;
    } else if (name == "EXPIRE") {
      facts.expire = args;
    } else if (name == "LOGIN-DELAY") {
      facts.login_delay = args;
    } else if (name == "USER") {
      facts.user = true;
    } else if (name == "STLS") {
      facts.stls = true;
    } else if (name == "PIPELINING") {
      facts.pipelining = true;
    } else if (name == "TOP") {
      facts.top = true;
    } else if (name == "UIDL") {
      facts.uidl = true;
    } else if (name == "RESP-CODES") {
      facts.resp_codes = true;
    }
  }
  return facts;
}

SmtpFacts smtp_facts(const std::vector<std::string>& lines)
{
  static constexpr std::pair<std::string_view, bool SmtpFacts::*> k_flags[] = {
      {"STARTTLS", &SmtpFacts::starttls},
      {"PIPELINING", &SmtpFacts::pipelining},
      {"8BITMIME", &SmtpFacts::eight_bit_mime},
      {"SMTPUTF8", &SmtpFacts::smtputf8},
      {"DSN", &SmtpFacts::dsn},
      {"CHUNKING", &SmtpFacts::chunking},
      {"ENHANCEDSTATUSCODES", &SmtpFacts::enhanced_status_codes},
  };
  SmtpFacts facts;
  for (const auto& raw : lines) {
    std::vector<std::string> words;
    std::string_view rest = raw;
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      if (sp != 0) {
        words.emplace_back(rest.substr(0, sp));
      }
      rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    }
    if (words.empty()) {
      continue;
    }
    auto keyword = text::upper(words.front());
    // "AUTH=LOGIN PLAIN": the form of servers from before RFC 2554, still sent by some.
    if (keyword.starts_with("AUTH=")) {
      words.front() = words.front().substr(5);
      keyword = "AUTH";
    } else {
      words.erase(words.begin());
    }
    if (keyword == "AUTH") {
      for (const auto& mech : words) {
        if (!mech.empty() && !offers(facts.auth, text::upper(mech))) {
          facts.auth.push_back(text::upper(mech));
        }
      }
    } else if (keyword == "SIZE") {
      std::uint64_t limit = 0;
      if (!words.empty()) {
        const auto& n = words.front();
        if (n.empty() || n.size() > 19 ||
            !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          continue;  // not a number: as if not offered
        }
        limit = std::stoull(n);
      }
      facts.size = limit;
    } else {
      for (const auto& [name, flag] : k_flags) {
        if (keyword == name) {
          facts.*flag = true;
        }
      }
    }
  }
  return facts;
}

bool pin_matches(const ServerInfo& info)
{
  if (info.pin.empty() || !info.tls || info.tls->chain.empty()) {
    return false;
  }
  std::string actual;
  for (char c : info.tls->chain.front().sha256) {
    if (c != ':') {
      actual += c;
    }
  }
  return actual == info.pin;
}

std::string_view status_name(Verdict::Status status)
{
  switch (status) {
  case Verdict::Status::pass: return "pass";
  case Verdict::Status::warn: return "warn";
  case Verdict::Status::fail: return "fail";
  }
  return "fail";
}

std::int64_t days_left(const net::CertificateFacts& cert, std::int64_t now)
{
  const auto left = cert.not_after - now;
  return left >= 0 ? left / k_day : -((-left + k_day - 1) / k_day);
}

std::vector<Verdict> judge(const ServerInfo& info, std::int64_t now)
{
  using S = Verdict::Status;
  std::vector<Verdict> out;
  if (info.tls) {
    const auto& tls = *info.tls;
    // Expiry: the certificate of the chain that runs out first.
    Verdict expiry{"certificate-expiry", S::pass, "no certificate was sent"};
    const net::CertificateFacts* first = nullptr;
    for (const auto& cert : tls.chain) {
      if (first == nullptr || cert.not_after < first->not_after) {
        first = &cert;
      }
    }
    if (first != nullptr) {
      const auto days = days_left(*first, now);
      const std::string whose = first == &tls.chain.front()
                                    ? "the server's certificate"
                                    : "a certificate of the chain (" + first->subject + ")";
      if (first->not_after <= now) {
        expiry = {"certificate-expiry", S::fail,
                  whose + " expired on " + time_text(first->not_after)};
      } else if (days < k_fail_days) {
        expiry = {"certificate-expiry", S::fail,
                  whose + " expires in " + std::to_string(days) + " days (less than " +
                      std::to_string(k_fail_days) + ")"};
      } else if (days < k_warn_days) {
        expiry = {"certificate-expiry", S::warn,
                  whose + " expires in " + std::to_string(days) + " days (less than " +
                      std::to_string(k_warn_days) + ")"};
      } else {
        expiry = {"certificate-expiry", S::pass,
                  "valid for " + std::to_string(days) + " more days"};
      }
      for (const auto& cert : tls.chain) {
        if (cert.not_before > now) {
          expiry = {"certificate-expiry", S::fail,
                    "a certificate is not valid before " + time_text(cert.not_before)};
        }
      }
    }
    out.push_back(expiry);
    out.push_back(
        tls.name_mismatch
            ? Verdict{"certificate-name", S::fail,
                      "the certificate does not match the host name '" + info.host + "'"}
            : Verdict{"certificate-name", S::pass, "the certificate matches '" + info.host + "'"});
    std::string untrusted;
    for (const auto& problem : tls.problems) {
      if (problem.name) {
        continue;
      }
      untrusted += (untrusted.empty() ? "" : "; ") + problem.reason +
                   (problem.depth > 0 ? " (depth " + std::to_string(problem.depth) + ")" : "");
    }
    out.push_back(untrusted.empty()
                      ? Verdict{"certificate-trust", S::pass, "the chain is trusted"}
                      : Verdict{"certificate-trust", S::fail, "not trusted: " + untrusted});
    if (!info.pin.empty()) {
      const bool pinned = pin_matches(info);
      out.push_back(pinned ? Verdict{"certificate-pin", S::pass,
                                     "the certificate has the --fingerprint given"}
                           : Verdict{"certificate-pin", S::fail,
                                     "the certificate's SHA-256 is not the --fingerprint given"});
      // A matching pin replaces the chain and name checks (as for every command).
      for (auto& verdict : out) {
        if (pinned && verdict.status == S::fail &&
            (verdict.check == "certificate-name" || verdict.check == "certificate-trust")) {
          verdict.status = S::warn;
          verdict.reason += " (the certificate is pinned with --fingerprint)";
        }
      }
    }
  }
  if (info.legacy_tls) {
    out.push_back(
        *info.legacy_tls
            ? Verdict{"legacy-tls", S::fail,
                      info.legacy_tls_detail + ": TLS below 1.2 is accepted (RFC 8996 forbids it)"}
            : Verdict{"legacy-tls", S::pass, "TLS 1.0 and 1.1 are refused"});
  }
  const auto* plain = plain_stage(info);
  if (plain != nullptr && info.protocol == "smtp") {
    judge_smtp_plain(info, smtp_facts(plain->lines), out);
  } else if (plain != nullptr) {
    const auto facts = pop3_facts(plain->lines);
    const bool plain_sasl = offers(facts.sasl, "PLAIN") || offers(facts.sasl, "LOGIN");
    if (facts.user || plain_sasl) {
      std::string what = facts.user ? "USER" : "";
      for (const char* mech : {"PLAIN", "LOGIN"}) {
        if (offers(facts.sasl, mech)) {
          what += (what.empty() ? "" : ", ") + std::string("AUTH ") + mech;
        }
      }
      out.push_back(
          {"password-before-tls", S::fail, "password login (" + what + ") is offered before TLS"});
    } else {
      out.push_back({"password-before-tls", S::pass, "no password login before TLS"});
    }
    if (!info.tls_error.empty()) {
      out.push_back({"stls-offered", S::fail, "STLS failed: " + info.tls_error});
    } else {
      out.push_back(facts.stls ? Verdict{"stls-offered", S::pass, "STLS is offered"}
                               : Verdict{"stls-offered", S::fail,
                                         "no STLS on a plain port: the connection cannot be "
                                         "encrypted"});
    }
    std::vector<std::string> other;
    for (const auto& mech : facts.sasl) {
      if (mech != "PLAIN" && mech != "LOGIN") {
        other.push_back(mech);
      }
    }
    out.push_back(other.empty()
                      ? Verdict{"auth-in-clear", S::pass, "no AUTH offered before TLS"}
                      : Verdict{"auth-in-clear", S::warn,
                                "AUTH " + text::join(other, " ") + " offered before TLS"});
  }
  if (info.login == "failed") {
    out.push_back({"login", S::fail, info.login_detail});
  } else if (info.login == "ok") {
    out.push_back({"login", S::pass, info.login_detail});
  }
  return out;
}

std::vector<std::string> describe(const net::CertificateFacts& cert, std::int64_t now)
{
  std::vector<std::string> out;
  out.push_back("subject:     " + text::one_line(cert.subject));
  out.push_back("issuer:      " + text::one_line(cert.issuer));
  out.push_back("names:       " + (cert.names.empty()
                                       ? std::string("(none)")
                                       : text::one_line(text::join(cert.names, ", "))));
  out.push_back("key:         " + cert.key_type + " " + std::to_string(cert.key_bits) + " bits");
  out.push_back("signature:   " + cert.signature_algorithm);
  out.push_back("not before:  " + time_text(cert.not_before));
  const auto days = days_left(cert, now);
  out.push_back("not after:   " + time_text(cert.not_after) + " (" +
                (cert.not_after <= now ? "expired " + std::to_string(-days) + " days ago"
                                       : std::to_string(days) + " days left") +
                ")");
  out.push_back("SHA-256:     " + cert.sha256);
  return out;
}

void render_plain(const ServerInfo& info, const std::vector<Verdict>* verdicts, std::int64_t now,
                  std::ostream& out)
{
  const bool smtp = info.protocol == "smtp";
  out << (smtp ? "SMTP server " : "POP3 server ") << info.host << " port " << info.port << " ("
      << info.peer << "), TLS: " << info.tls_mode << "\n";
  out << "  connect: " << milliseconds(info.connect_ms)
      << ", greeting: " << milliseconds(info.greeting_ms)
      << (smtp ? ", EHLO round trip: " : ", CAPA round trip: ") << milliseconds(info.capa_ms)
      << "\n";
  out << "greeting: " << text::one_line(info.greeting) << "\n";
  if (info.tls) {
    const auto& tls = *info.tls;
    out << "TLS session: " << tls.protocol << " " << tls.cipher << "\n";
    out << "  verification: "
        << (tls.verified() ? std::string("OK (trusted, and the name matches)") : "FAILED") << "\n";
    for (const auto& problem : tls.problems) {
      out << "    " << problem.reason
          << (problem.depth > 0 ? " (depth " + std::to_string(problem.depth) + ")" : "") << "\n";
    }
    for (std::size_t i = 0; i < tls.chain.size(); ++i) {
      out << "  certificate " << i << (i == 0 ? " (the server's)" : "") << ":\n";
      for (const auto& line : describe(tls.chain[i], now)) {
        out << "    " << line << "\n";
      }
    }
  }
  if (!info.tls_error.empty()) {
    out << "TLS: failed: " << text::one_line(info.tls_error) << "\n";
  }
  // Each stage after the first shows only what changed, as a person compares them.
  std::vector<std::string> previous;
  for (const auto& stage : info.capabilities) {
    const std::string when = stage.stage == "plain" ? "before TLS"
                             : stage.stage == "tls" ? "after TLS"
                                                    : "after login";
    out << (smtp ? "EHLO keywords " : "capabilities ") << when << ":";
    if (!stage.answered) {
      out << (smtp ? " (EHLO refused)\n" : " (CAPA refused)\n");
      previous.clear();
      continue;
    }
    out << "\n";
    const auto rows = stage_rows(info, stage);
    bool changed = previous.empty();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (previous.empty() || previous[i] != rows[i]) {
        out << "  " << rows[i] << "\n";
        changed = true;
      }
    }
    if (!changed) {
      out << "  (as before)\n";
    } else if (!previous.empty()) {
      out << "  (the rest as before)\n";
    }
    previous = rows;
  }
  out << "login: " << info.login;
  if (!info.login_detail.empty()) {
    out << " (" << text::one_line(info.login_detail) << ")";
  }
  out << "\n";
  if (verdicts != nullptr) {
    if (info.legacy_tls) {
      out << "TLS below 1.2: " << text::one_line(info.legacy_tls_detail) << "\n";
    }
    out << "verdicts:\n";
    for (const auto& verdict : *verdicts) {
      out << "  " << status_name(verdict.status) << "  " << verdict.check << ": "
          << text::one_line(verdict.reason) << "\n";
    }
  }
}

nlohmann::json to_json(const ServerInfo& info, const std::vector<Verdict>* verdicts,
                       std::int64_t now)
{
  using nlohmann::json;
  json doc = {{"protocol", info.protocol},
              {"host", info.host},
              {"port", info.port},
              {"tls_mode", info.tls_mode},
              {"peer", info.peer},
              {"greeting", info.greeting},
              {"timing_ms",
               {{"connect", info.connect_ms},
                {"greeting", info.greeting_ms},
                {info.protocol == "smtp" ? "ehlo" : "capa", info.capa_ms}}}};
  if (info.tls) {
    const auto& tls = *info.tls;
    json chain = json::array();
    for (const auto& cert : tls.chain) {
      chain.push_back({{"subject", cert.subject},
                       {"issuer", cert.issuer},
                       {"names", cert.names},
                       {"key_type", cert.key_type},
                       {"key_bits", cert.key_bits},
                       {"signature_algorithm", cert.signature_algorithm},
                       {"not_before", time_text(cert.not_before)},
                       {"not_after", time_text(cert.not_after)},
                       {"days_left", days_left(cert, now)},
                       {"sha256", cert.sha256}});
    }
    json problems = json::array();
    for (const auto& problem : tls.problems) {
      problems.push_back(
          {{"depth", problem.depth}, {"code", problem.code}, {"reason", problem.reason}});
    }
    doc["tls"] = {{"protocol", tls.protocol},   {"cipher", tls.cipher},
                  {"verified", tls.verified()}, {"name_matches", !tls.name_mismatch},
                  {"problems", problems},       {"chain", chain}};
  } else {
    doc["tls"] = nullptr;
  }
  doc["tls_error"] = info.tls_error.empty() ? json(nullptr) : json(info.tls_error);
  json stages = json::array();
  for (const auto& stage : info.capabilities) {
    json entry = {{"stage", stage.stage},
                  {"encrypted", stage.encrypted},
                  {"answered", stage.answered},
                  {"lines", stage.lines}};
    if (info.protocol == "smtp") {
      const auto facts = smtp_facts(stage.lines);
      entry["auth"] = facts.auth;
      entry["size"] = facts.size ? json(*facts.size) : json(nullptr);
      entry["starttls"] = facts.starttls;
      entry["pipelining"] = facts.pipelining;
      entry["8bitmime"] = facts.eight_bit_mime;
      entry["smtputf8"] = facts.smtputf8;
      entry["dsn"] = facts.dsn;
      entry["chunking"] = facts.chunking;
      entry["enhancedstatuscodes"] = facts.enhanced_status_codes;
      stages.push_back(entry);
      continue;
    }
    const auto facts = pop3_facts(stage.lines);
    entry["sasl"] = facts.sasl;
    entry["implementation"] =
        facts.implementation.empty() ? json(nullptr) : json(facts.implementation);
    entry["expire"] = facts.expire ? json(*facts.expire) : json(nullptr);
    entry["login_delay"] = facts.login_delay ? json(*facts.login_delay) : json(nullptr);
    entry["user"] = facts.user;
    entry["stls"] = facts.stls;
    entry["pipelining"] = facts.pipelining;
    entry["top"] = facts.top;
    entry["uidl"] = facts.uidl;
    entry["resp_codes"] = facts.resp_codes;
    stages.push_back(entry);
  }
  doc["capabilities"] = stages;
  doc["login"] = {{"result", info.login}, {"detail", info.login_detail}};
  if (verdicts != nullptr) {
    doc["legacy_tls"] = info.legacy_tls ? json(*info.legacy_tls) : json(nullptr);
    json list = json::array();
    for (const auto& verdict : *verdicts) {
      list.push_back({{"check", verdict.check},
                      {"status", status_name(verdict.status)},
                      {"reason", verdict.reason}});
    }
    doc["verdicts"] = list;
  }
  return doc;
}

}  // namespace mw::output
