// SPDX-License-Identifier: Apache-2.0
#include "mail/preview.hpp"

#include "mail/check.hpp"
#include "mail/mime.hpp"
#include "mail/rfc2047.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>

namespace mw::mail {

namespace {

// Multiparts nested deeper are not followed: the limit `check` holds messages to.
constexpr std::size_t k_max_depth = CheckLimits{}.depth;
// Octets of a header value or an attachment name kept.
constexpr std::size_t k_max_value = 2000;
constexpr std::size_t k_max_name = 200;
// Attachment names a note lists.
constexpr std::size_t k_names_listed = 10;

constexpr std::array k_shown_fields = {"From", "To", "Cc", "Date", "Subject"};

// Letters and digits of ASCII, whatever the locale.
bool is_ascii_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// `s` on one line, cut to `max` octets on a UTF-8 character boundary.
std::string one_line_cut(std::string s, std::size_t max)
{
  for (char& c : s) {
    if (c == '\r' || c == '\n' || c == '\t') {
      c = ' ';
    }
  }
  if (s.size() > max) {
    s.resize(text::complete_utf8_prefix(std::string_view(s).substr(0, max)));
  }
  return s;
}

// A text part that may be shown: where its body is in the input.
struct Candidate {
  bool found = false;
  std::string path;
  std::string type;  // "text/plain"
  std::string charset;
  std::string encoding;
  std::size_t begin = 0;
  std::size_t end = 0;
  bool closed = false;  // its end was seen (a boundary, or the end of a complete message)
};

struct Multipart {
  std::string boundary;
  std::string path;
  std::size_t parts = 0;
  bool digest = false;
};

// One pass over the lines of the message: the header sections, the multipart structure, where
// the candidate text parts are, and the attachments. Memory: the open multiparts (at most
// k_max_depth) and the names of the attachments.
class Walker {
public:
  Walker(std::string_view input, bool complete) : m_in(input), m_complete(complete) {}

  void run();

  std::string_view input() const { return m_in; }
  Headers top;
  bool top_has_body = false;
  Candidate plain;
  Candidate html;
  std::size_t attachments = 0;
  std::vector<std::string> names;
  std::vector<std::string> notes;

private:
  bool boundary_line(std::string_view line, std::size_t start, std::size_t next);
  void end_header(std::size_t end, std::size_t body_begin);
  void end_body(std::size_t end, bool closed);
  void start_entity(std::string path, bool digest, std::size_t header_begin);
  void add_attachment(std::string name);

