// SPDX-License-Identifier: Apache-2.0
#include "mail/date.hpp"

#include "util/text.hpp"

#include <array>
#include <cstdio>
#include <vector>

namespace mw::mail {

namespace {

using text::iequals;

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

bool is_alpha(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum class Kind { number, word, punct };

struct Token {
  Kind kind;
  std::string_view text;
};

// Splits a date into numbers, words and single punctuation characters, dropping whitespace and
// comments (RFC 5322 section 3.2.2: CFWS may appear between the obsolete date tokens).
std::vector<Token> tokenize(std::string_view s)
{
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      ++i;
    } else if (c == '(') {
      int depth = 0;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\') {
          ++i;  // quoted-pair
        } else if (s[i] == '(') {
          ++depth;
        } else if (s[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
    } else if (is_digit(c) || is_alpha(c)) {
      const bool digits = is_digit(c);
      const std::size_t begin = i;
      while (i < s.size() && (digits ? is_digit(s[i]) : is_alpha(s[i]))) {
        ++i;
      }
      tokens.push_back({digits ? Kind::number : Kind::word, s.substr(begin, i - begin)});
    } else {
      tokens.push_back({Kind::punct, s.substr(i, 1)});
      ++i;
    }
  }
  return tokens;
}

int number_value(std::string_view digits)
{
  int value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
  }
  return value;
}

constexpr std::array<std::string_view, 7> k_days = {"mon", "tue", "wed", "thu",
                                                    "fri", "sat", "sun"};
constexpr std::array<std::string_view, 7> k_day_names = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
constexpr std::array<std::string_view, 12> k_months = {"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> k_month_names = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

bool is_day_name(std::string_view word)
{
  for (std::size_t i = 0; i < k_days.size(); ++i) {
    if (iequals(word, k_days[i]) || iequals(word, k_day_names[i])) {
      return true;
    }
  }
  return false;
}

// 1-12, or 0 when `word` names no month.
unsigned month_number(std::string_view word)
{
  for (std::size_t i = 0; i < k_months.size(); ++i) {
    if (iequals(word, k_months[i]) || iequals(word, k_month_names[i])) {
      return static_cast<unsigned>(i + 1);
    }
  }
  return 0;
}

// RFC 5322 section 4.3 (obs-zone): the US zones; every other name, military letters included,
// is treated as -0000 because RFC 822 got the military signs backwards.
int named_zone_minutes(std::string_view name)
{
  struct Zone {
    std::string_view name;
    int minutes;
  };
  constexpr std::array<Zone, 8> k_zones = {{{"EST", -5 * 60},
                                            {"EDT", -4 * 60},
                                            {"CST", -6 * 60},
                                            {"CDT", -5 * 60},
                                            {"MST", -7 * 60},
                                            {"MDT", -6 * 60},
                                            {"PST", -8 * 60},
                                            {"PDT", -7 * 60}}};
  for (const auto& zone : k_zones) {
    if (iequals(name, zone.name)) {
      return zone.minutes;
    }
  }
  return 0;
}

class Parser {
public:
  explicit Parser(std::vector<Token> tokens) : m_tokens(std::move(tokens)) {}

  bool at_end() const { return m_pos >= m_tokens.size(); }

  bool peek(Kind kind, std::string_view text = {}) const
  {
    return !at_end() && m_tokens[m_pos].kind == kind &&
           (text.empty() || m_tokens[m_pos].text == text);
  }

  std::optional<std::string_view> take(Kind kind, std::size_t min_length = 1,
                                       std::size_t max_length = 64)
  {
    if (!peek(kind)) {
      return std::nullopt;
    }
    const std::string_view text = m_tokens[m_pos].text;
    if (text.size() < min_length || text.size() > max_length) {
      return std::nullopt;
    }
    ++m_pos;
    return text;
  }

  bool skip(std::string_view punct)
  {
    if (peek(Kind::punct, punct)) {
      ++m_pos;
      return true;
    }
    return false;
  }

private:
  std::vector<Token> m_tokens;
  std::size_t m_pos = 0;
};

}  // namespace

std::optional<std::chrono::sys_seconds> parse_date(std::string_view text)
{
  using namespace std::chrono;
  Parser p(tokenize(text));

  if (p.peek(Kind::word)) {
    // take() refuses a word longer than 64 letters although peek() saw one.
    const auto day_name = p.take(Kind::word);
    if (!day_name || !is_day_name(*day_name)) {
      return std::nullopt;
    }
    p.skip(",");
  }
  const auto day_text = p.take(Kind::number, 1, 2);
  if (!day_text) {
    return std::nullopt;
  }
  p.skip("-");  // "21-Nov-1997", seen in the wild
  const auto month_text = p.take(Kind::word);
  const unsigned month_value = month_text ? month_number(*month_text) : 0;
  if (month_value == 0) {
    return std::nullopt;
  }
  p.skip("-");
  const auto year_text = p.take(Kind::number, 2, 4);
  if (!year_text) {
    return std::nullopt;
  }
  int year_value = number_value(*year_text);
  if (year_text->size() == 2) {
    year_value += year_value < 50 ? 2000 : 1900;  // RFC 5322 section 4.3
  } else if (year_text->size() == 3) {
    year_value += 1900;
  }

  const auto hour_text = p.take(Kind::number, 1, 2);
  if (!hour_text || !p.skip(":")) {
    return std::nullopt;
  }
  const auto minute_text = p.take(Kind::number, 1, 2);
  if (!minute_text) {
    return std::nullopt;
  }
  int second_value = 0;
  if (p.skip(":")) {
    const auto second_text = p.take(Kind::number, 1, 2);
    if (!second_text) {
      return std::nullopt;
    }
    second_value = number_value(*second_text);
  }
  const int hour_value = number_value(*hour_text);
  const int minute_value = number_value(*minute_text);
  if (hour_value > 23 || minute_value > 59 || second_value > 60) {
    return std::nullopt;  // 60 is a leap second
  }

  int offset_minutes = 0;
  if (p.peek(Kind::punct, "+") || p.peek(Kind::punct, "-")) {
    const bool negative = p.skip("-");
    if (!negative) {
      p.skip("+");
    }
    int zone_hours = 0;
    int zone_minutes = 0;
    if (const auto hhmm = p.take(Kind::number, 4, 4)) {
      zone_hours = number_value(hhmm->substr(0, 2));
      zone_minutes = number_value(hhmm->substr(2, 2));
    } else if (const auto hh = p.take(Kind::number, 2, 2); hh && p.skip(":")) {
      const auto mm = p.take(Kind::number, 2, 2);  // "+01:00", seen in the wild
      if (!mm) {
        return std::nullopt;
      }
      zone_hours = number_value(*hh);
      zone_minutes = number_value(*mm);
    } else {
      return std::nullopt;
    }
    if (zone_minutes > 59) {
      return std::nullopt;
    }
    offset_minutes = (negative ? -1 : 1) * (zone_hours * 60 + zone_minutes);
  } else if (p.peek(Kind::word)) {
    const auto zone_name = p.take(Kind::word);  // an over-long one is unknown, too
    offset_minutes = zone_name ? named_zone_minutes(*zone_name) : 0;
  } else if (!p.at_end()) {
    return std::nullopt;
  }
  // Whatever follows a zone ("+0000 GMT", "-0700 MST") is ignored.

  const year_month_day date{year{year_value}, month{month_value},
                            day{static_cast<unsigned>(number_value(*day_text))}};
  if (!date.ok()) {
    return std::nullopt;
  }
  return sys_seconds{sys_days{date}} + hours{hour_value} + minutes{minute_value} +
         seconds{second_value} - minutes{offset_minutes};
}

std::string format_rfc3339(std::chrono::sys_seconds time)
{
  using namespace std::chrono;
  const auto days_part = floor<days>(time);
  const year_month_day date{days_part};
  const hh_mm_ss clock{time - days_part};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<long long>(clock.hours().count()),
                static_cast<long long>(clock.minutes().count()),
                static_cast<long long>(clock.seconds().count()));
  return buffer;
}

}  // namespace mw::mail
