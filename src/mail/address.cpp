// SPDX-License-Identifier: Apache-2.0
#include "mail/address.hpp"

#include "mail/rfc2047.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <optional>

// format_mailbox() is defined in compose.cpp, next to the header encoder and folder it shares
// with the composer.

namespace mw::mail {

namespace {

enum class Kind { atom, quoted, comment, literal, special };

struct Token {
  Kind kind;
  std::string text;   // atom text, unquoted string, comment text, [literal], or the special
  bool space_before;  // whitespace or a comment separates it from the previous token
  std::size_t begin;  // where it starts in the input
  std::size_t end;    // one past where it ends
};

bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// RFC 5322 section 3.2.3 specials, except "." (part of atoms here so that dot-atoms and the
// obsolete `John Q. Public` phrase are single words) and "\" (only meaningful inside quotes).
bool is_special(char c)
{
  return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == ':' ||
         c == ';' || c == '@' || c == ',' || c == '"';
}

// RFC 5322 section 3.2.3 atext, with RFC 6532 section 3.2 UTF-8 allowed.
bool is_atext(char c)
{
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) {
    return true;
  }
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view s)
{
  if (s.empty() || s.front() == '.' || s.back() == '.') {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') {
        return false;
      }
    } else if (!is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// Splits a header value into atoms, quoted-strings, comments (nested), domain literals and
// specials (RFC 5322 section 3.2), honouring quoted-pairs (section 3.2.1); an unterminated
// quoted-string, comment or literal runs to the end of the input.
std::vector<Token> tokenize(std::string_view s)
{
  std::vector<Token> tokens;
  bool space = false;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) {
      space = true;
      ++i;
      continue;
    }
    Token token{Kind::atom, {}, space, i, i};
    space = false;
    if (c == '(') {
      token.kind = Kind::comment;
      int depth = 1;
      ++i;
      while (i < s.size()) {
        const char d = s[i];
        if (d == '\\' && i + 1 < s.size()) {
          token.text.push_back(s[i + 1]);
          i += 2;
          continue;
        }
        ++i;
        if (d == '(') {
          ++depth;
        } else if (d == ')' && --depth == 0) {
          break;
        }
        token.text.push_back(d);
      }
      space = true;  // a comment separates words like whitespace (section 3.2.2)
    } else if (c == '"') {
      token.kind = Kind::quoted;
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) {
          token.text.push_back(s[i + 1]);
          i += 2;
        } else {
          token.text.push_back(s[i]);
          ++i;
        }
      }
      if (i < s.size()) {
        ++i;
      }
    } else if (c == '[') {
      token.kind = Kind::literal;
      const std::size_t close = s.find(']', i);
      const std::size_t stop = close == std::string_view::npos ? s.size() : close + 1;
      for (std::size_t k = i; k < stop; ++k) {
        if (!is_space(s[k])) {
          token.text.push_back(s[k]);
        }
      }
      i = stop;
    } else if (is_special(c)) {
      token.kind = Kind::special;
      token.text.push_back(c);
      ++i;
    } else {
      while (i < s.size() && !is_space(s[i]) && !is_special(s[i])) {
        token.text.push_back(s[i]);
        ++i;
      }
    }
    token.end = i;
    tokens.push_back(std::move(token));
  }
  return tokens;
}

bool is_special(const Token& t, char c)
{
  return t.kind == Kind::special && t.text.size() == 1 && t.text[0] == c;
}

bool is_word(const Token& t)
{
  return t.kind == Kind::atom || t.kind == Kind::quoted || t.kind == Kind::literal;
}

enum class Strictness { lenient, command_line };

struct Item {
  std::size_t first;  // token index range [first, last)
  std::size_t last;
};

class ItemParser {
public:
  ItemParser(std::string_view text, const std::vector<Token>& tokens, Strictness strictness)
      : m_text(text), m_tokens(tokens), m_strictness(strictness)
  {
  }