  std::string_view m_in;
  bool m_complete;
  std::vector<Multipart> m_stack;
  bool m_in_header = true;
  bool m_top = true;
  bool m_digest = false;  // the entity is a part of a multipart/digest
  std::size_t m_header_begin = 0;
  std::size_t m_header_lines = 0;
  std::string m_path;
  Candidate* m_capture = nullptr;  // the candidate whose body is being read
  bool m_deep_noted = false;
  bool m_at_end = false;  // the input ended inside a header section
};

void Walker::run()
{
  std::size_t pos = 0;
  while (pos < m_in.size()) {
    const auto nl = m_in.find('\n', pos);
    const std::size_t next = nl == std::string_view::npos ? m_in.size() : nl + 1;
    std::string_view line =
        m_in.substr(pos, (nl == std::string_view::npos ? m_in.size() : nl) - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (!m_stack.empty() && boundary_line(line, pos, next)) {
      pos = next;
      continue;
    }
    if (m_in_header) {
      ++m_header_lines;
      if (m_top && m_header_lines == 1 && line.starts_with("From ")) {
        // An mbox separator (RFC 4155) a store left in the message.
      } else if (line.empty()) {
        end_header(pos, next);
      } else if (line[0] != ' ' && line[0] != '\t') {
        const auto colon = line.find(':');
        std::string_view name = text::strip(line.substr(0, std::min(colon, line.size())), " \t");
        if (colon == std::string_view::npos || !is_valid_field_name(name)) {
          end_header(pos, pos);  // the body starts without the empty line
        }
      }
    }
    pos = next;
  }
  if (m_in_header) {
    m_at_end = true;
    end_header(m_in.size(), m_in.size());
  }
  end_body(m_in.size(), m_complete);
  if (m_complete && !m_stack.empty()) {
    notes.push_back(
        "the multipart " +
        (m_stack.back().path.empty() ? std::string("body") : "part " + m_stack.back().path) +
        " never ends (its closing boundary is missing)");
  }
}

bool Walker::boundary_line(std::string_view line, std::size_t start, std::size_t next)
{
  if (line.size() < 3 || line[0] != '-' || line[1] != '-') {
    return false;
  }
  // RFC 2046 section 5.1.1: a boundary line may end with whitespace.
  auto body = line.substr(2);
  while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) {
    body.remove_suffix(1);
  }
  for (std::size_t k = m_stack.size(); k-- > 0;) {
    const auto& boundary = m_stack[k].boundary;
    bool close = false;
    if (body == boundary) {
      close = false;
    } else if (body.size() == boundary.size() + 2 && body.starts_with(boundary) &&
               body.ends_with("--")) {
      close = true;
    } else {
      continue;
    }
    if (m_in_header) {
      end_header(start, start);
    }
    end_body(start, true);
    m_stack.resize(k + 1);  // inner multiparts left open end here too
    auto& multipart = m_stack[k];
    if (close) {
      // The epilogue: not shown.
      m_path = multipart.path;
      m_stack.pop_back();
      m_in_header = false;
      m_capture = nullptr;
      return true;
    }
    ++multipart.parts;
    start_entity((multipart.path.empty() ? "" : multipart.path + ".") +
                     std::to_string(multipart.parts),
                 multipart.digest, next);
    return true;
  }
  return false;
}

void Walker::start_entity(std::string path, bool digest, std::size_t header_begin)
{
  m_in_header = true;
  m_header_begin = header_begin;
  m_header_lines = 0;
  m_top = false;
  m_digest = digest;
  m_path = std::move(path);
  m_capture = nullptr;
}

void Walker::add_attachment(std::string name)
{
  ++attachments;
  if (names.size() < k_names_listed) {
    names.push_back(one_line_cut(decode_rfc2047(name), k_max_name));
  }
}

void Walker::end_header(std::size_t end, std::size_t body_begin)
{
  m_in_header = false;
  m_header_lines = 0;
  auto headers = Headers::parse(m_in.substr(m_header_begin, end - m_header_begin));
  const bool top_entity = m_top;
  if (m_top) {
    top_has_body = !m_at_end;
    std::vector<std::string> wanted(k_shown_fields.begin(), k_shown_fields.end());
    top = headers;
    top.keep_only(wanted, k_max_value, 8 * k_max_value);
    m_top = false;
  }
  ContentType type{m_digest ? "message" : "text", m_digest ? "rfc822" : "plain", {}, {}, {}};
  if (auto value = headers.get("Content-Type")) {
    if (auto parsed = parse_content_type(*value)) {
      type = std::move(*parsed);
    } else {
      type = {"text", "plain", {}, {}, {}};
    }
  }
  if (type.type == "multipart") {
    if (!type.boundary || type.boundary->empty()) {
      notes.push_back("a multipart/" + type.subtype + " without a boundary" +
                      (m_path.empty() ? std::string() : " (part " + m_path + ")") +
                      ": its parts cannot be told apart");
      return;
    }
    if (m_stack.size() >= k_max_depth) {
      if (!m_deep_noted) {
        m_deep_noted = true;
        notes.push_back("MIME parts nested more than " + std::to_string(k_max_depth) +
                        " deep are not followed");
      }
      return;
    }
    m_stack.push_back({*type.boundary, m_path, 0, type.subtype == "digest"});
    return;  // the preamble is not shown
  }
  std::optional<ContentDisposition> disposition;
  if (auto value = headers.get("Content-Disposition")) {
    disposition = parse_content_disposition(*value);
  }
  std::optional<std::string> name = disposition ? disposition->filename : std::nullopt;
  if (!name) {
    name = type.name;
  }
  const bool attachment = disposition && disposition->type == "attachment";
  const bool text = type.type == "text" && (type.subtype == "plain" || type.subtype == "html");
  if (text && !attachment && !name) {
    // A text part after the first of its kind (the HTML of an alternative) is no attachment.
    Candidate& slot = type.subtype == "plain" ? plain : html;
    if (!slot.found) {
      slot.found = true;
      slot.path = top_entity ? "" : m_path;
      slot.type = type.type + "/" + type.subtype;
      slot.charset = type.charset ? text::lower(*type.charset) : "";
      const auto encoding = headers.get("Content-Transfer-Encoding");
      slot.encoding = encoding ? text::lower(text::trim(*encoding)) : "7bit";
      slot.begin = std::min(body_begin, m_in.size());
      slot.end = slot.begin;
      m_capture = &slot;
    }
    return;
  }
  if (name) {
    add_attachment(*name);
  } else if (type.type == "message") {
    add_attachment("(an attached message)");
  } else {
    add_attachment("(unnamed " + type.type + "/" + type.subtype + ")");
  }
}

void Walker::end_body(std::size_t end, bool closed)
{
  if (m_capture == nullptr) {
    return;
  }
  // RFC 2046 section 5.1.1: the line break before a boundary belongs to the boundary.
  if (closed && end < m_in.size() && end > m_capture->begin) {
    --end;
    if (end > m_capture->begin && m_in[end - 1] == '\r') {
      --end;
    }
  }
  m_capture->end = std::max(end, m_capture->begin);
  m_capture->closed = closed;
  m_capture = nullptr;
}

// Decodes base64 text line by line, quantum by quantum (a quantum may span lines); stops before
// the first line holding anything but the alphabet and '=' (trailing whitespace aside) and at
// the first quantum that does not decode. `bad` says whether it stopped early (or, when the
// text is `whole`, whether it ends inside a quantum).
std::string decode_base64_lenient(std::string_view text, bool whole, bool& bad)
{
  std::string out;
  std::string quantum;
  bad = false;
  std::size_t pos = 0;
  while (pos < text.size() && !bad) {
    const auto nl = text.find('\n', pos);
    auto line =
        text::strip(text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos), " \t\r");
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!std::all_of(line.begin(), line.end(), [](char c) {
          return is_ascii_alnum(c) || c == '+' || c == '/' || c == '=';
        })) {
      bad = true;
      break;
    }
    for (char c : line) {
      quantum.push_back(c);
      if (quantum.size() == 4) {
        auto bytes = base64::decode(quantum);
        if (!bytes) {
          bad = true;
          break;
        }
        out += *bytes;
        quantum.clear();
      }
    }
  }
  if (whole && !quantum.empty()) {
    bad = true;
  }
  return out;
}

