// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "sasl/client_first.hpp"

#include <cstdint>
#include <string>

namespace mw::sasl {

// SCRAM-SHA-256 without channel binding (RFC 5802 section 5 with RFC 7677 section 3's hash):
// client-first "n,,n=user,r=nonce", client-final with the ClientProof, then the server's
// "v=ServerSignature" is checked. Passwords are not SASLprep'ed (RFC 4013): the bytes go
// as given, which is correct for ASCII passwords only.
class ScramSha256 final : public ClientFirstMechanism {
public:
  // Refuses iteration counts above this as malformed (RFC 5802 section 5.1 "i=" bounds
  // nothing; 4096 is RFC 7677's minimum, so a server sending millions is broken or hostile).
  static constexpr std::uint32_t k_max_iterations = 10'000'000;

  // Keeps `credentials`; `nonce` is the client nonce (RFC 5802 section 5.1 "r="), random
  // (24 bytes from RAND_bytes, base64) when empty.
  ScramSha256(Credentials credentials, std::string nonce);

  // "SCRAM-SHA-256" (RFC 7677 section 3).
  std::string_view name() const override { return "SCRAM-SHA-256"; }

  // Checks the server-final message "v=..." (RFC 5802 section 3), or accepts "" if
  // respond() has already checked it; "e=..." or a wrong signature is
  // mw::Error(permission), anything else malformed a mw::ProtocolError.
  void verify_final(std::string_view server_final) override;

private:
  enum class Step { client_first, client_final, verified };

  std::string first_message() override;
  std::string next(std::string_view challenge) override;
  std::string client_final(std::string_view server_first);
  void check_server_final(std::string_view server_final);

  Credentials m_credentials;
  std::string m_nonce;
  std::string m_gs2_header;
  std::string m_client_first_bare;
  std::string m_server_signature;
  Step m_step = Step::client_first;
};

}  // namespace mw::sasl