  // The mailbox in tokens [first, last), nullopt for an empty item; throws for a bad one.
  std::optional<Mailbox> parse(Item item) const
  {
    bool any = false;
    std::optional<std::size_t> open;
    for (std::size_t k = item.first; k < item.last; ++k) {
      any = any || m_tokens[k].kind != Kind::comment;
      if (!open && is_special(m_tokens[k], '<')) {
        open = k;
      }
    }
    if (!any) {
      return std::nullopt;
    }
    Mailbox mailbox;
    if (open) {
      std::size_t close = *open + 1;
      while (close < item.last && !is_special(m_tokens[close], '>')) {
        ++close;
      }
      if (close == item.last) {
        fail(item, "'<' without '>'");
      }
      for (std::size_t k = close + 1; k < item.last; ++k) {
        if (m_tokens[k].kind != Kind::comment) {
          fail(item, "text after '>'");
        }
      }
      // RFC 5322 section 4.4 obs-route: `<@relay1,@relay2:user@host>` keeps only the address.
      std::size_t begin = *open + 1;
      for (std::size_t k = begin; k < close; ++k) {
        if (is_special(m_tokens[k], ':')) {
          begin = k + 1;
        }
      }
      mailbox.display_name = phrase(item.first, *open);
      mailbox.address = addr_spec(item, begin, close);
    } else {
      mailbox.address = addr_spec(item, item.first, item.last);
      for (std::size_t k = item.first; k < item.last; ++k) {
        if (m_tokens[k].kind == Kind::comment && !trimmed(m_tokens[k].text).empty()) {
          mailbox.display_name = decode_rfc2047(trimmed(m_tokens[k].text));
        }
      }
    }
    return mailbox;
  }

  [[noreturn]] void fail(Item item, std::string_view why) const
  {
    std::string_view source;
    if (item.first < item.last) {
      source = m_text.substr(m_tokens[item.first].begin,
                             m_tokens[item.last - 1].end - m_tokens[item.first].begin);
    }
    throw UsageError("invalid address '" + std::string(source) + "': " + std::string(why));
  }

private:
  static std::string trimmed(std::string_view s)
  {
    while (!s.empty() && is_space(s.front())) {
      s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
      s.remove_suffix(1);
    }
    return std::string(s);
  }

  // RFC 5322 section 3.2.5 phrase, leniently: any tokens before the `<`, words joined by one
  // space, then RFC 2047 decoded (mailers put encoded-words inside quotes too, and readers
  // decode them there).
  std::string phrase(std::size_t first, std::size_t last) const
  {
    std::string out;
    for (std::size_t k = first; k < last; ++k) {
      const Token& t = m_tokens[k];
      if (t.kind == Kind::comment) {
        continue;
      }
      if (!out.empty() && t.space_before) {
        out.push_back(' ');
      }
      out += t.text;
    }
    return trimmed(decode_rfc2047(out));
  }

  // RFC 5322 section 3.4.1 addr-spec from tokens [first, last): local-part "@" domain.
  std::string addr_spec(Item item, std::size_t first, std::size_t last) const
  {
    std::optional<std::size_t> at;
    bool started = false;
    bool previous_word = false;
    for (std::size_t k = first; k < last; ++k) {
      const Token& t = m_tokens[k];
      if (t.kind == Kind::comment) {
        continue;
      }
      const bool word = is_word(t);
      if (!word && !is_special(t, '@')) {
        fail(item, "unexpected '" + t.text + "'");
      }
      if (started && t.space_before) {
        // Whitespace between two words is never part of an address; around the "@" it is
        // obsolete syntax (section 4.4) that a header may carry but a user should not type.
        if ((previous_word && word) || m_strictness == Strictness::command_line) {
          fail(item, "whitespace inside the address");
        }
      }
      if (!word) {
        if (at) {
          fail(item, "more than one '@'");
        }
        at = k;
      }
      previous_word = word;
      started = true;
    }
    if (!at) {
      fail(item, "no '@'");
    }
    std::string local;
    std::size_t word_count = 0;
    for (std::size_t k = first; k < *at; ++k) {
      word_count += m_tokens[k].kind == Kind::comment ? 0U : 1U;
    }
    for (std::size_t k = first; k < *at; ++k) {
      const Token& t = m_tokens[k];
      if (t.kind == Kind::comment) {
        continue;
      }
      if (t.kind == Kind::quoted && !(word_count == 1 && is_dot_atom(t.text))) {
        local += text::quoted(t.text);
      } else {
        local += t.text;
      }
    }
    std::string domain;
    bool literal = false;
    for (std::size_t k = *at + 1; k < last; ++k) {
      const Token& t = m_tokens[k];
      if (t.kind == Kind::comment) {
        continue;
      }
      literal = literal || t.kind == Kind::literal;
      if (t.kind == Kind::quoted) {
        fail(item, "a quoted string in the domain");
      }
      domain += t.text;
    }
    if (local.empty()) {
      fail(item, "nothing before the '@'");
    }
    if (domain.empty()) {
      fail(item, "nothing after the '@'");
    }
    if (!literal && !is_dot_atom(domain)) {
      fail(item, "'" + domain + "' is not a domain");
    }
    // A domain literal is the whole domain, "[...]" with no bracket, backslash or angle
    // bracket inside (an unclosed one ran to the end of the text: found by fuzzing, the
    // address then did not read back once written).
    if (literal && (domain.size() < 2 || domain.front() != '[' ||
                    domain.find_first_of("[]\\<>", 1) != domain.size() - 1)) {
      fail(item, "'" + domain + "' is not a domain literal");
    }
    // Control characters fit neither an SMTP envelope (RFC 5321 section 4.1.2) nor a header.
    for (const std::string* part : {&local, &domain}) {
      for (const char c : *part) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          fail(item, "a control character in the address");
        }
      }
    }
    return local + "@" + domain;
  }

  std::string_view m_text;
  const std::vector<Token>& m_tokens;
  Strictness m_strictness;
};

