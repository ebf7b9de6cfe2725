// SPDX-License-Identifier: Apache-2.0
#include "mail/compose.hpp"
#include "mail/date.hpp"
#include "mail/headers.hpp"
#include "mail/rfc2047.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <optional>

using mw::mail::Attachment;
using mw::mail::Composed;
using mw::mail::Composition;
using mw::mail::Headers;
using mw::mail::Mailbox;

namespace {

// 2026-11-23T14:04:05Z, a Monday.
constexpr std::chrono::sys_seconds k_when{std::chrono::seconds{1795442645}};

Composition basic()
{
  Composition c;
  c.from = {"Alice", "alice@example.com"};
  c.to = {{"Bob", "bob@example.net"}};
  c.subject = "Hello";
  c.body = "Hi Bob,\nthis is a test.\n";
  c.date = k_when;
  c.utc_offset_minutes = 60;
  c.message_id = "<token1@example.com>";
  c.boundary = "=_mailwrench_b0und";
  return c;
}

std::vector<std::string> lines_of(std::string_view text)
{
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find("\r\n", pos);
    REQUIRE(eol != std::string_view::npos);  // every line ends in CRLF
    lines.emplace_back(text.substr(pos, eol - pos));
    pos = eol + 2;
  }
  return lines;
}

std::string header_section(const std::string& message)
{
  const std::size_t end = message.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  return message.substr(0, end + 2);
}

std::string body_of(const std::string& message)
{
  return message.substr(message.find("\r\n\r\n") + 4);
}

// The checks every composed message must pass: CRLF only, no line over 998 octets, header
// lines within 78 columns (the tests only use foldable text), and what compose reports.
void check_shape(const Composed& composed)
{
  const std::string& m = composed.message;
  std::size_t longest = 0;
  bool eight_bit = false;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      REQUIRE(i > 0);
      REQUIRE(m[i - 1] == '\r');
    }
    if (m[i] == '\r') {
      REQUIRE(i + 1 < m.size());
      REQUIRE(m[i + 1] == '\n');
    }
    eight_bit = eight_bit || static_cast<unsigned char>(m[i]) >= 0x80;
  }
  for (const std::string& line : lines_of(m)) {
    CHECK(line.size() <= 998);
    longest = std::max(longest, line.size());
  }
  for (const std::string& line : lines_of(header_section(m))) {
    INFO(line);
    CHECK(line.size() <= 78);
  }
  CHECK(composed.longest_line == longest);
  CHECK(composed.eight_bit == eight_bit);
}

int hex_digit(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;  // RFC 2045 6.7 (1): uppercase only from an encoder
}

// A strict quoted-printable decoder (RFC 2045 section 6.7) that also checks the encoder's rules.
std::string qp_decode(std::string_view qp)
{
  std::string out;
  std::size_t pos = 0;
  while (pos <= qp.size()) {
    std::size_t eol = qp.find("\r\n", pos);
    const bool hard = eol != std::string_view::npos;
    if (!hard) {
      eol = qp.size();
    }
    std::string_view line = qp.substr(pos, eol - pos);
    CHECK(line.size() <= 76);
    CHECK(line.find('\n') == std::string_view::npos);
    CHECK(line.find('\r') == std::string_view::npos);
    bool soft = false;
    if (!line.empty() && line.back() == '=') {
      soft = true;
      line.remove_suffix(1);
    } else if (!line.empty()) {
      CHECK(line.back() != ' ');
      CHECK(line.back() != '\t');
    }
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto u = static_cast<unsigned char>(line[i]);
      if (line[i] == '=') {
        REQUIRE(i + 2 < line.size());
        const int hi = hex_digit(line[i + 1]);
        const int lo = hex_digit(line[i + 2]);
        REQUIRE(hi >= 0);
        REQUIRE(lo >= 0);
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        CHECK(((u >= 33 && u <= 126) || u == ' ' || u == '\t'));
        out.push_back(line[i]);
      }
    }
    if (!hard) {
      break;
    }
    if (!soft) {
      out += "\r\n";
    }
    pos = eol + 2;
  }
  return out;
}

std::string crlf(std::string_view text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      out += "\r\n";
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

struct MimePart {
  Headers headers;
  std::string body;
};

// Splits a multipart body at its delimiters (RFC 2046 section 5.1.1).
std::vector<MimePart> split_multipart(const std::string& body, const std::string& boundary)
{
  const std::string delimiter = "\r\n--" + boundary;
  std::string text = "\r\n" + body;
  std::vector<MimePart> parts;
  std::size_t pos = text.find(delimiter);
  REQUIRE(pos != std::string::npos);
  for (;;) {
    pos += delimiter.size();
    if (text.compare(pos, 2, "--") == 0) {
      CHECK(text.substr(pos) == "--\r\n");
      break;
    }
    REQUIRE(text.compare(pos, 2, "\r\n") == 0);
    pos += 2;
    const std::size_t next = text.find(delimiter, pos);
    REQUIRE(next != std::string::npos);
    const std::string part = text.substr(pos, next - pos);
    const std::size_t blank = part.find("\r\n\r\n");
    REQUIRE(blank != std::string::npos);
    parts.push_back({Headers::parse(part.substr(0, blank + 2)), part.substr(blank + 4)});
    pos = next;
  }
  return parts;
}

std::string strip_crlf(std::string_view s)
{
  std::string out;
  for (char c : s) {
    if (c != '\r' && c != '\n') {
      out.push_back(c);
    }
  }
  return out;
}

// Every encoded-word in a header value, to check RFC 2047 section 2's 75-character limit.
std::vector<std::string> encoded_words(std::string_view value)
{
  std::vector<std::string> words;
  std::size_t pos = 0;
  while ((pos = value.find("=?", pos)) != std::string_view::npos) {
    const std::size_t q1 = value.find('?', pos + 2);
    const std::size_t q2 = value.find('?', q1 + 1);
    const std::size_t end = value.find("?=", q2 + 1);
    REQUIRE(end != std::string_view::npos);
    words.emplace_back(value.substr(pos, end + 2 - pos));
    pos = end + 2;
  }
  return words;
}

std::size_t count_fields(const std::string& message, std::string_view name)
{
  return Headers::parse(header_section(message)).get_all(name).size();
}

}  // namespace

