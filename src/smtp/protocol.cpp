// SPDX-License-Identifier: Apache-2.0
#include "smtp/protocol.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mw::smtp {

namespace {

using text::lower;
using text::printable;
using text::trim;
using text::upper;

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

std::vector<std::string_view> words(std::string_view s)
{
  std::vector<std::string_view> out;
  while (true) {
    s = trim(s);
    if (s.empty()) {
      return out;
    }
    auto end = s.find_first_of(" \t");
    out.push_back(s.substr(0, end));
    if (end == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(end);
  }
}

// Reads 1-3 digits at the front of s (RFC 3463 section 2: subject and detail are 1*3digit).
std::optional<int> take_small_number(std::string_view& s)
{
  std::size_t n = 0;
  while (n < s.size() && n < 4 && is_digit(s[n])) {
    ++n;
  }
  if (n == 0 || n > 3) {
    return std::nullopt;
  }
  int value = 0;
  std::from_chars(s.data(), s.data() + n, value);
  s.remove_prefix(n);
  return value;
}

struct ParsedEnhanced {
  EnhancedCode code;
  std::size_t length = 0;  // octets of the code and the blanks after it
};

// An enhanced code "c.s.d" at the start of text, followed by a blank or the end.
std::optional<ParsedEnhanced> parse_enhanced(std::string_view text)
{
  auto rest = text;
  if (rest.empty() || (rest[0] != '2' && rest[0] != '4' && rest[0] != '5')) {
    return std::nullopt;
  }
  ParsedEnhanced out;
  out.code.class_ = rest[0] - '0';
  rest.remove_prefix(1);
  if (rest.empty() || rest[0] != '.') {
    return std::nullopt;
  }
  rest.remove_prefix(1);
  auto subject = take_small_number(rest);
  if (!subject || rest.empty() || rest[0] != '.') {
    return std::nullopt;
  }
  rest.remove_prefix(1);
  auto detail = take_small_number(rest);
  if (!detail || (!rest.empty() && rest[0] != ' ' && rest[0] != '\t')) {
    return std::nullopt;
  }
  out.code.subject = *subject;
  out.code.detail = *detail;
  while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) {
    rest.remove_prefix(1);
  }
  out.length = text.size() - rest.size();
  return out;
}

std::string_view strip_enhanced(std::string_view line)
{
  auto parsed = parse_enhanced(line);
  return parsed ? line.substr(parsed->length) : line;
}

void check_line_safe(std::string_view value, std::string_view what)
{
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      throw UsageError(std::string(what) + " must not contain a line break or control character");
    }
  }
}

void check_domain(std::string_view domain)
{
  check_line_safe(domain, "the EHLO/HELO name");
  if (domain.empty() || domain.find(' ') != std::string_view::npos) {
    throw UsageError("the EHLO/HELO name must be one word, e.g. the machine's domain name");
  }
}

void check_address(std::string_view address)
{
  check_line_safe(address, "an SMTP address");
  if (address.find_first_of("<>") != std::string_view::npos) {
    throw UsageError("an SMTP address is given without angle brackets: '" + printable(address) +
                     "'");
  }
}

std::string greeting_domain(std::string_view line)
{
  auto w = words(line);
  return w.empty() ? std::string() : std::string(w.front());
}

// A queue id candidate: printable ASCII, no blanks, not absurdly long; trailing punctuation
// from the surrounding sentence removed.
std::optional<std::string> plausible_id(std::string_view token)
{
  while (!token.empty() &&
         std::string_view(".,;:)]").find(token.back()) != std::string_view::npos) {
    token.remove_suffix(1);
  }
  while (!token.empty() && (token.front() == '(' || token.front() == '[')) {
    token.remove_prefix(1);
  }
  if (token.empty() || token.size() > 128) {
    return std::nullopt;
  }
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return std::nullopt;
    }
  }
  return std::string(token);
}

