// SPDX-License-Identifier: Apache-2.0
// Fuzzes header parsing and unfolding (RFC 5322 section 2.2), RFC 2047 decoding and the
// UTF-8 sanitiser with the input as a message's header section.

#include "mail/headers.hpp"

#include "fuzz_support.hpp"
#include "mail/rfc2047.hpp"

#include <string>
#include <string_view>

using mw::fuzz::check;
namespace mail = mw::mail;

namespace {

// sanitize_utf8 gives valid UTF-8, keeps valid UTF-8 as it is, and is idempotent.
void check_sanitized(std::string_view text)
{
  const bool valid = mail::is_valid_utf8(text);
  check(valid == mw::fuzz::reference_valid_utf8(text),
        "is_valid_utf8 disagrees with the reference validator");
  const std::string clean = mail::sanitize_utf8(text);
  check(mail::is_valid_utf8(clean), "sanitize_utf8 gave invalid UTF-8");
  check(mw::fuzz::reference_valid_utf8(clean), "sanitize_utf8 gave invalid UTF-8 (reference)");
  if (valid) {
    check(clean == text, "sanitize_utf8 changed valid UTF-8");
  }
  check(mail::sanitize_utf8(clean) == clean, "sanitize_utf8 is not idempotent");
}

// A decoded value is made of the input's text and converted words: after sanitising it is
// valid UTF-8, and text without "=?" is left exactly as it is.
void check_decoded(std::string_view value)
{
  const std::string decoded = mail::decode_rfc2047(value);
  if (value.find("=?") == std::string_view::npos) {
    check(decoded == value, "decode_rfc2047 changed text without encoded-words");
  }
  check_sanitized(decoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view block = mw::fuzz::view(data, size);
  const mail::Headers headers = mail::Headers::parse(block);
  for (const auto& field : headers.fields()) {
    check(mail::is_valid_field_name(field.name), "a field with an invalid name", field.name);
    check(field.value.find_first_of("\r\n") == std::string::npos,
          "an unfolded value still holds CR or LF", field.value);
    check(field.value.empty() || (field.value.front() != ' ' && field.value.front() != '\t' &&
                                  field.value.back() != ' ' && field.value.back() != '\t'),
          "a value not trimmed", field.value);
    const auto first = headers.get(field.name);
    check(first.has_value(), "get() misses a field that is there", field.name);
    check(!headers.get_all(field.name).empty(), "get_all() misses a field that is there");
    check(mail::iequals(field.name, field.name), "iequals is not reflexive");
    check_decoded(field.value);
  }
  if (!headers.fields().empty()) {
    (void)headers.decoded(headers.fields().front().name);
  }
  (void)headers.decoded("Subject");
  check_decoded(block);
  check_sanitized(block);
  return 0;
}
