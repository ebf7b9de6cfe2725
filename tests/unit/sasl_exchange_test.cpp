// SPDX-License-Identifier: Apache-2.0
#include "sasl/exchange.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using mw::sasl::Exchange;

namespace {

mw::sasl::Credentials credentials(std::string user, std::string password)
{
  return {std::move(user), mw::Secret(std::move(password)), "", "", 0};
}

bool hides(const Exchange& exchange, const std::string& text)
{
  const auto& s = exchange.secrets();
  return std::find(s.begin(), s.end(), text) != s.end();
}

}  // namespace

// The exchanges of the RFCs, as base64 lines on the wire (what both protocol clients send).

TEST_CASE("Exchange: PLAIN's initial response, RFC 4616 section 4", "[sasl]")
{
  auto plain = mw::sasl::make("PLAIN", credentials("tim", "tanstaaftanstaaf"));
  Exchange exchange(*plain);
  CHECK(exchange.name() == "PLAIN");
  CHECK(exchange.initial() == mw::base64::encode(std::string("\0tim\0tanstaaftanstaaf", 21)));
  CHECK(hides(exchange, "tanstaaftanstaaf"));
  CHECK(hides(exchange, mw::base64::encode(std::string("\0tim\0tanstaaftanstaaf", 21))));
  CHECK_NOTHROW(exchange.succeed());
}

TEST_CASE("Exchange: CRAM-MD5, RFC 2195 section 2", "[sasl]")
{
  auto cram = mw::sasl::make("CRAM-MD5", credentials("tim", "tanstaaftanstaaf"));
  Exchange exchange(*cram);
  CHECK(exchange.initial() == std::nullopt);
  CHECK(exchange.respond("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+") ==
        "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  CHECK(hides(exchange, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"));
}

TEST_CASE("Exchange: SCRAM-SHA-256, RFC 7677 section 3, with the server signature checked",
          "[sasl]")
{
  auto scram =
      mw::sasl::make("SCRAM-SHA-256", credentials("user", "pencil"), "rOprNGfwEbeRWgbNEkqO");
  Exchange exchange(*scram);
  CHECK(exchange.initial() == mw::base64::encode("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  CHECK(exchange.respond(mw::base64::encode(
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096")) ==
        mw::base64::encode("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                           "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
  // POP3 and SMTP carry the server-final as one more challenge, answered empty.
  CHECK(exchange.respond(mw::base64::encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")) ==
        "");
  CHECK_NOTHROW(exchange.succeed());
}

TEST_CASE("Exchange: success without SCRAM's server signature is refused", "[sasl]")
{
  auto scram =
      mw::sasl::make("SCRAM-SHA-256", credentials("user", "pencil"), "rOprNGfwEbeRWgbNEkqO");
  Exchange exchange(*scram);
  exchange.initial();
  CHECK_THROWS_AS(exchange.succeed(), mw::Error);
}

TEST_CASE("Exchange: LOGIN answers two challenges; an empty initial response is '='", "[sasl]")
{
  auto login = mw::sasl::make("LOGIN", credentials("tim", "tanstaaftanstaaf"));
  Exchange exchange(*login);
  CHECK(exchange.initial() == std::nullopt);
  CHECK(exchange.respond(mw::base64::encode("Username:")) == mw::base64::encode("tim"));
  CHECK(exchange.respond(mw::base64::encode("Password:")) ==
        mw::base64::encode("tanstaaftanstaaf"));
  CHECK(hides(exchange, "tanstaaftanstaaf"));
  CHECK(hides(exchange, mw::base64::encode("tanstaaftanstaaf")));
}

TEST_CASE("Exchange: a challenge that is not base64 is a protocol error naming AUTH", "[sasl]")
{
  auto cram = mw::sasl::make("CRAM-MD5", credentials("tim", "tanstaaftanstaaf"));
  Exchange exchange(*cram);
  exchange.initial();
  try {
    exchange.respond("not base64!");
    FAIL("no exception");
  } catch (const mw::Error& e) {
    CHECK(e.code() == mw::ExitCode::protocol);
    CHECK_THAT(e.what(), Catch::Contains("AUTH CRAM-MD5"));
  }
  CHECK(Exchange::cancel_line() == "*");
}
