// SPDX-License-Identifier: Apache-2.0
// Fuzzes the SASL mechanisms' handling of server challenges: SCRAM-SHA-256 (RFC 5802,
// RFC 7677) with a fixed client nonce, the input's first line as server-first and the second
// as server-final; and the same challenges for every other mechanism. A bad challenge is an
// mw::Error (protocol or permission), and no error message ever carries the password.

#include "sasl/scram.hpp"

#include "fuzz_support.hpp"
#include "sasl/mechanism.hpp"
#include "util/error.hpp"

#include <charconv>
#include <memory>
#include <string>
#include <string_view>

using mw::fuzz::check;

namespace {

// The RFC 7677 section 3 example: user "user", password "pencil", this client nonce.
const std::string k_password = "pencil";
const std::string k_nonce = "rOprNGfwEbeRWgbNEkqO";

mw::sasl::Credentials credentials()
{
  mw::sasl::Credentials c;
  c.user = "user";
  c.password = mw::Secret(k_password);
  c.host = "mail.example.com";
  c.port = 995;
  return c;
}

// Whether server-first asks for more PBKDF2 iterations than a fuzzer can afford per input
// (but not so many that SCRAM refuses at once): the bound itself is a unit test.
bool too_slow(std::string_view server_first)
{
  std::size_t start = 0;
  for (int part = 0; part < 2; ++part) {
    start = server_first.find(',', start);
    if (start == std::string_view::npos) {
      return false;
    }
    ++start;
  }
  const auto attribute = server_first.substr(start);
  if (!attribute.starts_with("i=")) {
    return false;
  }
  std::uint64_t iterations = 0;
  const auto digits = attribute.substr(2);
  std::from_chars(digits.data(), digits.data() + digits.size(), iterations);
  return iterations > 4096 && iterations <= mw::sasl::ScramSha256::k_max_iterations;
}

// Runs `step`; an mw::Error must be a protocol or permission error without the password.
template <typename F> bool step(std::string_view input, F&& f)
{
  try {
    f();
    return true;
  } catch (const mw::Error& e) {
    const auto code = e.code();
    check(code == mw::ExitCode::protocol || code == mw::ExitCode::permission,
          "a SASL error that is neither protocol nor permission", e.what());
    if (input.find(k_password) == std::string_view::npos) {
      check(std::string_view(e.what()).find(k_password) == std::string_view::npos,
            "a SASL error message shows the password", e.what());
    }
    return false;
  }
}

void exchange(std::string_view mechanism_name, std::string_view input, std::string_view first,
              std::string_view final_message, bool final_as_challenge)
{
  auto mechanism = mw::sasl::make(mechanism_name, credentials(), k_nonce);
  check(mechanism != nullptr, "a supported mechanism could not be made");
  bool ok = step(input, [&] { (void)mechanism->initial_response(); });
  ok = ok && step(input, [&] { (void)mechanism->respond(first); });
  if (final_as_challenge) {
    ok = ok && step(input, [&] { (void)mechanism->respond(final_message); });
    ok = ok && step(input, [&] { mechanism->verify_final(""); });
  } else {
    ok = ok && step(input, [&] { mechanism->verify_final(final_message); });
  }
  if (ok && mechanism_name == "SCRAM-SHA-256") {
    // Success is only possible when the server proved it knows the password.
    check(!final_message.empty(), "SCRAM succeeded without a server signature");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view input = mw::fuzz::view(data, size);
  std::string_view rest = input;
  const std::string_view server_first = mw::fuzz::take_line(rest);
  const std::string_view server_final = mw::fuzz::take_line(rest);

  if (!too_slow(server_first)) {
    exchange("SCRAM-SHA-256", input, server_first, server_final, false);
    exchange("SCRAM-SHA-256", input, server_first, server_final, true);
  }
  for (const auto name : mw::sasl::supported()) {
    if (name != "SCRAM-SHA-256") {
      exchange(name, input, server_first, server_final, true);
      exchange(name, input, server_first, server_final, false);
    }
  }
  return 0;
}
