// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace mw::mail {

// Decodes the RFC 2047 encoded-words (`=?charset?B|Q?text?=`, section 4; charset may carry an
// RFC 2231 section 5 language suffix) in a header value to UTF-8, dropping whitespace between
// adjacent encoded-words (section 6.2); malformed words, unknown charsets and raw 8-bit text
// are left as they are; never throws.
std::string decode_rfc2047(std::string_view value);

// Converts `bytes` in charset `charset` (an IANA name, case-insensitive) to UTF-8 with iconv,
// replacing undecodable bytes with U+FFFD; returns false when the charset is unknown.
bool convert_to_utf8(std::string_view charset, std::string_view bytes, std::string& out);

// `text` with every invalid UTF-8 sequence (RFC 3629 section 4) replaced by U+FFFD, one per
// maximal invalid subpart; for output that must be valid UTF-8 (JSON).
std::string sanitize_utf8(std::string_view text);

// Whether `text` is valid UTF-8 (RFC 3629 section 4: no overlong forms, surrogates or values
// above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace mw::mail
