// SPDX-License-Identifier: Apache-2.0
// Issue 13, "friction worth removing": the From column uses the terminal's width, and old-Mac
// CR line endings end a header value.
#include "mail/headers.hpp"
#include "output/render.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mw;

namespace {

std::string table(const std::string& from, std::size_t width)
{
  output::ListResult result;
  result.headers = true;
  mailbox::Message row;
  row.number = 1;
  row.octets = 1200;
  row.uid = "uid-1";
  row.from = from;
  row.subject = "the subject";
  result.messages.push_back(row);
  std::ostringstream out;
  output::render_plain(result, out, {true, width});
  return out.str();
}

}  // namespace

TEST_CASE("table: the From column uses a wide terminal", "[output]")
{
  const std::string from = "Very Long Display Name <someone.with.a.long.address@example.org>";
  SECTION("180 columns show a 65-character From whole, and the subject")
  {
    const auto text = table(from, 180);
    CHECK(text.find(from) != std::string::npos);
    CHECK(text.find("the subject") != std::string::npos);
  }
  SECTION("80 columns still cut it, and keep room for the subject")
  {
    const auto text = table(from, 80);
    CHECK(text.find(from) == std::string::npos);
    CHECK(text.find("…") != std::string::npos);
    CHECK(text.find("the subj") != std::string::npos);
  }
  SECTION("a short From leaves its room to the subject")
  {
    const auto text = table("a@b", 180);
    REQUIRE(text.find("a@b") != std::string::npos);
    CHECK(text.find("the subject") - text.find("a@b") <= 6);  // "FROM" is the widest cell
  }
}

TEST_CASE("headers: old-Mac CR line endings end a value, even after a server's CRLF", "[mail]")
{
  // What TOP n 0 gives for a message with CR line endings: no LF inside, one CRLF at the end.
  const auto h = mail::Headers::parse(
      "From: mac@example.org\rSubject: classic\rDate: Mon, 1 Jun 2020 12:00:00 +0000\r\r"
      "Body: not a header\rmore body\r\n");
  CHECK(h.get("From") == "mac@example.org");
  CHECK(h.get("Subject") == "classic");
  CHECK(h.get("Date") == "Mon, 1 Jun 2020 12:00:00 +0000");
  CHECK_FALSE(h.get("Body"));
  SECTION("folded lines continue with CR endings too")
  {
    const auto f = mail::Headers::parse("Subject: one\r two\rFrom: f\r\rbody\r\n");
    CHECK(f.get("Subject") == "one two");
    CHECK(f.get("From") == "f");
  }
  SECTION("a lone CR inside an LF block stays a space")
  {
    const auto f = mail::Headers::parse("Subject: a\rb\nFrom: f\n\nbody\rx\n");
    CHECK(f.get("Subject") == "a b");
    CHECK(f.get("From") == "f");
  }
}
