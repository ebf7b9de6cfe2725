// SPDX-License-Identifier: Apache-2.0
#include "mail/compose.hpp"

#include "mail/headers.hpp"
#include "mail/rfc2047.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace mw::mail {

namespace {

constexpr std::size_t k_fold_width = 78;             // RFC 5322 section 2.1.1, SHOULD
constexpr std::size_t k_max_line = 998;              // RFC 5322 section 2.1.1, MUST
constexpr std::size_t k_max_encoded_word = 75;       // RFC 2047 section 2
constexpr std::size_t k_encoded_word_overhead = 12;  // "=?UTF-8?Q?" and "?="
// Below this much room an encoded-word starts on a new line rather than as a stub.
constexpr std::size_t k_min_encoded_piece = 30;
// A word this long would not fit a line even after folding: it is encoded, which can be split.
constexpr std::size_t k_longest_plain_word = 900;
// Segments of an RFC 2231 parameter value, so that each fits a folded line.
constexpr std::size_t k_parameter_segment = 60;
constexpr std::size_t k_no_folding = std::numeric_limits<std::size_t>::max();
constexpr std::string_view k_crlf = "\r\n";

using text::ascii_lower;

bool is_wsp(char c)
{
  return c == ' ' || c == '\t';
}

bool is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view trim_wsp(std::string_view s)
{
  return text::strip(s, " \t");
}

// Length of the UTF-8 character whose lead byte is `lead`; the text was sanitized before.
std::size_t utf8_length(char lead)
{
  const auto u = static_cast<unsigned char>(lead);
  if (u < 0xC0) {
    return 1;
  }
  if (u < 0xE0) {
    return 2;
  }
  return u < 0xF0 ? 3 : 4;
}

// The next character of `text` at `pos`, never running past the end.
std::size_t char_length(std::string_view text, std::size_t pos)
{
  return std::min(utf8_length(text[pos]), text.size() - pos);
}

void append_hex(std::string& out, char prefix, char c)
{
  const auto u = static_cast<unsigned char>(c);
  out.push_back(prefix);
  text::append_hex(out, u, text::Hex::upper);
}

// RFC 2047 section 5(3): the characters a Q encoded-word may carry as themselves in any
// header context (the phrase rule, the strictest; used for unstructured text too).
bool is_q_literal(char c)
{
  return is_alnum(c) || c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

std::size_t q_cost(std::string_view s)
{
  std::size_t cost = 0;
  for (char c : s) {
    cost += c == ' ' || is_q_literal(c) ? 1U : 3U;
  }
  return cost;
}

std::size_t b_cost(std::size_t octets)
{
  return (octets + 2) / 3 * 4;
}

std::string encoded_word(std::string_view chunk, bool q)
{
  std::string out = q ? "=?UTF-8?Q?" : "=?UTF-8?B?";
  if (q) {
    for (char c : chunk) {
      if (c == ' ') {
        out.push_back('_');
      } else if (is_q_literal(c)) {
        out.push_back(c);
      } else {
        append_hex(out, '=', c);
      }
    }
  } else {
    out += base64::encode(chunk);
  }
  out += "?=";
  return out;
}

// Whether a word of header text must be encoded: octets outside printable ASCII, a "=?" that a
// reader would take for the start of an encoded-word, or a length no folding can fix.
bool needs_encoding(std::string_view word)
{
  for (char c : word) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) {
      return true;
    }
  }
  return word.find("=?") != std::string_view::npos || word.size() > k_longest_plain_word;
}

// Header text as UTF-8 on one line: line breaks become spaces (a header only breaks by
// folding) and invalid UTF-8 becomes U+FFFD, so that "charset=UTF-8" is true.
std::string one_line(std::string_view text)
{
  std::string out = sanitize_utf8(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n') {
      c = ' ';
    }
  }
  return out;
}

// Writes the value of a header field word by word, folding (RFC 5322 section 2.2.3) before
// the whitespace that precedes a word when the line would otherwise pass `width`.
class FieldWriter {
public:
  FieldWriter(std::size_t column, std::size_t width) : m_column(column), m_width(width) {}

  // Appends `word` after the whitespace `ws`; with empty `ws` the word is glued on.
  void add(std::string_view ws, std::string_view word)
  {
    if (!ws.empty() && m_words > 0 && m_column + ws.size() + word.size() > m_width) {
      fold();
    }
    append(ws, word);
  }

