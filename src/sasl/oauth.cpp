#include "sasl/oauth.hpp"

#include <string>

namespace mw::sasl {

std::string XOAuth2::first_message()
{
  return "user=" + m_credentials.user + "\x01" + "auth=Bearer " + m_credentials.password.reveal() +
         "\x01\x01";
}

std::string XOAuth2::next(std::string_view /*challenge*/)
{
  // The challenge is the server's JSON error (the caller has base64-decoded it); an empty
  // response makes the server send its final -ERR / 535 with the reason.
  if (m_error_answered) {
    fail(name(), "unexpected challenge after the server's error was acknowledged");
  }
  m_error_answered = true;
  return {};
}

std::string OAuthBearer::first_message()
{
  // The GS2 authorization identity (RFC 7628 section 3.1); servers expect the user here.
  const std::string& identity =
      m_credentials.authzid.empty() ? m_credentials.user : m_credentials.authzid;
  std::string message = "n,";
  if (!identity.empty()) {
    message += "a=" + escape_saslname(identity);
  }
  message += ",\x01";
  if (!m_credentials.host.empty()) {
    message += "host=" + m_credentials.host + "\x01";
  }
  if (m_credentials.port != 0) {
    message += "port=" + std::to_string(m_credentials.port) + "\x01";
  }
  message += "auth=Bearer " + m_credentials.password.reveal() + "\x01\x01";
  return message;
}

std::string OAuthBearer::next(std::string_view /*challenge*/)
{
  // RFC 7628 section 3.2.3: the error challenge is answered with a single ^A, and the
  // server then fails the exchange.
  if (m_error_answered) {
    fail(name(), "unexpected challenge after the server's error was acknowledged");
  }
  m_error_answered = true;
  return "\x01";
}

} // namespace mw::sasl