void append_utf8(std::string& out, std::uint32_t cp)
{
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    cp = 0xFFFD;
  }
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// An HTML character reference at html[i] ('&'), appended to out; false when it is not one.
bool entity(std::string_view html, std::size_t& i, std::string& out)
{
  // Looked for in a short window only: "&&&&..." without ';' stays linear.
  const auto window = html.substr(i, 12).find(';');
  if (window == std::string_view::npos) {
    return false;
  }
  const auto semi = i + window;
  const auto name = html.substr(i + 1, semi - i - 1);
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> named = {
      {{"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}}};
  for (const auto& [n, v] : named) {
    if (name == n) {
      out += v;
      i = semi;
      return true;
    }
  }
  if (name.size() < 2 || name[0] != '#') {
    return false;
  }
  const bool hex = name[1] == 'x' || name[1] == 'X';
  const auto digits = name.substr(hex ? 2 : 1);
  if (digits.empty()) {
    return false;
  }
  std::uint32_t cp = 0;
  for (char c : digits) {
    int d = -1;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (hex && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (hex && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    }
    if (d < 0) {
      return false;
    }
    cp = std::min<std::uint32_t>(cp * (hex ? 16u : 10u) + static_cast<std::uint32_t>(d), 0x110000);
  }
  append_utf8(out, cp);
  i = semi;
  return true;
}

// HTML with its tags crudely removed: no parser, just what shows the words of a simple mail.
// Block tags become line breaks, <script> and <style> content is dropped, the common character
// references are decoded, and the source's own line breaks are spaces.
std::string strip_html(std::string_view html)
{
  std::string out;
  std::size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      const auto gt = html.find('>', i);
      if (gt == std::string_view::npos) {
        break;
      }
      std::size_t k = i + 1;
      const bool closing = k < gt && html[k] == '/';
      k += closing ? 1 : 0;
      std::string name;
      while (k < gt && name.size() < 10 && is_ascii_alnum(html[k])) {
        name.push_back(text::ascii_lower(html[k++]));
      }
      i = gt + 1;
      if (!closing && (name == "script" || name == "style")) {
        // Skip to the closing tag: the first "</" followed by the name, in any case.
        std::size_t at = i;
        while ((at = html.find("</", at)) != std::string_view::npos &&
               !iequals(html.substr(at + 2, name.size()), name)) {
          at += 2;
        }
        i = at == std::string_view::npos ? html.size() : at;
        continue;
      }
      if (name == "br" || name == "p" || name == "div" || name == "tr" || name == "li" ||
          name == "table" ||
          (name.size() == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6')) {
        out.push_back('\n');
      }
      continue;
    }
    if (c == '&' && entity(html, i, out)) {
      ++i;
      continue;
    }
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    ++i;
  }
  return out;
}

bool is_one_of(std::string_view charset, std::initializer_list<std::string_view> names)
{
  for (auto name : names) {
    if (charset == name) {
      return true;
    }
  }
  return false;
}

}  // namespace

Preview preview(std::string_view message_prefix, std::size_t max_lines, bool prefix_is_complete)
{
  Preview result;
  Walker walker(message_prefix, prefix_is_complete);
  walker.run();

  for (const char* name : k_shown_fields) {
    if (walker.top.get(name)) {
      result.headers.push_back({name, one_line_cut(walker.top.decoded(name), k_max_value)});
    }
  }
  auto& notes = result.notes;
  notes = std::move(walker.notes);

  const Candidate* chosen = walker.plain.found  ? &walker.plain
                            : walker.html.found ? &walker.html
                                                : nullptr;
  if (!walker.top_has_body) {
    notes.emplace_back("the message has no body");
  } else if (chosen == nullptr) {
    notes.emplace_back("no text part");
  }
  if (chosen != nullptr) {
    result.part = chosen->path;
    result.content_type = chosen->type;
    result.charset = chosen->charset;
    const auto body = message_prefix.substr(chosen->begin, chosen->end - chosen->begin);
    const bool cut = !chosen->closed;
    std::string text;
    if (chosen->encoding == "base64") {
      bool bad = false;
      text = decode_base64_lenient(body, !cut, bad);
      if (bad) {
        notes.emplace_back("the part is base64 that does not decode (shown up to where it stops)");
      }
    } else if (chosen->encoding == "quoted-printable") {
      text = decode_quoted_printable(body);
    } else {
      text = std::string(body);
      if (chosen->encoding != "7bit" && chosen->encoding != "8bit" &&
          chosen->encoding != "binary") {
        notes.push_back("the unknown Content-Transfer-Encoding '" +
                        one_line_cut(chosen->encoding, k_max_name) + "' (shown as it is)");
      }
    }
    const auto& charset = chosen->charset;
    if (is_one_of(charset, {"", "us-ascii", "ascii", "utf-8", "utf8"})) {
      if (cut) {
        text.resize(text::complete_utf8_prefix(text));
      }
      if (charset != "utf-8" && charset != "utf8" && !is_valid_utf8(text)) {
        // 8-bit octets in text said to be ASCII: most likely Windows-1252.
        std::string converted;
        if (convert_to_utf8("windows-1252", text, converted)) {
          text = std::move(converted);
        }
      }
    } else if (is_one_of(charset, {"iso-8859-1", "iso8859-1", "latin1", "iso_8859-1", "l1",
                                   "windows-1252", "cp1252"})) {
      std::string converted;
      if (convert_to_utf8(charset, text, converted)) {
        text = std::move(converted);
      }
    } else {
      notes.push_back("charset " + one_line_cut(charset, k_max_name) + " shown as it is");
    }
    if (chosen->type == "text/html") {
      text = strip_html(text);
      notes.emplace_back("only an HTML part: its tags are stripped");
    }
    // The lines: LF ends a line (a CR before it dropped); HTML's empty lines are collapsed.
    std::size_t count = 0;
    std::size_t long_lines = 0;
    bool last_empty = true;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const auto nl = text.find('\n', pos);
      std::string_view line =
          std::string_view(text).substr(pos, nl == std::string::npos ? text.npos : nl - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (chosen->type == "text/html") {
        line = text::strip(line, " \t");
        if (line.empty() && last_empty) {
          continue;
        }
        last_empty = line.empty();
      }
      ++count;
      if (result.lines.size() < max_lines) {
        if (line.size() > k_preview_line) {
          ++long_lines;
          line = line.substr(0, text::complete_utf8_prefix(line.substr(0, k_preview_line)));
        }
        result.lines.emplace_back(line);
      }
    }
    if (chosen->type == "text/html" && !result.lines.empty() && result.lines.back().empty() &&
        count == result.lines.size()) {
      result.lines.pop_back();
      --count;
    }
    if (long_lines > 0) {
      notes.push_back(std::to_string(long_lines) + " lines longer than " +
                      std::to_string(k_preview_line) + " octets are cut");
    }
    if (cut) {
      notes.push_back("the text is cut (only the first " + std::to_string(count) +
                      " lines were read)");
    } else if (count > result.lines.size()) {
      notes.push_back(std::to_string(count - result.lines.size()) + " more lines not shown");
    }
  }
  if (walker.attachments > 0) {
    std::string note = std::to_string(walker.attachments) +
                       (walker.attachments == 1 ? " attachment" : " attachments") +
                       (prefix_is_complete ? "" : " in the part read") + ": " +
                       text::join(walker.names, ", ");
    if (walker.attachments > walker.names.size()) {
      note += ", and " + std::to_string(walker.attachments - walker.names.size()) + " more";
    }
    notes.push_back(std::move(note));
  }
  return result;
}

}  // namespace mw::mail