  // Appends `text` as RFC 2047 encoded-words after `ws`, sized to the room left on each line;
  // `prefix` is glued before the first word and `suffix` after the last.
  void add_encoded(std::string_view ws, std::string_view text, std::string_view prefix = {},
                   std::string_view suffix = {})
  {
    if (text.empty()) {
      add(ws, std::string(prefix) + std::string(suffix));
      return;
    }
    // Q stays readable in raw mail; B is shorter for text that is mostly not ASCII.
    const bool q = 2 * q_cost(text) <= 3 * b_cost(text.size());
    std::size_t pos = 0;
    bool first = true;
    while (first || pos < text.size()) {
      const std::string_view sep = first ? ws : std::string_view(" ");
      const std::string_view pre = first ? prefix : std::string_view();
      const std::string_view rest = text.substr(pos);
      const std::size_t rest_word =
          k_encoded_word_overhead + (q ? q_cost(rest) : b_cost(rest.size()));
      const std::size_t glue = pre.size() + suffix.size();
      const bool fits = rest_word <= k_max_encoded_word && glue + rest_word <= room(sep.size());
      if (!fits && room(sep.size()) < glue + k_min_encoded_piece && m_words > 0) {
        fold();
      }
      const std::size_t available = room(sep.size());
      const std::size_t limit =
          std::min(k_max_encoded_word, available > glue ? available - glue : 0);
      std::size_t end = pos;
      std::size_t cost = 0;
      while (end < text.size()) {
        const std::size_t n = char_length(text, end);
        const std::size_t next = q ? cost + q_cost(text.substr(end, n)) : b_cost(end + n - pos);
        if (end > pos && k_encoded_word_overhead + next > limit) {
          break;  // at least one character per word, so there is always progress
        }
        cost = next;
        end += n;
      }
      std::string word(pre);
      word += encoded_word(text.substr(pos, end - pos), q);
      if (end == text.size()) {
        word += suffix;
      }
      append(sep, word);
      pos = end;
      first = false;
    }
  }

  std::string take() { return std::move(m_text); }

private:
  void fold()
  {
    m_text += k_crlf;
    m_column = 0;
    m_words = 0;
  }

  void append(std::string_view ws, std::string_view word)
  {
    m_text += ws;
    m_text += word;
    m_column += ws.size() + word.size();
    ++m_words;
  }

  std::size_t room(std::size_t used) const
  {
    return m_column + used >= m_width ? 0 : m_width - m_column - used;
  }

  std::string m_text;
  std::size_t m_column;
  std::size_t m_width;
  std::size_t m_words = 0;  // words on the current line
};

struct Word {
  std::string_view ws;  // the whitespace before it
  std::string_view text;
};

std::vector<Word> split_words(std::string_view s)
{
  std::vector<Word> words;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t ws_begin = i;
    while (i < s.size() && is_wsp(s[i])) {
      ++i;
    }
    const std::size_t begin = i;
    while (i < s.size() && !is_wsp(s[i])) {
      ++i;
    }
    if (begin < i) {
      words.push_back(Word{s.substr(ws_begin, begin - ws_begin), s.substr(begin, i - begin)});
    }
  }
  return words;
}

// RFC 5322 section 3.2.5 unstructured text: plain words stay, runs of words that need encoding
// become encoded-words with the whitespace between them inside (RFC 2047 section 6.2 drops
// the whitespace between adjacent encoded-words, so it must be encoded to survive).
void write_unstructured(FieldWriter& w, std::string_view raw)
{
  const std::string clean = one_line(raw);
  const std::string_view text = trim_wsp(clean);
  const std::vector<Word> words = split_words(text);
  std::size_t i = 0;
  while (i < words.size()) {
    const std::string_view ws = i == 0 ? std::string_view(" ") : words[i].ws;
    if (!needs_encoding(words[i].text)) {
      w.add(ws, words[i].text);
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < words.size() && needs_encoding(words[j + 1].text)) {
      ++j;
    }
    const auto begin = static_cast<std::size_t>(words[i].text.data() - text.data());
    const auto end =
        static_cast<std::size_t>(words[j].text.data() - text.data()) + words[j].text.size();
    w.add_encoded(ws, text.substr(begin, end - begin));
    i = j + 1;
  }
}

