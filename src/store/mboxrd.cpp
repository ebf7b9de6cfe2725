// SPDX-License-Identifier: Apache-2.0
#include "store/mboxrd.hpp"

#include "mail/headers.hpp"

#include <array>
#include <cstdio>

namespace mw::store::mboxrd {

namespace {

constexpr std::string_view k_from = "From ";

bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Drops RFC 5322 comments "(...)" (nested, with quoted pairs), which may sit around an address.
std::string without_comments(std::string_view text)
{
  std::string result;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      if (depth == 0) {
        result.push_back(c);
        result.push_back(text[i + 1]);
      }
      ++i;
    } else if (c == '"' && depth == 0) {
      quoted = !quoted;
      result.push_back(c);
    } else if (c == '(' && !quoted) {
      ++depth;
    } else if (c == ')' && !quoted && depth > 0) {
      --depth;
    } else if (depth == 0) {
      result.push_back(c);
    }
  }
  return result;
}

// The addr-spec of a mailbox (`Name <a@b>`, `<a@b>`, `a@b (Name)`), "" when there is none.
std::string address_of(std::string_view value)
{
  const std::string text = without_comments(value);
  std::string_view address = text;
  const std::size_t open = text.find('<');
  if (open != std::string::npos) {
    const std::size_t close = text.find('>', open);
    address = std::string_view(text).substr(
        open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
  } else {
    // A bare address, possibly the first of a list.
    const std::size_t comma = address.find(',');
    address = address.substr(0, comma);
  }
  std::string result;
  for (char c : address) {
    const auto byte = static_cast<unsigned char>(c);
    if (!is_blank(c) && byte >= 0x20 && byte != 0x7F) {
      result.push_back(c);
    }
  }
  return result;
}

}  // namespace

void Quoter::put(std::string_view data, std::string& out)
{
  std::size_t i = 0;
  while (i < data.size()) {
    if (m_line_start) {
      const char c = data[i];
      if (c == '>' && m_from_matched == 0) {
        m_pending.push_back(c);
        ++i;
        continue;
      }
      if (c == k_from[m_from_matched]) {
        m_pending.push_back(c);
        ++i;
        if (++m_from_matched == k_from.size()) {
          out.push_back('>');
          out += m_pending;
          m_pending.clear();
          m_from_matched = 0;
          m_line_start = false;
        }
        continue;
      }
      // Not a From line: release what was held and read the rest of the line below.
      out += m_pending;
      m_pending.clear();
      m_from_matched = 0;
      m_line_start = false;
    }
    const std::size_t newline = data.find('\n', i);
    if (newline == std::string_view::npos) {
      out.append(data.substr(i));
      return;
    }
    out.append(data.substr(i, newline + 1 - i));
    i = newline + 1;
    m_line_start = true;
  }
}

void Quoter::finish(std::string& out)
{
  out += m_pending;
  m_pending.clear();
  m_from_matched = 0;
  m_line_start = true;
}

std::string sender(std::string_view header_section)
{
  const mail::Headers headers = mail::Headers::parse(header_section);
  if (const auto return_path = headers.get("Return-Path")) {
    const std::string address = address_of(*return_path);
    return address.empty() ? "MAILER-DAEMON" : address;
  }
  if (const auto from = headers.get("From")) {
    const std::string address = address_of(*from);
    if (!address.empty()) {
      return address;
    }
  }
  return "MAILER-DAEMON";
}

std::string asctime_utc(std::time_t when)
{
  static constexpr std::array<const char*, 7> k_days = {"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> k_months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm parts{};
  ::gmtime_r(&when, &parts);
  char buffer[64] = {};
  std::snprintf(buffer, sizeof buffer, "%s %s %2d %02d:%02d:%02d %d",
                k_days.at(static_cast<std::size_t>(parts.tm_wday) % 7),
                k_months.at(static_cast<std::size_t>(parts.tm_mon) % 12), parts.tm_mday,
                parts.tm_hour, parts.tm_min, parts.tm_sec, parts.tm_year + 1900);
  return buffer;
}

bool needs_quoting(std::string_view line)
{
  while (!line.empty() && line.front() == '>') {
    line.remove_prefix(1);
  }
  return line.substr(0, k_from.size()) == k_from;
}

}  // namespace mw::store::mboxrd
