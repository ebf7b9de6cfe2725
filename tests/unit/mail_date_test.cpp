// SPDX-License-Identifier: Apache-2.0
#include "mail/date.hpp"

#include <catch2/catch.hpp>

using mw::mail::format_rfc3339;
using mw::mail::parse_date;

namespace {

std::string utc(std::string_view date)
{
  const auto parsed = parse_date(date);
  return parsed ? format_rfc3339(*parsed) : "nullopt";
}

}  // namespace

TEST_CASE("date: RFC 5322 Appendix A dates", "[mail]")
{
  CHECK(utc("Fri, 21 Nov 1997 09:55:06 -0600") == "1997-11-21T15:55:06Z");  // A.1.1
  CHECK(utc("Tue, 1 Jul 2003 10:52:37 +0200") == "2003-07-01T08:52:37Z");   // A.1.2
  CHECK(utc("Thu, 13 Feb 1969 23:32:54 -0330") == "1969-02-14T03:02:54Z");  // A.1.3
  CHECK(utc("Fri, 21 Nov 1997 10:01:10 -0600") == "1997-11-21T16:01:10Z");  // A.3
  CHECK(utc("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n"
            "               -0330 (Newfoundland Time)") == "1969-02-14T03:02:00Z");         // A.5
  CHECK(utc("21 Nov 97 09:55:06 GMT") == "1997-11-21T09:55:06Z");                           // A.6.2
  CHECK(utc("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600") == "1997-11-21T15:55:06Z");  // A.6.3
}

TEST_CASE("date: optional day name, missing seconds, whitespace", "[mail]")
{
  CHECK(utc("1 Jan 2024 00:00:00 +0000") == "2024-01-01T00:00:00Z");
  CHECK(utc("Mon, 1 Jan 2024 00:00 +0000") == "2024-01-01T00:00:00Z");
  CHECK(utc("  Mon ,  01   jan   2024   12:34:56   +0100  ") == "2024-01-01T11:34:56Z");
  CHECK(utc("Monday, 1 January 2024 00:00:00 +0000") == "2024-01-01T00:00:00Z");
  CHECK(utc("Mon, 1 Jan 2024 1:02:03 +0000") == "2024-01-01T01:02:03Z");
  CHECK(utc("29 Feb 2024 23:59:59 +0000") == "2024-02-29T23:59:59Z");
}

TEST_CASE("date: two- and three-digit years (RFC 5322 4.3)", "[mail]")
{
  CHECK(utc("1 Jan 00 00:00:00 +0000") == "2000-01-01T00:00:00Z");
  CHECK(utc("1 Jan 49 00:00:00 +0000") == "2049-01-01T00:00:00Z");
  CHECK(utc("1 Jan 50 00:00:00 +0000") == "1950-01-01T00:00:00Z");
  CHECK(utc("1 Jan 99 00:00:00 +0000") == "1999-01-01T00:00:00Z");
  CHECK(utc("1 Jan 103 00:00:00 +0000") == "2003-01-01T00:00:00Z");
}

TEST_CASE("date: zones", "[mail]")
{
  CHECK(utc("1 Jan 2024 12:00:00 -0000") == "2024-01-01T12:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 UT") == "2024-01-01T12:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 GMT") == "2024-01-01T12:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 EST") == "2024-01-01T17:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 EDT") == "2024-01-01T16:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 CST") == "2024-01-01T18:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 CDT") == "2024-01-01T17:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 MST") == "2024-01-01T19:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 MDT") == "2024-01-01T18:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 PST") == "2024-01-01T20:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 pdt") == "2024-01-01T19:00:00Z");
  // Military zones had their signs reversed in RFC 822: treated as -0000.
  CHECK(utc("1 Jan 2024 12:00:00 A") == "2024-01-01T12:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 Z") == "2024-01-01T12:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 y") == "2024-01-01T12:00:00Z");
  // Unknown names count as -0000 too (RFC 5322 4.3), and so does a missing zone.
  CHECK(utc("1 Jan 2024 12:00:00 CEST") == "2024-01-01T12:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00") == "2024-01-01T12:00:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 +0530") == "2024-01-01T06:30:00Z");
  CHECK(utc("1 Jan 2024 12:00:00 +05:30") == "2024-01-01T06:30:00Z");
  CHECK(utc("Mon, 2 Jan 2006 15:04:05 -0700 (MST)") == "2006-01-02T22:04:05Z");
  CHECK(utc("Mon, 2 Jan 2006 15:04:05 -0700 MST") == "2006-01-02T22:04:05Z");
  CHECK(utc("31 Dec 2023 23:30:00 -0100") == "2024-01-01T00:30:00Z");
}

TEST_CASE("date: garbage gives nullopt", "[mail]")
{
  for (const char* text : {
           "",
           "yesterday",
           "Foo, 1 Jan 2024 00:00:00 +0000",
           "1 Foo 2024 00:00:00 +0000",
           "32 Jan 2024 00:00:00 +0000",
           "30 Feb 2024 00:00:00 +0000",
           "29 Feb 2023 00:00:00 +0000",
           "1 Jan 2024 24:00:00 +0000",
           "1 Jan 2024 12:60:00 +0000",
           "1 Jan 2024 12:00:61 +0000",
           "1 Jan 2024",
           "1 Jan 2024 12",
           "1 Jan 2024 12:",
           "1 Jan 2024 12:00: +0000",
           "1 Jan 2024 12:00:00 +000",
           "1 Jan 2024 12:00:00 +0060",
           "1 Jan 2024 12:00:00 ?",
           "1 Jan 2 12:00:00 +0000",
           "1 Jan 20245 12:00:00 +0000",
           "123 Jan 2024 12:00:00 +0000",
           "2024-01-01T00:00:00Z",
           "(only a comment)",
           "Mon,",
       }) {
    CAPTURE(text);
    CHECK_FALSE(parse_date(text));
  }
}

TEST_CASE("date: unterminated comment is ignored", "[mail]")
{
  CHECK(utc("1 Jan 2024 12:00:00 +0000 (unterminated") == "2024-01-01T12:00:00Z");
}

TEST_CASE("date: format_rfc3339", "[mail]")
{
  using namespace std::chrono;
  CHECK(format_rfc3339(sys_seconds{}) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(sys_days{2026y / November / 23} + 15h + 4min + 5s) ==
        "2026-11-23T15:04:05Z");
  CHECK(format_rfc3339(sys_seconds{seconds{-1}}) == "1969-12-31T23:59:59Z");
}
