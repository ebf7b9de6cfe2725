// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mw::digest {

// The 16-byte MD5 digest of `data` (RFC 1321), as raw bytes.
std::string md5(std::string_view data);

// The 32-byte SHA-256 digest of `data` (FIPS 180-4, as RFC 7677 section 3 uses it), raw bytes.
std::string sha256(std::string_view data);

// HMAC-MD5 of `data` under `key` (RFC 2104, as RFC 2195 section 2 uses it), raw bytes.
std::string hmac_md5(std::string_view key, std::string_view data);

// HMAC-SHA-256 of `data` under `key` (RFC 2104, as RFC 5802 section 3 uses it), raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

// PBKDF2 with HMAC-SHA-256 (RFC 8018 section 5.2; RFC 5802 section 2.2 "Hi"), `length` raw
// bytes; throws mw::Error (software) if `iterations` is 0 or OpenSSL fails.
std::string pbkdf2_sha256(std::string_view password, std::string_view salt,
                          std::uint32_t iterations, std::size_t length);

// `bytes` as lower-case hexadecimal, two digits per byte (RFC 2195 section 2 / RFC 1939
// section 7 digests).
std::string hex(std::string_view bytes);

// The APOP digest: hex(md5(timestamp + password)) (RFC 1939 section 7).
std::string apop(std::string_view timestamp, std::string_view password);

}  // namespace mw::digest
