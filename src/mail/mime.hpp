// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mw::mail {

// A Content-Type value (RFC 2045 section 5.1): type/subtype in lower case and the parameters
// that the checker and the preview use, as written (quoted-strings unquoted).
struct ContentType {
  std::string type;
  std::string subtype;
  std::optional<std::string> boundary;
  std::optional<std::string> charset;
  std::optional<std::string> name;  // the old way to name an attachment
};

// Parses a Content-Type value (comments and whitespace allowed between tokens, a trailing ';'
// tolerated); nullopt when its type/subtype or a parameter cannot be read. Never throws.
std::optional<ContentType> parse_content_type(std::string_view value);

// A Content-Disposition value (RFC 2183 section 2): its type in lower case ("inline",
// "attachment") and its filename parameter (RFC 2231 `filename*=charset'lang'%XX` is
// percent-decoded, its octets left in their charset).
struct ContentDisposition {
  std::string type;
  std::optional<std::string> filename;
};

// Parses a Content-Disposition value with the grammar of parse_content_type; nullopt when its
// type or a parameter cannot be read. Never throws.
std::optional<ContentDisposition> parse_content_disposition(std::string_view value);

// Whether `c` may appear in a MIME token (RFC 2045 section 5.1: not a space, a control or a
// tspecial).
bool is_token_char(unsigned char c);

// Decodes quoted-printable text (RFC 2045 section 6.7) leniently: "=XX" (either case) is the
// octet, "=" at the end of a line (trailing whitespace allowed) is a soft line break, trailing
// whitespace of other lines is removed (rule 3), any other "=" is kept as it is, and line ends
// (LF or CRLF) become LF. Never throws; the output is never longer than the input.
std::string decode_quoted_printable(std::string_view text);

}  // namespace mw::mail
