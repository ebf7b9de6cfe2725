// SPDX-License-Identifier: Apache-2.0
#include "mail/headers.hpp"

#include <catch2/catch.hpp>

using mw::mail::Headers;

TEST_CASE("headers: CRLF block stops at the blank line", "[mail]")
{
  const auto h = Headers::parse("From: a@example.com\r\n"
                                "Subject: Hello\r\n"
                                "\r\n"
                                "Body: not a header\r\n");
  REQUIRE(h.fields().size() == 2);
  CHECK(h.fields()[0].name == "From");
  CHECK(h.fields()[0].value == "a@example.com");
  CHECK(h.fields()[1].name == "Subject");
  CHECK(h.fields()[1].value == "Hello");
  CHECK_FALSE(h.get("Body"));
}

TEST_CASE("headers: LF endings, no blank line, no final newline", "[mail]")
{
  const auto h = Headers::parse("To: b@example.com\nSubject: x");
  REQUIRE(h.fields().size() == 2);
  CHECK(h.get("subject") == "x");
}

TEST_CASE("headers: unfolding keeps the WSP and trims the value (RFC 5322 2.2.3)", "[mail]")
{
  const auto h = Headers::parse("Subject: This\r\n is a test\r\n\tof folding  \r\n"
                                "X-Empty:\r\n"
                                "X-Spaces:    padded   \r\n\r\n");
  CHECK(h.get("Subject") == "This is a test\tof folding");
  CHECK(h.get("X-Empty") == "");
  CHECK(h.get("X-Spaces") == "padded");
}

TEST_CASE("headers: folded value that starts on the next line", "[mail]")
{
  const auto h = Headers::parse("Subject:\r\n  starts here\r\n\r\n");
  CHECK(h.get("Subject") == "starts here");
}

TEST_CASE("headers: get is case-insensitive and returns the first; get_all returns all", "[mail]")
{
  const auto h = Headers::parse("Received: one\r\nRECEIVED: two\r\nsubject: s\r\n\r\n");
  CHECK(h.get("received") == "one");
  CHECK(h.get("SUBJECT") == "s");
  CHECK_FALSE(h.get("From"));
  const auto all = h.get_all("Received");
  REQUIRE(all.size() == 2);
  CHECK(all[1] == "two");
  CHECK(h.fields()[1].name == "RECEIVED");  // the name as written
}

TEST_CASE("headers: mbox From line, garbage lines and stray continuations are skipped", "[mail]")
{
  const auto h = Headers::parse(" leading continuation\n"
                                "From sender@example.com Mon Jan  1 00:00:00 2024\n"
                                "Subject: kept\n"
                                "this line has no colon\n"
                                " continuation of garbage\n"
                                "Bad Name: spaces are not allowed in names\n"
                                " continuation of bad name\n"
                                ": empty name\n"
                                "From: real@example.com\n"
                                "\n");
  REQUIRE(h.fields().size() == 2);
  CHECK(h.get("Subject") == "kept");
  CHECK(h.get("From") == "real@example.com");
}

TEST_CASE("headers: obsolete whitespace before the colon (RFC 5322 4.5)", "[mail]")
{
  const auto h = Headers::parse("Subject  : obsolete\r\n\r\n");
  REQUIRE(h.fields().size() == 1);
  CHECK(h.fields()[0].name == "Subject");
  CHECK(h.get("Subject") == "obsolete");
}

TEST_CASE("headers: lone CRs", "[mail]")
{
  SECTION("inside a value they become spaces, CRCRLF endings work")
  {
    const auto h = Headers::parse("Subject: a\rb\r\r\nFrom: f\r\r\n\r\n");
    CHECK(h.get("Subject") == "a b");
    CHECK(h.get("From") == "f");
  }
  SECTION("a block with no LF at all uses CR as the line end")
  {
    const auto h = Headers::parse("Subject: old mac\rFrom: f\r\rbody: no");
    CHECK(h.get("Subject") == "old mac");
    CHECK(h.get("From") == "f");
    CHECK_FALSE(h.get("body"));
  }
}

TEST_CASE("headers: 8-bit UTF-8 values are kept byte for byte (RFC 6532)", "[mail]")
{
  const auto h = Headers::parse("Subject: Gr\xC3\xBC\xC3\x9F"
                                "e \xFF raw\r\n\r\n");
  CHECK(h.get("Subject") == "Gr\xC3\xBC\xC3\x9F"
                            "e \xFF raw");
}

TEST_CASE("headers: empty input and a lone blank line", "[mail]")
{
  CHECK(Headers::parse("").fields().empty());
  CHECK(Headers::parse("\r\n").fields().empty());
  CHECK(Headers::parse("\r\nSubject: after the blank line\r\n").fields().empty());
}

TEST_CASE("headers: decoded() decodes RFC 2047 and gives empty for absent fields", "[mail]")
{
  const auto h = Headers::parse("Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus\r\n"
                                "  =?iso-8859-1?q?M=FCnchen?=\r\n\r\n");
  CHECK(h.decoded("Subject") == "Gr\xC3\xBC\xC3\x9F"
                                "e aus  M\xC3\xBC"
                                "nchen");
  CHECK(h.decoded("From") == "");
}

TEST_CASE("headers: RFC 5322 Appendix A.1.1 message", "[mail]")
{
  const auto h = Headers::parse("From: John Doe <jdoe@machine.example>\r\n"
                                "To: Mary Smith <mary@example.net>\r\n"
                                "Subject: Saying Hello\r\n"
                                "Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
                                "Message-ID: <1234@local.machine.example>\r\n"
                                "\r\n"
                                "This is a message just to say hello.\r\n"
                                "So, \"Hello\".\r\n");
  REQUIRE(h.fields().size() == 5);
  CHECK(h.get("message-id") == "<1234@local.machine.example>");
  CHECK(h.get("Date") == "Fri, 21 Nov 1997 09:55:06 -0600");
}

TEST_CASE("headers: RFC 5322 Appendix A.5 folded comments", "[mail]")
{
  const auto h =
      Headers::parse("From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\n"
                     "To:A Group(Some people)\r\n"
                     "     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
                     "         joe@example.org,\r\n"
                     "  John <jdoe@one.test> (my dear friend); (the end of the group)\r\n"
                     "Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;\r\n"
                     "\r\n");
  REQUIRE(h.fields().size() == 3);
  CHECK(h.get("To") == "A Group(Some people)     :Chris Jones <c@(Chris's host.)public.example>,"
                       "         joe@example.org,  John <jdoe@one.test> (my dear friend); "
                       "(the end of the group)");
}

TEST_CASE("headers: field name validity", "[mail]")
{
  CHECK(mw::mail::is_valid_field_name("X-Spam-Flag"));
  CHECK_FALSE(mw::mail::is_valid_field_name(""));
  CHECK_FALSE(mw::mail::is_valid_field_name("Bad Name"));
  CHECK_FALSE(mw::mail::is_valid_field_name("Na:me"));
  CHECK_FALSE(mw::mail::is_valid_field_name("N\xC3\xA4me"));
}
