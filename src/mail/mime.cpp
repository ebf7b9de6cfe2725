// SPDX-License-Identifier: Apache-2.0
#include "mail/mime.hpp"

#include "util/text.hpp"

namespace mw::mail {

namespace {

bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t';
}

// Skips whitespace and RFC 822 comments (RFC 2045 allows them between tokens).
void skip_cfws(std::string_view s, std::size_t& i)
{
  while (i < s.size()) {
    if (is_space(static_cast<unsigned char>(s[i])) || s[i] == '\r' || s[i] == '\n') {
      ++i;
    } else if (s[i] == '(') {
      int depth = 0;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {  // a quoted-pair; a last '\\' is only itself
          ++i;
        } else if (s[i] == '(') {
          ++depth;
        } else if (s[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
        ++i;
      }
    } else {
      break;
    }
  }
}

std::string read_token(std::string_view s, std::size_t& i)
{
  std::size_t start = i;
  while (i < s.size() && is_token_char(static_cast<unsigned char>(s[i]))) {
    ++i;
  }
  return std::string(s.substr(start, i - start));
}

// Reads the `; name=value` parameters from `i` to the end of `value`, handing each (name in
// lower case, value unquoted) to `use`; false when one cannot be read.
template <typename Use> bool read_parameters(std::string_view value, std::size_t i, Use use)
{
  while (true) {
    skip_cfws(value, i);
    if (i >= value.size()) {
      return true;
    }
    if (value[i] != ';') {
      return false;
    }
    ++i;
    skip_cfws(value, i);
    if (i >= value.size()) {
      return true;  // a trailing ';' is common and harmless
    }
    auto name = text::lower(read_token(value, i));
    skip_cfws(value, i);
    if (name.empty() || i >= value.size() || value[i] != '=') {
      return false;
    }
    ++i;
    skip_cfws(value, i);
    std::string param;
    if (i < value.size() && value[i] == '"') {
      ++i;
      bool closed = false;
      while (i < value.size()) {
        if (value[i] == '\\' && i + 1 < value.size()) {
          param += value[i + 1];
          i += 2;
        } else if (value[i] == '"') {
          ++i;
          closed = true;
          break;
        } else {
          param += value[i++];
        }
      }
      if (!closed) {
        return false;
      }
    } else {
      param = read_token(value, i);
      if (param.empty()) {
        return false;
      }
    }
    use(name, std::move(param));
  }
}

// An RFC 2231 section 4 extended value, charset'language'%XX..., percent-decoded.
std::string decode_extended_value(std::string_view value)
{
  const auto first = value.find('\'');
  const auto second = first == std::string_view::npos ? first : value.find('\'', first + 1);
  if (second != std::string_view::npos) {
    value.remove_prefix(second + 1);
  }
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (const int octet = text::hex_octet(value, i + 1); value[i] == '%' && octet >= 0) {
      out.push_back(static_cast<char>(octet));
      i += 2;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

}  // namespace

bool is_token_char(unsigned char c)
{
  static constexpr std::string_view tspecials = "()<>@,;:\\\"/[]?=";
  return c > 32 && c < 127 && tspecials.find(static_cast<char>(c)) == std::string_view::npos;
}

std::optional<ContentType> parse_content_type(std::string_view value)
{
  ContentType result;
  std::size_t i = 0;
  skip_cfws(value, i);
  result.type = text::lower(read_token(value, i));
  skip_cfws(value, i);
  if (result.type.empty() || i >= value.size() || value[i] != '/') {
    return std::nullopt;
  }
  ++i;
  skip_cfws(value, i);
  result.subtype = text::lower(read_token(value, i));
  if (result.subtype.empty()) {
    return std::nullopt;
  }
  const bool ok = read_parameters(value, i, [&result](const std::string& name, std::string param) {
    if (name == "boundary") {
      result.boundary = std::move(param);
    } else if (name == "charset") {
      result.charset = std::move(param);
    } else if (name == "name") {
      result.name = std::move(param);
    }
  });
  if (!ok) {
    return std::nullopt;
  }
  return result;
}

std::optional<ContentDisposition> parse_content_disposition(std::string_view value)
{
  ContentDisposition result;
  std::size_t i = 0;
  skip_cfws(value, i);
  result.type = text::lower(read_token(value, i));
  if (result.type.empty()) {
    return std::nullopt;
  }
  bool extended = false;
  const bool ok =
      read_parameters(value, i, [&result, &extended](const std::string& name, std::string param) {
        if (name == "filename*") {
          result.filename = decode_extended_value(param);
          extended = true;
        } else if (name == "filename" && !extended) {
          result.filename = std::move(param);
        }
      });
  if (!ok) {
    return std::nullopt;
  }
  return result;
}

std::string decode_quoted_printable(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const bool has_end = nl != std::string_view::npos;
    std::string_view line = text.substr(pos, has_end ? nl - pos : std::string_view::npos);
    pos = has_end ? nl + 1 : text.size();
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    while (!line.empty() && is_space(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);  // rule 3: trailing whitespace was added in transport
    }
    bool soft = false;
    if (!line.empty() && line.back() == '=') {
      line.remove_suffix(1);
      soft = true;
    }
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (const int octet = text::hex_octet(line, i + 1); line[i] == '=' && octet >= 0) {
        out.push_back(static_cast<char>(octet));
        i += 2;
      } else {
        out.push_back(line[i]);
      }
    }
    if (has_end && !soft) {
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace mw::mail