// An id that stands alone in free text (Sendmail, SES): letters and digits with a digit,
// at least six long, so that words such as "OK" or "Message" are not mistaken for one.
bool looks_like_bare_id(std::string_view token)
{
  if (token.size() < 6) {
    return false;
  }
  bool digit = false;
  bool letter = false;
  for (char c : token) {
    if (is_digit(c)) {
      digit = true;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      letter = true;
    } else if (c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return digit && letter;
}

}  // namespace

std::string EnhancedCode::text() const
{
  if (!present()) {
    return {};
  }
  return std::to_string(class_) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

std::string Reply::text() const
{
  std::string out;
  for (const auto& line : lines) {
    std::string_view piece = line;
    if (enhanced.present()) {
      piece = strip_enhanced(piece);
    }
    piece = trim(piece);
    if (piece.empty()) {
      continue;
    }
    if (!out.empty()) {
      out += ' ';
    }
    out.append(piece);
  }
  return out;
}

std::optional<Reply> ReplyParser::feed(std::string_view input, std::size_t& consumed)
{
  consumed = 0;
  while (consumed < input.size()) {
    auto rest = input.substr(consumed);
    auto nl = rest.find('\n');
    auto piece = rest.substr(0, nl);
    if (m_line.size() + piece.size() > k_max_line) {
      m_line.clear();
      m_reply = Reply{};
      throw ProtocolError("the SMTP server sent a reply line longer than " +
                          std::to_string(k_max_line) + " octets");
    }
    m_line.append(piece);
    if (nl == std::string_view::npos) {
      consumed = input.size();
      return std::nullopt;
    }
    consumed += nl + 1;
    if (!m_line.empty() && m_line.back() == '\r') {
      m_line.pop_back();
    }
    bool last = false;
    try {
      last = take_line(m_line);
    } catch (...) {
      m_line.clear();
      m_reply = Reply{};
      throw;
    }
    m_line.clear();
    if (last) {
      Reply done = std::move(m_reply);
      m_reply = Reply{};
      return done;
    }
  }
  return std::nullopt;
}

bool ReplyParser::take_line(std::string_view line)
{
  auto malformed = [&](std::string_view problem) {
    return ProtocolError("malformed SMTP reply line (" + std::string(problem) + "): '" +
                         printable(line) + "'");
  };
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    throw malformed("no 3-digit reply code");
  }
  if (line[0] < '2' || line[0] > '5') {
    throw malformed("reply code outside 200-599");
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      throw malformed("the reply code is followed by neither ' ' nor '-'");
    }
  }
  std::string_view text = line.size() > 4 ? trim(line.substr(4)) : std::string_view{};

  if (m_reply.lines.empty()) {
    m_reply.code = code;
    if (auto parsed = parse_enhanced(text)) {
      if (m_enhanced || parsed->code.class_ == code / 100) {
        m_reply.enhanced = parsed->code;
      }
    }
  } else if (code != m_reply.code) {
    throw malformed("a line of a multi-line reply has code " + std::to_string(code) +
                    ", the reply began with " + std::to_string(m_reply.code));
  }
  if (m_reply.lines.size() >= k_max_reply_lines) {
    throw ProtocolError("the SMTP server sent a reply of more than " +
                        std::to_string(k_max_reply_lines) + " lines");
  }
  m_reply.lines.emplace_back(text);
  return last;
}

Extensions Extensions::from_ehlo(const Reply& reply)
{
  // The keywords that only say "offered" (their RFCs are named in Extensions).
  static constexpr std::pair<std::string_view, bool Extensions::*> k_flags[] = {
      {"PIPELINING", &Extensions::pipelining},
      {"8BITMIME", &Extensions::eight_bit_mime},
      {"SMTPUTF8", &Extensions::smtputf8},
      {"DSN", &Extensions::dsn},
      {"STARTTLS", &Extensions::starttls},
      {"ENHANCEDSTATUSCODES", &Extensions::enhanced_status_codes},
      {"CHUNKING", &Extensions::chunking},
  };
  Extensions ext;
  if (reply.code != 250 || reply.lines.empty()) {
    return ext;
  }
  ext.known = true;
  ext.greeting_name = greeting_domain(reply.lines.front());
  ext.lines.assign(reply.lines.begin() + 1, reply.lines.end());
  auto add_auth = [&](const std::vector<std::string_view>& mechanisms) {
    for (auto mechanism : mechanisms) {
      if (mechanism.empty()) {
        continue;  // "AUTH= LOGIN": the obsolete form with nothing after the '='
      }
      auto name = upper(mechanism);
      if (std::find(ext.auth.begin(), ext.auth.end(), name) == ext.auth.end()) {
        ext.auth.push_back(std::move(name));
      }
    }
  };
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    auto w = words(reply.lines[i]);
    if (w.empty()) {
      continue;
    }
    auto keyword = upper(w.front());
    std::vector<std::string_view> args(w.begin() + 1, w.end());
    // Old Microsoft and Netscape servers announce "AUTH=LOGIN PLAIN" (before RFC 2554);
    // clients of that time looked for it, so servers still send both forms.
    if (keyword.starts_with("AUTH=")) {
      args.insert(args.begin(), w.front().substr(5));
      keyword = "AUTH";
    }
    if (keyword == "SIZE") {
      std::uint64_t limit = 0;
      if (!args.empty()) {
        auto arg = args.front();
        auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), limit);
        if (ec != std::errc() || ptr != arg.data() + arg.size()) {
          limit = 0;  // an unreadable limit is no known limit, not a reason to fail
        }
      }
      ext.size = limit;
    } else if (const auto* flag =
                   std::find_if(std::begin(k_flags), std::end(k_flags),
                                [&](const auto& row) { return row.first == keyword; });
               flag != std::end(k_flags)) {
      ext.*(flag->second) = true;
    } else if (keyword == "AUTH") {
      add_auth(args);
    }
  }
  return ext;
}