// A value that goes out as written: printable ASCII (and tabs) in words that fold.
bool is_plain_value(std::string_view value)
{
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u >= 0x7F) {
      return false;
    }
  }
  for (const Word& word : split_words(value)) {
    if (word.text.size() > k_longest_plain_word) {
      return false;
    }
  }
  return true;
}

void write_plain(FieldWriter& w, std::string_view value)
{
  const std::vector<Word> words = split_words(value);
  for (std::size_t i = 0; i < words.size(); ++i) {
    w.add(i == 0 ? std::string_view(" ") : words[i].ws, words[i].text);
  }
}

// RFC 5322 section 3.2.3 atext.
bool is_atext(char c)
{
  return is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// Writes a mailbox (RFC 5322 section 3.4): an atom phrase as it is, other printable ASCII as a
// quoted-string, anything else as encoded-words (RFC 2047 section 5(3)).
void write_mailbox(FieldWriter& w, const Mailbox& m, std::string_view ws, bool comma)
{
  std::string address;
  for (char c : m.address) {
    if (c != '\r' && c != '\n') {
      address.push_back(c);
    }
  }
  std::string clean = one_line(m.display_name);
  for (char& c : clean) {
    c = c == '\t' ? ' ' : c;
  }
  const std::string_view name = trim_wsp(clean);
  const std::string_view tail = comma ? "," : "";
  if (name.empty()) {
    w.add(ws, address + std::string(tail));
    return;
  }
  const std::vector<Word> words = split_words(name);
  bool encode = false;
  bool atoms = true;
  for (const Word& word : words) {
    encode = encode || needs_encoding(word.text);
    atoms = atoms && std::all_of(word.text.begin(), word.text.end(), is_atext);
  }
  if (encode) {
    w.add_encoded(ws, name);
  } else if (atoms) {
    for (std::size_t i = 0; i < words.size(); ++i) {
      w.add(i == 0 ? ws : std::string_view(" "), words[i].text);
    }
  } else {
    w.add(ws, text::quoted(name));
  }
  w.add(" ", "<" + address + ">" + std::string(tail));
}

void write_address_list(FieldWriter& w, const std::vector<Mailbox>& list)
{
  for (std::size_t i = 0; i < list.size(); ++i) {
    write_mailbox(w, list[i], " ", i + 1 < list.size());
  }
}

std::string field_line(std::string_view name, FieldWriter& w)
{
  std::string line(name);
  line += ':';
  line += w.take();
  line += k_crlf;
  return line;
}

std::string address_field(std::string_view name, const std::vector<Mailbox>& list)
{
  FieldWriter w(name.size() + 1, k_fold_width);
  write_address_list(w, list);
  return field_line(name, w);
}

bool is_address_field(std::string_view name)
{
  static constexpr std::array<std::string_view, 14> k_names = {"From",
                                                               "Sender",
                                                               "Reply-To",
                                                               "To",
                                                               "Cc",
                                                               "Bcc",
                                                               "Resent-From",
                                                               "Resent-Sender",
                                                               "Resent-To",
                                                               "Resent-Cc",
                                                               "Resent-Reply-To",
                                                               "Disposition-Notification-To",
                                                               "Mail-Reply-To",
                                                               "Mail-Followup-To"};
  return std::any_of(k_names.begin(), k_names.end(),
                     [&](std::string_view n) { return iequals(n, name); });
}

// A --header field: printable ASCII goes out as the user wrote it (folded), so that an
// already-encoded or structured value is kept; other text is encoded, address fields as
// mailboxes so that the addresses stay readable.
std::string extra_field(std::string_view name, std::string_view raw_value)
{
  const std::string clean = one_line(raw_value);
  const std::string_view value = trim_wsp(clean);
  FieldWriter w(name.size() + 1, k_fold_width);
  if (is_plain_value(value)) {
    write_plain(w, value);
  } else if (is_address_field(name) && !parse_address_list(value).empty()) {
    write_address_list(w, parse_address_list(value));
  } else {
    write_unstructured(w, value);
  }
  return field_line(name, w);
}

std::string to_crlf(std::string_view text)
{
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      out += k_crlf;
    } else if (c == '\n') {
      out += k_crlf;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct TextStats {
  bool eight_bit = false;
  bool nul = false;
  std::size_t longest_line = 0;
};

// Octet facts about CRLF text that decide its transfer encoding (RFC 2045 section 2.7-2.8).
TextStats scan(std::string_view text)
{
  TextStats stats;
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      stats.longest_line = std::max(stats.longest_line, line);
      line = 0;
      ++i;
      continue;
    }
    stats.eight_bit = stats.eight_bit || static_cast<unsigned char>(c) >= 0x80;
    stats.nul = stats.nul || c == '\0';
    ++line;
  }
  stats.longest_line = std::max(stats.longest_line, line);
  return stats;
}

