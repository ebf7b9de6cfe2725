// SPDX-License-Identifier: Apache-2.0
// Fuzzes the RFC 5322 section 3.3 date parser (with the obsolete forms of section 4.3) and
// the RFC 3339 formatting of its result; a parsed instant, formatted again as an RFC 5322
// date in any zone, parses back to the same instant.

#include "mail/date.hpp"

#include "fuzz_support.hpp"
#include "mail/compose.hpp"

#include <chrono>
#include <string>
#include <string_view>

using mw::fuzz::check;
namespace mail = mw::mail;

namespace {

int year_of(std::chrono::sys_seconds t)
{
  const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(t)};
  return static_cast<int>(date.year());
}

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

// "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339 section 5.6) for the years it can express.
void check_rfc3339(std::string_view text)
{
  check(text.size() == 20, "format_rfc3339: not 20 characters", text);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char want = "dddd-dd-ddTdd:dd:ddZ"[i];
    check(want == 'd' ? is_digit(text[i]) : text[i] == want, "format_rfc3339: malformed", text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view text = mw::fuzz::view(data, size);
  const auto parsed = mail::parse_date(text);
  if (!parsed) {
    return 0;
  }
  const std::string rfc3339 = mail::format_rfc3339(*parsed);
  if (year_of(*parsed) >= 0 && year_of(*parsed) <= 9999) {
    check_rfc3339(rfc3339);
  }
  for (const int offset : {0, 59, -59, 330, -(99 * 60 + 59), 99 * 60 + 59}) {
    const int local_year = year_of(*parsed + std::chrono::minutes(offset));
    if (local_year < 0 || local_year > 9999) {
      continue;
    }
    const std::string again = mail::format_date(*parsed, offset);
    const auto reparsed = mail::parse_date(again);
    check(reparsed.has_value(), "format_date output does not parse", again);
    check(*reparsed == *parsed, "format_date output parses to another instant",
          again + " from " + std::string(text.substr(0, 200)));
  }
  return 0;
}
