// SPDX-License-Identifier: Apache-2.0
#include "sasl/mechanism.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace std::string_literals;

namespace {

mw::sasl::Credentials credentials(std::string user, std::string password)
{
  mw::sasl::Credentials result;
  result.user = std::move(user);
  result.password = mw::Secret(std::move(password));
  return result;
}

// Runs `call`, expecting a mw::Error of `code` whose message names `mechanism` and never
// contains `secret`.
template <typename Call>
void check_error(Call&& call, mw::ExitCode code, const std::string& mechanism,
                 const std::string& secret)
{
  try {
    call();
    FAIL("no exception");
  } catch (const mw::Error& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(error.code() == code);
    CHECK(message.find(mechanism) != std::string::npos);
    CHECK(message.find(secret) == std::string::npos);
  }
}

// The RFC 7677 section 3 exchange.
const std::string k_scram_nonce = "rOprNGfwEbeRWgbNEkqO";
const std::string k_scram_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const std::string k_scram_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const std::string k_scram_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

std::unique_ptr<mw::sasl::Mechanism> rfc7677_scram()
{
  return mw::sasl::make("SCRAM-SHA-256", credentials("user", "pencil"), k_scram_nonce);
}

}  // namespace

TEST_CASE("supported() lists the mechanisms strongest first", "[sasl]")
{
  const std::vector<std::string_view> expected = {"SCRAM-SHA-256", "CRAM-MD5", "PLAIN",
                                                  "LOGIN",         "XOAUTH2",  "OAUTHBEARER"};
  CHECK(mw::sasl::supported() == expected);
  for (const std::string_view name : mw::sasl::supported()) {
    const auto mechanism = mw::sasl::make(name, credentials("u", "p"));
    REQUIRE(mechanism);
    CHECK(mechanism->name() == name);
  }
  CHECK(mw::sasl::is_oauth("XOAUTH2"));
  CHECK(mw::sasl::is_oauth("oauthbearer"));
  CHECK_FALSE(mw::sasl::is_oauth("PLAIN"));
}

TEST_CASE("make() is case-insensitive and returns nullptr for unknown names", "[sasl]")
{
  CHECK(mw::sasl::make("plain", credentials("u", "p"))->name() == "PLAIN");
  CHECK(mw::sasl::make("Scram-Sha-256", credentials("u", "p"))->name() == "SCRAM-SHA-256");
  CHECK(mw::sasl::make("GSSAPI", credentials("u", "p")) == nullptr);
  CHECK(mw::sasl::make("SCRAM-SHA-1", credentials("u", "p")) == nullptr);
  CHECK(mw::sasl::make("", credentials("u", "p")) == nullptr);
}

TEST_CASE("strongest() picks the strongest non-OAuth mechanism offered", "[sasl]")
{
  CHECK(mw::sasl::strongest({"PLAIN", "LOGIN"}) == "PLAIN"s);
  CHECK(mw::sasl::strongest({"login", "scram-sha-256", "CRAM-MD5"}) == "SCRAM-SHA-256"s);
  CHECK(mw::sasl::strongest({"LOGIN", "cram-md5"}) == "CRAM-MD5"s);
  CHECK(mw::sasl::strongest({"login"}) == "LOGIN"s);
  CHECK(mw::sasl::strongest({"GSSAPI"}) == std::nullopt);
  CHECK(mw::sasl::strongest({}) == std::nullopt);
  CHECK(mw::sasl::strongest({"XOAUTH2", "OAUTHBEARER"}) == std::nullopt);
  CHECK(mw::sasl::strongest({"XOAUTH2", "OAUTHBEARER", "LOGIN"}) == "LOGIN"s);
  CHECK(mw::sasl::strongest({"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1", "PLAIN"}) == "PLAIN"s);
}

TEST_CASE("PLAIN sends the RFC 4616 section 4 messages", "[sasl]")
{
  auto plain = mw::sasl::make("PLAIN", credentials("tim", "tanstaaftanstaaf"));
  CHECK(plain->initial_response() == "\0tim\0tanstaaftanstaaf"s);
  check_error([&] { plain->respond("more?"); }, mw::ExitCode::protocol, "PLAIN",
              "tanstaaftanstaaf");

  auto with_authzid = credentials("Kurt", "xipj3plmq");
  with_authzid.authzid = "Ursel";
  CHECK(mw::sasl::make("PLAIN", with_authzid)->initial_response() == "Ursel\0Kurt\0xipj3plmq"s);
}

