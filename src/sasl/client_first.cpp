// SPDX-License-Identifier: Apache-2.0
#include "sasl/client_first.hpp"

#include "util/error.hpp"

namespace mw::sasl {

std::string escape_saslname(std::string_view name)
{
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    if (c == '=') {
      out += "=3D";
    } else if (c == ',') {
      out += "=2C";
    } else {
      out += c;
    }
  }
  return out;
}

void fail(std::string_view mechanism, std::string_view what)
{
  throw ProtocolError(std::string(mechanism) + " authentication: " + std::string(what));
}

std::optional<std::string> ClientFirstMechanism::initial_response()
{
  if (m_stage == Stage::sent) {
    fail(name(), "initial response requested after the exchange began");
  }
  m_stage = Stage::offered;
  return first_message();
}

std::string ClientFirstMechanism::respond(std::string_view challenge)
{
  switch (m_stage) {
  case Stage::fresh:
    if (!challenge.empty()) {
      fail(name(), "the server sent a challenge before the client's first message");
    }
    m_stage = Stage::sent;
    return first_message();
  case Stage::offered:
    m_stage = Stage::sent;
    // The client held the initial response back (or the server ignored it) and the server
    // asks for it with an empty challenge: the Office 365 two-step XOAUTH2 form, or a
    // response too long for RFC 5034's 255-octet AUTH line.
    if (challenge.empty()) {
      return first_message();
    }
    return next(challenge);
  case Stage::sent: break;
  }
  return next(challenge);
}

}  // namespace mw::sasl
