// SPDX-License-Identifier: Apache-2.0
#include "smtp/typed.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

// MAIL FROM and RCPT TO as people type them in `mailwrench session --smtp` (issue 15).

using Catch::Matchers::Contains;
using mw::smtp::parse_typed_path;

TEST_CASE("typed MAIL FROM: the forms people type become one wire form", "[smtp][typed]")
{
  for (const char* typed : {"FROM:<a@b.example>", "from:<a@b.example>", "FROM: <a@b.example>",
                            "From : <a@b.example>", "  FROM:a@b.example", "FROM:\t<a@b.example>"}) {
    INFO(typed);
    const auto path = parse_typed_path("mail", typed);
    CHECK(path.address == "a@b.example");
    CHECK(path.parameters.empty());
    CHECK(path.line == "MAIL FROM:<a@b.example>");
  }
}

TEST_CASE("typed MAIL FROM: parameters and the null reverse-path", "[smtp][typed]")
{
  auto path = parse_typed_path("MAIL", "FROM:<> SIZE=100  BODY=8BITMIME");
  CHECK(path.address.empty());
  CHECK(path.parameters == std::vector<std::string>{"SIZE=100", "BODY=8BITMIME"});
  CHECK(path.line == "MAIL FROM:<> SIZE=100 BODY=8BITMIME");

  path = parse_typed_path("MAIL", "FROM:<\"john doe\"@x.example> SMTPUTF8");
  CHECK(path.address == "\"john doe\"@x.example");
  CHECK(path.line == "MAIL FROM:<\"john doe\"@x.example> SMTPUTF8");
}

TEST_CASE("typed RCPT TO", "[smtp][typed]")
{
  const auto path = parse_typed_path("RCPT", "to: <bob@lab.test> NOTIFY=NEVER");
  CHECK(path.address == "bob@lab.test");
  CHECK(path.line == "RCPT TO:<bob@lab.test> NOTIFY=NEVER");
}

TEST_CASE("typed MAIL FROM / RCPT TO: malformed lines are refused with the form", "[smtp][typed]")
{
  using E = mw::UsageError;
  CHECK_THROWS_WITH(parse_typed_path("MAIL", "<a@b>"), Contains("FROM: is missing"));
  CHECK_THROWS_WITH(parse_typed_path("MAIL", "FROM <a@b>"), Contains("colon"));
  CHECK_THROWS_WITH(parse_typed_path("MAIL", "FROM:<a@b"), Contains("closing '>'"));
  CHECK_THROWS_WITH(parse_typed_path("MAIL", "FROM:<a@b>x"), Contains("blank must follow"));
  CHECK_THROWS_WITH(parse_typed_path("MAIL", "FROM:a@b>"), Contains("unbalanced"));
  CHECK_THROWS_WITH(parse_typed_path("MAIL", "FROM:"), Contains("the address is missing"));
  CHECK_THROWS_WITH(parse_typed_path("RCPT", "TO:<>"), Contains("needs an address"));
  CHECK_THROWS_WITH(parse_typed_path("RCPT", "FROM:<a@b>"), Contains("TO: is missing"));
  CHECK_THROWS_WITH(parse_typed_path("RCPT", "TO:<a@b>\x1b[2J"), Contains("control"));
  CHECK_THROWS_AS(parse_typed_path("RCPT", "TO:<a<b>"), E);
  CHECK_THROWS_WITH(parse_typed_path("RCPT", "TO:"), Contains("RCPT TO:<address>"));
}
