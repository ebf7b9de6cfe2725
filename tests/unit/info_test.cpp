// SPDX-License-Identifier: Apache-2.0
#include "output/info.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

using namespace mw;
using namespace mw::output;

namespace {

constexpr std::int64_t k_now = 1'800'000'000;  // 2027-01-15T08:00:00Z
constexpr std::int64_t k_day = 86400;

net::CertificateFacts cert(std::int64_t days_left)
{
  net::CertificateFacts c;
  c.subject = "CN=localhost";
  c.issuer = "CN=Lab CA";
  c.names = {"DNS:localhost", "IP:127.0.0.1"};
  c.key_type = "RSA";
  c.key_bits = 2048;
  c.signature_algorithm = "sha256WithRSAEncryption";
  c.not_before = k_now - 10 * k_day;
  c.not_after = k_now + days_left * k_day + 3600;
  c.sha256 = "AB:CD";
  return c;
}

ServerInfo implicit_tls(std::int64_t days)
{
  ServerInfo info;
  info.host = "localhost";
  info.port = 995;
  info.tls_mode = "implicit";
  info.tls = net::TlsSession{"TLSv1.3", "TLS_AES_256_GCM_SHA384", {cert(days)}, {}, false};
  info.capabilities.push_back({"tls", true, true, {"USER", "SASL PLAIN", "TOP", "UIDL"}});
  return info;
}
// A copy: the verdicts are often a temporary (judge(...)), gone by the time a CHECK reads them.
Verdict find(const std::vector<Verdict>& verdicts, const std::string& check)
{
  auto it = std::find_if(verdicts.begin(), verdicts.end(),
                         [&](const Verdict& v) { return v.check == check; });
  REQUIRE(it != verdicts.end());
  return *it;
}

}  // namespace