bool is_ascii(std::string_view s)
{
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

struct Part {
  std::string fields;  // header fields, each ending in CRLF
  std::string content;
};

// The text/plain part (RFC 2046 section 4.1). The boundary is passed so that a body that
// happens to contain it goes quoted-printable, which cannot (it encodes "=").
Part text_part(const Composition& c, std::string_view boundary)
{
  const std::string text = to_crlf(c.body);
  const TextStats stats = scan(text);
  const bool clash =
      !boundary.empty() && text.find("--" + std::string(boundary)) != std::string::npos;
  const bool qp = (stats.eight_bit && !c.eight_bit_allowed) || stats.longest_line > k_max_line ||
                  stats.nul || clash;
  Part part;
  part.fields = "Content-Type: text/plain; charset=";
  part.fields += stats.eight_bit ? "utf-8" : "us-ascii";
  part.fields += k_crlf;
  part.fields += "Content-Transfer-Encoding: ";
  part.fields += qp ? "quoted-printable" : stats.eight_bit ? "8bit" : "7bit";
  part.fields += k_crlf;
  part.content = qp ? quoted_printable(text) : text;
  return part;
}

std::string base_name(std::string_view path)
{
  const std::size_t slash = path.rfind('/');
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  return name.empty() ? "attachment" : name;
}

// RFC 2231 section 7 attribute-char: printable ASCII except space, "*", "'", "%" and tspecials.
bool is_attribute_char(char c)
{
  return is_alnum(c) || std::string_view("!#$&+-.^_`{|}~").find(c) != std::string_view::npos;
}

// A file name that can go in a quoted-string parameter as it is and fit a folded line.
bool is_simple_filename(std::string_view name)
{
  return name.size() <= k_parameter_segment && is_plain_value(name) &&
         name.find('\t') == std::string_view::npos && name.find("=?") == std::string_view::npos;
}

// `filename*=utf-8''...` (RFC 2231 section 4), split into `filename*0*=`, `filename*1*=`...
// continuations (section 3) between characters when long.
std::vector<std::string> extended_parameter(std::string_view attribute, std::string_view utf8)
{
  std::vector<std::string> segments{"utf-8''"};
  for (std::size_t i = 0; i < utf8.size();) {
    const std::size_t n = char_length(utf8, i);
    std::string encoded;
    for (char c : utf8.substr(i, n)) {
      if (is_attribute_char(c)) {
        encoded.push_back(c);
      } else {
        append_hex(encoded, '%', c);
      }
    }
    if (segments.back().size() + encoded.size() > k_parameter_segment &&
        segments.back() != "utf-8''") {
      segments.emplace_back();
    }
    segments.back() += encoded;
    i += n;
  }
  std::vector<std::string> parameters;
  for (std::size_t k = 0; k < segments.size(); ++k) {
    std::string p(attribute);
    if (segments.size() > 1) {
      p += "*" + std::to_string(k);
    }
    p += "*=" + segments[k];
    parameters.push_back(std::move(p));
  }
  return parameters;
}

Part attachment_part(const Attachment& a, const Composition& c)
{
  const std::string name = sanitize_utf8(base_name(a.filename));
  std::string type = content_type_for(name);
  std::string encoding;
  Part part;
  if (type == "message/rfc822") {
    // RFC 2046 section 5.2.1 forbids base64 here: the message goes as it is when it can,
    // else as an opaque file.
    std::string text = to_crlf(a.content);
    const TextStats stats = scan(text);
    const bool clash = text.find("--" + c.boundary) != std::string::npos;
    if (!stats.nul && !clash && stats.longest_line <= k_max_line &&
        (!stats.eight_bit || c.eight_bit_allowed)) {
      encoding = stats.eight_bit ? "8bit" : "7bit";
      part.content = std::move(text);
    } else {
      type = "application/octet-stream";
    }
  }
  if (encoding.empty()) {
    encoding = "base64";
    part.content = base64_lines(a.content);
    if (part.content.ends_with(k_crlf)) {
      part.content.resize(part.content.size() - k_crlf.size());
    }
  }

  FieldWriter type_writer(12, k_fold_width);  // "Content-Type"
  type_writer.add(" ", type + ";");
  if (type.starts_with("text/")) {
    // A charset only when the bytes tell (RFC 2046 section 4.1.2); else readers guess.
    if (is_ascii(a.content)) {
      type_writer.add(" ", "charset=us-ascii;");
    } else if (is_valid_utf8(a.content)) {
      type_writer.add(" ", "charset=utf-8;");
    }
  }
  // The RFC 2047 `name` parameter is not standard but is what clients without RFC 2231 read.
  if (is_plain_value(name) && name.find("=?") == std::string::npos) {
    type_writer.add(" ", "name=" + text::quoted(name));
  } else {
    type_writer.add_encoded(" ", name, "name=\"", "\"");
  }
  part.fields = field_line("Content-Type", type_writer);

  FieldWriter disposition_writer(19, k_fold_width);  // "Content-Disposition"
  disposition_writer.add(" ", "attachment;");
  if (is_simple_filename(name)) {
    disposition_writer.add(" ", "filename=" + text::quoted(name));
  } else {
    const std::vector<std::string> parameters = extended_parameter("filename", name);
    for (std::size_t k = 0; k < parameters.size(); ++k) {
      disposition_writer.add(" ", parameters[k] + (k + 1 < parameters.size() ? ";" : ""));
    }
  }
  part.fields += field_line("Content-Disposition", disposition_writer);
  part.fields += "Content-Transfer-Encoding: " + encoding + std::string(k_crlf);
  return part;
}

struct Slot {
  std::string name;
  std::string line;  // the whole field with its CRLF, empty when there is none yet
  bool from_user = false;
};

}  // namespace