TEST_CASE("PLAIN answers an empty challenge with the message when it was not sent", "[sasl]")
{
  // RFC 4616 section 4's first example: AUTHENTICATE PLAIN, + "", then the message.
  auto plain = mw::sasl::make("PLAIN", credentials("tim", "tanstaaftanstaaf"));
  CHECK(plain->respond("") == "\0tim\0tanstaaftanstaaf"s);
  check_error([&] { plain->respond(""); }, mw::ExitCode::protocol, "PLAIN", "tanstaaftanstaaf");

  // Asked for, held back (too long for the command line), then asked for by the server.
  auto held_back = mw::sasl::make("PLAIN", credentials("tim", "tanstaaftanstaaf"));
  REQUIRE(held_back->initial_response());
  CHECK(held_back->respond("") == "\0tim\0tanstaaftanstaaf"s);
  check_error([&] { held_back->respond(""); }, mw::ExitCode::protocol, "PLAIN", "tanstaaftanstaaf");

  // A non-empty challenge before anything was sent is not PLAIN.
  auto early = mw::sasl::make("PLAIN", credentials("tim", "tanstaaftanstaaf"));
  check_error([&] { early->respond("hello"); }, mw::ExitCode::protocol, "PLAIN",
              "tanstaaftanstaaf");
}

TEST_CASE("LOGIN sends the user, then the password, by order", "[sasl]")
{
  auto login = mw::sasl::make("login", credentials("tim", "tanstaaftanstaaf"));
  CHECK(login->initial_response() == std::nullopt);
  CHECK(login->respond("Password:") == "tim");  // order counts, not the text
  CHECK(login->respond("Username:") == "tanstaaftanstaaf");
  check_error([&] { login->respond("Password:"); }, mw::ExitCode::protocol, "LOGIN",
              "tanstaaftanstaaf");

  auto localised = mw::sasl::make("LOGIN", credentials("tim", "tanstaaftanstaaf"));
  CHECK(localised->respond("Benutzername:") == "tim");
  CHECK(localised->respond("") == "tanstaaftanstaaf");
}

