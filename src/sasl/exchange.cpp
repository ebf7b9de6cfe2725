// SPDX-License-Identifier: Apache-2.0
#include "sasl/exchange.hpp"

#include "util/base64.hpp"
#include "util/error.hpp"

namespace mw::sasl {

Exchange::Exchange(Mechanism& mechanism) : m_mechanism(mechanism), m_name(mechanism.name()) {}

std::optional<std::string> Exchange::initial()
{
  auto response = m_mechanism.initial_response();
  if (!response) {
    return std::nullopt;
  }
  sent(*response);
  return response->empty() ? std::string("=") : base64::encode(*response);
}

std::string Exchange::respond(std::string_view challenge)
{
  auto decoded = base64::decode(challenge);
  if (!decoded) {
    throw ProtocolError("the server sent an invalid base64 challenge during AUTH " + m_name);
  }
  auto response = m_mechanism.respond(*decoded);
  sent(response);
  return base64::encode(response);
}

void Exchange::succeed()
{
  m_mechanism.verify_final("");
}

void Exchange::sent(std::string_view response)
{
  for (auto& fragment : secret_fragments(response)) {
    if (!fragment.empty()) {
      m_secrets.push_back(std::move(fragment));
    }
  }
}

}  // namespace mw::sasl