std::string format_mailbox(const Mailbox& m)
{
  FieldWriter w(0, k_no_folding);
  write_mailbox(w, m, "", false);
  return w.take();
}

std::string encode_header_text(std::string_view utf8_text, std::size_t name_length)
{
  FieldWriter w(name_length + 1, k_fold_width);
  write_unstructured(w, utf8_text);
  std::string value = w.take();
  if (!value.empty() && value.front() == ' ') {
    value.erase(0, 1);
  }
  return value;
}

std::string quoted_printable(std::string_view text)
{
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t line = 0;
  const auto line_ends_at = [&](std::size_t i) {
    return i >= text.size() || text[i] == '\r' || text[i] == '\n';
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      out += k_crlf;
      line = 0;
      continue;
    }
    const auto u = static_cast<unsigned char>(c);
    const bool last = line_ends_at(i + 1);
    // Rule 3: whitespace at the end of a line would be stripped in transit, so it is encoded.
    const bool literal = (u >= 33 && u <= 126 && c != '=') || (is_wsp(c) && !last);
    const std::size_t length = literal ? 1 : 3;
    // Rule 5: at most 76 characters a line, the "=" of a soft line break included.
    if (line + length > (last ? 76 : 75)) {
      out += "=\r\n";
      line = 0;
    }
    if (literal) {
      out.push_back(c);
    } else {
      append_hex(out, '=', c);
    }
    line += length;
  }
  return out;
}

std::string base64_lines(std::string_view data)
{
  const std::string encoded = base64::encode(data);
  std::string out;
  out.reserve(encoded.size() + encoded.size() / 38 + 2);
  for (std::size_t i = 0; i < encoded.size(); i += 76) {
    out += std::string_view(encoded).substr(i, 76);
    out += k_crlf;
  }
  return out;
}

std::string format_date(std::chrono::sys_seconds t, int utc_offset_minutes)
{
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> k_days = {"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> k_months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // The zone is four digits (section 3.3); real zones stay within +-14 hours anyway.
  const int offset = std::clamp(utc_offset_minutes, -(99 * 60 + 59), 99 * 60 + 59);
  const sys_seconds local = t + minutes(offset);
  const auto day = floor<days>(local);
  const year_month_day date{day};
  const weekday week_day{day};
  const hh_mm_ss clock{local - day};
  const int magnitude = std::abs(offset);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %u %s %04d %02lld:%02lld:%02lld %c%02d%02d",
                k_days[week_day.c_encoding()], static_cast<unsigned>(date.day()),
                k_months[static_cast<unsigned>(date.month()) - 1], static_cast<int>(date.year()),
                static_cast<long long>(clock.hours().count()),
                static_cast<long long>(clock.minutes().count()),
                static_cast<long long>(clock.seconds().count()), offset < 0 ? '-' : '+',
                magnitude / 60, magnitude % 60);
  return buffer;
}