struct ParsedList {
  std::vector<Mailbox> mailboxes;
  bool group = false;
};

// Splits the list at top-level commas and group delimiters and parses each item; with
// `invalid`, a bad item's error goes there instead of being thrown.
ParsedList parse_list(std::string_view text, Strictness strictness,
                      std::vector<std::string>* invalid = nullptr)
{
  const std::vector<Token> tokens = tokenize(text);
  const ItemParser parser(text, tokens, strictness);
  ParsedList result;
  const auto finish = [&](std::size_t first, std::size_t last) {
    std::optional<Mailbox> mailbox;
    if (invalid == nullptr) {
      mailbox = parser.parse(Item{first, last});
    } else {
      try {
        mailbox = parser.parse(Item{first, last});
      } catch (const UsageError& e) {
        invalid->emplace_back(e.what());
      }
    }
    if (mailbox) {
      result.mailboxes.push_back(std::move(*mailbox));
    }
  };
  bool in_angle = false;
  bool in_group = false;
  std::size_t item_first = 0;
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    if (t.kind != Kind::special) {
      continue;
    }
    if (t.text[0] == '<') {
      in_angle = true;
    } else if (t.text[0] == '>') {
      in_angle = false;
    } else if (in_angle) {
      continue;  // the commas and colon of an obsolete route
    } else if (t.text[0] == ',') {
      finish(item_first, k);
      item_first = k + 1;
    } else if (t.text[0] == ':' && !in_group) {
      // RFC 5322 section 3.4 group: `display-name ":" [group-list] ";"`; the name is dropped.
      in_group = true;
      result.group = true;
      item_first = k + 1;
    } else if (t.text[0] == ';') {
      finish(item_first, k);
      in_group = false;
      item_first = k + 1;
    }
  }
  finish(item_first, tokens.size());
  return result;
}

}  // namespace

std::vector<Mailbox> parse_address_list(std::string_view text)
{
  return parse_list(text, Strictness::lenient).mailboxes;
}

std::vector<Mailbox> parse_address_list(std::string_view text, std::vector<std::string>& invalid)
{
  return parse_list(text, Strictness::lenient, &invalid).mailboxes;
}

Mailbox parse_mailbox(std::string_view text)
{
  if (text.find_first_of("\r\n") != std::string_view::npos) {
    throw UsageError("invalid address: it contains a line break");
  }
  ParsedList list = parse_list(text, Strictness::command_line);
  if (list.group) {
    throw UsageError("invalid address '" + std::string(text) +
                     "': a group (name: ...;) where one address was expected");
  }
  if (list.mailboxes.empty()) {
    throw UsageError("invalid address '" + std::string(text) + "': it is empty");
  }
  if (list.mailboxes.size() > 1) {
    throw UsageError("invalid address '" + std::string(text) +
                     "': more than one address (give the option once for each)");
  }
  return std::move(list.mailboxes.front());
}

}  // namespace mw::mail
