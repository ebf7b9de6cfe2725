// SPDX-License-Identifier: Apache-2.0
#include "mail/headers.hpp"

#include "mail/rfc2047.hpp"
#include "util/text.hpp"

namespace mw::mail {

namespace {

bool is_wsp(char c)
{
  return c == ' ' || c == '\t';
}

bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// A lone CR inside a line is not a line break (CRCRLF endings happen), but it must not reach a
// terminal either, so it becomes a space like the folding whitespace around it.
void append_line(std::string& value, std::string_view line)
{
  for (char c : line) {
    value.push_back(c == '\r' ? ' ' : c);
  }
}

std::string trimmed(std::string_view s)
{
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

}  // namespace

bool is_valid_field_name(std::string_view name)
{
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == ':') {
      return false;
    }
  }
  return true;
}

Headers Headers::parse(std::string_view block)
{
  Headers headers;
  // Old Mac files end lines with a lone CR. A server hands such a message over as one long
  // "line" ended by its own CRLF, so CR is the line end when lone CRs outnumber the LFs (a
  // stray CR inside a value of an LF or CRLF block stays a space; CRCRLF ends one line).
  std::size_t lfs = 0;
  std::size_t lone_crs = 0;
  for (std::size_t i = 0; i < block.size(); ++i) {
    if (block[i] == '\n') {
      ++lfs;
    } else if (block[i] == '\r' && i + 1 < block.size() && block[i + 1] != '\n' &&
               block[i + 1] != '\r') {
      ++lone_crs;
    }
  }
  const bool cr_ends_lines = lone_crs > lfs || lfs == 0;
  bool continues_field = false;  // whether a folded line belongs to a field we kept
  std::size_t pos = 0;
  while (pos < block.size()) {
    const std::size_t end =
        cr_ends_lines ? block.find_first_of("\r\n", pos) : block.find('\n', pos);
    std::string_view line =
        block.substr(pos, end == std::string_view::npos ? block.npos : end - pos);
    pos = end == std::string_view::npos ? block.size() : end + 1;
    if (cr_ends_lines && end != std::string_view::npos && block[end] == '\r' &&
        pos < block.size() && block[pos] == '\n') {
      ++pos;  // CRLF is one line end here too
    }
    while (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      break;  // the blank line that ends the header section
    }
    if (is_wsp(line.front())) {
      if (continues_field) {
        append_line(headers.m_fields.back().value, line);
      }
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continues_field = false;  // an mbox "From " line or garbage
      continue;
    }
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) {
      name.remove_suffix(1);  // RFC 5322 section 4.5: obsolete WSP before the colon
    }
    if (!is_valid_field_name(name)) {
      continues_field = false;
      continue;
    }
    HeaderField field{std::string(name), {}};
    append_line(field.value, line.substr(colon + 1));
    headers.m_fields.push_back(std::move(field));
    continues_field = true;
  }
  for (auto& field : headers.m_fields) {
    field.value = trimmed(field.value);
  }
  return headers;
}

void Headers::keep_only(const std::vector<std::string>& names, std::size_t max_value,
                        std::size_t max_total)
{
  std::vector<HeaderField> kept;
  std::size_t total = 0;
  for (auto& field : m_fields) {
    bool wanted = false;
    for (const auto& name : names) {
      wanted = wanted || iequals(field.name, name);
    }
    if (!wanted) {
      continue;
    }
    if (field.value.size() > max_value) {
      const std::string_view prefix = std::string_view(field.value).substr(0, max_value);
      field.value.resize(text::complete_utf8_prefix(prefix));
    }
    if (total + field.value.size() > max_total) {
      continue;
    }
    total += field.value.size();
    field.value.shrink_to_fit();
    kept.push_back(std::move(field));
  }
  m_fields = std::move(kept);
}

std::optional<std::string_view> Headers::get(std::string_view name) const
{
  for (const auto& field : m_fields) {
    if (iequals(field.name, name)) {
      return std::string_view(field.value);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const
{
  std::vector<std::string_view> values;
  for (const auto& field : m_fields) {
    if (iequals(field.name, name)) {
      values.emplace_back(field.value);
    }
  }
  return values;
}

std::string Headers::decoded(std::string_view name) const
{
  const auto value = get(name);
  return value ? decode_rfc2047(*value) : std::string();
}

}  // namespace mw::mail
