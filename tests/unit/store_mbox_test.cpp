// SPDX-License-Identifier: Apache-2.0
#include "store/mboxrd.hpp"
#include "store/sink.hpp"
#include "store_helpers.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using mw::store::LineEnding;
using mw::store::OutputSpec;

using mw::test::listed;
using mw::test::read_file;
using mw::test::TempDir;
using mw::test::write_file;

namespace {

std::uintmax_t size_of(const std::string& path)
{
  return fs::file_size(path);
}

std::string deliver(mw::store::Sink& sink, const mw::mailbox::Message& meta,
                    const std::string& message, std::mt19937& random)
{
  return mw::test::deliver(sink, meta, message, random, 13);
}

// The quoting of one whole message, line by line: the definition the streaming Quoter must meet.
std::string quote_reference(const std::string& message)
{
  std::string out;
  std::size_t start = 0;
  while (start < message.size()) {
    std::size_t end = message.find('\n', start);
    end = end == std::string::npos ? message.size() : end + 1;
    const std::string line = message.substr(start, end - start);
    if (mw::store::mboxrd::needs_quoting(line)) {
      out += '>';
    }
    out += line;
    start = end;
  }
  return out;
}

struct MboxEntry {
  std::string from_line;
  std::string content;
};

// An mboxrd reader: a message starts at each line beginning "From "; the empty line before the
// next one belongs to the format; `^>+From ` lines lose one `>`.
std::vector<MboxEntry> read_mboxrd(const std::string& text, const std::string& ending)
{
  std::vector<MboxEntry> entries;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string line = text.substr(start, end - start);
    start = end;
    if (line.rfind("From ", 0) == 0) {
      entries.push_back({line, ""});
      continue;
    }
    REQUIRE(!entries.empty());
    if (line[0] == '>' && mw::store::mboxrd::needs_quoting(line)) {
      line.erase(0, 1);
    }
    entries.back().content += line;
  }
  for (MboxEntry& entry : entries) {
    REQUIRE(entry.content.size() >= ending.size());
    REQUIRE(entry.content.substr(entry.content.size() - ending.size()) == ending);
    entry.content.resize(entry.content.size() - ending.size());
  }
  return entries;
}

std::vector<std::string> tricky_messages(const std::string& eol)
{
  return {
      "From: Alice <alice@example.com>" + eol + "Subject: quoting" + eol + eol + "From the start" +
          eol + ">From here" + eol + ">>From there" + eol + "From" + eol + "Fro" + eol + " From x" +
          eol + ">>>" + eol + "From ",
      "From someone at the very top" + eol + "no header at all" + eol,
      "Return-Path: <bounce@example.org>" + eol + "From: x@example.com" + eol + eol + "body" + eol,
      "Subject: no final line ending" + eol + eol + "body without it",
      "",
      eol,
      "Subject: header only, no body" + eol,
      ">From " + eol + ">>From " + eol,
  };
}