std::string make_message_id(std::string_view domain, std::string_view random_token)
{
  // id-left and id-right as dot-atom-text (RFC 5322 section 3.6.4): atext, single inner dots.
  const auto dot_atom = [](std::string_view s, auto allowed) {
    std::string out;
    for (char c : s) {
      if (c == '.') {
        if (!out.empty() && out.back() != '.') {
          out.push_back(c);
        }
      } else if (allowed(c)) {
        out.push_back(c);
      }
    }
    while (!out.empty() && out.back() == '.') {
      out.pop_back();
    }
    return out;
  };
  std::string left = dot_atom(random_token, is_atext);
  if (left.empty()) {
    throw Error(ExitCode::software, "make_message_id: the random token is empty");
  }
  std::string right;
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    right = "[";
    for (char c : domain.substr(1, domain.size() - 2)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 33 && u <= 126 && c != '[' && c != ']' && c != '\\') {
        right.push_back(c);  // no-fold-literal dtext
      }
    }
    right += "]";
  } else {
    right = dot_atom(domain, [](char c) { return is_alnum(c) || c == '-' || c == '_'; });
  }
  if (right.empty() || right == "[]") {
    right = "localhost.invalid";
  }
  return "<" + left + "@" + right + ">";
}

std::string make_boundary(std::string_view random_token)
{
  std::string boundary = "=_mailwrench_";
  for (char c : random_token) {
    if (is_alnum(c) || std::string_view("'()+_,-./:=?").find(c) != std::string_view::npos) {
      boundary.push_back(c);
    }
  }
  boundary.resize(std::min<std::size_t>(boundary.size(), 70));
  return boundary;
}

std::string content_type_for(std::string_view filename)
{
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 58> k_types = {{
      {"txt", "text/plain"},
      {"text", "text/plain"},
      {"log", "text/plain"},
      {"md", "text/markdown"},
      {"htm", "text/html"},
      {"html", "text/html"},
      {"css", "text/css"},
      {"csv", "text/csv"},
      {"ics", "text/calendar"},
      {"vcf", "text/vcard"},
      {"js", "text/javascript"},
      {"diff", "text/x-diff"},
      {"patch", "text/x-diff"},
      {"json", "application/json"},
      {"xml", "application/xml"},
      {"yaml", "application/yaml"},
      {"yml", "application/yaml"},
      {"pdf", "application/pdf"},
      {"rtf", "application/rtf"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"svg", "image/svg+xml"},
      {"bmp", "image/bmp"},
      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},
      {"ico", "image/vnd.microsoft.icon"},
      {"heic", "image/heic"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tgz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"bz2", "application/x-bzip2"},
      {"xz", "application/x-xz"},
      {"zst", "application/zstd"},
      {"7z", "application/x-7z-compressed"},
      {"doc", "application/msword"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xls", "application/vnd.ms-excel"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"ppt", "application/vnd.ms-powerpoint"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"odp", "application/vnd.oasis.opendocument.presentation"},
      {"eml", "message/rfc822"},
      {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},
      {"ogg", "audio/ogg"},
      {"flac", "audio/flac"},
      {"m4a", "audio/mp4"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
      {"mov", "video/quicktime"},
      {"avi", "video/x-msvideo"},
      {"p7s", "application/pkcs7-signature"},
  }};
  const std::size_t slash = filename.rfind('/');
  const std::string_view name =
      slash == std::string_view::npos ? filename : filename.substr(slash + 1);
  const std::size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string extension(name.substr(dot + 1));
    std::transform(extension.begin(), extension.end(), extension.begin(), ascii_lower);
    for (const auto& [ext, type] : k_types) {
      if (ext == extension) {
        return std::string(type);
      }
    }
  }
  return "application/octet-stream";
}

