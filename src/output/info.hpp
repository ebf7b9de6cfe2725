// SPDX-License-Identifier: Apache-2.0
#pragma once

// `mailwrench info`: what a server showed (greeting, capabilities at each stage, TLS session
// and certificate chain, timings) and the verdicts on it. Plain data filled in by
// commands/info.cpp; the rules, the plain text and the JSON are here, pure, for unit tests.

#include "net/tls.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mw::output {

// One CAPA reply (RFC 2449 section 5), or for SMTP one EHLO reply.
struct CapabilityStage {
  std::string stage;      // "plain" (before TLS), "tls" (after TLS), "login" (after login)
  bool answered = false;  // +OK to CAPA (SMTP: 250 to EHLO)
  bool encrypted = false;
  std::vector<std::string> lines;  // as the server sent them (SMTP: the EHLO keyword lines)
};

// The facts `info` reads from one CAPA reply.
struct Pop3Facts {
  std::vector<std::string> sasl;  // SASL mechanisms, upper case
  std::string implementation;
  std::optional<std::string> expire;       // EXPIRE argument ("NEVER", "30", "0 USER")
  std::optional<std::string> login_delay;  // LOGIN-DELAY argument
  bool user = false, stls = false, pipelining = false, top = false, uidl = false,
       resp_codes = false;
};
Pop3Facts pop3_facts(const std::vector<std::string>& lines);

// The facts `info --smtp` reads from one EHLO reply: its keyword lines (all but the first, RFC
// 5321 section 4.1.1.1), keywords case-insensitive, unknown ones ignored.
struct SmtpFacts {
  std::optional<std::uint64_t> size;  // SIZE limit (RFC 1870); 0 = no fixed limit; nullopt =
                                      // not offered
  std::vector<std::string> auth;      // AUTH mechanisms, upper case (also the old "AUTH=" form)
  bool starttls = false, pipelining = false, eight_bit_mime = false, smtputf8 = false, dsn = false,
       chunking = false, enhanced_status_codes = false;
};
SmtpFacts smtp_facts(const std::vector<std::string>& lines);

// What `info` found out about a server.
struct ServerInfo {
  std::string protocol = "pop3";  // or "smtp"
  std::string host;
  std::uint16_t port = 0;
  std::string tls_mode;  // "implicit", "starttls", "none"
  std::string peer;      // "127.0.0.1:995"
  std::string greeting;
  double connect_ms = 0;   // TCP connect (and, with implicit TLS, the handshake)
  double greeting_ms = 0;  // from connected to the greeting
  double capa_ms = 0;      // the first CAPA's (SMTP: EHLO's) round trip
  std::vector<CapabilityStage> capabilities;
  std::optional<net::TlsSession> tls;
  std::string tls_error;           // why STLS or its handshake failed ("" if it did not)
  std::string pin;                 // --fingerprint given, normalised (upper hex, no colons)
  std::string login = "skipped";   // "ok", "failed" or "skipped"
  std::string login_detail;        // why it failed or was skipped
  std::optional<bool> legacy_tls;  // TLS 1.0/1.1 accepted (probed by --check only)
  std::string legacy_tls_detail;   // e.g. "TLSv1.1 accepted", or why the probe failed
};

// One verdict of `info --check`.
struct Verdict {
  enum class Status { pass, warn, fail };
  std::string check;  // certificate-expiry, certificate-name, certificate-trust,
                      // certificate-pin, legacy-tls,
                      // password-before-tls, stls-offered (SMTP: starttls-offered),
                      // auth-in-clear, login
  Status status = Status::pass;
  std::string reason;
};
std::string_view status_name(Verdict::Status status);

// Whether the server's certificate has the SHA-256 of --fingerprint (ServerInfo::pin).
bool pin_matches(const ServerInfo& info);

// The verdicts on `info` at time `now` (seconds since the epoch, UTC).
std::vector<Verdict> judge(const ServerInfo& info, std::int64_t now);

// Whole days from `now` until `not_after` (negative once expired), rounded down.
std::int64_t days_left(const net::CertificateFacts& cert, std::int64_t now);

// The lines that describe one certificate for people ("subject: CN=...", ...), indented.
std::vector<std::string> describe(const net::CertificateFacts& cert, std::int64_t now);

// Plain output (like `mpop --serverinfo`); the verdicts after it when `verdicts` is given.
void render_plain(const ServerInfo& info, const std::vector<Verdict>* verdicts, std::int64_t now,
                  std::ostream& out);

// The JSON document (schema in mailwrench(1), INFO); "verdicts" when given.
nlohmann::json to_json(const ServerInfo& info, const std::vector<Verdict>* verdicts,
                       std::int64_t now);

}  // namespace mw::output