int run_in_child(const std::function<int()>& body)
{
  const pid_t child = ::fork();
  if (child == 0) {
    int code = 99;
    try {
      code = body();
    } catch (const mw::Error& error) {
      code = static_cast<int>(error.code());
    } catch (...) {
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("mboxrd quoting streams, split at every offset", "[store]")
{
  const std::string message = "From a\n>From b\n>>From c\nFrom\nFro\n>F\n>>\nx From y\n\nFrom ";
  const std::string expected = quote_reference(message);
  CHECK(expected == ">From a\n>>From b\n>>>From c\nFrom\nFro\n>F\n>>\nx From y\n\n>From ");
  for (std::size_t i = 0; i <= message.size(); ++i) {
    for (std::size_t j = i; j <= message.size(); ++j) {
      mw::store::mboxrd::Quoter quoter;
      std::string out;
      quoter.put(std::string_view(message).substr(0, i), out);
      quoter.put(std::string_view(message).substr(i, j - i), out);
      quoter.put(std::string_view(message).substr(j), out);
      quoter.finish(out);
      REQUIRE(out == expected);
    }
  }
}

TEST_CASE("mboxrd sender comes from Return-Path, else From, else MAILER-DAEMON", "[store]")
{
  using mw::store::mboxrd::sender;
  CHECK(sender("Return-Path: <r@example.org>\nFrom: f@example.com\n") == "r@example.org");
  CHECK(sender("Return-Path: <>\nFrom: f@example.com\n") == "MAILER-DAEMON");
  CHECK(sender("From: \"Some One\" <one@example.com>\n") == "one@example.com");
  CHECK(sender("From: one@example.com (Some One)\n") == "one@example.com");
  CHECK(sender("From: a@x, b@y\n") == "a@x");
  CHECK(sender("Subject: none\n") == "MAILER-DAEMON");
  CHECK(sender("") == "MAILER-DAEMON");
  CHECK(sender("From: \"Weird\" <we ird@x>\r\n") == "weird@x");
}

TEST_CASE("mboxrd date is asctime in UTC", "[store]")
{
  CHECK(mw::store::mboxrd::asctime_utc(0) == "Thu Jan  1 00:00:00 1970");
  CHECK(mw::store::mboxrd::asctime_utc(1795448206) == "Mon Nov 23 15:36:46 2026");
}

TEST_CASE("mbox round-trips messages with From lines, LF and CRLF", "[store]")
{
  for (const auto ending : {LineEnding::lf, LineEnding::crlf}) {
    const std::string eol = ending == LineEnding::crlf ? "\r\n" : "\n";
    const TempDir tmp;
    const std::string path = tmp / "mail/inbox.mbox";
    const auto messages = tricky_messages(eol);
    std::mt19937 random(ending == LineEnding::crlf ? 11 : 10);
    {
      std::ostringstream unused;
      auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, path}, ending, unused);
      CHECK(fs::exists(path + ".lock"));
      std::uint64_t number = 0;
      for (const std::string& message : messages) {
        CHECK(deliver(*sink, listed(++number, "", 0), message, random) == path);
      }
      sink->sync();
    }
    CHECK_FALSE(fs::exists(path + ".lock"));
    CHECK((fs::status(path).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    CHECK((fs::status(tmp / "mail").permissions() & fs::perms::all) == fs::perms::owner_all);

    const auto entries = read_mboxrd(read_file(path), eol);
    REQUIRE(entries.size() == messages.size());
    const std::regex from_line(
        "From [^ \r\n]+ (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 1-3][0-9] "
        "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}" +
        std::string(ending == LineEnding::crlf ? "\r\n" : "\n"));
    for (std::size_t i = 0; i < messages.size(); ++i) {
      CAPTURE(i);
      CHECK(std::regex_match(entries[i].from_line, from_line));
      std::string expected = messages[i];
      if (!expected.empty() && expected.back() != '\n') {
        expected += eol;
      }
      CHECK(entries[i].content == expected);
    }
    CHECK(entries[0].from_line.rfind("From alice@example.com ", 0) == 0);
    CHECK(entries[1].from_line.rfind("From MAILER-DAEMON ", 0) == 0);
    CHECK(entries[2].from_line.rfind("From bounce@example.org ", 0) == 0);
  }
}

TEST_CASE("mbox appends to an existing file, after a missing final newline", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "inbox";
  write_file(path, "From old@x Mon Nov 23 15:36:46 2026\nSubject: old\n\nold body");
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
  std::mt19937 random(5);
  deliver(*sink, listed(1, "", 0), "Subject: new\n\nnew body\n", random);
  const auto entries = read_mboxrd(read_file(path), "\n");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].content == "Subject: old\n\nold body");
  CHECK(entries[1].content == "Subject: new\n\nnew body\n");
}

TEST_CASE("mbox: an abandoned delivery truncates the file back", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "inbox";
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
  std::mt19937 random(5);
  deliver(*sink, listed(1, "", 0), "Subject: kept\n\nbody\n", random);
  const auto before = size_of(path);
  const std::string kept = read_file(path);
  {
    auto delivery = sink->begin(listed(2, "", 0));
    delivery->write("Subject: header still buffered\n");
  }
  CHECK(size_of(path) == before);
  {
    auto delivery = sink->begin(listed(3, "", 0));
    delivery->write("Subject: big\n\n");
    for (int i = 0; i < 100; ++i) {
      delivery->write(std::string(4000, 'x') + "\n");
    }
    CHECK(size_of(path) > before);
  }
  CHECK(read_file(path) == kept);
  deliver(*sink, listed(4, "", 0), "Subject: after\n\nbody\n", random);
  CHECK(read_mboxrd(read_file(path), "\n").size() == 2);
}

TEST_CASE("mbox takes one delivery at a time", "[store]")
{
  const TempDir tmp;
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, tmp / "inbox"}, LineEnding::lf, unused);
  auto first = sink->begin(listed(1, "", 0));
  try {
    sink->begin(listed(2, "", 0));
    FAIL("two deliveries at once");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::software);
  }
  first.reset();
  CHECK(sink->begin(listed(3, "", 0)) != nullptr);
}