Composed compose(const Composition& c)
{
  const bool multipart = !c.attachments.empty();
  if (multipart && c.boundary.empty()) {
    throw Error(ExitCode::software, "compose: attachments need a MIME boundary");
  }

  // The generated fields, in the order RFC 5322 section 3.6 lists them; a --header of the
  // same name takes the slot instead of adding a second field.
  std::vector<Slot> fields;
  fields.push_back({"Date", "Date: " + format_date(c.date, c.utc_offset_minutes) + "\r\n"});
  fields.push_back({"From", c.from.address.empty() ? "" : address_field("From", {c.from})});
  if (!c.to.empty()) {
    fields.push_back({"To", address_field("To", c.to)});
  } else if (c.cc.empty()) {
    // What sendmail and Postfix write when every recipient is Bcc.
    fields.push_back({"To", "To: undisclosed-recipients:;\r\n"});
  } else {
    fields.push_back({"To", ""});
  }
  fields.push_back({"Cc", c.cc.empty() ? "" : address_field("Cc", c.cc)});
  fields.push_back({"Subject", c.subject.empty()
                                   ? ""
                                   : "Subject: " + encode_header_text(c.subject, 7) + "\r\n"});
  fields.push_back(
      {"Message-ID", c.message_id.empty() ? "" : "Message-ID: " + c.message_id + "\r\n"});
  fields.push_back({"MIME-Version", "MIME-Version: 1.0\r\n"});
  const std::size_t extras_at = fields.size();

  Part text = text_part(c, multipart ? c.boundary : "");
  std::vector<Slot> content_fields;
  std::string body;
  if (multipart) {
    body = "This is a multi-part message in MIME format.\r\n";
    std::vector<Part> parts;
    parts.push_back(std::move(text));
    for (const Attachment& a : c.attachments) {
      parts.push_back(attachment_part(a, c));
    }
    // RFC 2046 section 5.1.1: the CRLF before each delimiter belongs to the delimiter.
    for (const Part& part : parts) {
      body += "--" + c.boundary + "\r\n" + part.fields + "\r\n" + part.content + "\r\n";
    }
    body += "--" + c.boundary + "--\r\n";
    content_fields.push_back({"Content-Type", "Content-Type: multipart/mixed; boundary=" +
                                                  text::quoted(c.boundary) + "\r\n"});
    if (scan(body).eight_bit) {
      // RFC 2045 section 6.4: a multipart entity is labelled with its parts' widest encoding.
      content_fields.push_back(
          {"Content-Transfer-Encoding", "Content-Transfer-Encoding: 8bit\r\n"});
    }
  } else {
    // The text part's own fields become the message's.
    const std::size_t split = text.fields.find("Content-Transfer-Encoding");
    content_fields.push_back({"Content-Type", text.fields.substr(0, split)});
    content_fields.push_back({"Content-Transfer-Encoding", text.fields.substr(split)});
    body = std::move(text.content);
    if (!body.empty() && !body.ends_with(k_crlf)) {
      body += k_crlf;
    }
  }

  std::string message_id = c.message_id;
  std::vector<Slot> extras;
  for (const auto& [raw_name, value] : c.extra_headers) {
    const std::string name(trim_wsp(raw_name));
    if (!is_valid_field_name(name)) {
      throw UsageError("invalid header name '" + name + "'");
    }
    if (iequals(name, "Bcc")) {
      continue;  // RFC 5322 section 3.6.3: Bcc recipients are in the envelope only
    }
    if (iequals(name, "Content-Transfer-Encoding")) {
      throw UsageError("--header Content-Transfer-Encoding: the encoding is chosen by "
                       "mailwrench to match the body");
    }
    if (iequals(name, "Content-Type") && multipart) {
      throw UsageError("--header Content-Type cannot be combined with attachments");
    }
    Slot slot{name, extra_field(name, value), true};
    if (iequals(name, "Message-ID")) {
      message_id = std::string(trim_wsp(one_line(value)));
    }
    const auto replaces = [&](const Slot& s) { return !s.from_user && iequals(s.name, name); };
    if (auto it = std::find_if(fields.begin(),
                               fields.begin() + static_cast<std::ptrdiff_t>(extras_at), replaces);
        it != fields.begin() + static_cast<std::ptrdiff_t>(extras_at)) {
      *it = std::move(slot);
    } else if (auto jt = std::find_if(content_fields.begin(), content_fields.end(), replaces);
               jt != content_fields.end()) {
      *jt = std::move(slot);
    } else {
      extras.push_back(std::move(slot));
    }
  }
  if (fields[1].line.empty()) {
    throw UsageError("no From address (give --from)");
  }
  if (message_id.empty()) {
    throw Error(ExitCode::software, "compose: no Message-ID");
  }

  std::string message;
  for (const auto* group : {&fields, &extras, &content_fields}) {
    for (const Slot& slot : *group) {
      message += slot.line;
    }
  }
  message += k_crlf;
  message += body;

  Composed composed;
  const TextStats stats = scan(message);
  composed.message = std::move(message);
  composed.eight_bit = stats.eight_bit;
  composed.longest_line = stats.longest_line;
  composed.message_id = std::move(message_id);
  return composed;
}

