// SPDX-License-Identifier: Apache-2.0
#include "util/base64.hpp"

#include <array>
#include <cstdint>

namespace mw::base64 {

namespace {

constexpr std::string_view k_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::int8_t k_invalid = -1;

constexpr std::array<std::int8_t, 256> make_reverse_table()
{
  std::array<std::int8_t, 256> table{};
  table.fill(k_invalid);
  for (std::size_t i = 0; i < k_alphabet.size(); ++i) {
    table[static_cast<unsigned char>(k_alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}

constexpr std::array<std::int8_t, 256> k_reverse = make_reverse_table();

// The 6-bit value of an alphabet character, or k_invalid.
std::int8_t value_of(char c)
{
  return k_reverse[static_cast<unsigned char>(c)];
}

}  // namespace

std::string encode(std::string_view bytes)
{
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group =
        static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
        static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
        static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += k_alphabet[(group >> 18) & 0x3f];
    out += k_alphabet[(group >> 12) & 0x3f];
    out += k_alphabet[(group >> 6) & 0x3f];
    out += k_alphabet[group & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const auto b0 = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
    out += k_alphabet[b0 >> 2];
    out += k_alphabet[(b0 << 4) & 0x3f];
    out += "==";
  } else if (rest == 2) {
    const auto b0 = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
    const auto b1 = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]));
    out += k_alphabet[b0 >> 2];
    out += k_alphabet[((b0 << 4) | (b1 >> 4)) & 0x3f];
    out += k_alphabet[(b1 << 2) & 0x3f];
    out += '=';
  }
  return out;
}

std::optional<std::string> decode(std::string_view text)
{
  if (text.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    // Padding may only appear in the last quantum, as "xx==" or "xxx=".
    std::size_t pad = 0;
    if (last) {
      if (text[i + 3] == '=') {
        pad = text[i + 2] == '=' ? 2 : 1;
      }
    }
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      if (j >= 4 - pad) {
        group <<= 6;
        continue;
      }
      const std::int8_t v = value_of(text[i + j]);
      if (v == k_invalid) {
        return std::nullopt;
      }
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>((group >> 16) & 0xff);
    if (pad < 2) {
      out += static_cast<char>((group >> 8) & 0xff);
    } else if ((group & 0xffff) != 0) {
      return std::nullopt;  // non-canonical: the pad bits must be zero (section 3.5)
    }
    if (pad < 1) {
      out += static_cast<char>(group & 0xff);
    } else if ((group & 0xff) != 0) {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace mw::base64
