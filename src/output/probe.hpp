// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "output/results.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

// What `send --quit-after` found out, up to the stage it stopped at: no message was sent.

namespace mw::output {

// The result of a probe (send --quit-after STAGE): the stages reached, each with what the
// server said (RFC 5321 section 4.2), then QUIT.
struct ProbeResult {
  std::string quit_after;  // connect, tls, auth, mail or rcpt
  bool lmtp = false;       // spoken in LMTP (RFC 2033)
  SmtpOutcome greeting;
  bool hello = false;  // EHLO (LHLO) was answered: the tls stage was reached
  std::string tls;     // "TLSv1.3 TLS_AES_256_GCM_SHA384", or "" when not encrypted
  std::string auth_user;
  std::string auth_mechanism;  // "" when there was no AUTH
  std::string from;
  std::optional<SmtpOutcome> mail;  // the reply to MAIL FROM, when it was sent
  std::vector<RecipientOutcome> recipients;
};

// Plain lines, one per stage reached: "greeting 220 ...", "tls TLSv1.3 ..." or "tls none"
// (after EHLO; with implicit TLS also at connect),
// "auth USER MECHANISM", "sender accepted|deferred|rejected ADDRESS CODE [ENHANCED] TEXT", one
// "accepted|deferred|rejected ADDRESS CODE [ENHANCED] TEXT" per recipient, and "quit after
// STAGE: no message was sent".
void render_plain(const ProbeResult& result, std::ostream& out);

// The JSON document (mailwrench(1), send --quit-after).
nlohmann::json to_json(const ProbeResult& result);

}  // namespace mw::output
