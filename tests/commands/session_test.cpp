// SPDX-License-Identifier: Apache-2.0
#include "commands/session.hpp"
#include "sasl/mechanism.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

// The login pieces Pop3Session and SmtpSession share (issue 12 item 1): the plaintext refusal,
// the check that the server offers the mechanism asked for, and the mechanism made from the
// login's credentials.

using mw::ExitCode;

namespace {

ExitCode code_of(const std::function<void()>& step)
{
  try {
    step();
  } catch (const mw::Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

std::string message_of(const std::function<void()>& step)
{
  try {
    step();
  } catch (const mw::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("session: no password over a clear connection unless --allow-plaintext", "[session]")
{
  mw::cli::Settings s;
  CHECK(code_of([&] { mw::commands::refuse_plaintext(s, false); }) == ExitCode::permission);
  CHECK(message_of([&] {
          mw::commands::refuse_plaintext(s, false);
        }).starts_with("refusing to send the password over an unencrypted connection"));
  CHECK(code_of([&] { mw::commands::refuse_plaintext(s, true); }) == ExitCode::ok);
  s.allow_plaintext = true;
  CHECK(code_of([&] { mw::commands::refuse_plaintext(s, false); }) == ExitCode::ok);
}

TEST_CASE("session: a mechanism the server does not offer is refused (77)", "[session]")
{
  std::vector<std::string> offered{"PLAIN", "SCRAM-SHA-256"};
  CHECK(code_of([&] { mw::commands::require_offered("PLAIN", offered, ""); }) == ExitCode::ok);
  CHECK(message_of([&] { mw::commands::require_offered("CRAM-MD5", offered, ""); }) ==
        "the server does not offer AUTH CRAM-MD5");
  CHECK(code_of([&] { mw::commands::require_offered("CRAM-MD5", offered, " (it offers X)"); }) ==
        ExitCode::permission);
  CHECK(message_of([&] { mw::commands::require_offered("CRAM-MD5", {}, " (it offers none)"); }) ==
        "the server does not offer AUTH CRAM-MD5 (it offers none)");
}

TEST_CASE("session: the mechanism from the login, or the usage error of --auth", "[session]")
{
  mw::cli::Settings s;
  s.host = "mail.example.org";
  s.port = 587;
  s.auth = "plain";
  mw::cli::Login login{"alice", mw::Secret(std::string("secret")), {}};
  auto plain = mw::commands::mechanism_for("PLAIN", login, s);
  REQUIRE(plain);
  CHECK(plain->name() == "PLAIN");
  s.auth = "no-such-mech";
  CHECK(code_of([&] { mw::commands::mechanism_for("NO-SUCH-MECH", login, s); }) == ExitCode::usage);
  CHECK(message_of([&] { mw::commands::mechanism_for("NO-SUCH-MECH", login, s); }) ==
        "unsupported --auth no-such-mech");
}
