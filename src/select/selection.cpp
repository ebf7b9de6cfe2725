// SPDX-License-Identifier: Apache-2.0
#include "select/selection.hpp"

#include "mail/date.hpp"
#include "mail/rfc2047.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mw::select {

namespace {

constexpr std::uint64_t k_max = std::numeric_limits<std::uint64_t>::max();

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

constexpr std::string_view k_space = " \t\r\n";

using text::ascii_lower;

std::string_view trim(std::string_view s)
{
  return text::strip(s, k_space);
}

std::string quoted(std::string_view s)
{
  return "'" + std::string(s) + "'";
}

// Parses all of `digits` as a decimal number, or nullopt when empty, not all digits or too large.
std::optional<std::uint64_t> parse_number(std::string_view digits)
{
  if (digits.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (char c : digits) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (k_max - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

[[noreturn]] void bad_range(std::string_view part, std::string_view whole, std::string_view why)
{
  std::string message = "invalid message range " + quoted(part);
  if (part != whole) {
    message += " in " + quoted(whole);
  }
  throw UsageError(message + " (" + std::string(why) + ")");
}

boost::regex compile_regex(std::string_view pattern, std::string_view option)
{
  try {
    // Boost.Regex 1.74 reads one character past the end of a pattern that ends inside a
    // bracket range ("[a-b"); a std::string has its NUL there, a string_view may have nothing.
    const std::string text(pattern);
    // nosubs: only whether it matches counts, and not saving groups spares the match stack.
    // no_mod_m: "^" and "$" anchor the whole field, not a line inside it (Boost's Perl
    // syntax is multi-line by default); the values searched have no line breaks anyway.
    return boost::regex(text.data(), text.data() + text.size(),
                        boost::regex::perl | boost::regex::icase | boost::regex::nosubs |
                            boost::regex::no_mod_m);
  } catch (const boost::regex_error& e) {
    // Boost appends the whole pattern with a >>>HERE>>> marker; the position says it shorter.
    std::string what = e.what();
    if (const auto end = what.find(".  The error occurred"); end != std::string::npos) {
      what.erase(end);
    }
    throw UsageError("invalid regular expression " + quoted(pattern) + " for " +
                     std::string(option) + ": " + what + " (at offset " +
                     std::to_string(e.position()) + ")");
  }
}

// Whether any field called `filter.name` matches, searched in its shown text (field_text).
bool search_fields(const mail::Headers& headers, const HeaderFilter& filter)
{
  for (const auto value : headers.get_all(filter.name)) {
    const std::string shown = field_text(value);
    try {
      if (boost::regex_search(shown, filter.regex, boost::match_single_line)) {
        return true;
      }
    } catch (const std::runtime_error&) {
      // Boost.Regex gives up on catastrophic backtracking (and on exhausting its own match
      // stack) with a runtime_error instead of running for hours or overflowing the stack.
      throw UsageError("regular expression " + quoted(filter.pattern) +
                       " is too complex to search the " + filter.name +
                       " header; simplify it (e.g. avoid nested repetition like (a+)+)");
    }
  }
  return false;
}

}  // namespace

std::string field_text(std::string_view value)
{
  return text::one_line(mail::decode_rfc2047(value));
}

std::vector<Range> parse_ranges(std::string_view text)
{
  constexpr std::string_view k_expected =
      "expected a message number, N-M or N-, e.g. 3, 5-9, 1,4,7 or 2-";
  std::vector<Range> ranges;
  const std::string_view whole = trim(text);
  std::size_t pos = 0;
  for (;;) {
    const std::size_t comma = whole.find(',', pos);
    const std::string_view raw =
        whole.substr(pos, comma == std::string_view::npos ? whole.npos : comma - pos);
    const std::string_view part = trim(raw);
    const std::size_t dash = part.find('-');
    Range range{};
    if (dash == std::string_view::npos) {
      const auto number = parse_number(part);
      if (!number) {
        bad_range(part, whole, k_expected);
      }
      range = {*number, *number};
    } else {
      const auto first = parse_number(trim(part.substr(0, dash)));
      const std::string_view last_text = trim(part.substr(dash + 1));
      const auto last =
          last_text.empty() ? std::optional<std::uint64_t>(k_max) : parse_number(last_text);
      if (!first || !last) {
        bad_range(part, whole, k_expected);
      }
      range = {*first, *last};
    }
    if (range.first == 0) {
      bad_range(part, whole, "message numbers start at 1");
    }
    if (range.first > range.last) {
      bad_range(part, whole, "the first number of a range must not be larger than the last");
    }
    ranges.push_back(range);
    if (comma == std::string_view::npos) {
      break;
    }
    pos = comma + 1;
  }
  return ranges;
}

std::uint64_t parse_size(std::string_view text)
{
  const std::string_view value = trim(text);
  const auto bad = [&]() -> UsageError {
    return UsageError("invalid size " + quoted(text) +
                      " (expected a number with optional K, M or G, e.g. 10K)");
  };
  std::size_t i = 0;
  while (i < value.size() && is_digit(value[i])) {
    ++i;
  }
  const auto whole_part = parse_number(value.substr(0, i));
  if (!whole_part) {
    throw bad();
  }
  std::string_view fraction;
  if (i < value.size() && value[i] == '.') {
    const std::size_t begin = ++i;
    while (i < value.size() && is_digit(value[i])) {
      ++i;
    }
    fraction = value.substr(begin, i - begin);
    if (fraction.empty() || fraction.size() > 9) {
      throw bad();
    }
  }
  std::string unit(trim(value.substr(i)));
  for (char& c : unit) {
    c = ascii_lower(c);
  }
  if (unit.size() > 1 && unit.back() == 'b') {
    unit.pop_back();  // "10KB"
    if (unit.size() == 2 && unit.back() == 'i') {
      unit.pop_back();  // "10KiB"
    }
  }
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k") {
    multiplier = std::uint64_t{1} << 10;
  } else if (unit == "m") {
    multiplier = std::uint64_t{1} << 20;
  } else if (unit == "g") {
    multiplier = std::uint64_t{1} << 30;
  } else {
    throw bad();
  }
  if (multiplier == 1 && !fraction.empty()) {
    throw bad();  // a fraction of an octet
  }
  if (*whole_part > k_max / multiplier) {
    throw bad();
  }
  std::uint64_t result = *whole_part * multiplier;
  if (!fraction.empty()) {
    std::uint64_t scale = 1;
    for (std::size_t n = 0; n < fraction.size(); ++n) {
      scale *= 10;
    }
    // Below 10^9 times at most 2^30: no overflow.
    const std::uint64_t extra = *parse_number(fraction) * multiplier / scale;
    if (result > k_max - extra) {
      throw bad();
    }
    result += extra;
  }
  return result;
}

std::chrono::seconds parse_age(std::string_view text)
{
  const std::string_view value = trim(text);
  const auto bad = [&]() -> UsageError {
    return UsageError("invalid age " + quoted(text) +
                      " (expected a number with optional s, m, h, d or w; a bare number is "
                      "days, e.g. 30d)");
  };
  std::size_t i = 0;
  while (i < value.size() && is_digit(value[i])) {
    ++i;
  }
  const auto number = parse_number(value.substr(0, i));
  const std::string_view unit = trim(value.substr(i));
  if (!number || unit.size() > 1) {
    throw bad();
  }
  std::uint64_t multiplier = 0;
  switch (unit.empty() ? 'd' : ascii_lower(unit.front())) {
  case 's': multiplier = 1; break;
  case 'm': multiplier = 60; break;
  case 'h': multiplier = 3600; break;
  case 'd': multiplier = 86400; break;
  case 'w': multiplier = 7 * 86400; break;
  default: throw bad();
  }
  // Far more than any mail is old, and far from overflowing a time point when subtracted.
  constexpr std::uint64_t k_max_age = std::uint64_t{1} << 40;
  if (*number > k_max_age / multiplier) {
    throw bad();
  }
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*number * multiplier));
}

