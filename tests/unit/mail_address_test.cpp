// SPDX-License-Identifier: Apache-2.0
#include "mail/address.hpp"
#include "mail/rfc2047.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

using mw::mail::format_mailbox;
using mw::mail::Mailbox;
using mw::mail::parse_address_list;
using mw::mail::parse_mailbox;

namespace {

std::string describe(const std::vector<Mailbox>& list)
{
  std::string out;
  for (const Mailbox& m : list) {
    out += "[" + m.display_name + "|" + m.address + "]";
  }
  return out;
}

}  // namespace

TEST_CASE("address: a list with plain, named, quoted and group items (RFC 5322 3.4)", "[address]")
{
  const auto list = parse_address_list("a@b.example, Bob <b@x.example>, \"Doe, J.\" <j@y.example>, "
                                       "group: c@d.example, e@f.example;, last@z.example");
  CHECK(describe(list) == "[|a@b.example][Bob|b@x.example][Doe, J.|j@y.example]"
                          "[|c@d.example][|e@f.example][|last@z.example]");
}

TEST_CASE("address: empty items and empty groups are skipped", "[address]")
{
  CHECK(parse_address_list("").empty());
  CHECK(parse_address_list("  ,  , ").empty());
  CHECK(parse_address_list("undisclosed-recipients:;").empty());
  CHECK(describe(parse_address_list(", a@b.example,, (just a comment), b@c.example,")) ==
        "[|a@b.example][|b@c.example]");
  CHECK(describe(parse_address_list("team: ; x@y.example")) == "[|x@y.example]");
}

TEST_CASE("address: comments (RFC 5322 3.2.2)", "[address]")
{
  CHECK(describe(parse_address_list("bob@x.example (Bob Smith)")) == "[Bob Smith|bob@x.example]");
  CHECK(describe(parse_address_list("Bob (the builder) <bob@x.example> (work)")) ==
        "[Bob|bob@x.example]");
  CHECK(describe(parse_address_list("Pete(A nice \\) chap) <pete(his account)@silly.test(his "
                                    "host)>")) == "[Pete|pete@silly.test]");
  CHECK(describe(parse_address_list("(nested (comment)) a@b.example")) ==
        "[nested (comment)|a@b.example]");
}

TEST_CASE("address: RFC 5322 appendix A examples", "[address]")
{
  CHECK(describe(parse_address_list("\"Joe Q. Public\" <john.q.public@example.com>")) ==
        "[Joe Q. Public|john.q.public@example.com]");
  CHECK(describe(
            parse_address_list("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>")) ==
        "[Mary Smith|mary@x.test][|jdoe@example.org][Who?|one@y.test]");
  CHECK(describe(parse_address_list("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
                                    "<sysservices@example.net>")) ==
        "[|boss@nil.test][Giant; \"Big\" Box|sysservices@example.net]");
  CHECK(describe(parse_address_list("A Group:Ed Jones <c@a.test>,joe@where.test,John "
                                    "<jdoe@one.test>;")) ==
        "[Ed Jones|c@a.test][|joe@where.test][John|jdoe@one.test]");
  // Obsolete forms (section 4.4): a phrase with a dot, a route, folding whitespace.
  CHECK(describe(parse_address_list("Joe Q. Public <john.q.public@example.com>")) ==
        "[Joe Q. Public|john.q.public@example.com]");
  CHECK(describe(parse_address_list("<@node.test,@node2.test:mary@example.net>")) ==
        "[|mary@example.net]");
  CHECK(describe(parse_address_list("Mary Smith\r\n <mary@example.net>,\r\n\tjoe@example.org")) ==
        "[Mary Smith|mary@example.net][|joe@example.org]");
  CHECK(describe(parse_address_list("john @ example.org")) == "[|john@example.org]");
}

