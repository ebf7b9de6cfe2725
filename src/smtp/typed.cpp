// SPDX-License-Identifier: Apache-2.0
#include "smtp/typed.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

namespace mw::smtp {

namespace {

bool blank(char c)
{
  return c == ' ' || c == '\t';
}

std::string_view skip_blanks(std::string_view s)
{
  while (!s.empty() && blank(s.front())) {
    s.remove_prefix(1);
  }
  return s;
}

bool has_control(std::string_view s)
{
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return true;
    }
  }
  return false;
}

}  // namespace

TypedPath parse_typed_path(std::string_view verb, std::string_view arguments)
{
  const bool mail = text::upper(verb) == "MAIL";
  const std::string keyword = mail ? "FROM" : "TO";
  const std::string form =
      mail ? "MAIL FROM:<address> [PARAMETERS] (MAIL FROM:<alice@example.com>, MAIL FROM:<> "
             "for a bounce)"
           : "RCPT TO:<address> [PARAMETERS] (RCPT TO:<bob@example.com>)";
  const auto wrong = [&](const std::string& why) {
    return UsageError(std::string(mail ? "MAIL" : "RCPT") + ": " + why + "; the form is " + form);
  };
  if (has_control(arguments)) {
    throw wrong("control characters are not sent");
  }
  auto rest = skip_blanks(arguments);
  if (rest.size() < keyword.size() || text::upper(rest.substr(0, keyword.size())) != keyword) {
    throw wrong(keyword + ": is missing");
  }
  rest = skip_blanks(rest.substr(keyword.size()));
  if (rest.empty() || rest.front() != ':') {
    throw wrong("the colon after " + keyword + " is missing");
  }
  rest = skip_blanks(rest.substr(1));
  TypedPath path;
  if (!rest.empty() && rest.front() == '<') {
    // Up to the '>' that closes it, outside a quoted local part ("<\"a b\"@c>").
    bool quoted = false;
    std::size_t end = 1;
    for (; end < rest.size(); ++end) {
      const char c = rest[end];
      if (c == '\\' && quoted) {
        ++end;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '>' && !quoted) {
        break;
      } else if (c == '<' && !quoted) {
        break;
      }
    }
    if (end >= rest.size() || rest[end] != '>') {
      throw wrong("the address has no closing '>'");
    }
    path.address = std::string(rest.substr(1, end - 1));
    rest = rest.substr(end + 1);
    if (!rest.empty() && !blank(rest.front())) {
      throw wrong("a blank must follow the address");
    }
  } else {
    const auto end = std::min(rest.find_first_of(" \t"), rest.size());
    path.address = std::string(rest.substr(0, end));
    rest = rest.substr(end);
    if (path.address.empty()) {
      throw wrong("the address is missing");
    }
    if (path.address.find_first_of("<>") != std::string::npos) {
      throw wrong("unbalanced angle brackets in the address");
    }
  }
  if (path.address.empty() && !mail) {
    throw wrong("RCPT TO needs an address (<> is only the null reverse-path of MAIL FROM)");
  }
  path.line = std::string(mail ? "MAIL FROM:<" : "RCPT TO:<") + path.address + ">";
  for (rest = skip_blanks(rest); !rest.empty(); rest = skip_blanks(rest)) {
    const auto end = std::min(rest.find_first_of(" \t"), rest.size());
    path.parameters.emplace_back(rest.substr(0, end));
    path.line += " " + path.parameters.back();
    rest = rest.substr(end);
  }
  return path;
}

}  // namespace mw::smtp
