#include "sasl/cram_md5.hpp"

#include "sasl/client_first.hpp"
#include "util/digest.hpp"

namespace mw::sasl {

std::string CramMd5::respond(std::string_view challenge)
{
  if (m_answered) {
    fail(name(), "unexpected challenge after the digest was sent");
  }
  if (challenge.empty()) {
    fail(name(), "the server's challenge is empty");
  }
  m_answered = true;
  return m_credentials.user + ' ' +
         digest::hex(digest::hmac_md5(m_credentials.password.reveal(), challenge));
}

} // namespace mw::sasl