TEST_CASE("compose: a plain ASCII message, byte for byte", "[compose]")
{
  const Composed composed = mw::mail::compose(basic());
  CHECK(composed.message == "Date: Mon, 23 Nov 2026 15:04:05 +0100\r\n"
                            "From: Alice <alice@example.com>\r\n"
                            "To: Bob <bob@example.net>\r\n"
                            "Subject: Hello\r\n"
                            "Message-ID: <token1@example.com>\r\n"
                            "MIME-Version: 1.0\r\n"
                            "Content-Type: text/plain; charset=us-ascii\r\n"
                            "Content-Transfer-Encoding: 7bit\r\n"
                            "\r\n"
                            "Hi Bob,\r\n"
                            "this is a test.\r\n");
  CHECK_FALSE(composed.eight_bit);
  CHECK(composed.longest_line == 42);
  CHECK(composed.message_id == "<token1@example.com>");
  check_shape(composed);
}

TEST_CASE("compose: Cc, no Subject, a body without a final newline", "[compose]")
{
  Composition c = basic();
  c.cc = {{"", "carol@example.org"}, {"Dave", "dave@example.org"}};
  c.subject.clear();
  c.body = "one line";
  const Composed composed = mw::mail::compose(c);
  const Headers h = Headers::parse(header_section(composed.message));
  CHECK(h.get("Cc") == "carol@example.org, Dave <dave@example.org>");
  CHECK_FALSE(h.get("Subject"));
  CHECK(body_of(composed.message) == "one line\r\n");
  check_shape(composed);
}

TEST_CASE("compose: UTF-8 subject and body without 8BITMIME go quoted-printable", "[compose]")
{
  Composition c = basic();
  c.subject = "Gr\xC3\xBC\xC3\x9F"
              "e aus K\xC3\xB6ln";
  c.body = "Sch\xC3\xB6ne Gr\xC3\xBC\xC3\x9F"
           "e \xE2\x82\xAC 5 = f\xC3\xBCnf\n\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\n";
  const Composed composed = mw::mail::compose(c);
  const Headers h = Headers::parse(header_section(composed.message));
  CHECK(h.decoded("Subject") == c.subject);
  CHECK(h.get("Subject")->find("=?UTF-8?") != std::string_view::npos);
  CHECK(h.get("Content-Type") == "text/plain; charset=utf-8");
  CHECK(h.get("Content-Transfer-Encoding") == "quoted-printable");
  CHECK(qp_decode(body_of(composed.message)) == crlf(c.body));
  CHECK_FALSE(composed.eight_bit);
  check_shape(composed);
}

TEST_CASE("compose: UTF-8 body with 8BITMIME goes 8bit", "[compose]")
{
  Composition c = basic();
  c.body = "Sch\xC3\xB6ne Gr\xC3\xBC\xC3\x9F"
           "e\r\n";
  c.eight_bit_allowed = true;
  const Composed composed = mw::mail::compose(c);
  const Headers h = Headers::parse(header_section(composed.message));
  CHECK(h.get("Content-Type") == "text/plain; charset=utf-8");
  CHECK(h.get("Content-Transfer-Encoding") == "8bit");
  CHECK(body_of(composed.message) == c.body);
  CHECK(composed.eight_bit);
  check_shape(composed);
}

TEST_CASE("compose: 8BITMIME allowed but ASCII text stays 7bit", "[compose]")
{
  Composition c = basic();
  c.eight_bit_allowed = true;
  const Composed composed = mw::mail::compose(c);
  CHECK(Headers::parse(header_section(composed.message)).get("Content-Transfer-Encoding") ==
        "7bit");
  CHECK_FALSE(composed.eight_bit);
}

TEST_CASE("compose: a line over 998 octets goes quoted-printable even with 8BITMIME", "[compose]")
{
  for (const bool ascii : {true, false}) {
    Composition c = basic();
    c.eight_bit_allowed = true;
    c.body = "short\n" + std::string(1500, ascii ? 'x' : 'y') + (ascii ? "" : "\xC3\xA9") +
             "\nshort again\n";
    const Composed composed = mw::mail::compose(c);
    const Headers h = Headers::parse(header_section(composed.message));
    CHECK(h.get("Content-Transfer-Encoding") == "quoted-printable");
    CHECK(h.get("Content-Type") ==
          (ascii ? "text/plain; charset=us-ascii" : "text/plain; charset=utf-8"));
    CHECK(qp_decode(body_of(composed.message)) == crlf(c.body));
    CHECK(composed.longest_line <= 78);
    CHECK_FALSE(composed.eight_bit);
    check_shape(composed);
  }
}

