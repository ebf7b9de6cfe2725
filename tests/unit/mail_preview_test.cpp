// SPDX-License-Identifier: Apache-2.0
#include "mail/mime.hpp"
#include "mail/preview.hpp"
#include "util/base64.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using mw::mail::Preview;
using mw::mail::preview;

namespace {

using Lines = std::vector<std::string>;

// Whether a note of `p` contains `text`.
bool has_note(const Preview& p, std::string_view text)
{
  return std::any_of(p.notes.begin(), p.notes.end(),
                     [text](const std::string& note) { return note.find(text) != note.npos; });
}

std::string header(const Preview& p, std::string_view name)
{
  for (const auto& field : p.headers) {
    if (field.name == name) {
      return field.value;
    }
  }
  return "<absent>";
}

}  // namespace

TEST_CASE("preview: a single-part plain message", "[mail][preview]")
{
  const auto p = preview("Subject: Hello\n"
                         "From: Ann <ann@example.org>\n"
                         "X-Other: not shown\n"
                         "To: bob@example.org\n"
                         "Date: Mon, 1 Dec 2025 10:00:00 +0000\n"
                         "Content-Type: text/plain; charset=\"US-ASCII\"\n"
                         "\n"
                         "line one\n"
                         "line two\n"
                         "line three\n",
                         2, true);
  REQUIRE(p.headers.size() == 4);
  CHECK(p.headers[0].name == "From");
  CHECK(p.headers[0].value == "Ann <ann@example.org>");
  CHECK(p.headers[1].name == "To");
  CHECK(p.headers[2].name == "Date");
  CHECK(p.headers[3].name == "Subject");
  CHECK(p.headers[3].value == "Hello");
  CHECK(p.part.empty());
  CHECK(p.content_type == "text/plain");
  CHECK(p.charset == "us-ascii");
  CHECK(p.lines == Lines{"line one", "line two"});
  CHECK(has_note(p, "1 more lines not shown"));
  CHECK_FALSE(has_note(p, "cut"));
}

TEST_CASE("preview: quoted-printable with soft line breaks and Latin-1", "[mail][preview]")
{
  const auto p = preview("From: a@example.org\n"
                         "Content-Type: text/plain; charset=iso-8859-1\n"
                         "Content-Transfer-Encoding: Quoted-Printable\n"
                         "\n"
                         "Caf=E9 cr=E8me, a long line that was =\n"
                         "folded here=3D ok   \n"
                         "bad =ZZ escape and a lone = sign\n",
                         10, true);
  CHECK(p.charset == "iso-8859-1");
  CHECK(p.lines == Lines{"Caf\xc3\xa9 cr\xc3\xa8me, a long line that was folded here= ok",
                         "bad =ZZ escape and a lone = sign"});
  CHECK(p.notes.empty());
}

TEST_CASE("preview: decode_quoted_printable", "[mail][preview]")
{
  using mw::mail::decode_quoted_printable;
  CHECK(decode_quoted_printable("a=3d=3Db=\r\nc\r\nd \t\r\n") == "a==bc\nd\n");
  CHECK(decode_quoted_printable("end=") == "end");
  CHECK(decode_quoted_printable("x=4") == "x=4");
  CHECK(decode_quoted_printable("=  \nz") == "z");
}

TEST_CASE("preview: base64 UTF-8", "[mail][preview]")
{
  const std::string text = "Gr\xc3\xbc\xc3\x9f"
                           "e aus K\xc3\xb6ln\nzweite Zeile\n";
  auto encoded = mw::base64::encode(text);
  encoded.insert(20, "\n");  // base64 bodies are broken into lines
  const auto p = preview("Content-Type: text/plain; charset=UTF-8\n"
                         "Content-Transfer-Encoding: base64\n"
                         "\n" +
                             encoded + "\n",
                         10, true);
  CHECK(p.charset == "utf-8");
  CHECK(p.lines == Lines{"Gr\xc3\xbc\xc3\x9f"
                         "e aus K\xc3\xb6ln",
                         "zweite Zeile"});
  CHECK(p.notes.empty());
}

