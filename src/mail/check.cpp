// SPDX-License-Identifier: Apache-2.0
#include "mail/check.hpp"

#include "mail/address.hpp"
#include "mail/date.hpp"
#include "mail/mime.hpp"
#include "mail/rfc2047.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace mw::mail {

namespace {

// RFC 5322 section 2.1.1: a line is at most 998 octets without its CRLF.
constexpr std::uint64_t k_max_line = 998;
// Octets of a line kept: more than any header line allowed and any boundary line (RFC 2046
// section 5.1.1: a boundary is at most 70 characters); the rest is counted and, in a body,
// checked as it streams.
constexpr std::size_t k_line_keep = 2048;
// How much of a value a detail quotes.
constexpr std::size_t k_quote = 80;
// How much of From and Subject a report shows.
constexpr std::size_t k_shown = 300;

// RFC 5322 section 3.6: fields that may appear at most once.
constexpr std::array k_singletons = {"From",         "Sender",
                                     "Reply-To",     "To",
                                     "Cc",           "Bcc",
                                     "Message-ID",   "In-Reply-To",
                                     "References",   "Subject",
                                     "Date",         "MIME-Version",
                                     "Content-Type", "Content-Transfer-Encoding"};
// Fields holding address lists (RFC 5322 sections 3.6.2, 3.6.3); From has its own check.
constexpr std::array k_address_fields = {"Sender", "Reply-To", "To", "Cc", "Bcc"};
// Fields whose text may hold encoded-words (RFC 2047 section 5).
constexpr std::array k_text_fields = {"Subject", "From",     "Sender",   "Reply-To",           "To",
                                      "Cc",      "Comments", "Keywords", "Content-Description"};

std::string cut(std::string text)
{
  if (text.size() > k_shown) {
    text.resize(text::complete_utf8_prefix(std::string_view(text).substr(0, k_shown)));
  }
  return text;
}

bool is_base64_char(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool is_hex(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t';
}

std::string lower(std::string_view s)
{
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  });
  return out;
}

// A value quoted in a detail: one line, printable, cut.
std::string quote(std::string_view value)
{
  std::string shown = text::one_line(sanitize_utf8(value.substr(0, k_quote)));
  return "'" + shown + (value.size() > k_quote ? "...'" : "'");
}