TEST_CASE("compose: a NUL octet forces quoted-printable", "[compose]")
{
  Composition c = basic();
  c.body = std::string("a\0b\n", 4);
  const Composed composed = mw::mail::compose(c);
  CHECK(body_of(composed.message) == "a=00b\r\n");
}

TEST_CASE("compose: leading dots and 'From ' lines are left to the transport", "[compose]")
{
  Composition c = basic();
  c.body = ".\n..two\n.leading dot\nFrom here\r\nmixed\rendings\n";
  const Composed composed = mw::mail::compose(c);
  CHECK(body_of(composed.message) ==
        ".\r\n..two\r\n.leading dot\r\nFrom here\r\nmixed\r\nendings\r\n");
  check_shape(composed);
}

TEST_CASE("compose: attachments make multipart/mixed with base64 parts", "[compose]")
{
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) {
    all_bytes.push_back(static_cast<char>(i));
  }
  all_bytes += all_bytes + all_bytes;  // several base64 lines
  Composition c = basic();
  c.body = "See attached.\n";
  c.attachments = {{"/home/alice/data/blob.bin", all_bytes}, {"report.PDF", "%PDF-1.4 fake"},
                   {"notes.txt", "plain ascii\n"},           {"latin.csv", "caf\xE9;1\n"},
                   {"utf.csv", "caf\xC3\xA9;1\n"},           {"photo.jpeg", "\xFF\xD8\xFF"}};
  const Composed composed = mw::mail::compose(c);
  check_shape(composed);
  CHECK_FALSE(composed.eight_bit);
  const Headers h = Headers::parse(header_section(composed.message));
  CHECK(h.get("Content-Type") == "multipart/mixed; boundary=\"=_mailwrench_b0und\"");
  CHECK_FALSE(h.get("Content-Transfer-Encoding"));
  const auto parts = split_multipart(body_of(composed.message), c.boundary);
  REQUIRE(parts.size() == 7);

  CHECK(parts[0].headers.get("Content-Type") == "text/plain; charset=us-ascii");
  CHECK(parts[0].headers.get("Content-Transfer-Encoding") == "7bit");
  CHECK(parts[0].body == "See attached.\r\n");

  const auto check_attachment = [&](const MimePart& part, std::string_view type,
                                    std::string_view name, const std::string& bytes) {
    INFO(name);
    CHECK(part.headers.get("Content-Type") == type);
    CHECK(part.headers.get("Content-Disposition") ==
          "attachment; filename=\"" + std::string(name) + "\"");
    CHECK(part.headers.get("Content-Transfer-Encoding") == "base64");
    for (const std::string& line : lines_of(part.body + "\r\n")) {
      CHECK(line.size() <= 76);
    }
    CHECK(mw::base64::decode(strip_crlf(part.body)) == bytes);
  };
  check_attachment(parts[1], "application/octet-stream; name=\"blob.bin\"", "blob.bin", all_bytes);
  CHECK(lines_of(parts[1].body + "\r\n").front().size() == 76);
  check_attachment(parts[2], "application/pdf; name=\"report.PDF\"", "report.PDF", "%PDF-1.4 fake");
  check_attachment(parts[3], "text/plain; charset=us-ascii; name=\"notes.txt\"", "notes.txt",
                   "plain ascii\n");
  check_attachment(parts[4], "text/csv; name=\"latin.csv\"", "latin.csv", "caf\xE9;1\n");
  check_attachment(parts[5], "text/csv; charset=utf-8; name=\"utf.csv\"", "utf.csv",
                   "caf\xC3\xA9;1\n");
  check_attachment(parts[6], "image/jpeg; name=\"photo.jpeg\"", "photo.jpeg", "\xFF\xD8\xFF");
}

TEST_CASE("compose: an 8bit text part labels the multipart 8bit", "[compose]")
{
  Composition c = basic();
  c.body = "\xC3\xA9t\xC3\xA9\n";
  c.eight_bit_allowed = true;
  c.attachments = {{"a.bin", "x"}};
  const Composed composed = mw::mail::compose(c);
  CHECK(composed.eight_bit);
  const Headers h = Headers::parse(header_section(composed.message));
  CHECK(h.get("Content-Transfer-Encoding") == "8bit");
  const auto parts = split_multipart(body_of(composed.message), c.boundary);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].headers.get("Content-Transfer-Encoding") == "8bit");
  CHECK(parts[0].body == "\xC3\xA9t\xC3\xA9\r\n");
}

TEST_CASE("compose: a body that contains the boundary goes quoted-printable", "[compose]")
{
  Composition c = basic();
  c.body = "--=_mailwrench_b0und\n--=_mailwrench_b0und--\n";
  c.attachments = {{"a.bin", "x"}};
  const Composed composed = mw::mail::compose(c);
  const auto parts = split_multipart(body_of(composed.message), c.boundary);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].headers.get("Content-Transfer-Encoding") == "quoted-printable");
  CHECK(qp_decode(parts[0].body) == crlf(c.body));
}

