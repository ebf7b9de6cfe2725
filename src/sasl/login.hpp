#pragma once

#include "sasl/mechanism.hpp"

#include <utility>

namespace mw::sasl {

// LOGIN (draft-murchison-sasl-login section 2): the first challenge gets the user name, the
// second the password, decided by order and not by the challenge text.
class Login final : public Mechanism {
public:
  // Keeps a copy of `credentials` for the two responses.
  explicit Login(Credentials credentials) : m_credentials(std::move(credentials)) {}

  // "LOGIN" (draft-murchison-sasl-login section 2).
  std::string_view name() const override { return "LOGIN"; }

  // None: LOGIN is server-first (draft-murchison-sasl-login section 2).
  std::optional<std::string> initial_response() override { return std::nullopt; }

  // The user name, then the password; a third challenge is a mw::ProtocolError.
  std::string respond(std::string_view challenge) override;

private:
  Credentials m_credentials;
  int m_step = 0;
};

} // namespace mw::sasl
