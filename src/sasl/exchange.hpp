// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "sasl/mechanism.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::sasl {

// The client side of one SASL exchange as POP3 AUTH (RFC 5034) and SMTP AUTH (RFC 4954) frame
// it: base64 lines in and out, "=" for an empty initial response, "*" to cancel, and the
// fragments of everything sent that no transcript or error message may show. Sans-IO: the
// protocol client sends the lines it gives and hands it what the server says; both clients
// share it, so the exchange is written once.
class Exchange {
public:
  explicit Exchange(Mechanism& mechanism);

  // The mechanism's name, as sent after AUTH.
  const std::string& name() const { return m_name; }

  // The initial response, base64 ("=" when empty; RFC 4954 section 4, RFC 5034 section 4), or
  // nullopt for a server-first mechanism. Call once, before anything else.
  std::optional<std::string> initial();

  // The base64 response line to a base64 challenge (RFC 4422 section 3.3). Throws
  // mw::ProtocolError for invalid base64, and whatever the mechanism throws for a challenge
  // it cannot answer: then the caller cancels with cancel_line().
  std::string respond(std::string_view challenge);

  // The server reported success (with no additional data in POP3 and SMTP): lets the
  // mechanism check what it must (SCRAM's server signature, RFC 5802 section 5.1).
  void succeed();

  // The line that cancels the exchange (RFC 4954 section 4, RFC 5034 section 4), without CRLF.
  static std::string_view cancel_line() { return "*"; }

  // What must never be shown: every response sent so far, base64 and raw, and the secrets in
  // them (see secret_fragments()).
  const std::vector<std::string>& secrets() const { return m_secrets; }

private:
  void sent(std::string_view response);

  Mechanism& m_mechanism;
  std::string m_name;
  std::vector<std::string> m_secrets;
};

}  // namespace mw::sasl