HeaderFilter parse_header_filter(std::string_view text)
{
  const std::size_t colon = text.find(':');
  const std::string_view name =
      trim(text.substr(0, colon == std::string_view::npos ? text.size() : colon));
  if (colon == std::string_view::npos || !mail::is_valid_field_name(name)) {
    throw UsageError("invalid header filter " + quoted(text) +
                     " (expected 'Name: REGEX', e.g. 'X-Spam-Flag: yes')");
  }
  std::string_view pattern = text.substr(colon + 1);
  pattern.remove_prefix(std::min(pattern.find_first_not_of(k_space), pattern.size()));
  HeaderFilter filter;
  filter.name = std::string(name);
  filter.pattern = std::string(pattern);
  filter.regex = compile_regex(pattern, "--header " + quoted(text));
  return filter;
}

void Selection::add_ranges(std::string_view text)
{
  const auto ranges = parse_ranges(text);
  m_ranges.insert(m_ranges.end(), ranges.begin(), ranges.end());
}

void Selection::add_uid(std::string uid)
{
  bool valid = !uid.empty();
  for (char c : uid) {
    const auto u = static_cast<unsigned char>(c);
    valid = valid && u > 0x20 && u != 0x7F;
  }
  if (!valid) {
    throw UsageError("invalid UID " + quoted(uid) +
                     " (expected printable characters without spaces, as `list` shows them)");
  }
  if (m_uid_set.insert(uid).second) {
    m_uids.push_back(std::move(uid));
    m_uid_filter = true;
  }
}

