// SPDX-License-Identifier: Apache-2.0
// Fuzzes address-list parsing (RFC 5322 section 3.4, with groups, comments, RFC 2047 names
// and the obsolete forms of section 4.4), mailbox formatting, and the preparation of a
// message given with `send --raw` (RFC 5322 section 3.6.3): the input's lines as address
// lists, the whole input as the message.

#include "mail/address.hpp"

#include "fuzz_support.hpp"
#include "mail/compose.hpp"
#include "mail/headers.hpp"
#include "mail/rfc2047.hpp"
#include "util/error.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

using mw::fuzz::check;
namespace mail = mw::mail;

namespace {

std::string header_section(std::string_view message)
{
  const std::size_t end = message.find("\r\n\r\n");
  return std::string(message.substr(0, end == std::string_view::npos ? message.size() : end + 2));
}

// A display name as a header can carry it (compose.hpp): valid UTF-8 on one line, and as
// it reads back: whitespace runs as one space, none at the ends.
std::string one_line(std::string_view name)
{
  std::string out;
  for (const char c : mail::sanitize_utf8(name)) {
    const bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (!blank) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  if (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

bool has_control(std::string_view text)
{
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

void check_list(std::string_view text)
{
  std::vector<std::string> invalid;
  const auto lenient = mail::parse_address_list(text, invalid);
  bool strict_failed = false;
  std::vector<mail::Mailbox> strict;
  try {
    strict = mail::parse_address_list(text);
  } catch (const mw::UsageError&) {
    strict_failed = true;
  }
  check(strict_failed == !invalid.empty(),
        "the strict parser fails exactly when the lenient one lists invalid items");
  if (!strict_failed) {
    check(strict.size() == lenient.size(), "strict and lenient parsers found other mailboxes");
  }
  for (const auto& m : lenient) {
    check(!m.address.empty(), "a mailbox without an address");
    check(!has_control(m.address), "an address with a control character", m.address);
    // What format_mailbox writes reads back as the same mailbox.
    const std::string formatted = mail::format_mailbox(m);
    std::vector<std::string> problems;
    const auto again = mail::parse_address_list(formatted, problems);
    check(again.size() == 1 && problems.empty(), "a formatted mailbox does not read back as one",
          formatted);
    check(again.front().address == m.address, "a formatted mailbox reads back another address",
          formatted + " from " + m.address);
    check(one_line(again.front().display_name) == one_line(m.display_name),
          "a formatted mailbox reads back another display name",
          formatted + " | got: " + one_line(again.front().display_name) +
              " | want: " + one_line(m.display_name));
  }
  try {
    const mail::Mailbox m = mail::parse_mailbox(text);
    check(!m.address.empty(), "parse_mailbox gave an empty address");
    check(m.address.find('@') != std::string::npos, "parse_mailbox gave an address without @");
  } catch (const mw::UsageError&) {
  }
}

void check_raw(std::string_view input)
{
  const auto now = std::chrono::sys_seconds{std::chrono::seconds{1'790'000'000}};
  const mail::RawMessage raw = mail::prepare_raw(input, now, 60, "<fuzz@example.com>");
  const std::string& m = raw.message;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r') {
      check(i + 1 < m.size() && m[i + 1] == '\n', "prepare_raw: a CR without LF");
    } else if (m[i] == '\n') {
      check(i > 0 && m[i - 1] == '\r', "prepare_raw: an LF without CR");
    }
  }
  check(m.find("\r\n\r\n") != std::string::npos, "prepare_raw: no blank line after the header");
  const std::string section = header_section(m);
  const mail::Headers headers = mail::Headers::parse(section);
  check(!headers.get("Bcc") && !headers.get("Resent-Bcc"), "prepare_raw kept a Bcc field");
  check(headers.get("Date").has_value(), "prepare_raw: no Date field");
  check(headers.get("Message-ID").has_value(), "prepare_raw: no Message-ID field");
  for (std::size_t i = 0; i < raw.recipients.size(); ++i) {
    check(!raw.recipients[i].address.empty(), "prepare_raw: a recipient without an address");
    for (std::size_t j = i + 1; j < raw.recipients.size(); ++j) {
      check(!mail::iequals(raw.recipients[i].address, raw.recipients[j].address),
            "prepare_raw: a duplicate recipient", raw.recipients[i].address);
    }
  }
  bool eight_bit = false;
  for (const char c : m) {
    eight_bit = eight_bit || static_cast<unsigned char>(c) >= 0x80;
  }
  check(raw.eight_bit == eight_bit, "prepare_raw: eight_bit is wrong");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input = mw::fuzz::view(data, size);
  for (const auto line : mw::fuzz::lines(input)) {
    check_list(line);
  }
  check_raw(input);
  return 0;
}
