// SPDX-License-Identifier: Apache-2.0
// Issue 11 items 11 and 16: what a server or a message says cannot control a terminal, and
// header anchors mean the whole field.
#include "mail/headers.hpp"
#include "mail/rfc2047.hpp"
#include "mailbox/message.hpp"
#include "output/render.hpp"
#include "select/selection.hpp"
#include "util/text.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mw;

namespace {

// No octet that starts a terminal control: C0 (but the allowed ones), DEL, ESC, raw C1 octets,
// and no UTF-8 encoded C1 or bidi control.
bool terminal_safe(std::string_view s, bool allow_tab_newline = false)
{
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (allow_tab_newline && (c == '\t' || c == '\n')) {
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      return false;  // U+0080-U+009F
    }
  }
  for (std::string_view bad : {"\u202e", "\u202a", "\u2066", "\u2069", "\u200f", "\u061c"}) {
    if (s.find(bad) != std::string_view::npos) {
      return false;
    }
  }
  return mail::is_valid_utf8(s);
}

}  // namespace

TEST_CASE("visible: escape sequences, C1, bidi and invalid UTF-8 are shown", "[text]")
{
  CHECK(text::visible("plain text, ümlaut, 日本") == "plain text, ümlaut, 日本");
  CHECK(text::visible("\x1b]0;owned\x07") == "\\x1b]0;owned\\x07");
  CHECK(text::visible("\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07") ==
        "\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07");
  CHECK(text::visible("a\x1b[2Jb\x7f") == "a\\x1b[2Jb\\x7f");
  CHECK(text::visible("over\rwrite") == "over\\x0dwrite");
  CHECK(text::visible("a\tb\nc") == "a\\x09b\\x0ac");
  CHECK(text::visible("a\tb\nc\r", {.tab = true, .newline = true}) == "a\tb\nc\\x0d");
  // C1 as UTF-8 (U+009B CSI) and as a raw octet; bidi overrides.
  CHECK(text::visible("x\xc2\x9b"
                      "31mred") == "x<U+009B>31mred");
  CHECK(text::visible("x\x9b"
                      "31mred") == "x\\x9b31mred");
  CHECK(text::visible("invoice_\u202egpj.exe") == "invoice_<U+202E>gpj.exe");
  CHECK(text::visible("\u2066\u2069\u200e\u200f\u061c") ==
        "<U+2066><U+2069><U+200E><U+200F><U+061C>");
  // Invalid UTF-8: overlong, surrogate, truncated, out of range.
  CHECK(text::visible("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(text::visible("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(text::visible("\xe2\x82") == "\\xe2\\x82");
  CHECK(text::visible("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
  CHECK(terminal_safe(text::visible(std::string("\0\x01\x1b\x9b\xff\xc2\x85", 7))));
}

TEST_CASE("one_line: line breaks and tabs become spaces, the rest visible()", "[text]")
{
  CHECK(text::one_line("Quarterly report\nURGENT") == "Quarterly report URGENT");
  CHECK(text::one_line("a\r\n\tb\x1b[1m") == "a   b\\x1b[1m");
}

TEST_CASE("complete_utf8_prefix holds back only an incomplete last character", "[text]")
{
  CHECK(text::complete_utf8_prefix("abc") == 3);
  CHECK(text::complete_utf8_prefix("ab\xe2\x80") == 2);
  CHECK(text::complete_utf8_prefix("ab\xe2") == 2);
  CHECK(text::complete_utf8_prefix("ab\xe2\x80\xae") == 5);
  CHECK(text::complete_utf8_prefix("ab\xf0\x9f\x98") == 2);
  CHECK(text::complete_utf8_prefix("ab\x80\x80\x80\x80") == 6);  // invalid: shown as it is
  CHECK(text::complete_utf8_prefix("") == 0);
}

TEST_CASE("list and send output: server text cannot control the terminal", "[output]")
{
  mailbox::Message row;
  row.number = 1;
  row.octets = 10;
  row.uid = "u\x9b"
            "1";
  row.has_headers = true;
  row.from = "evil\xc2\x9b"
             "31m <e@example.org>";
  row.subject = "\x1b]52;c;ZXZpbA==\x07 invoice_\u202egpj.exe \xff";
  for (bool terminal : {true, false}) {
    std::ostringstream out;
    output::render_plain(output::ListResult{{row}, true}, out, {terminal, 120});
    INFO(out.str());
    CHECK(terminal_safe(out.str(), true));
    CHECK(out.str().find("<U+202E>") != std::string::npos);
  }
  output::SendResult sent;
  sent.message_id = "<m@example.org>";
  sent.recipients.push_back({"a@example.org", false, {550, "", "no \x1b[2J such user"}});
  std::ostringstream out;
  output::render_plain(sent, out);
  CHECK(terminal_safe(out.str(), true));
  CHECK(out.str().find("no \\x1b[2J such user") != std::string::npos);
}

TEST_CASE("header anchors mean the whole field; line breaks do not split it", "[select]")
{
  // An encoded word whose decoded text carries an LF: "Quarterly report\nURGENT".
  const auto headers = mail::Headers::parse(
      "From: a@example.org\nSubject: =?UTF-8?B?UXVhcnRlcmx5IHJlcG9ydApVUkdFTlQ=?=\n\n");
  mailbox::Message message;
  message.number = 1;
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());

  select::Selection urgent;
  urgent.set_subject("^URGENT$");
  CHECK_FALSE(urgent.matches(message, &headers, now));

  select::Selection whole;
  whole.set_subject("^Quarterly report URGENT$");
  CHECK(whole.matches(message, &headers, now));

  select::Selection report;
  report.set_subject("^quarterly");
  CHECK(report.matches(message, &headers, now));

  select::Selection header;
  header.add_header("Subject: ^URGENT");
  CHECK_FALSE(header.matches(message, &headers, now));

  // A raw LF cannot reach a field through the parser, but a CR can (it becomes a space) and
  // so can other controls: they are replaced before matching too.
  const auto escaped = mail::Headers::parse("Subject: a\x1b"
                                            "b\n\n");
  select::Selection esc;
  esc.set_subject("^a\\\\x1bb$");
  CHECK(esc.matches(message, &escaped, now));
}

TEST_CASE("the shown header value is the one a filter matched", "[select]")
{
  const auto headers =
      mail::Headers::parse("From: boss@example.org\nFrom: attacker@evil.test\nSubject: hi\n\n");
  select::Selection none;
  CHECK(none.shown(headers, "From") == "boss@example.org | attacker@evil.test");
  CHECK(none.shown(headers, "Subject") == "hi");
  CHECK(none.shown(headers, "Date").empty());
  select::Selection from;
  from.set_from("attacker");
  CHECK(from.shown(headers, "From") == "attacker@evil.test | boss@example.org");
  select::Selection header;
  header.add_header("from: ^boss");
  CHECK(header.shown(headers, "FROM") == "boss@example.org | attacker@evil.test");
}

TEST_CASE("JSON: C1 and bidi controls are escaped, the strings unchanged", "[output]")
{
  const std::string value = "a\u202eb\xc2\x9b"
                            "c\u2066\u061c d \xff \x1b";
  std::ostringstream out;
  output::write_json(nlohmann::json{{"text", value}, {"plain", "日本 ü"}}, out);
  INFO(out.str());
  CHECK(terminal_safe(out.str(), true));
  CHECK(out.str().find("\\u202e") != std::string::npos);
  CHECK(out.str().find("\\u009b") != std::string::npos);
  const auto back = nlohmann::json::parse(out.str());
  CHECK(back["text"] == "a\u202eb\xc2\x9b"
                        "c\u2066\u061c d \ufffd \x1b");
  CHECK(back["plain"] == "日本 ü");
}