TEST_CASE("compose: non-ASCII file names use RFC 2231 and an RFC 2047 name", "[compose]")
{
  Composition c = basic();
  const std::string name = "Gr\xC3\xBC\xC3\x9F"
                           "e \xE2\x82\xAC report.pdf";
  c.attachments = {{name, "data"}};
  const Composed composed = mw::mail::compose(c);
  check_shape(composed);
  const auto parts = split_multipart(body_of(composed.message), c.boundary);
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].headers.get("Content-Disposition") ==
        "attachment; filename*=utf-8''Gr%C3%BC%C3%9Fe%20%E2%82%AC%20report.pdf");
  const std::string type(*parts[1].headers.get("Content-Type"));
  CHECK(type.starts_with("application/pdf; name=\"=?UTF-8?"));
  const std::string quoted = type.substr(type.find('"') + 1);
  CHECK(mw::mail::decode_rfc2047(quoted.substr(0, quoted.size() - 1)) == name);
}

TEST_CASE("compose: a long non-ASCII file name is split into RFC 2231 continuations", "[compose]")
{
  Composition c = basic();
  std::string name;
  for (int i = 0; i < 30; ++i) {
    name += "\xE6\x97\xA5\xE6\x9C\xAC";  // 日本
  }
  name += ".txt";
  c.attachments = {{name, "x"}};
  const Composed composed = mw::mail::compose(c);
  check_shape(composed);
  const std::string body = body_of(composed.message);
  for (const std::string& line : lines_of(body)) {
    CHECK(line.size() <= 78);
  }
  const auto parts = split_multipart(body, c.boundary);
  REQUIRE(parts.size() == 2);
  // Reassemble filename*0*, filename*1*, ... and percent-decode (RFC 2231 sections 3 and 4).
  const std::string disposition(*parts[1].headers.get("Content-Disposition"));
  std::string joined;
  for (int k = 0;; ++k) {
    const std::string key = "filename*" + std::to_string(k) + "*=";
    const std::size_t at = disposition.find(key);
    if (at == std::string::npos) {
      CHECK(k > 1);
      break;
    }
    const std::size_t begin = at + key.size();
    const std::size_t end = disposition.find(';', begin);
    joined += disposition.substr(begin, end == std::string::npos ? end : end - begin);
  }
  REQUIRE(joined.starts_with("utf-8''"));
  std::string decoded;
  for (std::size_t i = 7; i < joined.size(); ++i) {
    if (joined[i] == '%') {
      decoded.push_back(
          static_cast<char>(hex_digit(joined[i + 1]) * 16 + hex_digit(joined[i + 2])));
      i += 2;
    } else {
      decoded.push_back(joined[i]);
    }
  }
  CHECK(decoded == name);
  const std::string type(*parts[1].headers.get("Content-Type"));
  const std::size_t quote = type.find("name=\"") + 6;
  CHECK(mw::mail::decode_rfc2047(type.substr(quote, type.size() - quote - 1)) == name);
}

TEST_CASE("compose: an .eml attachment is message/rfc822 as it is, never base64", "[compose]")
{
  Composition c = basic();
  c.attachments = {{"fwd.eml", "From: x@y.example\nSubject: inner\n\nbody\n"}};
  const auto parts = split_multipart(body_of(mw::mail::compose(c).message), c.boundary);
  REQUIRE(parts.size() == 2);
  CHECK(parts[1].headers.get("Content-Type") == "message/rfc822; name=\"fwd.eml\"");
  CHECK(parts[1].headers.get("Content-Transfer-Encoding") == "7bit");
  CHECK(parts[1].body == "From: x@y.example\r\nSubject: inner\r\n\r\nbody\r\n");

  // 8-bit without 8BITMIME cannot be message/rfc822: it goes as an opaque file.
  c.attachments = {{"fwd.eml", "Subject: caf\xC3\xA9\n\nbody\n"}};
  const auto opaque = split_multipart(body_of(mw::mail::compose(c).message), c.boundary);
  REQUIRE(opaque.size() == 2);
  CHECK(opaque[1].headers.get("Content-Type") == "application/octet-stream; name=\"fwd.eml\"");
  CHECK(opaque[1].headers.get("Content-Transfer-Encoding") == "base64");
}

TEST_CASE("compose: Bcc is never in the message", "[compose]")
{
  Composition c = basic();
  c.to.clear();
  c.extra_headers = {{"Bcc", "hidden@example.org"}, {"bcc", "other@example.org"}};
  const Composed composed = mw::mail::compose(c);
  CHECK(composed.message.find("hidden@") == std::string::npos);
  CHECK(composed.message.find("other@") == std::string::npos);
  CHECK(count_fields(composed.message, "Bcc") == 0);
  // Only Bcc recipients: To says so, as sendmail and Postfix write it.
  CHECK(Headers::parse(header_section(composed.message)).get("To") == "undisclosed-recipients:;");
}

