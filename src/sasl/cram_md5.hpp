#pragma once

#include "sasl/mechanism.hpp"

#include <utility>

namespace mw::sasl {

// CRAM-MD5 (RFC 2195 section 2): answers the server's one challenge with
// "user SP hex(HMAC-MD5(password, challenge))".
class CramMd5 final : public Mechanism {
public:
  // Keeps a copy of `credentials` for the response.
  explicit CramMd5(Credentials credentials) : m_credentials(std::move(credentials)) {}

  // "CRAM-MD5" (RFC 2195 section 2).
  std::string_view name() const override { return "CRAM-MD5"; }

  // None: the server speaks first with its timestamp challenge (RFC 2195 section 2).
  std::optional<std::string> initial_response() override { return std::nullopt; }

  // The keyed digest of `challenge` (RFC 2195 section 2); an empty challenge or a second
  // one is a mw::ProtocolError.
  std::string respond(std::string_view challenge) override;

private:
  Credentials m_credentials;
  bool m_answered = false;
};

} // namespace mw::sasl