std::string ehlo(std::string_view domain)
{
  check_domain(domain);
  return "EHLO " + std::string(domain) + "\r\n";
}

std::string helo(std::string_view domain)
{
  check_domain(domain);
  return "HELO " + std::string(domain) + "\r\n";
}

std::string lhlo(std::string_view domain)
{
  check_domain(domain);
  return "LHLO " + std::string(domain) + "\r\n";
}

LmtpReplies::LmtpReplies(const std::vector<Reply>& rcpt_replies) : m_replies(rcpt_replies.size())
{
  for (std::size_t i = 0; i < rcpt_replies.size(); ++i) {
    if (rcpt_replies[i].positive()) {
      m_accepted.push_back(i);
    }
  }
}

std::size_t LmtpReplies::take(Reply reply)
{
  if (due() == 0) {
    throw ProtocolError("the LMTP server sent " + std::to_string(m_accepted.size() + 1) +
                        " replies after the message, for " + std::to_string(m_accepted.size()) +
                        " accepted recipients (RFC 2033 section 4.2: one each); its replies are "
                        "out of step with the commands");
  }
  const auto index = m_accepted[m_next++];
  m_replies[index] = std::move(reply);
  return index;
}

std::string auth(std::string_view mechanism, std::optional<std::string_view> initial_response)
{
  // A mechanism name is 1-20 of A-Z, 0-9, '-', '_' (RFC 4422 section 3.1); a response is
  // base64 or "=": nothing here may end the line early.
  const auto clean = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7F; });
  };
  if (!clean(mechanism) || (initial_response && !clean(*initial_response))) {
    throw UsageError("invalid SASL mechanism name or response for AUTH");
  }
  std::string line = "AUTH " + std::string(mechanism);
  if (initial_response) {
    line += " " + std::string(*initial_response);
  }
  return line + "\r\n";
}

std::string auth_response(std::string_view response)
{
  // Base64, "=" or "*": printable ASCII without blanks, or nothing (an empty response).
  if (!std::all_of(response.begin(), response.end(), [](char c) { return c > ' ' && c < 0x7F; })) {
    throw UsageError("invalid SASL response for AUTH");
  }
  return std::string(response) + "\r\n";
}

std::string bdat_last(std::uint64_t size)
{
  return "BDAT " + std::to_string(size) + " LAST\r\n";
}

std::string bdat_data(std::string_view message)
{
  std::string out;
  out.reserve(message.size() + message.size() / 40);
  for (std::size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < message.size() && message[i + 1] == '\n') {
        ++i;
      }
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) {
    out += "\r\n";
  }
  return out;
}

std::string_view starttls()
{
  return "STARTTLS\r\n";
}

std::string_view data()
{
  return "DATA\r\n";
}

std::string_view rset()
{
  return "RSET\r\n";
}

std::string_view quit()
{
  return "QUIT\r\n";
}

std::string_view end_of_data()
{
  return ".\r\n";
}

std::string mail_from(std::string_view address, const MailParameters& parameters)
{
  check_address(address);
  std::string line = "MAIL FROM:<" + std::string(address) + ">";
  if (parameters.size) {
    line += " SIZE=" + std::to_string(*parameters.size);
  }
  if (parameters.eight_bit) {
    line += " BODY=8BITMIME";
  }
  if (parameters.smtputf8) {
    line += " SMTPUTF8";
  }
  if (!parameters.ret.empty()) {
    auto ret = upper(parameters.ret);
    if (ret != "FULL" && ret != "HDRS") {
      throw UsageError("the DSN return value must be FULL or HDRS, not '" +
                       printable(parameters.ret) + "'");
    }
    line += " RET=" + ret;
  }
  if (!parameters.envid.empty()) {
    line += " ENVID=" + xtext(parameters.envid);
  }
  return line + "\r\n";
}

std::string rcpt_to(std::string_view address, const RcptParameters& parameters)
{
  check_address(address);
  std::string line = "RCPT TO:<" + std::string(address) + ">";
  if (!parameters.notify.empty()) {
    auto notify = upper(parameters.notify);
    bool valid = notify == "NEVER";
    if (!valid) {
      valid = true;
      std::string_view rest = notify;
      while (valid) {
        auto comma = rest.find(',');
        auto item = rest.substr(0, comma);
        valid = item == "SUCCESS" || item == "FAILURE" || item == "DELAY";
        if (comma == std::string_view::npos) {
          break;
        }
        rest.remove_prefix(comma + 1);
      }
    }
    if (!valid) {
      throw UsageError("DSN notify must be NEVER or a comma list of SUCCESS, FAILURE, DELAY, "
                       "not '" +
                       printable(parameters.notify) + "'");
    }
    line += " NOTIFY=" + notify;
  }
  if (parameters.orcpt) {
    line += " ORCPT=rfc822;" + xtext(address);
  }
  return line + "\r\n";
}