TEST_CASE("compose: extra headers are added, or replace the generated field", "[compose]")
{
  Composition c = basic();
  c.extra_headers = {{"X-Mailer-Test", "yes"},
                     {"Date", "Tue, 1 Dec 2026 10:00:00 +0000"},
                     {"message-id", "<mine@example.org>"},
                     {"Subject", "Replaced"},
                     {"To", "Someone <someone@example.org>"},
                     {"X-Unicode", "caf\xC3\xA9 cr\xC3\xA8me"},
                     {"Reply-To", "J\xC3\xBCrgen <j@example.org>, plain@example.org"},
                     {"MIME-Version", "1.0"},
                     {"X-Encoded-Already", "=?utf-8?q?caf=C3=A9?="},
                     {"Content-Type", "text/html; charset=utf-8"}};
  const Composed composed = mw::mail::compose(c);
  check_shape(composed);
  const std::string& m = composed.message;
  for (const char* name : {"Date", "Message-ID", "Subject", "To", "MIME-Version", "Content-Type",
                           "Content-Transfer-Encoding", "From"}) {
    INFO(name);
    CHECK(count_fields(m, name) == 1);
  }
  const Headers h = Headers::parse(header_section(m));
  CHECK(h.get("Date") == "Tue, 1 Dec 2026 10:00:00 +0000");
  CHECK(h.get("Message-ID") == "<mine@example.org>");
  CHECK(composed.message_id == "<mine@example.org>");
  CHECK(h.get("Subject") == "Replaced");
  CHECK(h.get("To") == "Someone <someone@example.org>");
  CHECK(h.get("X-Mailer-Test") == "yes");
  CHECK(h.decoded("X-Unicode") == "caf\xC3\xA9 cr\xC3\xA8me");
  CHECK(h.get("X-Encoded-Already") == "=?utf-8?q?caf=C3=A9?=");
  CHECK(h.get("Content-Type") == "text/html; charset=utf-8");
  const auto reply_to = mw::mail::parse_address_list(*h.get("Reply-To"));
  REQUIRE(reply_to.size() == 2);
  CHECK(reply_to[0].display_name == "J\xC3\xBCrgen");
  CHECK(reply_to[0].address == "j@example.org");
  CHECK(reply_to[1].address == "plain@example.org");
  CHECK_FALSE(composed.eight_bit);
  // The generated order stays: Date first, the replaced fields where they were.
  CHECK(m.starts_with("Date: Tue, 1 Dec 2026"));
  CHECK(m.find("To: Someone") < m.find("Subject: Replaced"));
  CHECK(m.find("X-Mailer-Test") > m.find("MIME-Version"));
}

TEST_CASE("compose: bad extra headers are usage errors", "[compose]")
{
  Composition c = basic();
  c.extra_headers = {{"Bad Name", "x"}};
  CHECK_THROWS_AS(mw::mail::compose(c), mw::UsageError);
  c.extra_headers = {{"", "x"}};
  CHECK_THROWS_AS(mw::mail::compose(c), mw::UsageError);
  c.extra_headers = {{"Content-Transfer-Encoding", "base64"}};
  CHECK_THROWS_AS(mw::mail::compose(c), mw::UsageError);
  c.extra_headers = {{"Content-Type", "text/html"}};
  c.attachments = {{"a.bin", "x"}};
  CHECK_THROWS_AS(mw::mail::compose(c), mw::UsageError);
  c = basic();
  c.from = {};
  CHECK_THROWS_AS(mw::mail::compose(c), mw::UsageError);
  c.extra_headers = {{"From", "Robot <robot@example.com>"}};
  CHECK(Headers::parse(header_section(mw::mail::compose(c).message)).get("From") ==
        "Robot <robot@example.com>");
}

TEST_CASE("compose: a header value cannot inject a header line", "[compose]")
{
  Composition c = basic();
  c.subject = "hi\r\nBcc: victim@example.org";
  c.extra_headers = {{"X-Note", "a\nBcc: victim2@example.org"}};
  c.to = {{"Eve\r\nBcc: victim3@example.org", "eve@example.org"}};
  const Composed composed = mw::mail::compose(c);
  check_shape(composed);
  CHECK(count_fields(composed.message, "Bcc") == 0);
}

TEST_CASE("compose: header folding at 78 columns, never over 998", "[compose]")
{
  Composition c = basic();
  c.to.clear();
  for (int i = 0; i < 25; ++i) {
    c.to.push_back({i % 3 == 0 ? "Person Number " + std::to_string(i) : "",
                    "user" + std::to_string(i) + "@example.com"});
  }
  c.to.push_back({"M\xC3\xBCller, J\xC3\xBCrgen (Abteilung Qualit\xC3\xA4tssicherung und Pr\xC3\xBC"
                  "fung)",
                  "jm@example.com"});
  c.subject = "A rather long subject line that goes on and on, well past the seventy-eight "
              "columns that RFC 5322 recommends, so that it has to be folded more than once";
  c.extra_headers = {{"X-Long", c.subject + " " + c.subject}};
  const Composed composed = mw::mail::compose(c);
  check_shape(composed);
  const Headers h = Headers::parse(header_section(composed.message));
  const auto to = mw::mail::parse_address_list(*h.get("To"));
  REQUIRE(to.size() == c.to.size());
  for (std::size_t i = 0; i < to.size(); ++i) {
    CHECK(to[i].address == c.to[i].address);
    CHECK(to[i].display_name == c.to[i].display_name);
  }
  CHECK(h.get("Subject") == c.subject);
  CHECK(h.get("X-Long") == c.subject + " " + c.subject);

  // Words that cannot be folded: lines may pass 78 but never 998.
  c = basic();
  c.subject = std::string(3000, 'x');
  c.extra_headers = {{"X-Unbroken", std::string(2000, 'y')}};
  c.attachments = {{std::string(300, 'z') + ".bin", "x"}};
  const Composed long_words = mw::mail::compose(c);
  for (const std::string& line : lines_of(long_words.message)) {
    CHECK(line.size() <= 998);
  }
  const Headers lh = Headers::parse(header_section(long_words.message));
  CHECK(lh.decoded("Subject") == c.subject);
  CHECK(lh.decoded("X-Unbroken") == std::string(2000, 'y'));
}