TEST_CASE("preview: multipart/alternative shows the text/plain part", "[mail][preview]")
{
  const auto p = preview("From: a@example.org\n"
                         "MIME-Version: 1.0\n"
                         "Content-Type: multipart/alternative; boundary=\"=_b1\"\n"
                         "\n"
                         "preamble\n"
                         "--=_b1\n"
                         "Content-Type: text/html; charset=utf-8\n"
                         "\n"
                         "<p>the <b>HTML</b> text</p>\n"
                         "--=_b1\n"
                         "Content-Type: text/plain; charset=utf-8\n"
                         "\n"
                         "the plain text\n"
                         "\n"
                         "--=_b1--\n"
                         "epilogue\n",
                         10, true);
  CHECK(p.part == "2");
  CHECK(p.content_type == "text/plain");
  CHECK(p.lines == Lines{"the plain text"});  // the line break before "--" is the boundary's
  CHECK(p.notes.empty());                     // the HTML alternative is no attachment
}

TEST_CASE("preview: an HTML-only message is shown with its tags stripped", "[mail][preview]")
{
  const auto p = preview("Content-Type: text/html\n"
                         "\n"
                         "<html><head><style>p { color: red }</style></head>\n"
                         "<body><p>Hello &amp; welcome,</p><p>caf&#233; &lt;3</p>\n"
                         "<script>alert(1)</script></body></html>\n",
                         10, true);
  CHECK(p.content_type == "text/html");
  CHECK(p.lines == Lines{"Hello & welcome,", "", "caf\xc3\xa9 <3"});
  CHECK(has_note(p, "only an HTML part"));
}

TEST_CASE("preview: nested multipart/mixed with attachments", "[mail][preview]")
{
  const auto p = preview("Subject: report\n"
                         "Content-Type: multipart/mixed; boundary=outer\n"
                         "\n"
                         "--outer\n"
                         "Content-Type: multipart/alternative; boundary=inner\n"
                         "\n"
                         "--inner\n"
                         "Content-Type: text/plain\n"
                         "\n"
                         "see the attachment\n"
                         "--inner\n"
                         "Content-Type: text/html\n"
                         "\n"
                         "<p>see the attachment</p>\n"
                         "--inner--\n"
                         "--outer\n"
                         "Content-Type: application/pdf; name=\"old-name.pdf\"\n"
                         "Content-Disposition: attachment; filename=\"report.pdf\"\n"
                         "Content-Transfer-Encoding: base64\n"
                         "\n"
                         "JVBERi0xLjQK\n"
                         "--outer\n"
                         "Content-Type: text/plain; name=notes.txt\n"
                         "\n"
                         "not the body\n"
                         "--outer\n"
                         "Content-Type: image/png\n"
                         "Content-Disposition: inline; filename*=utf-8''caf%C3%A9.png\n"
                         "\n"
                         "iVBORw0KGgo=\n"
                         "--outer--\n",
                         10, true);
  CHECK(header(p, "Subject") == "report");
  CHECK(p.part == "1.1");
  CHECK(p.content_type == "text/plain");
  CHECK(p.lines == Lines{"see the attachment"});
  REQUIRE(p.notes.size() == 1);
  CHECK(p.notes[0] == "3 attachments: report.pdf, notes.txt, caf\xc3\xa9.png");
}

TEST_CASE("preview: a message without Content-Type is text/plain", "[mail][preview]")
{
  const auto p = preview("From ann@example.org Mon Dec  1 10:00:00 2025\n"
                         "From: ann@example.org\n"
                         "Subject: plain\n"
                         "\n"
                         "just text\n",
                         5, true);
  CHECK(header(p, "From") == "ann@example.org");
  CHECK(p.content_type == "text/plain");
  CHECK(p.charset.empty());
  CHECK(p.lines == Lines{"just text"});
  CHECK(p.notes.empty());
}

TEST_CASE("preview: 8-bit text without a charset is read as Windows-1252", "[mail][preview]")
{
  const auto p = preview("Subject: x\n\nna\xefve \x93quoted\x94\n", 5, true);
  CHECK(p.lines == Lines{"na\xc3\xafve \xe2\x80\x9cquoted\xe2\x80\x9d"});
}