TEST_CASE("CRAM-MD5 answers the RFC 2195 section 2 example", "[sasl]")
{
  auto cram = mw::sasl::make("CRAM-MD5", credentials("tim", "tanstaaftanstaaf"));
  CHECK(cram->initial_response() == std::nullopt);
  const auto challenge =
      mw::base64::decode("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
  REQUIRE(challenge == "<1896.697170952@postoffice.reston.mci.net>"s);
  const std::string response = cram->respond(*challenge);
  CHECK(response == "tim b913a602c7eda7a495b4e6e7334d3890");
  CHECK(mw::base64::encode(response) == "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  check_error([&] { cram->respond("<again@host>"); }, mw::ExitCode::protocol, "CRAM-MD5",
              "tanstaaftanstaaf");

  auto empty = mw::sasl::make("CRAM-MD5", credentials("tim", "tanstaaftanstaaf"));
  check_error([&] { empty->respond(""); }, mw::ExitCode::protocol, "CRAM-MD5", "tanstaaftanstaaf");
}

TEST_CASE("SCRAM-SHA-256 reproduces the RFC 7677 section 3 exchange", "[sasl]")
{
  auto scram = rfc7677_scram();
  CHECK(scram->initial_response() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  CHECK(scram->respond(k_scram_server_first) == k_scram_client_final);
  SECTION("server-final as a challenge, then success without data")
  {
    CHECK(scram->respond(k_scram_server_final) == "");
    CHECK_NOTHROW(scram->verify_final(""));
    CHECK_NOTHROW(scram->verify_final(k_scram_server_final));
    check_error([&] { scram->respond(k_scram_server_final); }, mw::ExitCode::protocol,
                "SCRAM-SHA-256", "pencil");
  }
  SECTION("server-final as additional data with success")
  {
    CHECK_NOTHROW(scram->verify_final(k_scram_server_final));
  }
  SECTION("success without any server-final is not mutual authentication")
  {
    check_error([&] { scram->verify_final(""); }, mw::ExitCode::protocol, "SCRAM-SHA-256",
                "pencil");
  }
  SECTION("a wrong server signature is a permission error")
  {
    check_error([&] { scram->verify_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); },
                mw::ExitCode::permission, "SCRAM-SHA-256", "pencil");
  }
  SECTION("a wrong server signature in a challenge is a permission error")
  {
    check_error([&] { scram->respond("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="); },
                mw::ExitCode::permission, "SCRAM-SHA-256", "pencil");
  }
  SECTION("a truncated signature is a permission error")
  {
    check_error([&] { scram->verify_final("v=6rriTRBi23WpRR/w"); }, mw::ExitCode::permission,
                "SCRAM-SHA-256", "pencil");
  }
  SECTION("e= names the server's error")
  {
    try {
      scram->respond("e=invalid-proof");
      FAIL("no exception");
    } catch (const mw::Error& error) {
      CHECK(error.code() == mw::ExitCode::permission);
      CHECK(std::string(error.what()).find("invalid-proof") != std::string::npos);
    }
  }
  SECTION("a server-final with neither v= nor e= is malformed")
  {
    check_error([&] { scram->verify_final("x=1"); }, mw::ExitCode::protocol, "SCRAM-SHA-256",
                "pencil");
    check_error([&] { scram->verify_final("v=not base64!"); }, mw::ExitCode::protocol,
                "SCRAM-SHA-256", "pencil");
  }
}

TEST_CASE("SCRAM-SHA-256 answers the server's empty challenge with client-first", "[sasl]")
{
  auto scram = rfc7677_scram();
  CHECK(scram->respond("") == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  CHECK(scram->respond(k_scram_server_first) == k_scram_client_final);
  CHECK(scram->respond(k_scram_server_final) == "");
}

TEST_CASE("SCRAM-SHA-256 escapes names and sends the authorization identity", "[sasl]")
{
  auto creds = credentials("us=er,x", "pencil");
  auto scram = mw::sasl::make("SCRAM-SHA-256", creds, "abc");
  CHECK(scram->initial_response() == "n,,n=us=3Der=2Cx,r=abc");

  creds.authzid = "ad,min";
  auto with_authzid = mw::sasl::make("SCRAM-SHA-256", creds, "abc");
  CHECK(with_authzid->initial_response() == "n,a=ad=2Cmin,n=us=3Der=2Cx,r=abc");
  const std::string final_message = with_authzid->respond("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096");
  // c= carries the base64 of the whole GS2 header, "n,a=ad=2Cmin,".
  CHECK(final_message.rfind("c=" + mw::base64::encode("n,a=ad=2Cmin,") + ",r=abcdef,p=", 0) == 0);
}

TEST_CASE("SCRAM-SHA-256 makes a random nonce when none is given", "[sasl]")
{
  auto first = mw::sasl::make("SCRAM-SHA-256", credentials("user", "pencil"));
  auto second = mw::sasl::make("SCRAM-SHA-256", credentials("user", "pencil"));
  const std::string a = *first->initial_response();
  const std::string b = *second->initial_response();
  CHECK(a != b);
  REQUIRE(a.rfind("n,,n=user,r=", 0) == 0);
  const std::string nonce = a.substr(std::string("n,,n=user,r=").size());
  CHECK(nonce.size() == 32);  // 24 bytes in base64
  CHECK(nonce.find(',') == std::string::npos);
  // The same object gives the same client-first each time.
  CHECK(*first->initial_response() == a);
}

TEST_CASE("SCRAM-SHA-256 rejects malformed server-first messages", "[sasl]")
{
  const char* const malformed[] = {
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==",             // no i=
      "r=rOprNGfwEbeRWgbNEkqOxyz,i=4096",                                 // no s=
      "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",                                // no r=
      "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096",      // wrong order
      "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",                  // nonce not ours
      "r=rOprNGfwEbeRWgbN,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",             // nonce truncated
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=not*base64,i=4096",                    // bad salt
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",         // zero iterations
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",        //
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",          //
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4k",        //
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001",  // absurd
      "r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999999",
      "m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  // mandatory ext
  };
  for (const char* server_first : malformed) {
    INFO(server_first);
    auto scram = rfc7677_scram();
    REQUIRE(scram->initial_response());
    check_error([&] { scram->respond(server_first); }, mw::ExitCode::protocol, "SCRAM-SHA-256",
                "pencil");
  }

  // An empty challenge after client-first asks for it again (RFC 4422 section 5); a second
  // empty one is a malformed server-first.
  auto empty = rfc7677_scram();
  REQUIRE(empty->initial_response());
  CHECK(empty->respond("") == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  check_error([&] { empty->respond(""); }, mw::ExitCode::protocol, "SCRAM-SHA-256", "pencil");

  // Extensions after i= are allowed and ignored (RFC 5802 section 7).
  auto extended = rfc7677_scram();
  REQUIRE(extended->initial_response());
  CHECK_NOTHROW(extended->respond(k_scram_server_first + ",x=future"));

  // e= in place of server-first is the server refusing: a permission error.
  auto refused = rfc7677_scram();
  REQUIRE(refused->initial_response());
  check_error([&] { refused->respond("e=unknown-user"); }, mw::ExitCode::permission,
              "SCRAM-SHA-256", "pencil");
}

TEST_CASE("SCRAM-SHA-256 verify_final before the proof is a protocol error", "[sasl]")
{
  auto scram = rfc7677_scram();
  REQUIRE(scram->initial_response());
  check_error([&] { scram->verify_final(k_scram_server_final); }, mw::ExitCode::protocol,
              "SCRAM-SHA-256", "pencil");
}

TEST_CASE("XOAUTH2 sends the bearer blob as an initial response", "[sasl]")
{
  const std::string blob = "user=someuser@example.com\x01"
                           "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01";
  auto xoauth2 =
      mw::sasl::make("XOAUTH2", credentials("someuser@example.com",
                                            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"));
  CHECK(xoauth2->initial_response() == blob);
  // Google's error challenge gets an empty response; the server then fails the command.
  CHECK(xoauth2->respond(
            R"({"status":"401","schemes":"bearer","scope":"https://mail.google.com/"})") == "");
  check_error([&] { xoauth2->respond("{}"); }, mw::ExitCode::protocol, "XOAUTH2",
              "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
}

TEST_CASE("XOAUTH2 works in the two-step form Office 365 requires", "[sasl]")
{
  const std::string blob = "user=me@contoso.com\x01"
                           "auth=Bearer EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA\x01\x01";
  auto xoauth2 = mw::sasl::make(
      "xoauth2", credentials("me@contoso.com", "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"));
  CHECK(xoauth2->respond("") == blob);  // AUTH XOAUTH2, "+ ", blob
  CHECK(xoauth2->respond("{\"status\":\"400\"}") == "");
  check_error([&] { xoauth2->respond(""); }, mw::ExitCode::protocol, "XOAUTH2",
              "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA");
}

TEST_CASE("OAUTHBEARER sends the RFC 7628 section 4.1 initial response", "[sasl]")
{
  auto creds = credentials("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
  creds.host = "server.example.com";
  creds.port = 143;
  auto bearer = mw::sasl::make("OAUTHBEARER", creds);
  const auto initial = bearer->initial_response();
  REQUIRE(initial);
  CHECK(*initial == "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
                    "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01");
  CHECK(mw::base64::encode(*initial) ==
        "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVy"
        "IHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
}

TEST_CASE("OAUTHBEARER omits host and port when unknown and answers errors with ^A", "[sasl]")
{
  auto bearer = mw::sasl::make("oauthbearer", credentials("a,b=c", "token123"));
  CHECK(bearer->initial_response() == "n,a=a=2Cb=3Dc,\x01"
                                      "auth=Bearer token123\x01\x01");
  // RFC 7628 section 3.2.3: the error challenge gets a single ^A.
  CHECK(bearer->respond(R"({"status":"invalid_token","scope":"example_scope"})") == "\x01");
  check_error([&] { bearer->respond("{}"); }, mw::ExitCode::protocol, "OAUTHBEARER", "token123");
}

TEST_CASE("Error messages never contain the secret", "[sasl]")
{
  const std::string secret = "s3cr3t-P@ss";
  for (const std::string_view name : mw::sasl::supported()) {
    auto mechanism = mw::sasl::make(name, credentials("user", secret), "nonce");
    INFO(std::string(name));
    // Drive each mechanism to the end of its exchange, then one challenge too many.
    (void)mechanism->initial_response();
    try {
      for (int i = 0; i < 5; ++i) {
        (void)mechanism->respond("garbage,challenge");
      }
      FAIL("no exception");
    } catch (const mw::Error& error) {
      CHECK(std::string(error.what()).find(secret) == std::string::npos);
      CHECK(std::string(error.what()).find(std::string(name)) != std::string::npos);
    }
  }
}
