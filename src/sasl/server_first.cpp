// SPDX-License-Identifier: Apache-2.0
#include "sasl/client_first.hpp"
#include "sasl/mechanisms.hpp"
#include "util/digest.hpp"

#include <cstddef>
#include <utility>
#include <vector>

namespace mw::sasl {

namespace {

// A server-first mechanism (RFC 4422 section 5): no initial response; the server's challenges
// are answered in order, one step each, and a challenge after the last step is a
// mw::ProtocolError saying what was already sent (`last_sent`).
class ServerFirst final : public Mechanism {
public:
  using Step = std::string (*)(const Credentials& credentials, std::string_view challenge);

  ServerFirst(std::string_view name, std::vector<Step> steps, std::string_view last_sent,
              Credentials credentials)
      : m_name(name), m_steps(std::move(steps)), m_last_sent(last_sent),
        m_credentials(std::move(credentials))
  {
  }

  std::string_view name() const override { return m_name; }

  std::optional<std::string> initial_response() override { return std::nullopt; }

  std::string respond(std::string_view challenge) override
  {
    if (m_next == m_steps.size()) {
      fail(name(), "unexpected challenge after " + std::string(m_last_sent) + " was sent");
    }
    std::string response = m_steps[m_next](m_credentials, challenge);
    ++m_next;
    return response;
  }

private:
  std::string_view m_name;
  std::vector<Step> m_steps;
  std::string_view m_last_sent;
  Credentials m_credentials;
  std::size_t m_next = 0;
};

// RFC 2195 section 2: "user SP hex(HMAC-MD5(password, challenge))" for the server's timestamp.
std::string cram_md5_digest(const Credentials& credentials, std::string_view challenge)
{
  if (challenge.empty()) {
    fail("CRAM-MD5", "the server's challenge is empty");
  }
  return credentials.user + ' ' +
         digest::hex(digest::hmac_md5(credentials.password.reveal(), challenge));
}

// LOGIN's prompts are worded differently by each server ("Username:", "User Name", localised
// text), so only their order counts: the user name, then the password.
std::string login_user(const Credentials& credentials, std::string_view /*challenge*/)
{
  return credentials.user;
}

std::string login_password(const Credentials& credentials, std::string_view /*challenge*/)
{
  return credentials.password.reveal();
}

}  // namespace

std::unique_ptr<Mechanism> make_cram_md5(Credentials credentials)
{
  return std::make_unique<ServerFirst>("CRAM-MD5", std::vector<ServerFirst::Step>{cram_md5_digest},
                                       "the digest", std::move(credentials));
}

std::unique_ptr<Mechanism> make_login(Credentials credentials)
{
  return std::make_unique<ServerFirst>("LOGIN",
                                       std::vector<ServerFirst::Step>{login_user, login_password},
                                       "the password", std::move(credentials));
}

}  // namespace mw::sasl