TEST_CASE("preview: a truncated prefix says the text is cut", "[mail][preview]")
{
  const auto p = preview("Subject: long\n"
                         "Content-Type: multipart/mixed; boundary=b\n"
                         "\n"
                         "--b\n"
                         "Content-Type: text/plain; charset=utf-8\n"
                         "\n"
                         "one\n"
                         "two\n"
                         "three \xc3",  // cut inside a UTF-8 character
                         10, false);
  CHECK(p.part == "1");
  CHECK(p.lines == Lines{"one", "two", "three "});
  CHECK(has_note(p, "the text is cut (only the first 3 lines were read)"));
  CHECK_FALSE(has_note(p, "never ends"));
}

TEST_CASE("preview: a part of base64 garbage", "[mail][preview]")
{
  const auto p = preview("Content-Type: text/plain\n"
                         "Content-Transfer-Encoding: base64\n"
                         "\n"
                         "aGVsbG8K\n"  // "hello\n"
                         "this is not base64 at all!\n",
                         10, true);
  CHECK(p.lines == Lines{"hello"});
  CHECK(has_note(p, "the part is base64 that does not decode"));
}

TEST_CASE("preview: encoded-word headers are decoded onto one line", "[mail][preview]")
{
  const auto p = preview("Subject: =?UTF-8?B?R3LDvMOfZQ==?= =?ISO-8859-1?Q?_aus_K=F6ln?=\n"
                         "From: =?utf-8?Q?Ren=C3=A9?= <rene@example.org>\n"
                         "Cc: =?utf-8?Q?a=0Ab?= <ab@example.org>\n"
                         "\n"
                         "body\n",
                         5, true);
  CHECK(header(p, "Subject") == "Gr\xc3\xbc\xc3\x9f"
                                "e aus K\xc3\xb6ln");
  CHECK(header(p, "From") == "Ren\xc3\xa9 <rene@example.org>");
  CHECK(header(p, "Cc") == "a b <ab@example.org>");
  CHECK(p.headers[0].name == "From");
  CHECK(p.headers[1].name == "Cc");
  CHECK(p.headers[2].name == "Subject");
}

TEST_CASE("preview: no body at all", "[mail][preview]")
{
  const auto p = preview("From: a@example.org\nSubject: empty", 5, true);
  CHECK(header(p, "Subject") == "empty");
  CHECK(p.lines.empty());
  CHECK(has_note(p, "the message has no body"));

  const auto nothing = preview("", 5, true);
  CHECK(nothing.headers.empty());
  CHECK(nothing.lines.empty());
  CHECK(has_note(nothing, "the message has no body"));
}

TEST_CASE("preview: a message with only attachments has no text part", "[mail][preview]")
{
  const auto p = preview("Content-Type: multipart/mixed; boundary=b\n"
                         "\n"
                         "--b\n"
                         "Content-Type: application/octet-stream\n"
                         "\n"
                         "xx\n"
                         "--b\n"
                         "Content-Type: message/rfc822\n"
                         "\n"
                         "Subject: inner\n"
                         "\n"
                         "inner text\n"
                         "--b--\n",
                         5, true);
  CHECK(p.content_type.empty());
  CHECK(p.lines.empty());
  CHECK(has_note(p, "no text part"));
  CHECK(has_note(p, "2 attachments: (unnamed application/octet-stream), (an attached message)"));
}

TEST_CASE("preview: an unknown charset is shown as it is", "[mail][preview]")
{
  const auto p = preview("Content-Type: text/plain; charset=KOI8-R\n\n\xf0\xd2\xc9\n", 5, true);
  CHECK(p.charset == "koi8-r");
  CHECK(p.lines == Lines{"\xf0\xd2\xc9"});
  CHECK(has_note(p, "charset koi8-r shown as it is"));
}