TEST_CASE("info: CAPA facts", "[info]")
{
  auto facts =
      pop3_facts({"USER", "SASL PLAIN login CRAM-MD5", "IMPLEMENTATION Dovecot", "EXPIRE NEVER",
                  "LOGIN-DELAY 900", "PIPELINING", "TOP", "UIDL", "RESP-CODES", "STLS"});
  CHECK(facts.sasl == std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"});
  CHECK(facts.implementation == "Dovecot");
  CHECK(facts.expire == "NEVER");
  CHECK(facts.login_delay == "900");
  CHECK((facts.user && facts.stls && facts.pipelining && facts.top && facts.uidl &&
         facts.resp_codes));
  auto none = pop3_facts({"TOP"});
  CHECK(!none.expire);
  CHECK(!none.user);
  CHECK(none.sasl.empty());
}

TEST_CASE("info: certificate expiry verdicts at 30 and 7 days", "[info]")
{
  CHECK(find(judge(implicit_tls(90), k_now), "certificate-expiry").status == Verdict::Status::pass);
  CHECK(find(judge(implicit_tls(29), k_now), "certificate-expiry").status == Verdict::Status::warn);
  CHECK(find(judge(implicit_tls(30), k_now), "certificate-expiry").status == Verdict::Status::pass);
  CHECK(find(judge(implicit_tls(6), k_now), "certificate-expiry").status == Verdict::Status::fail);
  auto expired = implicit_tls(0);
  expired.tls->chain[0].not_after = k_now - k_day;
  const auto& v = find(judge(expired, k_now), "certificate-expiry");
  CHECK(v.status == Verdict::Status::fail);
  CHECK(v.reason.find("expired") != std::string::npos);
}

TEST_CASE("info: name mismatch and untrusted chain are told apart", "[info]")
{
  auto info = implicit_tls(90);
  info.tls->problems = {{0, 62, "hostname mismatch", true}};
  info.tls->name_mismatch = true;
  auto verdicts = judge(info, k_now);
  CHECK(find(verdicts, "certificate-name").status == Verdict::Status::fail);
  CHECK(find(verdicts, "certificate-trust").status == Verdict::Status::pass);

  info.tls->problems = {{0, 18, "self-signed certificate", false}};
  info.tls->name_mismatch = false;
  verdicts = judge(info, k_now);
  CHECK(find(verdicts, "certificate-name").status == Verdict::Status::pass);
  const auto& trust = find(verdicts, "certificate-trust");
  CHECK(trust.status == Verdict::Status::fail);
  CHECK(trust.reason.find("self-signed") != std::string::npos);
}

TEST_CASE("info: a plain port: password before TLS, no STLS, AUTH in clear", "[info]")
{
  ServerInfo info;
  info.host = "mail.example";
  info.port = 110;
  info.tls_mode = "none";
  info.capabilities.push_back({"plain", true, false, {"USER", "SASL CRAM-MD5 PLAIN", "UIDL"}});
  auto verdicts = judge(info, k_now);
  const auto& password = find(verdicts, "password-before-tls");
  CHECK(password.status == Verdict::Status::fail);
  CHECK(password.reason.find("USER, AUTH PLAIN") != std::string::npos);
  CHECK(find(verdicts, "stls-offered").status == Verdict::Status::fail);
  const auto& clear = find(verdicts, "auth-in-clear");
  CHECK(clear.status == Verdict::Status::warn);
  CHECK(clear.reason.find("CRAM-MD5") != std::string::npos);
  // No TLS at all: no certificate verdicts.
  CHECK(std::none_of(verdicts.begin(), verdicts.end(),
                     [](const Verdict& v) { return v.check.starts_with("certificate"); }));

  info.capabilities[0].lines = {"STLS", "UIDL"};
  verdicts = judge(info, k_now);
  CHECK(find(verdicts, "password-before-tls").status == Verdict::Status::pass);
  CHECK(find(verdicts, "stls-offered").status == Verdict::Status::pass);
  CHECK(find(verdicts, "auth-in-clear").status == Verdict::Status::pass);
}

TEST_CASE("info: TLS below 1.2 accepted fails, and implicit TLS has no plain verdicts", "[info]")
{
  auto info = implicit_tls(90);
  auto verdicts = judge(info, k_now);
  CHECK(std::none_of(verdicts.begin(), verdicts.end(), [](const Verdict& v) {
    return v.check == "legacy-tls" || v.check == "password-before-tls";
  }));
  info.legacy_tls = true;
  info.legacy_tls_detail = "TLSv1.1 accepted";
  CHECK(find(judge(info, k_now), "legacy-tls").status == Verdict::Status::fail);
  info.legacy_tls = false;
  CHECK(find(judge(info, k_now), "legacy-tls").status == Verdict::Status::pass);
}

TEST_CASE("info: certificate facts for people, and the JSON schema", "[info]")
{
  auto lines = describe(cert(12), k_now);
  REQUIRE(lines.size() == 8);
  CHECK(lines[0] == "subject:     CN=localhost");
  CHECK(lines[2] == "names:       DNS:localhost, IP:127.0.0.1");
  CHECK(lines[3] == "key:         RSA 2048 bits");
  CHECK(lines[6].find("(12 days left)") != std::string::npos);
  CHECK(lines[7] == "SHA-256:     AB:CD");
  auto evil = cert(12);
  evil.subject = "CN=\x1b]0;owned\x07";
  CHECK(describe(evil, k_now)[0].find('\x1b') == std::string::npos);

  auto info = implicit_tls(12);
  info.greeting = "+OK ready";
  auto verdicts = judge(info, k_now);
  auto doc = to_json(info, &verdicts, k_now);
  CHECK(doc["protocol"] == "pop3");
  CHECK(doc["tls"]["verified"] == true);
  CHECK(doc["tls"]["chain"][0]["days_left"] == 12);
  CHECK(doc["tls"]["chain"][0]["key_bits"] == 2048);
  CHECK(doc["capabilities"][0]["stage"] == "tls");
  CHECK(doc["capabilities"][0]["sasl"] == nlohmann::json{"PLAIN"});
  CHECK(doc["login"]["result"] == "skipped");
  CHECK(doc["verdicts"][0]["check"] == "certificate-expiry");
  CHECK(doc["verdicts"][0]["status"] == "warn");
  CHECK(!to_json(info, nullptr, k_now).contains("verdicts"));

  std::ostringstream plain;
  render_plain(info, &verdicts, k_now, plain);
  CHECK(plain.str().find("TLS session: TLSv1.3 TLS_AES_256_GCM_SHA384") != std::string::npos);
  CHECK(plain.str().find("  warn  certificate-expiry:") != std::string::npos);
}

TEST_CASE("info: a matching --fingerprint pin turns name and trust failures into warnings",
          "[info]")
{
  auto info = implicit_tls(90);
  info.tls->chain[0].sha256 = "AB:CD";
  info.tls->problems = {{0, 18, "self-signed certificate", false}};
  info.pin = "ABCD";
  CHECK(pin_matches(info));
  auto verdicts = judge(info, k_now);
  CHECK(find(verdicts, "certificate-pin").status == Verdict::Status::pass);
  CHECK(find(verdicts, "certificate-trust").status == Verdict::Status::warn);
  info.pin = "ABCE";
  CHECK(!pin_matches(info));
  verdicts = judge(info, k_now);
  CHECK(find(verdicts, "certificate-pin").status == Verdict::Status::fail);
  CHECK(find(verdicts, "certificate-trust").status == Verdict::Status::fail);
}

TEST_CASE("info: a failed STLS is the stls-offered verdict", "[info]")
{
  ServerInfo info;
  info.host = "mail.example";
  info.tls_mode = "starttls";
  info.capabilities.push_back({"plain", true, false, {"STLS", "UIDL"}});
  info.tls_error = "the server refused STLS: -ERR not now";
  const auto& v = find(judge(info, k_now), "stls-offered");
  CHECK(v.status == Verdict::Status::fail);
  CHECK(v.reason.find("-ERR not now") != std::string::npos);
  CHECK(to_json(info, nullptr, k_now)["tls_error"] == "the server refused STLS: -ERR not now");
}

TEST_CASE("info: the plain report shows a later CAPA stage as what changed", "[info]")
{
  auto info = implicit_tls(90);
  info.capabilities = {{"plain", true, false, {"USER", "STLS", "TOP"}},
                       {"tls", true, true, {"USER", "TOP"}},
                       {"login", true, true, {"USER", "TOP"}}};
  std::ostringstream plain;
  render_plain(info, nullptr, k_now, plain);
  const auto text = plain.str();
  CHECK(text.find("capabilities before TLS:\n  SASL mechanisms: (none)\n  USER:            yes\n"
                  "  STLS:            yes\n") != std::string::npos);
  CHECK(text.find("capabilities after TLS:\n  STLS:            no\n  (the rest as before)\n") !=
        std::string::npos);
  CHECK(text.find("capabilities after login:\n  (as before)\n") != std::string::npos);
}

TEST_CASE("info --smtp: EHLO keyword facts", "[info]")
{
  auto facts = smtp_facts({"PIPELINING", "size 10240000", "VRFY", "ETRN", "AUTH PLAIN login",
                           "AUTH=LOGIN CRAM-MD5", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
                           "SMTPUTF8", "CHUNKING", "STARTTLS"});
  CHECK(facts.auth == std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"});
  CHECK(facts.size == 10240000u);
  CHECK(facts.pipelining);
  CHECK(facts.eight_bit_mime);
  CHECK(facts.smtputf8);
  CHECK(facts.dsn);
  CHECK(facts.chunking);
  CHECK(facts.enhanced_status_codes);
  CHECK(facts.starttls);

  auto bare = smtp_facts({"SIZE", "HELP"});
  CHECK(bare.size == 0u);  // SIZE without a number: no fixed limit
  CHECK(bare.auth.empty());
  CHECK_FALSE(bare.starttls);
  CHECK_FALSE(bare.pipelining);
  CHECK_FALSE(smtp_facts({"SIZE lots"}).size.has_value());
  CHECK_FALSE(smtp_facts({}).size.has_value());
}

TEST_CASE("info --smtp: a plain port: AUTH PLAIN before STARTTLS, no STARTTLS", "[info]")
{
  ServerInfo info;
  info.protocol = "smtp";
  info.host = "localhost";
  info.port = 25;
  info.tls_mode = "none";
  info.capabilities.push_back({"plain", true, false, {"PIPELINING", "AUTH PLAIN CRAM-MD5"}});
  auto verdicts = judge(info, k_now);
  CHECK(find(verdicts, "password-before-tls").status == Verdict::Status::fail);
  CHECK(find(verdicts, "password-before-tls").reason.find("AUTH PLAIN") != std::string::npos);
  CHECK(find(verdicts, "starttls-offered").status == Verdict::Status::fail);
  CHECK(find(verdicts, "auth-in-clear").status == Verdict::Status::warn);
  CHECK(find(verdicts, "auth-in-clear").reason.find("CRAM-MD5") != std::string::npos);
  CHECK(std::none_of(verdicts.begin(), verdicts.end(),
                     [](const Verdict& v) { return v.check == "stls-offered"; }));

  // Submission as Postfix does it: STARTTLS, and AUTH only after it.
  info.capabilities = {{"plain", true, false, {"PIPELINING", "STARTTLS", "8BITMIME"}},
                       {"tls", true, true, {"PIPELINING", "AUTH PLAIN LOGIN", "8BITMIME"}}};
  verdicts = judge(info, k_now);
  CHECK(find(verdicts, "password-before-tls").status == Verdict::Status::pass);
  CHECK(find(verdicts, "starttls-offered").status == Verdict::Status::pass);
  CHECK(find(verdicts, "auth-in-clear").status == Verdict::Status::pass);

  info.tls_error = "STARTTLS refused: 454 4.7.0 TLS not available";
  CHECK(find(judge(info, k_now), "starttls-offered").status == Verdict::Status::fail);
}

TEST_CASE("info --smtp: the plain report and the JSON show the EHLO keywords", "[info]")
{
  ServerInfo info;
  info.protocol = "smtp";
  info.host = "localhost";
  info.port = 587;
  info.tls_mode = "starttls";
  info.greeting = "mail.lab.test ESMTP Postfix";
  info.capabilities = {{"plain", true, false, {"SIZE 1000", "STARTTLS"}},
                       {"tls", true, true, {"SIZE 1000", "AUTH PLAIN", "CHUNKING"}}};
  std::ostringstream out;
  render_plain(info, nullptr, k_now, out);
  const auto text = out.str();
  CHECK(text.find("SMTP server localhost port 587") != std::string::npos);
  CHECK(text.find("EHLO round trip") != std::string::npos);
  CHECK(text.find("EHLO keywords before TLS:") != std::string::npos);
  CHECK(text.find("SIZE:                1000 bytes") != std::string::npos);
  CHECK(text.find("EHLO keywords after TLS:") != std::string::npos);
  CHECK(text.find("AUTH:                PLAIN") != std::string::npos);
  CHECK(text.find("CAPA") == std::string::npos);

  auto doc = to_json(info, nullptr, k_now);
  CHECK(doc["protocol"] == "smtp");
  CHECK(doc["timing_ms"].contains("ehlo"));
  CHECK_FALSE(doc["timing_ms"].contains("capa"));
  CHECK(doc["capabilities"][0]["starttls"] == true);
  CHECK(doc["capabilities"][0]["size"] == 1000);
  CHECK(doc["capabilities"][1]["auth"] == nlohmann::json::array({"PLAIN"}));
  CHECK(doc["capabilities"][1]["chunking"] == true);
  CHECK(doc["capabilities"][1]["8bitmime"] == false);
  CHECK_FALSE(doc["capabilities"][1].contains("sasl"));
}