TEST_CASE("mbox: a write error truncates back and names the file", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "inbox";
  write_file(path, "From old@x Mon Nov 23 15:36:46 2026\n\nold\n\n");
  const auto before = size_of(path);
  const int code = run_in_child([&path] {
    std::ostringstream unused;
    auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{100 * 1024, 100 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto delivery = sink->begin(listed(1, "", 0));
    try {
      delivery->write("Subject: big\n\n");
      for (int i = 0; i < 100; ++i) {
        delivery->write(std::string(4096, 'x'));
      }
      delivery->commit();
      return 1;
    } catch (const mw::Error& error) {
      const std::string what = error.what();
      return error.code() == mw::ExitCode::cant_create && what.find(path) != std::string::npos ? 0
                                                                                               : 2;
    }
  });
  CHECK(code == 0);
  CHECK(size_of(path) == before);
  CHECK_FALSE(fs::exists(path + ".lock"));
}

TEST_CASE("mbox: a dot-lock held in this process is Error 75", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "inbox";
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
  CHECK(read_file(path + ".lock") == std::to_string(::getpid()) + "\n");
  try {
    mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
    FAIL("locked twice");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::temporary);
    CHECK_THAT(error.what(), Catch::Contains(path + ".lock") &&
                                 Catch::Contains("pid " + std::to_string(::getpid())));
  }
  // The failed attempt must not have dropped the first sink's locks.
  CHECK(fs::exists(path + ".lock"));
  const int code = run_in_child([&path] {
    const int fd = ::open(path.c_str(), O_WRONLY);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    return ::fcntl(fd, F_SETLK, &lock) == 0 ? 1 : 0;
  });
  CHECK(code == 0);
  // Another process running open_sink fails too.
  CHECK(run_in_child([&path] {
          std::ostringstream out;
          mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, out);
          return 0;
        }) == 75);
}

TEST_CASE("mbox: an fcntl lock held by another process is Error 75", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "inbox";
  write_file(path, "");
  int ready[2];
  int done[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(done) == 0);
  const pid_t child = ::fork();
  if (child == 0) {
    const int fd = ::open(path.c_str(), O_WRONLY);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    const char status = ::fcntl(fd, F_SETLK, &lock) == 0 ? 'y' : 'n';
    [[maybe_unused]] auto written = ::write(ready[1], &status, 1);
    char ignored = 0;
    [[maybe_unused]] auto got = ::read(done[0], &ignored, 1);
    ::_exit(0);
  }
  char status = 0;
  REQUIRE(::read(ready[0], &status, 1) == 1);
  REQUIRE(status == 'y');
  std::ostringstream unused;
  try {
    mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
    FAIL("opened an mbox locked by another process");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::temporary);
    CHECK_THAT(error.what(), Catch::Contains(path) && Catch::Contains("fcntl") &&
                                 Catch::Contains("pid " + std::to_string(child)));
  }
  CHECK_FALSE(fs::exists(path + ".lock"));
  const char go = 'x';
  CHECK(::write(done[1], &go, 1) == 1);
  int child_status = 0;
  ::waitpid(child, &child_status, 0);
  for (const int fd : {ready[0], ready[1], done[0], done[1]}) {
    ::close(fd);
  }
  CHECK(mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused) != nullptr);
}

TEST_CASE("mbox: stale dot-locks are removed, live ones respected", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "inbox";
  std::ostringstream unused;

  SECTION("the holder is dead")
  {
    const pid_t dead = ::fork();
    if (dead == 0) {
      ::_exit(0);
    }
    ::waitpid(dead, nullptr, 0);
    write_file(path + ".lock", std::to_string(dead) + "\n");
    auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
    CHECK(read_file(path + ".lock") == std::to_string(::getpid()) + "\n");
  }
  SECTION("older than 10 minutes")
  {
    write_file(path + ".lock", std::to_string(::getppid()) + "\n");
    const timeval old[2] = {{::time(nullptr) - 700, 0}, {::time(nullptr) - 700, 0}};
    REQUIRE(::utimes((path + ".lock").c_str(), old) == 0);
    auto sink = mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
    CHECK(read_file(path + ".lock") == std::to_string(::getpid()) + "\n");
  }
  SECTION("young, held by a live process")
  {
    write_file(path + ".lock", std::to_string(::getppid()) + "\n");
    try {
      mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused);
      FAIL("ignored a live dot-lock");
    } catch (const mw::Error& error) {
      CHECK(error.code() == mw::ExitCode::temporary);
      CHECK_THAT(error.what(), Catch::Contains(path + ".lock"));
    }
    CHECK(fs::exists(path + ".lock"));
  }
  SECTION("young, without a pid (being written)")
  {
    write_file(path + ".lock", "");
    CHECK_THROWS_AS(mw::store::open_sink({OutputSpec::Kind::mbox, path}, LineEnding::lf, unused),
                    mw::Error);
  }
}