TEST_CASE("preview: hostile input stays bounded", "[mail][preview]")
{
  std::string message;
  for (int i = 0; i < 10000; ++i) {
    message += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
               std::to_string(i) + "\n";
  }
  message += "Content-Type: text/plain\n\ndeep text\n";
  message += std::string("NUL\0in\0text\n", 12);
  const auto start = std::chrono::steady_clock::now();
  const auto p = preview(message, 5, true);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(has_note(p, "nested more than 20 deep"));
  CHECK(p.lines.empty());  // the text is below the depth that is followed

  // An unterminated boundary, NULs and a huge line: the text runs to the end.
  std::string open = "Content-Type: multipart/mixed; boundary=zz\n\n--zz\n\nfirst\n";
  open += std::string("a\0b\n", 4);
  open += std::string(100000, 'x') + "\n";
  const auto q = preview(open, 5, true);
  CHECK(q.part == "1");
  REQUIRE(q.lines.size() == 3);
  CHECK(q.lines[1] == std::string("a\0b", 3));
  CHECK(q.lines[2].size() == mw::mail::k_preview_line);
  CHECK(has_note(q, "never ends"));
  CHECK(has_note(q, "1 lines longer than"));

  // A header section that never ends, and a boundary that is never closed, cut.
  const auto r = preview(std::string(200000, 'H') + ": v\n" + std::string(50000, '\0'), 5, false);
  CHECK(r.headers.empty());
  REQUIRE(r.lines.size() == 1);  // the NULs are not a field: the body starts there
  CHECK(r.lines[0] == std::string(mw::mail::k_preview_line, '\0'));
  CHECK(has_note(r, "the text is cut (only the first 1 lines were read)"));
  // HTML made of what the stripper looks at, never closed.
  std::string html = "Content-Type: text/html\n\n";
  for (int i = 0; i < 50000; ++i) {
    html += "&#9999999999&<script>";
  }
  const auto html_start = std::chrono::steady_clock::now();
  const auto h = preview(html, 5, false);
  CHECK(std::chrono::steady_clock::now() - html_start < std::chrono::seconds(5));
  CHECK(h.content_type == "text/html");
  REQUIRE(h.lines.size() == 1);
  CHECK(h.lines[0].starts_with("&#9999999999&"));
  const auto s = preview("Content-Type: multipart/mixed; boundary=\"\"\n\nx\n", 5, true);
  CHECK(has_note(s, "without a boundary"));
}

TEST_CASE("preview: Content-Type and Content-Disposition parsing", "[mail][preview]")
{
  const auto type = mw::mail::parse_content_type(
      "Text/Plain (comment); Charset=\"UTF-8\"; name=\"a \\\"b\\\".txt\";");
  REQUIRE(type);
  CHECK(type->type == "text");
  CHECK(type->subtype == "plain");
  CHECK(type->charset == "UTF-8");
  CHECK(type->name == "a \"b\".txt");
  CHECK_FALSE(mw::mail::parse_content_type("text"));
  CHECK_FALSE(mw::mail::parse_content_type("text/plain; charset=\"open"));
  const auto disposition =
      mw::mail::parse_content_disposition("Attachment; filename=x.txt; filename*=utf-8'en'y%20z");
  REQUIRE(disposition);
  CHECK(disposition->type == "attachment");
  CHECK(disposition->filename == "y z");
  CHECK_FALSE(mw::mail::parse_content_disposition("; filename=x"));
}

TEST_CASE("preview: CRLF line ends read like LF", "[mail][preview]")
{
  const auto p = preview("Subject: crlf\r\n"
                         "Content-Type: multipart/mixed; boundary=b\r\n"
                         "\r\n"
                         "--b\r\n"
                         "Content-Type: text/plain; charset=windows-1252\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n"
                         "\r\n"
                         "a =80 sign=\r\n"
                         " here\r\n"
                         "second\r\n"
                         "--b--\r\n",
                         5, true);
  CHECK(header(p, "Subject") == "crlf");
  CHECK(p.part == "1");
  CHECK(p.charset == "windows-1252");
  CHECK(p.lines == Lines{"a \xe2\x82\xac sign here", "second"});
  CHECK(p.notes.empty());
}
