#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mw::text {

// s without leading and trailing spaces and tabs (and a trailing CR).
std::string_view trim(std::string_view s);

// At most 80 characters of s with control and 8-bit bytes as '?', for error messages that
// quote what a server sent.
std::string printable(std::string_view s);

// ASCII upper and lower case (protocol keywords, not text).
std::string upper(std::string_view s);
std::string lower(std::string_view s);

// text with every occurrence of each secret (ignoring those shorter than 3 octets) replaced by
// "<redacted>": servers sometimes quote what they were sent in their error replies.
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace mw::text
