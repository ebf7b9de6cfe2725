// SPDX-License-Identifier: Apache-2.0
#include "sasl/client_first.hpp"
#include "sasl/mechanisms.hpp"

#include <optional>
#include <string>
#include <utility>

namespace mw::sasl {

namespace {

// A client-first mechanism whose whole work is one message built from the credentials. A
// challenge after it can only be the server's error report: acknowledged once with
// `acknowledgement` where the mechanism defines one, else a mw::ProtocolError.
class OneMessage final : public ClientFirstMechanism {
public:
  using Build = std::string (*)(const Credentials&);

  OneMessage(std::string_view name, Build build, std::optional<std::string_view> acknowledgement,
             Credentials credentials)
      : m_name(name), m_build(build), m_acknowledgement(acknowledgement),
        m_credentials(std::move(credentials))
  {
  }

  std::string_view name() const override { return m_name; }

private:
  std::string first_message() override { return m_build(m_credentials); }

  std::string next(std::string_view /*challenge*/) override
  {
    if (!m_acknowledgement) {
      fail(name(), "unexpected challenge after the credentials were sent");
    }
    if (m_acknowledged) {
      fail(name(), "unexpected challenge after the server's error was acknowledged");
    }
    m_acknowledged = true;
    return std::string(*m_acknowledgement);
  }

  std::string_view m_name;
  Build m_build;
  std::optional<std::string_view> m_acknowledgement;
  Credentials m_credentials;
  bool m_acknowledged = false;
};

// RFC 4616 section 2. No SASLprep (RFC 4013) of non-ASCII names or passwords: the bytes go as
// given, which is the identity for ASCII.
std::string plain_message(const Credentials& credentials)
{
  std::string message;
  message.reserve(credentials.authzid.size() + credentials.user.size() +
                  credentials.password.reveal().size() + 2);
  message += credentials.authzid;
  message += '\0';
  message += credentials.user;
  message += '\0';
  message += credentials.password.reveal();
  return message;
}

// "user=USER ^A auth=Bearer TOKEN ^A ^A", sent as an initial response or in reply to an empty
// challenge (the two-step form Office 365 requires).
std::string xoauth2_message(const Credentials& credentials)
{
  return "user=" + credentials.user + "\x01" + "auth=Bearer " + credentials.password.reveal() +
         "\x01\x01";
}

// "n,a=USER,^Ahost=HOST^Aport=PORT^Aauth=Bearer TOKEN^A^A" (RFC 7628 section 3.1), host and
// port when set.
std::string oauthbearer_message(const Credentials& credentials)
{
  // The GS2 authorization identity (RFC 7628 section 3.1); servers expect the user here.
  const std::string& identity =
      credentials.authzid.empty() ? credentials.user : credentials.authzid;
  std::string message = "n,";
  if (!identity.empty()) {
    message += "a=" + escape_saslname(identity);
  }
  message += ",\x01";
  if (!credentials.host.empty()) {
    message += "host=" + credentials.host + "\x01";
  }
  if (credentials.port != 0) {
    message += "port=" + std::to_string(credentials.port) + "\x01";
  }
  message += "auth=Bearer " + credentials.password.reveal() + "\x01\x01";
  return message;
}

}  // namespace

std::unique_ptr<Mechanism> make_plain(Credentials credentials)
{
  return std::make_unique<OneMessage>("PLAIN", plain_message, std::nullopt, std::move(credentials));
}

std::unique_ptr<Mechanism> make_xoauth2(Credentials credentials)
{
  // The error challenge is the server's JSON error; an empty response makes the server send its
  // final -ERR / 535 with the reason.
  return std::make_unique<OneMessage>("XOAUTH2", xoauth2_message, "", std::move(credentials));
}

std::unique_ptr<Mechanism> make_oauthbearer(Credentials credentials)
{
  // RFC 7628 section 3.2.3: the error challenge is answered with a single ^A, and the server
  // then fails the exchange.
  return std::make_unique<OneMessage>("OAUTHBEARER", oauthbearer_message, "\x01",
                                      std::move(credentials));
}

}  // namespace mw::sasl
