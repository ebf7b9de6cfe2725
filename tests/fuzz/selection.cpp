// SPDX-License-Identifier: Apache-2.0
// Fuzzes the selection grammar (message ranges, sizes, ages, "Name: REGEX" filters and the
// --from/--subject regexes) and matching against headers made from the input. Usage errors
// are the expected answer to bad input, not crashes.
//
// Input: one field a line — ranges, size, age, header filter, From regex, Subject regex —
// then the header section of the message to match.

#include "select/selection.hpp"

#include "fuzz_support.hpp"
#include "mail/headers.hpp"
#include "mailbox/message.hpp"
#include "util/error.hpp"

#include <array>
#include <chrono>
#include <string>
#include <string_view>

using mw::fuzz::check;
namespace sel = mw::select;

namespace {

// Message numbers to try: the edges of 64 bits and a few from the input.
std::array<std::uint64_t, 6> numbers(std::string_view input)
{
  const std::uint64_t h = mw::fuzz::hash(input, 3);
  return {1, 2, h % 1000 + 1, h >> 40, UINT64_MAX - 1, UINT64_MAX};
}

void ranges(std::string_view text, std::string_view input)
{
  std::vector<sel::Range> parsed;
  try {
    parsed = sel::parse_ranges(text);
  } catch (const mw::UsageError&) {
    return;
  }
  check(!parsed.empty(), "parse_ranges accepted text without a range");
  for (const auto& range : parsed) {
    check(range.first >= 1 && range.first <= range.last, "parse_ranges: a bad range");
  }
  sel::Selection selection;
  selection.add_ranges(text);
  for (const std::uint64_t n : numbers(input)) {
    bool in = false;
    for (const auto& range : parsed) {
      in = in || (n >= range.first && n <= range.last);
    }
    mw::mailbox::Message message;
    message.number = n;
    check(selection.matches(message, nullptr, {}) == in,
          "a range selection disagrees with its ranges");
  }
}

template <typename F> void usage_errors_only(F&& f)
{
  try {
    f();
  } catch (const mw::UsageError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input = mw::fuzz::view(data, size);
  std::string_view rest = input;
  std::array<std::string_view, 6> fields{};
  for (auto& field : fields) {
    field = mw::fuzz::take_line(rest);
  }
  const mw::mail::Headers headers = mw::mail::Headers::parse(rest);

  // Every value parser gets every field: they must refuse what is not theirs cleanly.
  for (const auto field : fields) {
    ranges(field, input);
    usage_errors_only([&] { (void)sel::parse_size(field); });
    usage_errors_only([&] {
      const auto age = sel::parse_age(field);
      check(age.count() >= 0, "parse_age gave a negative age");
    });
    usage_errors_only([&] { (void)sel::parse_header_filter(field); });
  }

  sel::Selection selection;
  usage_errors_only([&] { selection.add_ranges(fields[0]); });
  usage_errors_only([&] { selection.add_uid(std::string(fields[0])); });
  usage_errors_only([&] {
    const std::uint64_t octets = sel::parse_size(fields[1]);
    selection.set_larger_than(octets / 2);
    selection.set_smaller_than(octets);
  });
  usage_errors_only([&] {
    const auto age = sel::parse_age(fields[2]);
    selection.set_older_than(age / 2);
    selection.set_newer_than(age);
  });
  usage_errors_only([&] { selection.add_header(fields[3]); });
  usage_errors_only([&] { selection.set_from(fields[4]); });
  usage_errors_only([&] { selection.set_subject(fields[5]); });

  const std::uint64_t h = mw::fuzz::hash(input, 4);
  mw::mailbox::Message message;
  message.number = h % 50 + 1;
  message.octets = (h >> 8) % (1U << 30);
  message.uid = std::string(fields[0]);
  const auto now = std::chrono::sys_seconds{std::chrono::seconds{1'790'000'000}};
  usage_errors_only([&] { (void)selection.matches(message, &headers, now); });
  if (!selection.needs_headers()) {
    usage_errors_only([&] { (void)selection.matches(message, nullptr, now); });
  }
  return 0;
}