TEST_CASE("address: RFC 2047 display names, also inside quotes", "[address]")
{
  CHECK(describe(parse_address_list("=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@x.example>")) ==
        "[J\xC3\xBCrgen M\xC3\xBCller|jm@x.example]");
  CHECK(describe(parse_address_list("\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" <p@vm1.example>")) ==
        "[Andr\xC3\xA9 Pirard|p@vm1.example]");
  CHECK(describe(parse_address_list("=?utf-8?b?5p2x5Lqs?= =?utf-8?b?5aSq6YOO?= <t@x.jp>")) ==
        "[\xE6\x9D\xB1\xE4\xBA\xAC\xE5\xA4\xAA\xE9\x83\x8E|t@x.jp]");
  CHECK(describe(parse_address_list("a@b.example (=?utf-8?q?caf=C3=A9?=)")) ==
        "[caf\xC3\xA9|a@b.example]");
}

TEST_CASE("address: quoted local parts, domain literals and UTF-8", "[address]")
{
  CHECK(describe(parse_address_list("\"john doe\"@example.com")) == "[|\"john doe\"@example.com]");
  CHECK(describe(parse_address_list("\"john\"@example.com")) == "[|john@example.com]");
  CHECK(describe(parse_address_list("\"a\\\"b\"@example.com")) == "[|\"a\\\"b\"@example.com]");
  CHECK(describe(parse_address_list("user@[192.0.2.1]")) == "[|user@[192.0.2.1]]");
  CHECK(describe(parse_address_list("J\xC3\xB6rg <j\xC3\xB6rg@b\xC3\xBC"
                                    "cher.example>")) == "[J\xC3\xB6rg|j\xC3\xB6rg@b\xC3\xBC"
                                                         "cher.example]");
}

TEST_CASE("address: items without a usable address throw UsageError naming them", "[address]")
{
  const auto message = [](std::string_view text) -> std::string {
    try {
      parse_address_list(text);
    } catch (const mw::UsageError& e) {
      CHECK(e.code() == mw::ExitCode::usage);
      return e.what();
    }
    return "(no error)";
  };
  CHECK_THAT(message("a@b.example, Bob Smith, c@d.example"),
             Catch::Contains("'Bob Smith'") && Catch::Contains("whitespace"));
  CHECK_THAT(message("Bob"), Catch::Contains("'Bob'") && Catch::Contains("no '@'"));
  CHECK_THAT(message("x@y.example, <>"), Catch::Contains("'<>'"));
  CHECK_THAT(message("a@"), Catch::Contains("nothing after"));
  CHECK_THAT(message("@b.example"), Catch::Contains("nothing before"));
  CHECK_THAT(message("a@b@c.example"), Catch::Contains("more than one '@'"));
  CHECK_THAT(message("Bob <bob@x.example"), Catch::Contains("without '>'"));
  CHECK_THAT(message("Bob <bob@x.example> trailing"), Catch::Contains("after '>'"));
  CHECK_THAT(message("a@b..example"), Catch::Contains("not a domain"));
  CHECK_THAT(message("a@.example"), Catch::Contains("not a domain"));
  CHECK_THAT(message("Bob bob@x.example"), Catch::Contains("whitespace"));
}

TEST_CASE("address: the lenient form lists bad items and keeps the good ones", "[address]")
{
  std::vector<std::string> invalid;
  const auto list = parse_address_list("a@b.example, broken, Bob <c@d.example>, x@", invalid);
  CHECK(describe(list) == "[|a@b.example][Bob|c@d.example]");
  REQUIRE(invalid.size() == 2);
  CHECK_THAT(invalid[0], Catch::Contains("'broken'"));
  CHECK_THAT(invalid[1], Catch::Contains("'x@'"));
}

TEST_CASE("address: one address from the command line", "[address]")
{
  CHECK(describe({parse_mailbox("bob@x.example")}) == "[|bob@x.example]");
  CHECK(describe({parse_mailbox("  Bob <bob@x.example>  ")}) == "[Bob|bob@x.example]");
  CHECK(describe({parse_mailbox("\"Doe, J.\" <j@y.example>")}) == "[Doe, J.|j@y.example]");
  CHECK(describe({parse_mailbox("J\xC3\xBCrgen <j@y.example>")}) == "[J\xC3\xBCrgen|j@y.example]");
  CHECK(describe({parse_mailbox("<j@y.example>")}) == "[|j@y.example]");
}

TEST_CASE("address: nonsense on the command line is a usage error", "[address]")
{
  for (const char* bad :
       {"", "   ", "bob", "bob smith@x.example", "bob @x.example", "bob@ x.example",
        "bob@x.example\r\nBcc: evil@x.example", "bob@x.example\n", "a@b.example, c@d.example",
        "g: a@b.example;", "Bob <bob>", "Bob <bob@x.example", "@x.example", "bob@"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_mailbox(bad), mw::UsageError);
  }
}

TEST_CASE("address: formatting plain, quoted and encoded display names", "[address]")
{
  CHECK(format_mailbox({"", "b@x.example"}) == "b@x.example");
  CHECK(format_mailbox({"Bob", "b@x.example"}) == "Bob <b@x.example>");
  CHECK(format_mailbox({"Bob  Smith ", "b@x.example"}) == "Bob Smith <b@x.example>");
  CHECK(format_mailbox({"Doe, J.", "j@y.example"}) == "\"Doe, J.\" <j@y.example>");
  CHECK(format_mailbox({"Joe Q. Public", "j@y.example"}) == "\"Joe Q. Public\" <j@y.example>");
  CHECK(format_mailbox({"say \"hi\" \\o/", "j@y.example"}) ==
        "\"say \\\"hi\\\" \\\\o/\" <j@y.example>");
  CHECK(format_mailbox({"J\xC3\xBCrgen", "j@y.example"}) ==
        "=?UTF-8?Q?J=C3=BCrgen?= <j@y.example>");
  // A literal "=?" would be read as an encoded-word, so it is encoded itself.
  CHECK(format_mailbox({"a =?b?= c", "j@y.example"}).find("=?UTF-8?") == 0);
  // A line break in a name must not become a header line.
  const std::string injected = format_mailbox({"Eve\r\nBcc: victim@x.example", "e@y.example"});
  CHECK(injected.find('\r') == std::string::npos);
  CHECK(injected.find('\n') == std::string::npos);
}

TEST_CASE("address: format_mailbox then parse_address_list gives the mailbox back", "[address]")
{
  const std::vector<std::string> names = {
      "Bob",
      "Doe, J.",
      "say \"hi\" \\o/",
      "J\xC3\xBCrgen M\xC3\xBCller",
      "\xE6\x9D\xB1\xE4\xBA\xAC \xE5\xA4\xAA\xE9\x83\x8E",
      "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89 party",
      "a =?utf-8?q?x?= literal",
      "Gr\xC3\xBC\xC3\x9F"
      "e aus K\xC3\xB6ln an die ganze Abteilung f\xC3\xBCr Qualit\xC3\xA4tssicherung und "
      "Pr\xC3\xBC"
      "fung",
      "under_score? and = signs",
  };
  for (const std::string& name : names) {
    INFO(name);
    const Mailbox original{name, "x@y.example"};
    const std::string formatted = format_mailbox(original);
    const auto parsed = parse_address_list(formatted);
    REQUIRE(parsed.size() == 1);
    CHECK(parsed[0].display_name == name);
    CHECK(parsed[0].address == "x@y.example");
    std::size_t pos = 0;
    while ((pos = formatted.find("=?", pos)) != std::string::npos) {
      const std::size_t end =
          formatted.find("?=", formatted.find('?', formatted.find('?', pos + 2) + 1) + 1);
      REQUIRE(end != std::string::npos);
      CHECK(end + 2 - pos <= 75);
      pos = end + 2;
    }
  }
}
