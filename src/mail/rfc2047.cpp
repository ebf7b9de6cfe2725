// SPDX-License-Identifier: Apache-2.0
#include "mail/rfc2047.hpp"

#include "util/text.hpp"

#include <cerrno>
#include <cstdint>
#include <iconv.h>
#include <optional>

namespace mw::mail {

namespace {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

using text::ascii_lower;

bool is_lws(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when the bytes there are not one;
// `invalid_length` receives the length of the maximal invalid subpart (Unicode 3.9, D93b).
std::size_t utf8_sequence(std::string_view s, std::size_t& invalid_length)
{
  const auto b0 = static_cast<unsigned char>(s[0]);
  invalid_length = 1;
  if (b0 < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    low = b0 == 0xE0 ? 0xA0 : 0x80;   // no overlong forms
    high = b0 == 0xED ? 0x9F : 0xBF;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    low = b0 == 0xF0 ? 0x90 : 0x80;   // no overlong forms
    high = b0 == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (i >= s.size()) {
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xBF)) {
      return 0;
    }
    invalid_length = i + 1;
  }
  return length;
}

std::optional<std::string> decode_base64(std::string_view text)
{
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  std::size_t sextets = 0;
  for (char c : text) {
    int v = 0;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else if (c == '=') {
      break;  // padding ends the data; whatever follows is ignored
    } else if (is_lws(c)) {
      continue;
    } else {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    ++sextets;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  if (sextets % 4 == 1) {
    return std::nullopt;  // six bits cannot make a byte
  }
  return out;
}

// RFC 2047 section 4.2; a stray "=" is kept as it is rather than rejecting the whole word.
std::string decode_q(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (const int octet = mw::text::hex_octet(text, i + 1); c == '=' && octet >= 0) {
      out.push_back(static_cast<char>(octet));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The iconv name for a MIME charset label. Mislabelled mail is common: like the WHATWG Encoding
// standard, Latin-1 and ASCII labels decode as Windows-1252 and GB2312/GBK as GB18030, their
// supersets, so that text labelled with the smaller set still decodes.
std::string iconv_name(std::string_view charset)
{
  const std::string name = text::lower(charset);
  if (name == "us-ascii" || name == "ascii" || name == "iso-8859-1" || name == "iso8859-1" ||
      name == "latin1" || name == "iso_8859-1" || name == "l1" || name == "cp819") {
    return "WINDOWS-1252";
  }
  if (name == "gb2312" || name == "gbk" || name == "x-gbk" || name == "cp936" || name == "euc-cn") {
    return "GB18030";
  }
  if (name == "ks_c_5601-1987" || name == "ks_c_5601" || name == "euc-kr") {
    return "CP949";  // Outlook's label for Korean; CP949 is a superset of EUC-KR
  }
  if (name == "x-sjis" || name == "shift-jis" || name == "sjis" || name == "shift_jis" ||
      name == "ms_kanji" || name == "windows-31j") {
    return "CP932";  // Windows' Shift_JIS with its extensions, which Japanese mail uses
  }
  if (name == "unicode-1-1-utf-7") {
    return "UTF-7";
  }
  return std::string(charset);
}

class Iconv {
public:
  explicit Iconv(const std::string& from) : m_cd(iconv_open("UTF-8", from.c_str())) {}
  ~Iconv()
  {
    if (ok()) {
      iconv_close(m_cd);
    }
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  bool ok() const { return m_cd != reinterpret_cast<iconv_t>(static_cast<std::intptr_t>(-1)); }

  std::string convert(std::string_view bytes)
  {
    std::string input(bytes);
    char* in = input.data();
    std::size_t in_left = input.size();
    std::string out;
    char buffer[1024];
    for (;;) {
      char* outp = buffer;
      std::size_t out_left = sizeof buffer;
      // With no input left, a null input flushes the shift state (ISO-2022-JP).
      const std::size_t result = in_left > 0 ? iconv(m_cd, &in, &in_left, &outp, &out_left)
                                             : iconv(m_cd, nullptr, nullptr, &outp, &out_left);
      const int error = errno;
      out.append(buffer, static_cast<std::size_t>(outp - buffer));
      if (result != static_cast<std::size_t>(-1)) {
        if (in_left == 0 && outp == buffer) {
          break;
        }
        continue;
      }
      if (error == E2BIG) {
        continue;
      }
      out += k_replacement;
      if (error == EILSEQ && in_left > 0) {
        ++in;
        --in_left;
        continue;
      }
      in_left = 0;  // EINVAL: an incomplete sequence at the end
    }
    return out;
  }

private:
  iconv_t m_cd;
};

struct EncodedWord {
  std::size_t end = 0;  // one past the closing "?="
  std::string charset;  // without an RFC 2231 language suffix
  std::string bytes;    // the decoded octets, still in charset
};

// Parses the encoded-word starting at `at` (which holds "=?"), RFC 2047 section 2. Spaces inside
// the encoded text are tolerated because some mailers produce them.
std::optional<EncodedWord> parse_encoded_word(std::string_view s, std::size_t at)
{
  const std::size_t charset_begin = at + 2;
  const std::size_t charset_end = s.find('?', charset_begin);
  if (charset_end == std::string_view::npos || charset_end == charset_begin ||
      charset_end + 3 > s.size() || s[charset_end + 2] != '?') {
    return std::nullopt;
  }
  std::string_view charset = s.substr(charset_begin, charset_end - charset_begin);
  for (char c : charset) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) {
      return std::nullopt;
    }
  }
  if (const auto star = charset.find('*'); star != std::string_view::npos) {
    charset = charset.substr(0, star);  // RFC 2231 section 5: charset*language
    if (charset.empty()) {
      return std::nullopt;
    }
  }
  const char encoding = ascii_lower(s[charset_end + 1]);
  if (encoding != 'b' && encoding != 'q') {
    return std::nullopt;
  }
  const std::size_t text_begin = charset_end + 3;
  const std::size_t text_end = s.find('?', text_begin);
  if (text_end == std::string_view::npos || text_end + 1 >= s.size() || s[text_end + 1] != '=') {
    return std::nullopt;
  }
  const std::string_view text = s.substr(text_begin, text_end - text_begin);
  for (char c : text) {
    if (c == '\r' || c == '\n') {
      return std::nullopt;
    }
  }
  EncodedWord word;
  word.end = text_end + 2;
  word.charset = std::string(charset);
  if (encoding == 'b') {
    auto bytes = decode_base64(text);
    if (!bytes) {
      return std::nullopt;
    }
    word.bytes = std::move(*bytes);
  } else {
    word.bytes = decode_q(text);
  }
  return word;
}

bool is_utf8_label(std::string_view charset)
{
  const std::string name = text::lower(charset);
  return name == "utf-8" || name == "utf8";
}

bool charset_known(std::string_view charset)
{
  return is_utf8_label(charset) || Iconv(iconv_name(charset)).ok();
}

}  // namespace

bool convert_to_utf8(std::string_view charset, std::string_view bytes, std::string& out)
{
  if (is_utf8_label(charset)) {
    out = sanitize_utf8(bytes);
    return true;
  }
  Iconv converter(iconv_name(charset));
  if (!converter.ok()) {
    return false;
  }
  out = sanitize_utf8(converter.convert(bytes));
  return true;
}

std::string decode_rfc2047(std::string_view value)
{
  std::string out;
  // Adjacent encoded-words in one charset are converted together: mailers split multi-byte
  // characters (and ISO-2022-JP shift sequences) across words.
  std::string run_charset;
  std::string run_bytes;
  bool in_run = false;
  const auto flush = [&] {
    if (in_run) {
      std::string converted;
      convert_to_utf8(run_charset, run_bytes, converted);
      out += converted;
      run_bytes.clear();
      in_run = false;
    }
  };

  std::size_t literal_begin = 0;  // start of text not yet copied to out
  std::size_t search = 0;
  for (;;) {
    const std::size_t at = value.find("=?", search);
    if (at == std::string_view::npos) {
      break;
    }
    auto word = parse_encoded_word(value, at);
    if (!word || !charset_known(word->charset)) {
      search = at + 1;
      continue;
    }
    const std::string_view gap = value.substr(literal_begin, at - literal_begin);
    bool only_space = true;
    for (char c : gap) {
      only_space = only_space && is_lws(c);
    }
    if (in_run && only_space) {
      // RFC 2047 section 6.2: whitespace between adjacent encoded-words is not displayed.
      if (text::lower(run_charset) != text::lower(word->charset)) {
        flush();
      }
    } else {
      flush();
      out += gap;
    }
    if (!in_run) {
      run_charset = word->charset;
      in_run = true;
    }
    run_bytes += word->bytes;
    literal_begin = word->end;
    search = word->end;
  }
  flush();
  out += value.substr(literal_begin);
  return out;
}

bool is_valid_utf8(std::string_view text)
{
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t invalid_length = 0;
    const std::size_t length = utf8_sequence(text.substr(i), invalid_length);
    if (length == 0) {
      return false;
    }
    i += length;
  }
  return true;
}

std::string sanitize_utf8(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t invalid_length = 0;
    const std::size_t length = utf8_sequence(text.substr(i), invalid_length);
    if (length == 0) {
      out += k_replacement;
      i += invalid_length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace mw::mail