std::string xtext(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= '!' && u <= '~' && c != '+' && c != '=') {
      out += c;
    } else {
      out += '+';
      mw::text::append_hex(out, u, mw::text::Hex::upper);
    }
  }
  return out;
}

void DataEncoder::end_line(std::string& out)
{
  out += "\r\n";
  m_longest = std::max(m_longest, m_line_length);
  m_line_length = 0;
  m_line_start = true;
}

void DataEncoder::encode(std::string_view chunk, std::string& out)
{
  out.reserve(out.size() + chunk.size() + 2);
  std::size_t i = 0;
  const std::size_t n = chunk.size();
  while (i < n) {
    if (m_pending_cr) {
      // The CR ended a line whatever follows; an LF right after it belongs to it.
      m_pending_cr = false;
      end_line(out);
      if (chunk[i] == '\n') {
        ++i;
        continue;
      }
    }
    if (m_line_start) {
      m_line_start = false;
      if (chunk[i] == '.') {
        out += '.';
      }
    }
    auto j = chunk.find_first_of("\r\n", i);
    auto end = j == std::string_view::npos ? n : j;
    auto run = chunk.substr(i, end - i);
    m_line_length += run.size();
    if (!m_eight_bit) {
      m_eight_bit = std::any_of(run.begin(), run.end(),
                                [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    }
    out.append(run);
    if (j == std::string_view::npos) {
      return;
    }
    if (chunk[j] == '\n') {
      end_line(out);
    } else {
      m_pending_cr = true;
    }
    i = j + 1;
  }
}

void DataEncoder::finish(std::string& out)
{
  if (m_pending_cr || !m_line_start) {
    m_pending_cr = false;
    end_line(out);
  }
  out += end_of_data();
}

std::optional<std::string> queue_id(const Reply& final_reply)
{
  if (final_reply.code / 100 != 2) {
    return std::nullopt;
  }
  std::string text;
  for (const auto& line : final_reply.lines) {
    auto piece = trim(strip_enhanced(line));
    if (!piece.empty()) {
      text += text.empty() ? "" : " ";
      text.append(piece);
    }
  }
  auto w = words(text);
  std::vector<std::string> lw;
  for (auto word : w) {
    lw.push_back(lower(word));
  }

  // Postfix: "Ok: queued as 4Xyz12" (also used by many appliances built on it).
  for (std::size_t i = 0; i + 2 < w.size(); ++i) {
    if (lw[i] == "queued" && lw[i + 1] == "as") {
      return plausible_id(w[i + 2]);
    }
  }
  // Exim: "OK id=1abc-00012-AB".
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (lw[i].starts_with("id=")) {
      return plausible_id(w[i].substr(3));
    }
  }
  // Exchange and Microsoft 365: "<id@host> [InternalId=123, Hostname=...] Queued mail ...".
  for (auto word : w) {
    if (word.size() > 2 && word.front() == '<' && word.back() == '>' &&
        word.find('@') != std::string_view::npos) {
      return plausible_id(word);
    }
  }
  // Gmail: "OK  1700000000 a1-20020a05.123 - gsmtp".
  if (w.size() >= 3 && lw.back() == "gsmtp" && w[w.size() - 2] == "-") {
    auto id = w[w.size() - 3];
    if (looks_like_bare_id(id)) {
      return plausible_id(id);
    }
    return std::nullopt;
  }
  // qmail: "ok 1700000000 qp 1234"; the qp number is what its log lines carry.
  for (std::size_t i = 0; i + 1 < w.size(); ++i) {
    if (lw[i] == "qp" && std::all_of(w[i + 1].begin(), w[i + 1].end(), is_digit)) {
      return "qp " + std::string(w[i + 1]);
    }
  }
  // Sendmail: "x8FHiLxx012345 Message accepted for delivery".
  if (w.size() >= 3 && lw[1] == "message" && lw[2] == "accepted" && looks_like_bare_id(w[0])) {
    return plausible_id(w[0]);
  }
  // Amazon SES and others: "Ok 0100018b...-000000".
  if (w.size() >= 2 && (lw[0] == "ok" || lw[0] == "ok:") && looks_like_bare_id(w[1])) {
    return plausible_id(w[1]);
  }
  return std::nullopt;
}

}  // namespace mw::smtp