RawMessage prepare_raw(std::string_view message, std::chrono::sys_seconds now,
                       int utc_offset_minutes, std::string_view new_message_id)
{
  const std::string text = to_crlf(message);
  std::string_view rest = text;
  // An mbox separator line ("From sender date", saved with a mail client) is not a header
  // field; "From : a@b" (the obsolete syntax of RFC 5322 section 4.5) is.
  auto first_line = rest.substr(0, rest.find(k_crlf));
  auto first_colon = first_line.find(':');
  bool obsolete_from_field =
      first_colon != std::string_view::npos &&
      first_line.substr(0, first_colon).find_first_not_of(" \t", 4) == std::string_view::npos;
  if (rest.starts_with("From ") && !obsolete_from_field) {
    const std::size_t eol = rest.find(k_crlf);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
  }

  std::string header_block;  // every header line, for Headers::parse
  std::string kept;          // the lines that stay
  bool any_field = false;
  bool removing = false;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    const std::size_t eol = rest.find(k_crlf, pos);
    const std::string_view line =
        rest.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    const std::size_t next = eol == std::string_view::npos ? rest.size() : eol + 2;
    if (line.empty()) {
      pos = next;
      break;
    }
    if (is_wsp(line.front())) {
      if (!any_field) {
        break;
      }
    } else {
      const std::size_t colon = line.find(':');
      const std::string_view name =
          colon == std::string_view::npos ? line : trim_wsp(line.substr(0, colon));
      if (colon == std::string_view::npos || !is_valid_field_name(name)) {
        break;  // the body starts without the blank line; one is inserted below
      }
      any_field = true;
      // RFC 5322 section 3.6.3: Bcc is removed before the message goes out.
      removing = iequals(name, "Bcc") || iequals(name, "Resent-Bcc");
    }
    header_block += line;
    header_block += k_crlf;
    if (!removing) {
      kept += line;
      kept += k_crlf;
    }
    pos = next;
  }
  const std::string_view body = rest.substr(pos);
  const Headers headers = Headers::parse(header_block);

  RawMessage raw;
  std::string added;
  if (!headers.get("Date")) {
    added += "Date: " + format_date(now, utc_offset_minutes) + "\r\n";
  }
  if (const auto id = headers.get("Message-ID")) {
    const std::size_t open = id->find('<');
    const std::size_t close = id->find('>', open == std::string_view::npos ? 0 : open);
    raw.message_id = open != std::string_view::npos && close != std::string_view::npos
                         ? std::string(id->substr(open, close - open + 1))
                         : std::string(*id);
  } else {
    raw.message_id = std::string(new_message_id);
    added += "Message-ID: " + raw.message_id + "\r\n";
  }
  raw.message = added + kept + "\r\n" + std::string(body);
  if (!body.empty() && !raw.message.ends_with(k_crlf)) {
    raw.message += k_crlf;
  }

  const auto mailboxes = [&](std::string_view name) {
    std::vector<Mailbox> list;
    for (const std::string_view value : headers.get_all(name)) {
      std::vector<std::string> invalid;
      for (Mailbox& m : parse_address_list(value, invalid)) {
        list.push_back(std::move(m));
      }
      for (std::string& problem : invalid) {
        raw.invalid_addresses.push_back(std::string(name) + ": " + problem);
      }
    }
    return list;
  };
  if (auto from = mailboxes("From"); !from.empty()) {
    raw.from = std::move(from.front());
  } else if (auto sender = mailboxes("Sender"); !sender.empty()) {
    raw.from = std::move(sender.front());
  }
  for (const char* name : {"To", "Cc", "Bcc"}) {
    for (Mailbox& m : mailboxes(name)) {
      const bool seen =
          std::any_of(raw.recipients.begin(), raw.recipients.end(),
                      [&](const Mailbox& r) { return iequals(r.address, m.address); });
      if (!seen) {
        raw.recipients.push_back(std::move(m));
      }
    }
  }

  const TextStats stats = scan(raw.message);
  raw.eight_bit = stats.eight_bit;
  raw.longest_line = stats.longest_line;
  return raw;
}

}  // namespace mw::mail
