// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mw::mail {

// Parses an RFC 5322 section 3.3 date-time, including the obsolete forms of section 4.3
// (two-digit years, named and military zones, comments, missing seconds, free whitespace);
// an unknown alphabetic zone counts as -0000 (section 4.3) and so does a missing one;
// returns nullopt for anything else and never throws.
std::optional<std::chrono::sys_seconds> parse_date(std::string_view text);

// Formats a time as an RFC 3339 section 5.6 date-time in UTC, e.g. `2026-11-23T15:04:05Z`.
std::string format_rfc3339(std::chrono::sys_seconds time);

}  // namespace mw::mail