TEST_CASE("compose: RFC 2047 round trip over tricky header text", "[compose]")
{
  const std::vector<std::string> texts = {
      "plain ASCII stays plain",
      "caf\xC3\xA9",
      "Re: [ticket #123] Gr\xC3\xBC\xC3\x9F"
      "e aus K\xC3\xB6ln \xE2\x80\x94 \xE6\x9D\xB1\xE4\xBA\xAC",
      // Long German text: many encoded-words.
      "\xC3\x9C"
      "ber die Qualit\xC3\xA4tssicherung der Pr\xC3\xBC"
      "fberichte f\xC3\xBCr das n\xC3\xA4"
      "chste Gesch\xC3\xA4"
      "ftsjahr und dar\xC3\xBC"
      "ber hinaus, mit gr\xC3\xB6\xC3\x9F"
      "ter Sorgfalt",
      // CJK: B encoding, three-byte characters that must not be split.
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE4\xBB\xB6\xE5\x90\x8D\xE3\x81\xA7"
      "\xE3\x81\x99\xE3\x80\x82\xE9\x95\xB7\xE3\x81\x84\xE4\xBB\xB6\xE5\x90\x8D\xE3\x82\x92"
      "\xE6\x8A\x98\xE3\x82\x8A\xE8\xBF\x94\xE3\x81\x99\xE5\xBF\x85\xE8\xA6\x81\xE3\x81\x8C"
      "\xE3\x81\x82\xE3\x82\x8A\xE3\x81\xBE\xE3\x81\x99\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
      // Emoji: four-byte characters, a ZWJ sequence and a variation selector.
      "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D"
      "\xF0\x9F\x91\xA7 party \xE2\x9D\xA4\xEF\xB8\x8F \xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F"
      "\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"
      "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
      // A literal "=?" in ASCII text would be decoded by readers: it must be encoded.
      "the literal =?utf-8?q?not_encoded?= must survive",
      "a =? b ?= c",
      "under_score and question? and equals= signs with \xC3\xA9",
      "tabs\tand  double  spaces \xC3\xA9  kept",
      "mixed \xC3\xA9 plain \xC3\xA8 plain \xC3\xAA",
      "control \x01 char",
      "x",
      std::string(200, 'a') + " \xC3\xA9",
  };
  for (const std::string& text : texts) {
    INFO(text);
    const std::string value = mw::mail::encode_header_text(text, 7);
    const std::string field = "Subject: " + value + "\r\n";
    for (const std::string& line : lines_of(field)) {
      if (line.find(std::string(200, 'a')) == std::string::npos) {
        CHECK(line.size() <= 78);
      }
    }
    for (const std::string& word : encoded_words(value)) {
      CHECK(word.size() <= 75);
      CHECK(mw::mail::is_valid_utf8(mw::mail::decode_rfc2047(word)));
    }
    CHECK(Headers::parse(field).decoded("Subject") == text);
    if (text.find("=?") != std::string::npos) {
      CHECK_FALSE(encoded_words(value).empty());
    }
  }
  CHECK(mw::mail::encode_header_text("plain ASCII stays plain", 7) == "plain ASCII stays plain");
  CHECK(mw::mail::encode_header_text("caf\xC3\xA9", 7) == "=?UTF-8?Q?caf=C3=A9?=");
  CHECK(mw::mail::encode_header_text("Re: caf\xC3\xA9 ok", 7) == "Re: =?UTF-8?Q?caf=C3=A9?= ok");
  CHECK(mw::mail::encode_header_text("  trimmed  ", 7) == "trimmed");
  CHECK(mw::mail::encode_header_text("", 7).empty());
}

TEST_CASE("compose: invalid UTF-8 in header text becomes U+FFFD, never raw 8-bit", "[compose]")
{
  const std::string value = mw::mail::encode_header_text("caf\xE9", 7);
  for (char ch : value) {
    CHECK(static_cast<unsigned char>(ch) < 0x80);
  }
  CHECK(mw::mail::decode_rfc2047(value) == "caf\xEF\xBF\xBD");
}

