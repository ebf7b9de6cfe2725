#pragma once

#include "sasl/client_first.hpp"

#include <utility>

namespace mw::sasl {

// PLAIN (RFC 4616): one client-first message "authzid NUL authcid NUL passwd" (section 2).
class Plain final : public ClientFirstMechanism {
public:
  // Keeps a copy of `credentials` for the message (RFC 4616 section 2).
  explicit Plain(Credentials credentials) : m_credentials(std::move(credentials)) {}

  // "PLAIN" (RFC 4616 section 2).
  std::string_view name() const override { return "PLAIN"; }

private:
  std::string first_message() override;
  std::string next(std::string_view challenge) override;

  Credentials m_credentials;
};

} // namespace mw::sasl