void Selection::set_larger_than(std::uint64_t octets)
{
  if (octets == k_max || (m_smaller_than && *m_smaller_than <= octets + 1)) {
    throw UsageError("--larger-than " + std::to_string(octets) + " selects no message" +
                     (m_smaller_than
                          ? " together with --smaller-than " + std::to_string(*m_smaller_than)
                          : std::string()));
  }
  m_larger_than = octets;
}

void Selection::set_smaller_than(std::uint64_t octets)
{
  if (octets == 0 || (m_larger_than && octets <= *m_larger_than + 1)) {
    throw UsageError("--smaller-than " + std::to_string(octets) + " selects no message" +
                     (m_larger_than
                          ? " together with --larger-than " + std::to_string(*m_larger_than)
                          : std::string()));
  }
  m_smaller_than = octets;
}

void Selection::set_older_than(std::chrono::seconds age)
{
  if (age.count() < 0 || (m_newer_than && *m_newer_than <= age)) {
    throw UsageError(
        "--older-than " + std::to_string(age.count()) + "s selects no message" +
        (m_newer_than ? " together with --newer-than " + std::to_string(m_newer_than->count()) + "s"
                      : std::string()));
  }
  m_older_than = age;
}

void Selection::set_newer_than(std::chrono::seconds age)
{
  if (age.count() < 0 || (m_older_than && age <= *m_older_than)) {
    throw UsageError(
        "--newer-than " + std::to_string(age.count()) + "s selects no message" +
        (m_older_than ? " together with --older-than " + std::to_string(m_older_than->count()) + "s"
                      : std::string()));
  }
  m_newer_than = age;
}

void Selection::set_from(std::string_view regex)
{
  m_from = HeaderFilter{"From", std::string(regex), compile_regex(regex, "--from")};
}

void Selection::set_subject(std::string_view regex)
{
  m_subject = HeaderFilter{"Subject", std::string(regex), compile_regex(regex, "--subject")};
}

void Selection::add_header(std::string_view name_colon_regex)
{
  m_headers.push_back(parse_header_filter(name_colon_regex));
}

void Selection::set_all()
{
  m_all = true;
}

