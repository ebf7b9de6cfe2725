// SPDX-License-Identifier: Apache-2.0
#include "mail/headers.hpp"
#include "mailbox/message.hpp"
#include "select/selection.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace std::chrono_literals;
using mw::UsageError;
using mw::mail::Headers;
using mw::select::Selection;

namespace {

constexpr auto k_max = std::numeric_limits<std::uint64_t>::max();

// A message of the mailbox as a listing gives it (number, size, UID).
mw::mailbox::Message message(std::uint64_t number, std::uint64_t octets, std::string uid = "")
{
  mw::mailbox::Message m;
  m.number = number;
  m.octets = octets;
  m.uid = std::move(uid);
  return m;
}

// The message of the UsageError that `f` throws, or "" when it throws none.
template <typename F> std::string usage_error(F f)
{
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// 2024-01-31T00:00:00Z
const std::chrono::sys_seconds k_now = std::chrono::sys_days{std::chrono::January / 31 / 2024};

}  // namespace

TEST_CASE("parse_ranges: good input", "[select]")
{
  using mw::select::parse_ranges;
  auto r = parse_ranges("3");
  REQUIRE(r.size() == 1);
  CHECK(r[0].first == 3);
  CHECK(r[0].last == 3);

  r = parse_ranges("5-9");
  REQUIRE(r.size() == 1);
  CHECK(r[0].first == 5);
  CHECK(r[0].last == 9);

  r = parse_ranges("1,4,7");
  REQUIRE(r.size() == 3);
  CHECK(r[2].first == 7);

  r = parse_ranges("2-");
  REQUIRE(r.size() == 1);
  CHECK(r[0].first == 2);
  CHECK(r[0].last == k_max);

  r = parse_ranges(" 1 , 3 - 4 ,6-6");
  REQUIRE(r.size() == 3);
  CHECK(r[1].first == 3);
  CHECK(r[1].last == 4);
  CHECK(r[2].first == 6);
  CHECK(r[2].last == 6);

  r = parse_ranges("18446744073709551615");
  CHECK(r[0].first == k_max);
}

TEST_CASE("parse_ranges: bad input names the bad part", "[select]")
{
  using mw::select::parse_ranges;
  for (const char* text : {"", "-", "-5", "a", "1,,2", "1,", ",1", "1-2-3", "1.5", "+1",
                           "18446744073709551616", "3-x", "0x10"}) {
    CAPTURE(text);
    const auto message = usage_error([&] { parse_ranges(text); });
    CHECK_THAT(message, Catch::StartsWith("invalid message range '"));
    CHECK_THAT(message, Catch::Contains("expected a message number"));
  }
  CHECK(usage_error([] { parse_ranges("0"); }) ==
        "invalid message range '0' (message numbers start at 1)");
  CHECK(usage_error([] { parse_ranges("1,0-3"); }) ==
        "invalid message range '0-3' in '1,0-3' (message numbers start at 1)");
  CHECK_THAT(usage_error([] { parse_ranges("9-5"); }),
             Catch::StartsWith("invalid message range '9-5' (the first number"));
  CHECK_THAT(usage_error([] { parse_ranges("1,x"); }),
             Catch::StartsWith("invalid message range 'x' in '1,x' (expected"));
}

TEST_CASE("parse_size: good input", "[select]")
{
  using mw::select::parse_size;
  CHECK(parse_size("0") == 0);
  CHECK(parse_size("123") == 123);
  CHECK(parse_size("123B") == 123);
  CHECK(parse_size("10K") == 10240);
  CHECK(parse_size("10k") == 10240);
  CHECK(parse_size("10KB") == 10240);
  CHECK(parse_size("10kib") == 10240);
  CHECK(parse_size("10 KiB") == 10240);
  CHECK(parse_size("5M") == 5 * 1024 * 1024);
  CHECK(parse_size("1G") == 1024 * 1024 * 1024);
  CHECK(parse_size("1gb") == 1024 * 1024 * 1024);
  CHECK(parse_size("1.5M") == 1024 * 1024 * 3 / 2);
  CHECK(parse_size("0.5K") == 512);
  CHECK(parse_size(" 2K ") == 2048);
  CHECK(parse_size("17179869183G") == 17179869183ULL << 30);
}

TEST_CASE("parse_size: bad input names the value", "[select]")
{
  using mw::select::parse_size;
  CHECK(usage_error([] { parse_size("10X"); }) ==
        "invalid size '10X' (expected a number with optional K, M or G, e.g. 10K)");
  for (const char* text :
       {"", "K", "-1", "1.5", "1.K", ".5K", "10KK", "10iB", "10KIBB", "1T", "1,5M", "17179869184G",
        "99999999999999999999", "1.0000000001K", "ten"}) {
    CAPTURE(text);
    CHECK_THAT(usage_error([&] { parse_size(text); }),
               Catch::StartsWith("invalid size '" + std::string(text) + "' (expected"));
  }
}

TEST_CASE("parse_age: good input", "[select]")
{
  using mw::select::parse_age;
  CHECK(parse_age("90s") == 90s);
  CHECK(parse_age("30m") == 30min);
  CHECK(parse_age("12h") == 12h);
  CHECK(parse_age("12H") == 12h);
  CHECK(parse_age("30d") == 30 * 24h);
  CHECK(parse_age("2w") == 14 * 24h);
  CHECK(parse_age("7") == 7 * 24h);
  CHECK(parse_age("0") == 0s);
  CHECK(parse_age(" 3 d ") == 3 * 24h);
}

TEST_CASE("parse_age: bad input names the value", "[select]")
{
  using mw::select::parse_age;
  CHECK(usage_error([] { parse_age("3x"); }) ==
        "invalid age '3x' (expected a number with optional s, m, h, d or w; a bare number is "
        "days, e.g. 30d)");
  for (const char* text :
       {"", "d", "-1d", "1.5d", "1dd", "1 day", "99999999999999999999", "1000000000000w"}) {
    CAPTURE(text);
    CHECK_THAT(usage_error([&] { parse_age(text); }),
               Catch::StartsWith("invalid age '" + std::string(text) + "' (expected"));
  }
}

TEST_CASE("parse_header_filter: good input", "[select]")
{
  using mw::select::parse_header_filter;
  auto f = parse_header_filter("X-Spam-Flag: yes");
  CHECK(f.name == "X-Spam-Flag");
  CHECK(f.pattern == "yes");
  CHECK(boost::regex_search(std::string("YES"), f.regex));

  f = parse_header_filter("List-Id:<dev\\.lists\\.example>");
  CHECK(f.name == "List-Id");
  CHECK(f.pattern == "<dev\\.lists\\.example>");

  f = parse_header_filter(" Subject :  a:b ");
  CHECK(f.name == "Subject");
  CHECK(f.pattern == "a:b ");

  f = parse_header_filter("X-Present:");
  CHECK(f.pattern.empty());
  CHECK(boost::regex_search(std::string("anything"), f.regex));
}

TEST_CASE("parse_header_filter: bad input names the value", "[select]")
{
  using mw::select::parse_header_filter;
  CHECK(usage_error([] { parse_header_filter("Subject"); }) ==
        "invalid header filter 'Subject' (expected 'Name: REGEX', e.g. 'X-Spam-Flag: yes')");
  CHECK_THAT(usage_error([] { parse_header_filter(": x"); }),
             Catch::StartsWith("invalid header filter ': x'"));
  CHECK_THAT(usage_error([] { parse_header_filter("Bad Name: x"); }),
             Catch::StartsWith("invalid header filter 'Bad Name: x'"));
  CHECK_THAT(usage_error([] { parse_header_filter("Subject: (unclosed"); }),
             Catch::StartsWith("invalid regular expression '(unclosed' for --header "
                               "'Subject: (unclosed': "));
}

TEST_CASE("Selection: empty, needs_headers, needs_uids", "[select]")
{
  Selection s;
  CHECK(s.empty());
  CHECK_FALSE(s.needs_headers());
  CHECK_FALSE(s.needs_uids());

  SECTION("--all")
  {
    s.set_all();
    CHECK_FALSE(s.empty());
    CHECK(s.matches(message(1, 100), nullptr, k_now));
  }
  SECTION("ranges")
  {
    s.add_ranges("1-3");
    CHECK_FALSE(s.empty());
    CHECK_FALSE(s.needs_headers());
  }
  SECTION("uid")
  {
    s.add_uid("abc");
    CHECK(s.needs_uids());
    CHECK_FALSE(s.needs_headers());
  }
  SECTION("size")
  {
    s.set_larger_than(1);
    CHECK_FALSE(s.empty());
    CHECK_FALSE(s.needs_headers());
  }
  SECTION("header filters")
  {
    Selection from;
    from.set_from("x");
    CHECK(from.needs_headers());
    Selection subject;
    subject.set_subject("x");
    CHECK(subject.needs_headers());
    Selection header;
    header.add_header("X: y");
    CHECK(header.needs_headers());
    Selection older;
    older.set_older_than(1h);
    CHECK(older.needs_headers());
    Selection newer;
    newer.set_newer_than(1h);
    CHECK(newer.needs_headers());
    CHECK_FALSE(newer.empty());
  }
}

TEST_CASE("Selection: numbers and ranges", "[select]")
{
  Selection s;
  s.add_ranges("2,5-7");
  s.add_ranges("10-");
  REQUIRE(s.ranges().size() == 3);
  for (std::uint64_t n : {2U, 5U, 6U, 7U, 10U, 11U, 1000U}) {
    CAPTURE(n);
    CHECK(s.matches(message(n, 1), nullptr, k_now));
  }
  for (std::uint64_t n : {1U, 3U, 4U, 8U, 9U}) {
    CAPTURE(n);
    CHECK_FALSE(s.matches(message(n, 1), nullptr, k_now));
  }
  CHECK_THROWS_AS(s.add_ranges("0"), UsageError);
}

TEST_CASE("Selection: UIDs", "[select]")
{
  Selection s;
  s.add_uid("UID-1");
  s.add_uid("uid-2");
  s.add_uid("UID-1");
  CHECK(s.uids() == std::vector<std::string>{"UID-1", "uid-2"});
  CHECK(s.matches(message(1, 1, "UID-1"), nullptr, k_now));
  CHECK(s.matches(message(9, 1, "uid-2"), nullptr, k_now));
  CHECK_FALSE(s.matches(message(1, 1, "uid-1"), nullptr, k_now));  // UIDs are case-sensitive
  CHECK_FALSE(s.matches(message(1, 1), nullptr, k_now));
  CHECK(usage_error([&] { s.add_uid(""); }) ==
        "invalid UID '' (expected printable characters without spaces, as `list` shows them)");
  CHECK_THAT(usage_error([&] { s.add_uid("a b"); }), Catch::StartsWith("invalid UID 'a b'"));
  CHECK_THROWS_AS(s.add_uid("a\r"), UsageError);
}

TEST_CASE("Selection: sizes", "[select]")
{
  Selection larger;
  larger.set_larger_than(1000);
  CHECK_FALSE(larger.matches(message(1, 1000), nullptr, k_now));
  CHECK(larger.matches(message(1, 1001), nullptr, k_now));

  Selection smaller;
  smaller.set_smaller_than(1000);
  CHECK(smaller.matches(message(1, 999), nullptr, k_now));
  CHECK_FALSE(smaller.matches(message(1, 1000), nullptr, k_now));

  Selection both;
  both.set_larger_than(10);
  both.set_smaller_than(20);
  CHECK_FALSE(both.matches(message(1, 10), nullptr, k_now));
  CHECK(both.matches(message(1, 15), nullptr, k_now));
  CHECK_FALSE(both.matches(message(1, 20), nullptr, k_now));

  Selection impossible;
  impossible.set_larger_than(10);
  CHECK(usage_error([&] { impossible.set_smaller_than(11); }) ==
        "--smaller-than 11 selects no message together with --larger-than 10");
  impossible.set_smaller_than(12);
  CHECK(usage_error([&] { impossible.set_larger_than(11); }) ==
        "--larger-than 11 selects no message together with --smaller-than 12");
  CHECK_THROWS_AS(Selection().set_smaller_than(0), UsageError);
  CHECK_THROWS_AS(Selection().set_larger_than(k_max), UsageError);
}

TEST_CASE("Selection: ages from the Date header", "[select]")
{
  const auto day_old = Headers::parse("Date: Tue, 30 Jan 2024 00:00:00 +0000\r\n\r\n");
  const auto month_old = Headers::parse("Date: Sun, 31 Dec 2023 00:00:00 +0000\r\n\r\n");
  const auto future = Headers::parse("Date: 1 Jan 2030 00:00:00 +0000\r\n\r\n");
  const auto undated = Headers::parse("Subject: no date\r\n\r\n");
  const auto bad_date = Headers::parse("Date: someday\r\n\r\n");

  Selection older;
  older.set_older_than(mw::select::parse_age("7d"));
  CHECK_FALSE(older.matches(message(1, 1), &day_old, k_now));
  CHECK(older.matches(message(1, 1), &month_old, k_now));
  CHECK_FALSE(older.matches(message(1, 1), &future, k_now));
  CHECK_FALSE(older.matches(message(1, 1), &undated, k_now));
  CHECK_FALSE(older.matches(message(1, 1), &bad_date, k_now));

  Selection newer;
  newer.set_newer_than(mw::select::parse_age("7d"));
  CHECK(newer.matches(message(1, 1), &day_old, k_now));
  CHECK_FALSE(newer.matches(message(1, 1), &month_old, k_now));
  CHECK(newer.matches(message(1, 1), &future, k_now));
  CHECK_FALSE(newer.matches(message(1, 1), &undated, k_now));
  CHECK_FALSE(newer.matches(message(1, 1), &bad_date, k_now));

  // Between 12 hours and 7 days old.
  Selection between;
  between.set_older_than(12h);
  between.set_newer_than(7 * 24h);
  CHECK(between.matches(message(1, 1), &day_old, k_now));
  CHECK_FALSE(between.matches(message(1, 1), &month_old, k_now));

  Selection impossible;
  impossible.set_older_than(7 * 24h);
  CHECK(usage_error([&] { impossible.set_newer_than(24h); }) ==
        "--newer-than 86400s selects no message together with --older-than 604800s");
  CHECK_THROWS_AS(Selection().set_older_than(-1s), UsageError);
}

TEST_CASE("Selection: From and Subject regexes", "[select]")
{
  const auto h = Headers::parse("From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@Example.COM>\r\n"
                                "Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus Berlin\r\n"
                                "\r\n");
  const auto info = message(1, 10, "u1");

  Selection from;
  from.set_from("example\\.com");  // case-insensitive, searched not fully matched
  CHECK(from.matches(info, &h, k_now));
  from.set_from("^J\xC3\xB6rg");  // decoded before matching
  CHECK(from.matches(info, &h, k_now));
  from.set_from("^joerg@");
  CHECK_FALSE(from.matches(info, &h, k_now));

  Selection subject;
  subject.set_subject("gr\xC3\xBC\xC3\x9F"
                      "e");  // exact UTF-8, ASCII part in another case
  CHECK(subject.matches(info, &h, k_now));
  subject.set_subject("BERLIN$");
  CHECK(subject.matches(info, &h, k_now));
  subject.set_subject("R3LDvMOfZQ");  // the encoded form is not what is matched
  CHECK_FALSE(subject.matches(info, &h, k_now));

  const auto no_subject = Headers::parse("From: x@example.com\r\n\r\n");
  subject.set_subject(".*");  // a missing header never matches, not even .*
  CHECK_FALSE(subject.matches(message(1, 1), &no_subject, k_now));

  CHECK_THAT(usage_error([&] { subject.set_subject("[unclosed"); }),
             Catch::StartsWith("invalid regular expression '[unclosed' for --subject: "));
  CHECK(usage_error([&] { subject.set_subject("(unclosed"); }) ==
        "invalid regular expression '(unclosed' for --subject: Unmatched marking parenthesis ( "
        "or \\( (at offset 9)");
  CHECK_THAT(usage_error([&] { from.set_from("a{2,1}"); }),
             Catch::StartsWith("invalid regular expression 'a{2,1}' for --from: "));
}

TEST_CASE("Selection: --header filters", "[select]")
{
  const auto h = Headers::parse("Received: from a\r\n"
                                "Received: from relay.example.net\r\n"
                                "X-Spam-Flag: YES\r\n"
                                "X-Tag: =?utf-8?q?caf=C3=A9?=\r\n"
                                "\r\n");
  const auto info = message(1, 10);

  Selection spam;
  spam.add_header("x-spam-flag: ^yes$");
  CHECK(spam.matches(info, &h, k_now));

  Selection any_received;  // any field of that name may match
  any_received.add_header("Received: relay\\.example");
  CHECK(any_received.matches(info, &h, k_now));

  Selection decoded;
  decoded.add_header("X-Tag: caf\xC3\xA9");
  CHECK(decoded.matches(info, &h, k_now));

  Selection missing;
  missing.add_header("X-Missing:");
  CHECK_FALSE(missing.matches(info, &h, k_now));

  Selection two;  // several header filters must all match
  two.add_header("X-Spam-Flag: yes");
  two.add_header("X-Tag: tea");
  CHECK_FALSE(two.matches(info, &h, k_now));
}

TEST_CASE("Selection: filters combine with AND", "[select]")
{
  const auto match = Headers::parse("From: boss@example.com\r\nSubject: Quarterly report\r\n"
                                    "Date: Mon, 1 Jan 2024 09:00:00 +0100\r\n\r\n");
  const auto other = Headers::parse("From: spam@example.net\r\nSubject: Quarterly report\r\n"
                                    "Date: Mon, 1 Jan 2024 09:00:00 +0100\r\n\r\n");
  Selection s;
  s.add_ranges("1-10");
  s.add_uid("a");
  s.add_uid("b");
  s.set_larger_than(100);
  s.set_from("@example\\.com$");
  s.set_subject("report");
  s.add_header("Date: 2024");
  s.set_older_than(7 * 24h);
  CHECK(s.needs_headers());
  CHECK(s.needs_uids());

  CHECK(s.matches(message(3, 500, "a"), &match, k_now));
  CHECK_FALSE(s.matches(message(11, 500, "a"), &match, k_now));  // number
  CHECK_FALSE(s.matches(message(3, 500, "c"), &match, k_now));   // uid
  CHECK_FALSE(s.matches(message(3, 50, "a"), &match, k_now));    // size
  CHECK_FALSE(s.matches(message(3, 500, "b"), &other, k_now));   // From
  CHECK_FALSE(s.matches(message(3, 500, "a"), &match,
                        std::chrono::sys_days{std::chrono::January / 3 / 2024}));  // age
}

TEST_CASE("Selection: header filters without headers are a caller bug", "[select]")
{
  Selection s;
  s.set_subject("x");
  CHECK_THROWS_AS(s.matches(message(1, 1), nullptr, k_now), std::logic_error);
  // Cheap filters are checked first, so a message they exclude needs no headers.
  s.add_ranges("5");
  CHECK_FALSE(s.matches(message(1, 1), nullptr, k_now));
}

TEST_CASE("Selection: long header values do not overflow the stack", "[select]")
{
  const std::string long_subject(200000, 'a');
  const auto h = Headers::parse("Subject: " + long_subject + "b\r\n\r\n");
  Selection s;
  s.set_subject("[ab]*c");
  CHECK_FALSE(s.matches(message(1, 1), &h, k_now));
  s.set_subject("a+b$");
  CHECK(s.matches(message(1, 1), &h, k_now));
  // Catastrophic backtracking is cut off by Boost.Regex and reported, not run for hours.
  s.set_subject("(a+)+c");
  CHECK(usage_error([&] { s.matches(message(1, 1), &h, k_now); }) ==
        "regular expression '(a+)+c' is too complex to search the Subject header; simplify it "
        "(e.g. avoid nested repetition like (a+)+)");
}
