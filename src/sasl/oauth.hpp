#pragma once

#include "sasl/client_first.hpp"

#include <utility>

namespace mw::sasl {

// XOAUTH2 (Google's and Microsoft's OAuth 2.0 mechanism, a precursor of RFC 7628):
// "user=USER ^A auth=Bearer TOKEN ^A ^A", sent as an initial response or in reply to an
// empty challenge (the two-step form Office 365 requires); an error challenge gets an empty
// response so that the server ends the exchange with its failure reply.
class XOAuth2 final : public ClientFirstMechanism {
public:
  // Keeps a copy of `credentials`; the password is the access token.
  explicit XOAuth2(Credentials credentials) : m_credentials(std::move(credentials)) {}

  // "XOAUTH2", as Gmail and Office 365 advertise it.
  std::string_view name() const override { return "XOAUTH2"; }

private:
  std::string first_message() override;
  std::string next(std::string_view challenge) override;

  Credentials m_credentials;
  bool m_error_answered = false;
};

// OAUTHBEARER (RFC 7628 section 3.1): "n,a=USER,^Ahost=HOST^Aport=PORT^Aauth=Bearer TOKEN^A^A";
// an error challenge gets the dummy response "^A" (section 3.2.3).
class OAuthBearer final : public ClientFirstMechanism {
public:
  // Keeps a copy of `credentials`; the password is the access token, host and port are sent
  // when set (RFC 7628 section 3.1).
  explicit OAuthBearer(Credentials credentials) : m_credentials(std::move(credentials)) {}

  // "OAUTHBEARER" (RFC 7628 section 3).
  std::string_view name() const override { return "OAUTHBEARER"; }

private:
  std::string first_message() override;
  std::string next(std::string_view challenge) override;

  Credentials m_credentials;
  bool m_error_answered = false;
};

} // namespace mw::sasl
