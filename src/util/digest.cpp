// SPDX-License-Identifier: Apache-2.0
#include "util/digest.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <limits>
#include <memory>

namespace mw::digest {

namespace {

[[noreturn]] void fail(std::string_view what)
{
  throw Error(ExitCode::software, "OpenSSL " + std::string(what) + " failed");
}

std::string hash(const char* algorithm, std::string_view data)
{
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, algorithm, nullptr),
                                                     &EVP_MD_free);
  if (!md) {
    fail(std::string(algorithm) + " digest");
  }
  std::string out(static_cast<std::size_t>(EVP_MD_get_size(md.get())), '\0');
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &size,
                 md.get(), nullptr) != 1) {
    fail(std::string(algorithm) + " digest");
  }
  out.resize(size);
  return out;
}

std::string hmac(const char* algorithm, std::string_view key, std::string_view data)
{
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                        &EVP_MAC_free);
  if (!mac) {
    fail("HMAC");
  }
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()),
                                                                &EVP_MAC_CTX_free);
  if (!ctx) {
    fail("HMAC");
  }
  // OSSL_PARAM wants a non-const char*; OpenSSL only reads it.
  std::string digest_name(algorithm);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name.data(), 0),
      OSSL_PARAM_construct_end(),
  };
  // An empty key must still be a valid pointer for EVP_MAC_init to set it.
  static const unsigned char k_empty = 0;
  const auto* key_bytes =
      key.empty() ? &k_empty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1) {
    fail("HMAC");
  }
  std::string out(EVP_MAX_MD_SIZE, '\0');
  std::size_t size = 0;
  if (EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &size, out.size()) !=
      1) {
    fail("HMAC");
  }
  out.resize(size);
  return out;
}

}  // namespace

std::string md5(std::string_view data)
{
  return hash("MD5", data);
}

std::string sha256(std::string_view data)
{
  return hash("SHA256", data);
}

std::string hmac_md5(std::string_view key, std::string_view data)
{
  return hmac("MD5", key, data);
}

std::string hmac_sha256(std::string_view key, std::string_view data)
{
  return hmac("SHA256", key, data);
}

std::string pbkdf2_sha256(std::string_view password, std::string_view salt,
                          std::uint32_t iterations, std::size_t length)
{
  if (iterations == 0 || iterations > static_cast<std::uint32_t>(std::numeric_limits<int>::max()) ||
      password.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      salt.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      length > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    fail("PBKDF2 (parameter out of range)");
  }
  // OpenSSL wants valid pointers even for empty inputs.
  static const char k_empty = 0;
  const char* password_bytes = password.empty() ? &k_empty : password.data();
  const char* salt_bytes = salt.empty() ? &k_empty : salt.data();
  std::string out(length, '\0');
  if (PKCS5_PBKDF2_HMAC(password_bytes, static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt_bytes),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(length),
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    fail("PBKDF2");
  }
  return out;
}

std::string hex(std::string_view bytes)
{
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    text::append_hex(out, static_cast<unsigned char>(c));
  }
  return out;
}

std::string apop(std::string_view timestamp, std::string_view password)
{
  std::string input;
  input.reserve(timestamp.size() + password.size());
  input.append(timestamp);
  input.append(password);
  std::string result = hex(md5(input));
  OPENSSL_cleanse(input.data(), input.size());
  return result;
}

}  // namespace mw::digest