bool Selection::empty() const
{
  return !m_all && m_ranges.empty() && !m_uid_filter && !m_larger_than && !m_smaller_than &&
         !m_older_than && !m_newer_than && !m_from && !m_subject && m_headers.empty();
}

bool Selection::needs_headers() const
{
  return m_from || m_subject || !m_headers.empty() || m_older_than || m_newer_than;
}

std::vector<std::string> Selection::header_names() const
{
  std::vector<std::string> names;
  auto add = [&](std::string_view name) {
    for (const auto& known : names) {
      if (mail::iequals(known, name)) {
        return;
      }
    }
    names.emplace_back(name);
  };
  if (m_from) {
    add(m_from->name);
  }
  if (m_subject) {
    add(m_subject->name);
  }
  for (const auto& filter : m_headers) {
    add(filter.name);
  }
  if (m_older_than || m_newer_than) {
    add("Date");
  }
  return names;
}

bool Selection::needs_uids() const
{
  return m_uid_filter;
}

std::string Selection::shown(const mail::Headers& headers, std::string_view name) const
{
  std::vector<const HeaderFilter*> filters;
  for (const auto* filter : {m_from ? &*m_from : nullptr, m_subject ? &*m_subject : nullptr}) {
    if (filter != nullptr && mail::iequals(filter->name, name)) {
      filters.push_back(filter);
    }
  }
  for (const auto& filter : m_headers) {
    if (mail::iequals(filter.name, name)) {
      filters.push_back(&filter);
    }
  }
  std::vector<std::string> matched;
  std::vector<std::string> others;
  for (const auto value : headers.get_all(name)) {
    std::string text = field_text(value);
    bool hit = false;
    for (const auto* filter : filters) {
      try {
        hit = hit || boost::regex_search(text, filter->regex, boost::match_single_line);
      } catch (const std::runtime_error&) {
        // matches() has reported a regex too complex for this value already.
      }
    }
    (hit ? matched : others).push_back(std::move(text));
  }
  std::string shown;
  for (const auto* list : {&matched, &others}) {
    for (const auto& text : *list) {
      shown += shown.empty() ? "" : " | ";
      shown += text;
    }
  }
  return shown;
}

bool Selection::matches_listing(const mailbox::Message& message) const
{
  if (!m_ranges.empty()) {
    bool in_range = false;
    for (const auto& range : m_ranges) {
      in_range = in_range || (message.number >= range.first && message.number <= range.last);
    }
    if (!in_range) {
      return false;
    }
  }
  if (m_uid_filter && !m_uid_set.contains(message.uid)) {
    return false;
  }
  if (m_larger_than && message.octets <= *m_larger_than) {
    return false;
  }
  if (m_smaller_than && message.octets >= *m_smaller_than) {
    return false;
  }
  return true;
}

bool Selection::matches(const mailbox::Message& message, const mail::Headers* headers,
                        std::chrono::sys_seconds now) const
{
  if (!matches_listing(message)) {
    return false;
  }
  if (!needs_headers()) {
    return true;
  }
  if (headers == nullptr) {
    throw std::logic_error("Selection::matches: message " + std::to_string(message.number) +
                           " has no headers but a header filter is given");
  }
  const mail::Headers& fields = *headers;
  if (m_from && !search_fields(fields, *m_from)) {
    return false;
  }
  if (m_subject && !search_fields(fields, *m_subject)) {
    return false;
  }
  for (const auto& filter : m_headers) {
    if (!search_fields(fields, filter)) {
      return false;
    }
  }
  if (m_older_than || m_newer_than) {
    const auto date_value = fields.get("Date");
    const auto date = date_value ? mail::parse_date(*date_value) : std::nullopt;
    if (!date) {
      return false;
    }
    const auto age = now - *date;
    if (m_older_than && age <= *m_older_than) {
      return false;
    }
    if (m_newer_than && age >= *m_newer_than) {
      return false;
    }
  }
  return true;
}

}  // namespace mw::select