TEST_CASE("compose: quoted-printable (RFC 2045 6.7)", "[compose]")
{
  using mw::mail::quoted_printable;
  CHECK(quoted_printable("") == "");
  CHECK(quoted_printable("a=b") == "a=3Db");
  CHECK(quoted_printable("caf\xC3\xA9") == "caf=C3=A9");
  CHECK(quoted_printable("trailing \nspace\t") == "trailing=20\r\nspace=09");
  CHECK(quoted_printable("in the middle") == "in the middle");
  CHECK(quoted_printable("lf\nonly\rcr\r\n") == "lf\r\nonly\r\ncr\r\n");
  CHECK(quoted_printable(std::string(76, 'x')) == std::string(76, 'x'));
  CHECK(quoted_printable(std::string(77, 'x')) ==
        std::string(75, 'x') + "=\r\n" + std::string(2, 'x'));
  // An encoded octet is never split by a soft line break.
  const std::string split = quoted_printable(std::string(74, 'x') + "\xC3\xA9");
  CHECK(split == std::string(74, 'x') + "=\r\n=C3=A9");

  std::string all;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 256; ++i) {
      all.push_back(static_cast<char>(i));
      if (i % 37 == 0) {
        all += "  ";
      }
    }
  }
  const std::vector<std::string> inputs = {
      all,
      std::string(1000, ' '),
      std::string(300, '=') + "\n" + std::string(300, '\t') + "\n",
      "line one \r\nline two\t\r\n\r\n. \r\n",
      "ends without newline ",
  };
  for (const std::string& input : inputs) {
    const std::string encoded = quoted_printable(input);
    CHECK(qp_decode(encoded) == crlf(input));
  }
}

TEST_CASE("compose: base64 in 76-character lines", "[compose]")
{
  using mw::mail::base64_lines;
  CHECK(base64_lines("") == "");
  CHECK(base64_lines("abc") == "YWJj\r\n");
  CHECK(base64_lines(std::string(57, 'a')) ==
        std::string(mw::base64::encode(std::string(57, 'a'))) + "\r\n");
  const std::string two = base64_lines(std::string(58, 'a'));
  CHECK(two.find("\r\n") == 76);
  CHECK(two.size() == 76 + 2 + 4 + 2);
}

TEST_CASE("compose: RFC 5322 dates", "[compose]")
{
  using mw::mail::format_date;
  CHECK(format_date(k_when, 60) == "Mon, 23 Nov 2026 15:04:05 +0100");
  CHECK(format_date(k_when, 0) == "Mon, 23 Nov 2026 14:04:05 +0000");
  // 2000-02-29T23:30:00Z: across a leap day and a day boundary either way.
  constexpr std::chrono::sys_seconds leap{std::chrono::seconds{951867000}};
  CHECK(format_date(leap, 60) == "Wed, 1 Mar 2000 00:30:00 +0100");
  CHECK(format_date(leap, -330) == "Tue, 29 Feb 2000 18:00:00 -0530");
  CHECK(format_date(leap, 345) == "Wed, 1 Mar 2000 05:15:00 +0545");
  for (const int offset : {-720, -330, 0, 60, 345, 840}) {
    CHECK(mw::mail::parse_date(format_date(k_when, offset)) == k_when);
  }
}

TEST_CASE("compose: Message-ID and boundary from random tokens", "[compose]")
{
  using mw::mail::make_boundary;
  using mw::mail::make_message_id;
  CHECK(make_message_id("example.com", "abc123") == "<abc123@example.com>");
  CHECK(make_message_id("Example.COM.", ".a b<c>d..e.") == "<abcd.e@Example.COM>");
  CHECK(make_message_id("", "t") == "<t@localhost.invalid>");
  CHECK(make_message_id("[192.0.2.1]", "t") == "<t@[192.0.2.1]>");
  CHECK_THROWS_AS(make_message_id("example.com", " "), mw::Error);
  CHECK(make_boundary("0123abcXYZ") == "=_mailwrench_0123abcXYZ");
  CHECK(make_boundary("a b\"c;d") == "=_mailwrench_abcd");
  CHECK(make_boundary(std::string(100, 'k')).size() == 70);
}

