// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mw::base64 {

// Encodes bytes in the base64 alphabet with "=" padding (RFC 4648 section 4).
std::string encode(std::string_view bytes);

// Decodes strict padded base64 (RFC 4648 section 4); nullopt on any character outside the
// alphabet (whitespace included), on a length that is not a multiple of 4, on misplaced
// padding, or on non-zero pad bits (RFC 4648 section 3.5).
std::optional<std::string> decode(std::string_view text);

}  // namespace mw::base64
