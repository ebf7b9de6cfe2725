// SPDX-License-Identifier: Apache-2.0
#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace mw::text {

std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view strip(std::string_view s, std::string_view set)
{
  const auto first = s.find_first_not_of(set);
  if (first == std::string_view::npos) {
    return s.substr(s.size());
  }
  return s.substr(first, s.find_last_not_of(set) - first + 1);
}

void append_hex(std::string& out, unsigned char byte, Hex letters)
{
  const std::string_view digits = letters == Hex::upper ? "0123456789ABCDEF" : "0123456789abcdef";
  out += digits[byte >> 4];
  out += digits[byte & 0x0F];
}

namespace {

int hex_digit(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

}  // namespace

int hex_octet(std::string_view s, std::size_t at)
{
  if (at + 1 >= s.size()) {
    return -1;
  }
  const int high = hex_digit(s[at]);
  const int low = hex_digit(s[at + 1]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

std::string printable(std::string_view s)
{
  std::string out;
  for (char c : s.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (s.size() > 80) {
    out += "...";
  }
  return out;
}

namespace {

bool is_continuation(unsigned char c)
{
  return (c & 0xC0) == 0x80;
}

// The length of the UTF-8 sequence a lead octet starts (2-4), or 0 for an octet that starts
// none (a continuation octet, C0/C1 lead octets of overlong forms, F5-FF).
std::size_t sequence_length(unsigned char lead)
{
  if (lead >= 0xC2 && lead <= 0xDF) {
    return 2;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    return 4;
  }
  return 0;
}

// Decodes the `length`-octet UTF-8 sequence at the start of s: its code point, or UINT32_MAX
// when it is invalid (RFC 3629 section 4: overlong, surrogate, above U+10FFFF, truncated).
std::uint32_t decode(std::string_view s, std::size_t length)
{
  if (s.size() < length) {
    return UINT32_MAX;
  }
  auto lead = static_cast<unsigned char>(s[0]);
  std::uint32_t cp = lead & (length == 2 ? 0x1Fu : length == 3 ? 0x0Fu : 0x07u);
  for (std::size_t i = 1; i < length; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!is_continuation(c)) {
      return UINT32_MAX;
    }
    cp = (cp << 6) | (c & 0x3Fu);
  }
  const std::uint32_t min = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return UINT32_MAX;
  }
  return cp;
}

void append_hex_octet(std::string& out, unsigned char c)
{
  out += "\\x";
  append_hex(out, c);
}

void append_code_point(std::string& out, std::uint32_t cp)
{
  char buf[16];
  std::snprintf(buf, sizeof buf, "<U+%04X>", static_cast<unsigned>(cp));
  out += buf;
}

}  // namespace

bool is_hidden_control(std::uint32_t cp)
{
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029;
}

std::string visible(std::string_view s, Keep keep)
{
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c >= 0x20 && c != 0x7F) || (c == '\t' && keep.tab) || (c == '\n' && keep.newline)) {
        out += static_cast<char>(c);
      } else {
        append_hex_octet(out, c);
      }
      ++i;
      continue;
    }
    const std::size_t length = sequence_length(c);
    const std::uint32_t cp = length == 0 ? UINT32_MAX : decode(s.substr(i), length);
    if (cp == UINT32_MAX) {
      append_hex_octet(out, c);
      ++i;
    } else if (is_hidden_control(cp)) {
      append_code_point(out, cp);
      i += length;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string one_line(std::string_view s)
{
  std::string line(s);
  for (auto& c : line) {
    if (c == '\r' || c == '\n' || c == '\t') {
      c = ' ';
    }
  }
  return visible(line);
}

std::size_t complete_utf8_prefix(std::string_view s)
{
  // Look back at most 3 octets for the lead octet of the last sequence.
  for (std::size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    auto c = static_cast<unsigned char>(s[s.size() - back]);
    if (is_continuation(c)) {
      continue;
    }
    const std::size_t length = sequence_length(c);
    return length > back ? s.size() - back : s.size();
  }
  return s.size();
}

char ascii_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string upper(std::string_view s)
{
  std::string out(s);
  for (char& c : out) {
    c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

std::string lower(std::string_view s)
{
  std::string out(s);
  for (char& c : out) {
    c = ascii_lower(c);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b)
{
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string join(const std::vector<std::string>& words, std::string_view separator)
{
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) {
      out += separator;
    }
    out += word;
  }
  return out;
}

std::string quoted(std::string_view s)
{
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string redact(std::string text, const std::vector<std::string>& secrets)
{
  for (const auto& secret : secrets) {
    if (secret.size() < 3) {
      continue;
    }
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "<redacted>");
      at += 10;
    }
  }
  return text;
}

}  // namespace mw::text