TEST_CASE("compose: content types by extension", "[compose]")
{
  using mw::mail::content_type_for;
  CHECK(content_type_for("a.txt") == "text/plain");
  CHECK(content_type_for("PHOTO.JPG") == "image/jpeg");
  CHECK(content_type_for("dir.d/archive.tar.gz") == "application/gzip");
  CHECK(content_type_for("x.docx") ==
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  CHECK(content_type_for("invite.ics") == "text/calendar");
  CHECK(content_type_for("card.vcf") == "text/vcard");
  CHECK(content_type_for("drawing.svg") == "image/svg+xml");
  CHECK(content_type_for("clip.mov") == "video/quicktime");
  CHECK(content_type_for("mail.eml") == "message/rfc822");
  CHECK(content_type_for("Makefile") == "application/octet-stream");
  CHECK(content_type_for(".bashrc") == "application/octet-stream");
  CHECK(content_type_for("x.unknown") == "application/octet-stream");
  CHECK(content_type_for("dots.d/noext") == "application/octet-stream");
  for (const char* ext :
       {"txt",  "html", "csv", "json", "xml", "pdf", "png", "jpg", "jpeg", "gif", "webp", "svg",
        "zip",  "gz",   "tgz", "tar",  "bz2", "xz",  "7z",  "doc", "docx", "xls", "xlsx", "ppt",
        "pptx", "odt",  "ods", "eml",  "ics", "vcf", "mp3", "wav", "ogg",  "mp4", "mov",  "avi"}) {
    INFO(ext);
    CHECK(content_type_for(std::string("f.") + ext) != "application/octet-stream");
  }
}

TEST_CASE("prepare_raw: LF input, missing Date and Message-ID are added", "[compose]")
{
  const auto raw = mw::mail::prepare_raw("From: Alice <alice@example.com>\n"
                                         "To: bob@example.net\n"
                                         "Subject: raw\n"
                                         "\n"
                                         ".leading dot\n"
                                         "Bcc: in the body stays\n",
                                         k_when, 60, "<new@example.com>");
  CHECK(raw.message == "Date: Mon, 23 Nov 2026 15:04:05 +0100\r\n"
                       "Message-ID: <new@example.com>\r\n"
                       "From: Alice <alice@example.com>\r\n"
                       "To: bob@example.net\r\n"
                       "Subject: raw\r\n"
                       "\r\n"
                       ".leading dot\r\n"
                       "Bcc: in the body stays\r\n");
  CHECK(raw.message_id == "<new@example.com>");
  REQUIRE(raw.from);
  CHECK(raw.from->address == "alice@example.com");
  REQUIRE(raw.recipients.size() == 1);
  CHECK(raw.recipients[0].address == "bob@example.net");
  CHECK_FALSE(raw.eight_bit);
  CHECK(raw.longest_line == 37);
  CHECK(raw.invalid_addresses.empty());
}

TEST_CASE("prepare_raw: existing Date and Message-ID are kept", "[compose]")
{
  const auto raw = mw::mail::prepare_raw("Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
                                         "Message-Id:\r\n <old@example.org> (comment)\r\n"
                                         "From: a@example.com\r\n"
                                         "\r\n"
                                         "caf\xC3\xA9",
                                         k_when, 0, "<new@example.com>");
  CHECK(raw.message_id == "<old@example.org>");
  CHECK(raw.message == "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
                       "Message-Id:\r\n <old@example.org> (comment)\r\n"
                       "From: a@example.com\r\n"
                       "\r\n"
                       "caf\xC3\xA9\r\n");
  CHECK(raw.eight_bit);
  CHECK(raw.recipients.empty());
}

TEST_CASE("prepare_raw: Bcc fields are removed, folded lines too, their addresses kept",
          "[compose]")
{
  const auto raw = mw::mail::prepare_raw("From: a@example.com\n"
                                         "To: b@example.com, B2 <B@EXAMPLE.com>\n"
                                         "Bcc: secret1@example.com,\n"
                                         "  secret2@example.com,\n"
                                         "\tSecret Three <secret3@example.com>\n"
                                         "Cc: c@example.com\n"
                                         "bcc : secret4@example.com\n"
                                         "BCC:\n"
                                         "Resent-Bcc: resent@example.com\n"
                                         "Subject: after\n"
                                         " folded subject\n"
                                         "\n"
                                         "body\n",
                                         k_when, 0, "<n@example.com>");
  CHECK(raw.message.find("secret") == std::string::npos);
  CHECK(raw.message.find("resent@") == std::string::npos);
  CHECK(raw.message.find("BCC") == std::string::npos);
  CHECK(raw.message.find("Subject: after\r\n folded subject\r\n\r\nbody\r\n") != std::string::npos);
  CHECK(raw.message.find("Cc: c@example.com\r\n") != std::string::npos);
  std::vector<std::string> addresses;
  for (const Mailbox& m : raw.recipients) {
    addresses.push_back(m.address);
  }
  CHECK(addresses == std::vector<std::string>{"b@example.com", "c@example.com",
                                              "secret1@example.com", "secret2@example.com",
                                              "secret3@example.com", "secret4@example.com"});
}

TEST_CASE("prepare_raw: Sender, bad addresses, mbox line, missing blank line", "[compose]")
{
  const auto raw = mw::mail::prepare_raw("From sender@example.com Mon Nov 23 15:04:05 2026\n"
                                         "Sender: s@example.com\n"
                                         "To: good@example.com, not an address\n"
                                         "this line is not a header\n"
                                         "more body\n",
                                         k_when, 0, "<n@example.com>");
  REQUIRE(raw.from);
  CHECK(raw.from->address == "s@example.com");
  REQUIRE(raw.recipients.size() == 1);
  CHECK(raw.recipients[0].address == "good@example.com");
  REQUIRE(raw.invalid_addresses.size() == 1);
  CHECK_THAT(raw.invalid_addresses[0], Catch::Contains("To:") && Catch::Contains("not an address"));
  CHECK(raw.message.find("From sender") == std::string::npos);
  CHECK(raw.message.ends_with("To: good@example.com, not an address\r\n"
                              "\r\n"
                              "this line is not a header\r\n"
                              "more body\r\n"));
}

TEST_CASE("prepare_raw: an empty message still gets Date and Message-ID", "[compose]")
{
  const auto raw = mw::mail::prepare_raw("", k_when, 0, "<n@example.com>");
  CHECK(raw.message ==
        "Date: Mon, 23 Nov 2026 14:04:05 +0000\r\nMessage-ID: <n@example.com>\r\n\r\n");
  CHECK_FALSE(raw.from);
}