std::string_view rtrim(std::string_view s)
{
  while (!s.empty() && (is_space(static_cast<unsigned char>(s.back())) || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool known_charset(std::string_view charset)
{
  // RFC 2231 section 5: a language may follow the charset after '*'.
  charset = charset.substr(0, charset.find('*'));
  if (charset.empty()) {
    return false;
  }
  std::string ignored;
  return convert_to_utf8(charset, "", ignored);
}

// The first malformed encoded-word of a header value (RFC 2047 sections 2-5) and why, or "".
std::string bad_encoded_word(std::string_view value, std::string& unknown_charset)
{
  std::size_t pos = 0;
  while ((pos = value.find("=?", pos)) != std::string_view::npos) {
    const auto rest = value.substr(pos);
    const auto q1 = value.find('?', pos + 2);
    if (q1 == std::string_view::npos || q1 + 2 >= value.size() || value[q1 + 2] != '?') {
      return quote(rest) + " is not charset?encoding?text";
    }
    const auto charset = value.substr(pos + 2, q1 - pos - 2);
    const char encoding = value[q1 + 1];
    const auto end = value.find("?=", q1 + 3);
    if (end == std::string_view::npos) {
      return quote(rest) + " does not end with '?='";
    }
    const auto text_part = value.substr(q1 + 3, end - q1 - 3);
    const auto word = value.substr(pos, end + 2 - pos);
    if (charset.empty() || std::any_of(charset.begin(), charset.end(), [](char c) {
          return !is_token_char(static_cast<unsigned char>(c)) && c != '*';
        })) {
      return quote(word) + " has an invalid charset";
    }
    if (text_part.find_first_of(" \t") != std::string_view::npos) {
      return quote(word) + " holds whitespace";
    }
    if (encoding == 'B' || encoding == 'b') {
      if (text_part.size() % 4 != 0 || !std::all_of(text_part.begin(), text_part.end(), [](char c) {
            return is_base64_char(static_cast<unsigned char>(c)) || c == '=';
          })) {
        return quote(word) + " is not valid base64";
      }
    } else if (encoding == 'Q' || encoding == 'q') {
      for (std::size_t k = 0; k < text_part.size(); ++k) {
        if (text_part[k] == '=' &&
            (k + 2 >= text_part.size() || !is_hex(static_cast<unsigned char>(text_part[k + 1])) ||
             !is_hex(static_cast<unsigned char>(text_part[k + 2])))) {
          return quote(word) + " has an '=' not followed by two hexadecimal digits";
        }
      }
    } else {
      return quote(word) + " has the unknown encoding '" + std::string(1, encoding) + "'";
    }
    if (unknown_charset.empty() && !known_charset(charset)) {
      unknown_charset = std::string(charset);
    }
    pos = end + 2;
  }
  return "";
}

}  // namespace

std::string_view to_string(Severity severity)
{
  return severity == Severity::error ? "error" : "warning";
}

MessageChecker::MessageChecker(CheckLimits limits) : m_limits(limits) {}

const std::vector<std::string_view>& known_codes()
{
  static const std::vector<std::string_view> codes = {
      "address-invalid",
      "bare-cr",
      "base64-invalid",
      "body-line-too-long",
      "charset-unknown",
      "connection-lost",
      "content-type-invalid",
      "date-invalid",
      "date-missing",
      "encoded-word-invalid",
      "encoding-unknown",
      "field-duplicate",
      "from-invalid",
      "from-missing",
      "header-8bit",
      "header-line-too-long",
      "header-missing",
      "header-no-separator",
      "header-too-large",
      "mbox-from-line",
      "message-unterminated",
      "mime-boundary-missing",
      "mime-boundary-unclosed",
      "mime-too-deep",
      "mime-too-many-parts",
      "mime-truncated",
      "nul-byte",
      "quoted-printable-invalid",
      "retr-refused",
      "retr-timeout",
      "size-mismatch",
  };
  return codes;
}

void MessageChecker::add(std::string code, Severity severity, std::string detail, std::string where)
{
  if (m_findings.size() >= k_max_findings) {
    ++m_dropped;
    return;
  }
  m_findings.push_back({std::move(code), severity, std::move(detail), std::move(where)});
}

std::string MessageChecker::where_part() const
{
  return m_path.empty() ? "body" : "part " + m_path;
}

std::string MessageChecker::where_header(std::string_view name) const
{
  return (m_path.empty() ? "" : "part " + m_path + ", ") + "header " + std::string(name);
}

bool MessageChecker::too_deep()
{
  if (m_depth + 1 <= m_limits.depth) {
    return false;
  }
  if (!m_depth_reported) {
    m_depth_reported = true;
    add("mime-too-deep", Severity::error,
        "MIME parts nested more than " + std::to_string(m_limits.depth) +
            " deep (the limit; see --max-depth)",
        where_part());
  }
  return true;
}

void MessageChecker::feed(std::string_view data)
{
  std::size_t i = 0;
  while (i < data.size()) {
    if (m_cr) {
      m_cr = false;
      if (data[i] == '\n') {
        ++m_offset;
        ++i;
        end_line(true);
        continue;
      }
      if (m_bare_crs++ == 0) {
        m_first_bare_cr = m_offset - 1;
      }
      line_bytes("\r");
    }
    std::size_t j = i;
    while (j < data.size() && data[j] != '\n' && data[j] != '\r' && data[j] != '\0') {
      ++j;
    }
    if (j > i) {
      line_bytes(data.substr(i, j - i));
      m_offset += j - i;
      i = j;
    }
    if (i == data.size()) {
      break;
    }
    if (data[i] == '\0') {
      if (m_nuls++ == 0) {
        m_first_nul = m_offset;
      }
      line_bytes(std::string_view("\0", 1));
    } else if (data[i] == '\r') {
      m_cr = true;
    }
    ++m_offset;
    if (data[i] == '\n') {
      ++i;
      end_line(false);
    } else {
      ++i;
    }
  }
}

void MessageChecker::line_bytes(std::string_view bytes)
{
  m_line_length += bytes.size();
  if (m_phase == Phase::body && !m_opaque &&
      (m_line_flushed || m_line.size() + bytes.size() > k_line_keep)) {
    // Too long to be a boundary: checked as it streams, not kept.
    if (!m_line_flushed) {
      decode_bytes(m_line, m_line_start);
      m_line.clear();
      m_line_flushed = true;
    }
    decode_bytes(bytes, m_line_start + m_line_length - bytes.size());
    return;
  }
  if (m_line.size() < k_line_keep) {
    m_line.append(bytes.substr(0, k_line_keep - m_line.size()));
  }
}

void MessageChecker::end_line(bool /*crlf*/)
{
  const std::uint64_t start = m_line_start;
  const std::uint64_t length = m_line_length;
  const bool flushed = m_line_flushed;
  std::string line;
  line.swap(m_line);
  m_line_length = 0;
  m_line_flushed = false;
  m_line_start = m_offset;
  if (m_phase == Phase::header) {
    header_line(line, length, start);
  } else {
    if (length > k_max_line) {
      if (m_long_body_lines++ == 0) {
        m_first_long_body_line = start;
      }
      m_longest_body_line = std::max(m_longest_body_line, length);
    }
    body_line(line, !flushed, start);
  }
  m_line.swap(line);
  m_line.clear();
}

void MessageChecker::header_line(std::string_view line, std::uint64_t length, std::uint64_t start)
{
  if (!m_multiparts.empty() && boundary_line(line)) {
    return;
  }
  ++m_header_lines;
  if (m_header_lines == 1 && m_depth == 0 && m_entity_is_message && line.starts_with("From ")) {
    // An mbox separator (RFC 4155) left in the message by a store that kept it.
    --m_header_lines;
    add("mbox-from-line", Severity::warning,
        "the message starts with the mbox separator " + quote(line) + " (RFC 4155)",
        "offset " + std::to_string(start));
    return;
  }
  if (line.empty() || line == "\r") {
    if (m_entity_is_message && m_header_lines == 1) {
      add("header-missing", Severity::error,
          "the message starts with an empty line: it has no header section",
          "offset " + std::to_string(start));
    }
    end_header_section();
    return;
  }
  const bool continuation = is_space(static_cast<unsigned char>(line[0]));
  bool field = false;
  if (!continuation) {
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      const auto name = rtrim(line.substr(0, colon));
      if (is_valid_field_name(name)) {
        field = true;
        m_field = std::string(name);
      }
    }
  }
  if (!field && !(continuation && m_header_lines > 1)) {
    --m_header_lines;
    if (m_header_lines == 0 && m_entity_is_message) {
      add("header-missing", Severity::error,
          "the message starts with " + quote(line) +
              ", not a header field: it has no header "
              "section",
          "offset " + std::to_string(start));
    } else {
      add("header-no-separator", Severity::error,
          "line " + std::to_string(m_header_lines + 1) + " of the header section, " + quote(line) +
              ", is not a header field: the body starts without the empty line "
              "that ends the header section",
          m_path.empty() ? "offset " + std::to_string(start)
                         : "part " + m_path + ", offset " + std::to_string(start));
    }
    end_header_section();
    body_line(line, true, start);
    return;
  }
  if (length > k_max_line && !m_long_header_reported) {
    m_long_header_reported = true;
    add("header-line-too-long", Severity::error,
        "a line of " + std::to_string(length) + " octets in the " + m_field +
            " field (RFC 5322 allows 998)",
        where_header(m_field));
  }
  if (!m_8bit_reported && length <= k_line_keep &&
      std::any_of(line.begin(), line.end(), [](char c) { return (c & 0x80) != 0; }) &&
      !is_valid_utf8(line)) {
    m_8bit_reported = true;
    add("header-8bit", Severity::warning,
        "the " + m_field +
            " field holds 8-bit octets that are not UTF-8 (RFC 6532) nor "
            "RFC 2047 encoded-words",
        where_header(m_field));
  }
  // Over the limit, the fields that still fit are kept (a 2 MB line is kept as its first
  // octets, the fields after it whole): bounded, and From after a huge field is still seen.
  m_header_octets += length + 1;
  if (m_header.size() + line.size() + 1 <= m_limits.header_section) {
    m_header.append(line);
    m_header += '\n';
  } else if (!continuation) {
    m_header_cut = true;
  }
}

bool MessageChecker::boundary_line(std::string_view line)
{
  if (line.size() < 3 || line[0] != '-' || line[1] != '-') {
    return false;
  }
  // RFC 2046 section 5.1.1: a boundary line may end with whitespace.
  const auto body = rtrim(line.substr(2));
  for (std::size_t k = m_multiparts.size(); k-- > 0;) {
    const auto& boundary = m_multiparts[k].boundary;
    bool close = false;
    if (body == boundary) {
      close = false;
    } else if (body.size() == boundary.size() + 2 && body.starts_with(boundary) &&
               body.ends_with("--")) {
      close = true;
    } else {
      continue;
    }
    // The entity before the boundary ends here.
    if (m_phase == Phase::header) {
      end_header_section();
    }
    end_leaf();
    while (m_multiparts.size() > k + 1) {
      const auto& inner = m_multiparts.back();
      add("mime-boundary-unclosed", Severity::warning,
          "the multipart " + (inner.path.empty() ? std::string("body") : "part " + inner.path) +
              " ends at an outer boundary without its own closing '--" + inner.boundary + "--'",
          inner.path.empty() ? "body" : "part " + inner.path);
      m_multiparts.pop_back();
    }
    auto& multipart = m_multiparts[k];
    if (close) {
      // The epilogue: text of the enclosing entity, not checked.
      m_path = multipart.path;
      m_depth = multipart.depth;
      m_multiparts.pop_back();
      m_phase = Phase::body;
      m_encoding = Encoding::none;
      m_opaque = true;
      return true;
    }
    ++multipart.parts;
    if (++m_parts > m_limits.parts && !m_parts_reported) {
      m_parts_reported = true;
      add("mime-too-many-parts", Severity::error,
          "more than " + std::to_string(m_limits.parts) +
              " MIME parts (the limit; see --max-parts)",
          "part " + (multipart.path.empty() ? "" : multipart.path + ".") +
              std::to_string(multipart.parts));
    }
    const bool digest = multipart.digest;
    const std::size_t depth = multipart.depth + 1;
    start_entity((multipart.path.empty() ? "" : multipart.path + ".") +
                     std::to_string(multipart.parts),
                 false);
    m_depth = depth;
    m_in_digest = digest;
    return true;
  }
  return false;
}

void MessageChecker::start_entity(std::string path, bool is_message)
{
  m_phase = Phase::header;
  m_entity_is_message = is_message;
  m_path = std::move(path);
  m_header.clear();
  m_header_octets = 0;
  m_header_lines = 0;
  m_header_cut = false;
  m_field.clear();
  m_long_header_reported = false;
  m_8bit_reported = false;
  m_encoding = Encoding::none;
  m_opaque = false;
  m_in_digest = false;
  m_bad = 0;
  m_b64_chars = 0;
  m_qp_state = 0;
}

void MessageChecker::end_header_section()
{
  m_phase = Phase::body;
  m_opaque = true;
  m_encoding = Encoding::none;
  if (m_header_octets > m_limits.header_section) {
    add("header-too-large", Severity::error,
        "a header section of " + std::to_string(m_header_octets) + " octets (the limit is " +
            std::to_string(m_limits.header_section) + "; see --max-header)",
        m_path.empty() ? "header" : "part " + m_path + ", header");
  }
  const auto headers = Headers::parse(m_header);
  m_header.clear();
  if (m_entity_is_message && m_depth == 0) {
    m_from = cut(headers.decoded("From"));
    m_subject = cut(headers.decoded("Subject"));
  }
  if (m_entity_is_message) {
    check_message_fields(headers);
  }

  // MIME (RFC 2045 section 5.2: no Content-Type is text/plain; RFC 2046 section 5.1.5: in a
  // multipart/digest, message/rfc822).
  ContentType type{m_in_digest ? "message" : "text", m_in_digest ? "rfc822" : "plain", {}, {}, {}};
  if (auto value = headers.get("Content-Type")) {
    if (auto parsed = parse_content_type(*value)) {
      type = std::move(*parsed);
    } else {
      add("content-type-invalid", Severity::warning,
          "Content-Type " + quote(*value) + " cannot be parsed (it is read as text/plain)",
          where_header("Content-Type"));
      type = {"text", "plain", {}, {}, {}};
    }
  }
  std::string encoding = "7bit";
  if (auto value = headers.get("Content-Transfer-Encoding")) {
    encoding = lower(text::trim(*value));
  }
  const bool identity = encoding == "7bit" || encoding == "8bit" || encoding == "binary";

  if (type.type == "multipart") {
    if (!type.boundary || type.boundary->empty()) {
      add("mime-boundary-missing", Severity::error,
          "a multipart/" + type.subtype +
              " without a boundary parameter: its parts cannot be "
              "told apart",
          where_header("Content-Type"));
      return;
    }
    if (too_deep()) {
      return;
    }
    m_multiparts.push_back({*type.boundary, m_path, 0, m_depth, type.subtype == "digest"});
    return;  // the preamble is not checked
  }
  if (type.type == "message" && (type.subtype == "rfc822" || type.subtype == "global") &&
      identity) {
    if (too_deep()) {
      return;
    }
    // The attached message is checked as a message of its own (RFC 3501 section 6.4.5 numbers
    // the message a top-level message/rfc822 body holds 1).
    const auto depth = m_depth + 1;
    start_entity(m_path.empty() ? "1" : m_path, true);
    m_depth = depth;
    return;
  }
  m_opaque = false;
  if (encoding == "base64") {
    m_encoding = Encoding::base64;
  } else if (encoding == "quoted-printable") {
    m_encoding = Encoding::quoted_printable;
  } else if (!identity) {
    add("encoding-unknown", Severity::warning,
        "the unknown Content-Transfer-Encoding " + quote(encoding) +
            " (RFC 2045 section 6.1): clients show the part undecoded",
        where_header("Content-Transfer-Encoding"));
  }
  if (type.type == "text" && type.charset && !known_charset(*type.charset)) {
    add("charset-unknown", Severity::warning,
        "the unknown charset " + quote(*type.charset) + " (clients may not show the text)",
        where_header("Content-Type"));
  }
}

void MessageChecker::check_message_fields(const Headers& headers)
{
  // An attached message without From breaks no client: only the message's own does. A From
  // without a usable address (a bounce's `MAILER-DAEMON <>`) is shown as it is.
  const auto from_severity = m_depth == 0 ? Severity::error : Severity::warning;
  if (auto from = headers.get("From")) {
    std::vector<std::string> invalid;
    const auto mailboxes = parse_address_list(*from, invalid);
    if (!invalid.empty() || mailboxes.empty()) {
      add("from-invalid", Severity::warning,
          "From " + quote(*from) + " has no valid address" +
              (invalid.empty() ? std::string() : ": " + invalid.front()),
          where_header("From"));
    }
  } else if (!m_header_cut) {
    add("from-missing", from_severity, "no From field (RFC 5322 section 3.6 requires one)",
        m_path.empty() ? "header" : "part " + m_path + ", header");
  }
  if (auto date = headers.get("Date")) {
    if (!parse_date(*date)) {
      add("date-invalid", Severity::warning, "Date " + quote(*date) + " cannot be parsed",
          where_header("Date"));
    }
  } else if (!m_header_cut) {
    add("date-missing", Severity::warning, "no Date field (RFC 5322 section 3.6 requires one)",
        m_path.empty() ? "header" : "part " + m_path + ", header");
  }
  for (const char* name : k_singletons) {
    const auto count = headers.get_all(name).size();
    if (count > 1) {
      add("field-duplicate", Severity::warning,
          std::to_string(count) + " " + name + " fields (RFC 5322 section 3.6 allows one)",
          where_header(name));
    }
  }
  for (const char* name : k_address_fields) {
    for (auto value : headers.get_all(name)) {
      std::vector<std::string> invalid;
      parse_address_list(value, invalid);
      if (!invalid.empty()) {
        add("address-invalid", Severity::warning,
            std::string(name) + " " + quote(value) + ": " + invalid.front(), where_header(name));
        break;
      }
    }
  }
  for (const char* name : k_text_fields) {
    for (auto value : headers.get_all(name)) {
      std::string unknown;
      auto bad = bad_encoded_word(value, unknown);
      if (!bad.empty()) {
        add("encoded-word-invalid", Severity::warning,
            "an encoded-word in " + std::string(name) + ": " + bad + " (RFC 2047)",
            where_header(name));
        break;
      }
      if (!unknown.empty()) {
        add("charset-unknown", Severity::warning,
            "an encoded-word in " + std::string(name) + " uses the unknown charset " +
                quote(unknown),
            where_header(name));
        break;
      }
    }
  }
}

void MessageChecker::body_line(std::string_view line, bool complete, std::uint64_t start)
{
  if (complete && !m_multiparts.empty() && boundary_line(line)) {
    return;
  }
  if (complete) {
    decode_bytes(line, start);
  }
  decode_line_end(start);
}

void MessageChecker::decode_bytes(std::string_view bytes, std::uint64_t offset)
{
  if (m_opaque || m_encoding == Encoding::none) {
    return;
  }
  const auto bad = [this, offset](std::size_t k) {
    if (m_bad++ == 0) {
      m_first_bad = offset + k;
    }
  };
  for (std::size_t k = 0; k < bytes.size(); ++k) {
    const auto c = static_cast<unsigned char>(bytes[k]);
    if (m_encoding == Encoding::base64) {
      if (is_base64_char(c)) {
        ++m_b64_chars;
      } else if (c == '=') {
        // padding
      } else if (!is_space(c) && c != '\r') {
        bad(k);
      }
      continue;
    }
    switch (m_qp_state) {
    case 0: m_qp_state = c == '=' ? 1 : 0; break;
    case 1:
      m_qp_state = is_hex(c) ? 2 : is_space(c) ? 3 : 0;
      if (m_qp_state == 0) {
        bad(k);
      }
      break;
    case 2:
      m_qp_state = 0;
      if (!is_hex(c)) {
        bad(k);
      }
      break;
    default:  // whitespace after '=': only a soft line break may follow
      if (!is_space(c)) {
        m_qp_state = 0;
        bad(k);
      }
      break;
    }
  }
}

void MessageChecker::decode_line_end(std::uint64_t start)
{
  if (m_encoding == Encoding::quoted_printable && !m_opaque) {
    if (m_qp_state == 2) {
      if (m_bad++ == 0) {
        m_first_bad = start;
      }
    }
    m_qp_state = 0;
  }
}

void MessageChecker::end_leaf()
{
  if (m_phase != Phase::body || m_opaque) {
    return;
  }
  if (m_encoding == Encoding::base64) {
    if (m_bad > 0) {
      add("base64-invalid", Severity::error,
          std::to_string(m_bad) + " octets outside the base64 alphabet in " + where_part() +
              ", the first at offset " + std::to_string(m_first_bad),
          where_part());
    } else if (m_b64_chars % 4 == 1) {
      add("base64-invalid", Severity::error,
          "the base64 text of " + where_part() + " ends inside a quantum (" +
              std::to_string(m_b64_chars) + " characters): it is cut",
          where_part());
    }
  } else if (m_encoding == Encoding::quoted_printable && m_bad > 0) {
    add("quoted-printable-invalid", Severity::warning,
        std::to_string(m_bad) + " '=' not followed by two hexadecimal digits or a line end in " +
            where_part() + ", the first at offset " + std::to_string(m_first_bad),
        where_part());
  }
  m_encoding = Encoding::none;
  m_opaque = true;
  m_bad = 0;
  m_b64_chars = 0;
  m_qp_state = 0;
}

void MessageChecker::finish()
{
  if (m_cr) {
    m_cr = false;
    if (m_bare_crs++ == 0) {
      m_first_bare_cr = m_offset - 1;
    }
  }
  if (m_line_length > 0 || m_line_flushed) {
    end_line(false);
  }
  if (m_phase == Phase::header) {
    if (m_entity_is_message && m_header_lines == 0) {
      add("header-missing", Severity::error,
          m_offset == 0 ? std::string("the message is empty") : "the message has no header section",
          m_path.empty() ? "offset 0" : "part " + m_path);
    } else {
      end_header_section();
    }
  }
  end_leaf();
  while (!m_multiparts.empty()) {
    const auto& open = m_multiparts.back();
    add("mime-truncated", Severity::error,
        "the multipart " + (open.path.empty() ? std::string("body") : "part " + open.path) +
            " never ends: its closing boundary '--" + open.boundary + "--' is missing after " +
            std::to_string(open.parts) + " parts (the message ends at offset " +
            std::to_string(m_offset) + ")",
        open.path.empty() ? "body" : "part " + open.path);
    m_multiparts.pop_back();
  }
  if (m_nuls > 0) {
    add("nul-byte", Severity::error,
        std::to_string(m_nuls) + " NUL octets, the first at offset " + std::to_string(m_first_nul),
        "offset " + std::to_string(m_first_nul));
  }
  if (m_bare_crs > 0) {
    add("bare-cr", Severity::error,
        std::to_string(m_bare_crs) +
            " CR octets not followed by LF (RFC 5322 section 2.3), the "
            "first at offset " +
            std::to_string(m_first_bare_cr),
        "offset " + std::to_string(m_first_bare_cr));
  }
  if (m_long_body_lines > 0) {
    add("body-line-too-long", Severity::warning,
        std::to_string(m_long_body_lines) +
            " body lines over 998 octets (RFC 5322 section "
            "2.1.1), the longest " +
            std::to_string(m_longest_body_line) + " octets",
        "offset " + std::to_string(m_first_long_body_line));
  }
}

}  // namespace mw::mail
