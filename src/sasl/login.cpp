#include "sasl/login.hpp"

#include "sasl/client_first.hpp"

namespace mw::sasl {

std::string Login::respond(std::string_view /*challenge*/)
{
  // Servers word the prompts differently ("Username:", "User Name", localised text), so
  // only their order counts.
  switch (m_step) {
  case 0: m_step = 1; return m_credentials.user;
  case 1: m_step = 2; return m_credentials.password.reveal();
  default: break;
  }
  fail(name(), "unexpected challenge after the password was sent");
}

} // namespace mw::sasl
