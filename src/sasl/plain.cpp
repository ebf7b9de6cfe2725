#include "sasl/plain.hpp"

namespace mw::sasl {

std::string Plain::first_message()
{
  // No SASLprep (RFC 4013) of non-ASCII names or passwords: the bytes go as given, which is
  // the identity for ASCII.
  std::string message;
  message.reserve(m_credentials.authzid.size() + m_credentials.user.size() +
                  m_credentials.password.reveal().size() + 2);
  message += m_credentials.authzid;
  message += '\0';
  message += m_credentials.user;
  message += '\0';
  message += m_credentials.password.reveal();
  return message;
}

std::string Plain::next(std::string_view /*challenge*/)
{
  fail(name(), "unexpected challenge after the credentials were sent");
}

} // namespace mw::sasl
