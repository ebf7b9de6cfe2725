// SPDX-License-Identifier: Apache-2.0
// The helpers that issue 12 item 7 made shared: text::append_hex, text::strip,
// store::file::open_retrying, read_pid and parse_pid, and the exact error messages of the SASL
// mechanisms that became one table and two classes.

#include "sasl/mechanism.hpp"
#include "store/file.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>

using namespace std::string_literals;

namespace {

std::string hex_of(unsigned char byte, mw::text::Hex letters)
{
  std::string out = "<";
  mw::text::append_hex(out, byte, letters);
  return out;
}

// The message of the mw::Error that `call` throws ("" if none).
template <typename Call> std::string error_of(Call&& call)
{
  try {
    call();
  } catch (const mw::Error& error) {
    return error.what();
  }
  return "";
}

mw::sasl::Credentials credentials()
{
  mw::sasl::Credentials result;
  result.user = "tim";
  result.password = mw::Secret("tanstaaftanstaaf");
  return result;
}

}  // namespace

TEST_CASE("append_hex appends two digits in the case asked for", "[util]")
{
  using mw::text::Hex;
  CHECK(hex_of(0x00, Hex::lower) == "<00");
  CHECK(hex_of(0x0f, Hex::lower) == "<0f");
  CHECK(hex_of(0xab, Hex::lower) == "<ab");
  CHECK(hex_of(0xab, Hex::upper) == "<AB");
  CHECK(hex_of(0xff, Hex::upper) == "<FF");
  CHECK(hex_of(0x7e, Hex::upper) == "<7E");
  std::string defaulted;
  mw::text::append_hex(defaulted, 0xC3);
  CHECK(defaulted == "c3");
}

TEST_CASE("strip removes the set's characters from both ends only", "[util]")
{
  using mw::text::strip;
  CHECK(strip("  a b\t", " \t") == "a b");
  CHECK(strip("\r\n x \r\n", " \t\r\n") == "x");
  CHECK(strip("\r x\r", " \t") == "\r x\r");
  CHECK(strip(" \t ", " \t").empty());
  CHECK(strip("", " \t").empty());
  CHECK(strip("abc", "") == "abc");
}

TEST_CASE("parse_pid reads a lock file's pid and refuses anything else", "[store]")
{
  using mw::store::file::parse_pid;
  CHECK(parse_pid("4242\n") == 4242);
  CHECK(parse_pid("4242") == 4242);
  CHECK(parse_pid("4242\r\n") == 4242);
  CHECK(parse_pid("4242 host") == 4242);
  CHECK(parse_pid("") == 0);
  CHECK(parse_pid("\n") == 0);
  CHECK(parse_pid("42x\n") == 0);
  CHECK(parse_pid("-1\n") == 0);
  CHECK(parse_pid(" 42\n") == 0);
  CHECK(parse_pid("1000000000\n") == 1'000'000'000);
  CHECK(parse_pid("1000000001\n") == 0);
  CHECK(parse_pid("99999999999999999999999\n") == 0);
}

TEST_CASE("read_pid reads from the start of the file whatever the offset", "[store]")
{
  const mw::test::TempDir dir;
  const std::string path = dir / "lock";
  mw::test::write_file(path, "31337\n");
  const mw::store::file::Fd fd(mw::store::file::open_retrying(path, O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.get() >= 0);
  char skip[3];
  REQUIRE(::read(fd.get(), skip, sizeof skip) == 3);
  CHECK(mw::store::file::read_pid(fd.get()) == 31337);

  mw::test::write_file(dir / "empty", "");
  const mw::store::file::Fd empty(mw::store::file::open_retrying(dir / "empty", O_RDONLY));
  CHECK(mw::store::file::read_pid(empty.get()) == 0);
  CHECK(mw::store::file::read_pid(-1) == 0);
}

TEST_CASE("open_retrying opens by path or relative to a directory, -1 with errno", "[store]")
{
  const mw::test::TempDir dir;
  mw::test::write_file(dir / "here", "x");
  const mw::store::file::Fd by_path(mw::store::file::open_retrying(dir / "here", O_RDONLY));
  CHECK(by_path.get() >= 0);

  const mw::store::file::Fd directory(
      mw::store::file::open_retrying(dir.path(), O_RDONLY | O_DIRECTORY));
  REQUIRE(directory.get() >= 0);
  const mw::store::file::Fd relative(
      mw::store::file::open_retrying("here", O_RDONLY, 0, directory.get()));
  CHECK(relative.get() >= 0);
  const mw::store::file::Fd created(
      mw::store::file::open_retrying("new", O_WRONLY | O_CREAT | O_EXCL, 0600, directory.get()));
  CHECK(created.get() >= 0);
  CHECK(mw::test::read_file(dir / "new").empty());

  errno = 0;
  CHECK(mw::store::file::open_retrying(dir / "missing", O_RDONLY) == -1);
  CHECK(errno == ENOENT);
}

TEST_CASE("the table-made SASL mechanisms keep their names and messages", "[sasl]")
{
  for (const std::string_view name : mw::sasl::supported()) {
    CHECK(mw::sasl::make(name, credentials())->name() == name);
  }
  CHECK(mw::sasl::is_oauth("xoauth2"));
  CHECK(mw::sasl::is_oauth("OAuthBearer"));
  CHECK_FALSE(mw::sasl::is_oauth("PLAIN"));
  CHECK_FALSE(mw::sasl::is_oauth("NTLM"));
  CHECK(mw::sasl::make("NTLM", credentials()) == nullptr);

  auto cram = mw::sasl::make("CRAM-MD5", credentials());
  CHECK(error_of([&] { cram->respond(""); }) ==
        "CRAM-MD5 authentication: the server's challenge is empty");
  CHECK(cram->respond("<1@host>").starts_with("tim "));
  CHECK(error_of([&] { cram->respond("<2@host>"); }) ==
        "CRAM-MD5 authentication: unexpected challenge after the digest was sent");

  auto login = mw::sasl::make("LOGIN", credentials());
  CHECK(login->respond("") == "tim");
  CHECK(login->respond("") == "tanstaaftanstaaf");
  CHECK(error_of([&] { login->respond(""); }) ==
        "LOGIN authentication: unexpected challenge after the password was sent");

  auto plain = mw::sasl::make("PLAIN", credentials());
  CHECK(plain->initial_response() == "\0tim\0tanstaaftanstaaf"s);
  CHECK(error_of([&] { plain->respond("more?"); }) ==
        "PLAIN authentication: unexpected challenge after the credentials were sent");

  auto xoauth2 = mw::sasl::make("XOAUTH2", credentials());
  CHECK(xoauth2->initial_response() == "user=tim\x01"
                                       "auth=Bearer tanstaaftanstaaf\x01\x01");
  CHECK(xoauth2->respond("{\"status\":\"400\"}").empty());
  CHECK(error_of([&] { xoauth2->respond("{}"); }) ==
        "XOAUTH2 authentication: unexpected challenge after the server's error was acknowledged");
}
