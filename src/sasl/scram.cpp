// SPDX-License-Identifier: Apache-2.0
#include "sasl/scram.hpp"

#include "util/base64.hpp"
#include "util/digest.hpp"
#include "util/error.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <utility>
#include <vector>

namespace mw::sasl {

namespace {

constexpr std::size_t k_nonce_bytes = 24;

// Overwrites derived key material when it goes out of scope.
class Scrubbed {
public:
  explicit Scrubbed(std::string value) : m_value(std::move(value)) {}
  Scrubbed(const Scrubbed&) = delete;
  Scrubbed& operator=(const Scrubbed&) = delete;
  ~Scrubbed() { OPENSSL_cleanse(m_value.data(), m_value.size()); }

  const std::string& get() const noexcept { return m_value; }

private:
  std::string m_value;
};

std::string random_nonce()
{
  std::array<unsigned char, k_nonce_bytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw Error(ExitCode::software, "OpenSSL RAND_bytes failed to make a SCRAM nonce");
  }
  return base64::encode(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// RFC 5802 section 7 "printable": %x21-2B / %x2D-7E, i.e. visible ASCII except ",".
bool is_printable(std::string_view text)
{
  for (const char c : text) {
    if (c < 0x21 || c > 0x7e || c == ',') {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> split_attributes(std::string_view message)
{
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = message.find(',', start);
    if (comma == std::string_view::npos) {
      parts.push_back(message.substr(start));
      return parts;
    }
    parts.push_back(message.substr(start, comma - start));
    start = comma + 1;
  }
}

// The value of `attribute` if `part` is "<attribute>=<value>", else nullopt.
std::optional<std::string_view> value_of(std::string_view part, char attribute)
{
  if (part.size() >= 2 && part[0] == attribute && part[1] == '=') {
    return part.substr(2);
  }
  return std::nullopt;
}

// A server's error token made safe to show: visible ASCII only, and not too long.
std::string printable_excerpt(std::string_view text)
{
  constexpr std::size_t k_limit = 64;
  std::string out;
  for (const char c : text.substr(0, k_limit)) {
    out += (c >= 0x20 && c <= 0x7e) ? c : '?';
  }
  return out;
}

std::string exclusive_or(std::string_view a, std::string_view b)
{
  std::string out(a.size(), '\0');
  for (std::size_t i = 0; i < a.size(); ++i) {
    out[i] = static_cast<char>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  }
  return out;
}

}  // namespace

ScramSha256::ScramSha256(Credentials credentials, std::string nonce)
    : m_credentials(std::move(credentials)),
      m_nonce(nonce.empty() ? random_nonce() : std::move(nonce))
{
  if (!is_printable(m_nonce)) {
    throw Error(ExitCode::software,
                "SCRAM-SHA-256 client nonce must be printable ASCII without ','");
  }
  // No channel binding: "n", then the optional authorization identity (RFC 5802 section 7).
  m_gs2_header = "n,";
  if (!m_credentials.authzid.empty()) {
    m_gs2_header += "a=" + escape_saslname(m_credentials.authzid);
  }
  m_gs2_header += ',';
  // No SASLprep (RFC 4013) of a non-ASCII user name: the bytes go as given.
  m_client_first_bare = "n=" + escape_saslname(m_credentials.user) + ",r=" + m_nonce;
}

std::string ScramSha256::first_message()
{
  return m_gs2_header + m_client_first_bare;
}

std::string ScramSha256::next(std::string_view challenge)
{
  switch (m_step) {
  case Step::client_first: {
    std::string response = client_final(challenge);
    m_step = Step::client_final;
    return response;
  }
  case Step::client_final:
    // The server-final message sent as a challenge (RFC 4954 section 4, RFC 5034 section 4)
    // is answered with an empty response once it verifies.
    check_server_final(challenge);
    m_step = Step::verified;
    return {};
  case Step::verified: break;
  }
  fail(name(), "unexpected challenge after the server's signature was verified");
}

std::string ScramSha256::client_final(std::string_view server_first)
{
  const std::vector<std::string_view> parts = split_attributes(server_first);
  if (value_of(parts[0], 'm')) {
    fail(name(), "the server requires an unsupported mandatory extension (m=)");
  }
  if (const auto error = value_of(parts[0], 'e')) {
    throw Error(ExitCode::permission, std::string(name()) +
                                          " authentication failed: the server reports '" +
                                          printable_excerpt(*error) + "'");
  }
  if (parts.size() < 3) {
    fail(name(), "the server-first message lacks r=, s= or i=");
  }
  const auto server_nonce = value_of(parts[0], 'r');
  const auto salt_text = value_of(parts[1], 's');
  const auto iterations_text = value_of(parts[2], 'i');
  if (!server_nonce || !salt_text || !iterations_text) {
    fail(name(), "the server-first message lacks r=, s= or i= (in that order)");
  }
  if (server_nonce->size() < m_nonce.size() || server_nonce->substr(0, m_nonce.size()) != m_nonce) {
    fail(name(), "the server's nonce does not begin with the client's nonce");
  }
  if (!is_printable(*server_nonce)) {
    fail(name(), "the server's nonce has characters outside printable ASCII");
  }
  const std::optional<std::string> salt = base64::decode(*salt_text);
  if (!salt) {
    fail(name(), "the server's salt is not valid base64");
  }
  std::uint64_t iterations = 0;
  const char* const digits_end = iterations_text->data() + iterations_text->size();
  const auto [end, errc] = std::from_chars(iterations_text->data(), digits_end, iterations);
  if (iterations_text->empty() || errc != std::errc{} || end != digits_end ||
      (*iterations_text)[0] == '0') {
    fail(name(), "the server's iteration count is not a positive decimal number");
  }
  if (iterations > k_max_iterations) {
    fail(name(), "the server's iteration count " + std::string(*iterations_text) +
                     " is absurdly high (limit " + std::to_string(k_max_iterations) + ")");
  }

  const std::string client_final_without_proof =
      "c=" + base64::encode(m_gs2_header) + ",r=" + std::string(*server_nonce);
  const std::string auth_message =
      m_client_first_bare + "," + std::string(server_first) + "," + client_final_without_proof;

  // RFC 5802 section 3.
  const Scrubbed salted_password(digest::pbkdf2_sha256(m_credentials.password.reveal(), *salt,
                                                       static_cast<std::uint32_t>(iterations), 32));
  const Scrubbed client_key(digest::hmac_sha256(salted_password.get(), "Client Key"));
  const Scrubbed stored_key(digest::sha256(client_key.get()));
  const Scrubbed client_signature(digest::hmac_sha256(stored_key.get(), auth_message));
  const Scrubbed client_proof(exclusive_or(client_key.get(), client_signature.get()));
  const Scrubbed server_key(digest::hmac_sha256(salted_password.get(), "Server Key"));
  m_server_signature = digest::hmac_sha256(server_key.get(), auth_message);

  return client_final_without_proof + ",p=" + base64::encode(client_proof.get());
}

void ScramSha256::check_server_final(std::string_view server_final)
{
  const std::string_view first = split_attributes(server_final)[0];
  if (const auto error = value_of(first, 'e')) {
    throw Error(ExitCode::permission, std::string(name()) +
                                          " authentication failed: the server reports '" +
                                          printable_excerpt(*error) + "'");
  }
  const auto verifier_text = value_of(first, 'v');
  if (!verifier_text) {
    fail(name(), "the server-final message has neither v= nor e=");
  }
  const std::optional<std::string> verifier = base64::decode(*verifier_text);
  if (!verifier) {
    fail(name(), "the server's signature is not valid base64");
  }
  if (verifier->size() != m_server_signature.size() ||
      CRYPTO_memcmp(verifier->data(), m_server_signature.data(), verifier->size()) != 0) {
    throw Error(ExitCode::permission,
                std::string(name()) +
                    " authentication failed: the server's signature does not verify, so it does "
                    "not know the password (an impostor, or a misconfigured server)");
  }
}

void ScramSha256::verify_final(std::string_view server_final)
{
  switch (m_step) {
  case Step::client_first:
    fail(name(), "the server reported success before it received the client's proof");
  case Step::client_final:
    if (server_final.empty()) {
      fail(name(), "the server reported success without proving it knows the password (no v=)");
    }
    check_server_final(server_final);
    m_step = Step::verified;
    return;
  case Step::verified:
    if (!server_final.empty()) {
      check_server_final(server_final);
    }
    return;
  }
}

}  // namespace mw::sasl
