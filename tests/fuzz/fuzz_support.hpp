// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers shared by the libFuzzer targets: invariant checks that crash loudly, cut points
// derived from the input itself (so a crash file reproduces the exact chunking), and the
// splitting of one input into several fields.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mw::fuzz {

// Reports a broken invariant and aborts, which libFuzzer records as a crash.
[[noreturn]] inline void violated(const char* what, std::string_view detail = {})
{
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  if (!detail.empty()) {
    // Non-printable octets as \xNN, so that a CR or a NUL shows.
    std::string shown;
    for (const char c : detail.substr(0, 4000)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x20 && u < 0x7f && c != '\\') {
        shown += c;
      } else {
        static constexpr char k_hex[] = "0123456789abcdef";
        shown += "\\x";
        shown += k_hex[u >> 4];
        shown += k_hex[u & 0x0f];
      }
    }
    std::fprintf(stderr, "  detail: %s\n", shown.c_str());
  }
  std::abort();
}

// Aborts with `what` unless `ok`.
inline void check(bool ok, const char* what, std::string_view detail = {})
{
  if (!ok) {
    violated(what, detail);
  }
}

// The input as a string_view.
inline std::string_view view(const std::uint8_t* data, std::size_t size)
{
  return {reinterpret_cast<const char*>(data), size};
}

// FNV-1a of `data`, started from `salt`: the seed for a chunking.
inline std::uint64_t hash(std::string_view data, std::uint64_t salt)
{
  std::uint64_t h = 14695981039346656037ULL ^ salt;
  for (const char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// `data` cut into pieces of 0..max_piece octets (empty pieces included: a feed of nothing
// must be harmless), the sizes drawn from a generator seeded by the data and `salt`.
inline std::vector<std::string_view> chunks(std::string_view data, std::uint64_t salt,
                                            std::size_t max_piece)
{
  std::vector<std::string_view> out;
  std::mt19937_64 random(hash(data, salt));
  std::uniform_int_distribution<std::size_t> size(0, max_piece);
  while (!data.empty()) {
    const std::size_t n = std::min(size(random), data.size());
    out.push_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

// `data` one octet at a time.
inline std::vector<std::string_view> octets(std::string_view data)
{
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < data.size(); ++i) {
    out.push_back(data.substr(i, 1));
  }
  return out;
}

// The chunkings every streaming parser is fed: the whole input, pieces of up to 7 and of
// up to 300 octets, and (for inputs of up to 512 octets, to keep the targets fast) single octets.
inline std::vector<std::vector<std::string_view>> chunkings(std::string_view data)
{
  std::vector<std::vector<std::string_view>> out;
  out.push_back({data});
  out.push_back(chunks(data, 1, 7));
  out.push_back(chunks(data, 2, 300));
  if (data.size() <= 512) {
    out.push_back(octets(data));
  }
  return out;
}

// Takes the text up to the first LF (without it, and without a CR before it) off the front
// of `data`; the whole rest when there is no LF. Seed files are then readable: one field a
// line, the last field (a message, a header block) the rest of the file.
inline std::string_view take_line(std::string_view& data)
{
  const std::size_t nl = data.find('\n');
  std::string_view line = data.substr(0, nl);
  data = nl == std::string_view::npos ? std::string_view{} : data.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

// Every line of `data` (split at LF, a CR before the LF removed).
inline std::vector<std::string_view> lines(std::string_view data)
{
  std::vector<std::string_view> out;
  while (!data.empty()) {
    out.push_back(take_line(data));
  }
  return out;
}

// A reference UTF-8 validator (RFC 3629 section 4), written independently of the one under
// test: no overlong forms, no surrogates, nothing above U+10FFFF.
inline bool reference_valid_utf8(std::string_view text)
{
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= text.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (d & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace mw::fuzz
