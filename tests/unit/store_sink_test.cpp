// SPDX-License-Identifier: Apache-2.0
#include "store/names.hpp"
#include "store/sink.hpp"
#include "store/sinks.hpp"
#include "store_helpers.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
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

using mw::store::detail::MaildirTmp;

// Every Maildir test runs both ways a message may wait for its sync: as an unnamed file
// (O_TMPFILE, where the file system has it) and as a named tmp/ file (elsewhere).
struct MaildirTmpMode {
  explicit MaildirTmpMode(MaildirTmp chosen) : how(chosen)
  {
    mw::store::detail::set_maildir_tmp(chosen);
  }
  MaildirTmpMode(const MaildirTmpMode&) = delete;
  MaildirTmpMode& operator=(const MaildirTmpMode&) = delete;
  ~MaildirTmpMode() { mw::store::detail::set_maildir_tmp(MaildirTmp::automatic); }
  bool named() const { return how == MaildirTmp::named; }
  MaildirTmp how;
};

unsigned mode_of(const std::string& path)
{
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return static_cast<unsigned>(info.st_mode) & 07777U;
}

std::vector<std::string> names_in(const std::string& dir)
{
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string deliver(mw::store::Sink& sink, const mw::mailbox::Message& meta,
                    const std::string& message, std::mt19937& random)
{
  return mw::test::deliver(sink, meta, message, random, 97);
}

std::vector<std::string> sample_messages()
{
  std::string big;
  for (int i = 0; i < 5000; ++i) {
    big += "line " + std::to_string(i) + " of a message larger than the write buffer\n";
  }
  return {
      "From: a@example.com\nSubject: one\n\nbody\n",
      "Subject: two\r\n\r\nFrom the start\r\n.dot\r\n",
      "no final newline",
      "",
      std::string("8-bit \xc3\xa4\0 and a NUL\n", 20),
      "Subject: big\n\n" + big,
  };
}

int run_in_child(const std::function<int()>& body)
{
  const pid_t child = ::fork();
  if (child == 0) {
    int code = 99;
    try {
      code = body();
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

TEST_CASE("parse_output reads the four forms", "[store]")
{
  auto spec = mw::store::parse_output("maildir:/x/Mail");
  CHECK(spec.kind == OutputSpec::Kind::maildir);
  CHECK(spec.path == "/x/Mail");
  spec = mw::store::parse_output("mbox:inbox.mbox");
  CHECK(spec.kind == OutputSpec::Kind::mbox);
  CHECK(spec.path == "inbox.mbox");
  spec = mw::store::parse_output("dir:out");
  CHECK(spec.kind == OutputSpec::Kind::dir);
  CHECK(spec.path == "out");
  spec = mw::store::parse_output("-");
  CHECK(spec.kind == OutputSpec::Kind::standard_output);
  CHECK(spec.path.empty());
}

TEST_CASE("parse_output expands ~/ after the prefix", "[store]")
{
  const char* home = std::getenv("HOME");
  const std::string saved = home != nullptr ? home : "";
  ::setenv("HOME", "/home/someone", 1);
  const auto spec = mw::store::parse_output("maildir:~/Mail");
  CHECK(spec.path == "/home/someone/Mail");
  CHECK(mw::store::parse_output("mbox:a~/b").path == "a~/b");
  if (home != nullptr) {
    ::setenv("HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("HOME");
  }
}

TEST_CASE("parse_output takes a bare path only for an existing Maildir", "[store]")
{
  const TempDir tmp;
  for (const char* sub : {"cur", "new", "tmp"}) {
    fs::create_directories(tmp / (std::string("md/") + sub));
  }
  const auto spec = mw::store::parse_output(tmp / "md");
  CHECK(spec.kind == OutputSpec::Kind::maildir);
  CHECK(spec.path == tmp / "md");

  fs::create_directories(tmp / "plain");
  for (const std::string& text :
       {tmp / "plain", tmp / "missing", std::string(), std::string("maildir:"),
        std::string("mbox:"), std::string("imap:x")}) {
    try {
      mw::store::parse_output(text);
      FAIL("accepted " << text);
    } catch (const mw::UsageError& error) {
      CHECK(error.code() == mw::ExitCode::usage);
      CHECK_THAT(error.what(),
                 Catch::Contains("maildir:DIR, mbox:FILE, dir:DIR, mda:COMMAND or -"));
    }
  }
}

TEST_CASE("maildir: a batch becomes visible at sync, in order; an unsynced batch is dropped",
          "[store]")
{
  const MaildirTmpMode mode(GENERATE(MaildirTmp::automatic, MaildirTmp::named));
  const TempDir tmp;
  const std::string dir = tmp / "batch";
  std::mt19937 random(7);
  std::vector<std::string> paths;
  {
    auto sink = mw::store::open_sink({OutputSpec::Kind::maildir, dir}, LineEnding::lf, std::cout);
    CHECK(sink->batch() > 1);
    for (std::uint64_t n = 1; n <= 3; ++n) {
      paths.push_back(
          deliver(*sink, listed(n, "u" + std::to_string(n), 5), "Subject: x\n\nbody\n", random));
    }
    CHECK(names_in(dir + "/new").empty());
    if (mode.named()) {
      CHECK(names_in(dir + "/tmp").size() == 3);
    }
    std::vector<std::size_t> order;
    sink->sync([&](std::size_t index, const std::string& where) {
      order.push_back(index);
      CHECK(where == paths[index]);
      CHECK(fs::exists(paths[index]));  // reported only once it is in place
    });
    CHECK(order == std::vector<std::size_t>{0, 1, 2});
    CHECK(names_in(dir + "/new").size() == 3);
    CHECK(names_in(dir + "/tmp").empty());
    // A fourth message committed but never synced was never delivered.
    deliver(*sink, listed(4, "u4", 5), "Subject: y\n\nbody\n", random);
  }
  CHECK(names_in(dir + "/new").size() == 3);
  CHECK(names_in(dir + "/tmp").empty());
}

TEST_CASE("maildir: advance() syncs a batch on another thread and shows it one call later",
          "[store]")
{
  const MaildirTmpMode mode(GENERATE(MaildirTmp::automatic, MaildirTmp::named));
  const TempDir tmp;
  const std::string dir = tmp / "advance";
  std::mt19937 random(5);
  std::vector<std::string> paths;
  std::vector<std::size_t> order;
  auto record = [&](std::size_t index, const std::string& where) {
    order.push_back(index);
    CHECK(where == paths.at(index));
    CHECK(fs::exists(where));
  };
  {
    auto sink = mw::store::open_sink({OutputSpec::Kind::maildir, dir}, LineEnding::lf, std::cout);
    for (std::uint64_t n = 1; n <= 2; ++n) {
      paths.push_back(
          deliver(*sink, listed(n, "u" + std::to_string(n), 5), "Subject: a\n\nx\n", random));
    }
    sink->advance(record);  // 0 and 1 are on their way: not visible yet
    CHECK(order.empty());
    CHECK(names_in(dir + "/new").empty());
    paths.push_back(deliver(*sink, listed(3, "u3", 5), "Subject: b\n\ny\n", random));
    sink->advance(record);  // 0 and 1 become visible; 2 is on its way
    CHECK(order == std::vector<std::size_t>{0, 1});
    CHECK(names_in(dir + "/new").size() == 2);
    paths.push_back(deliver(*sink, listed(4, "u4", 5), "Subject: c\n\nz\n", random));
    sink->sync(record);  // everything
    CHECK(order == std::vector<std::size_t>{0, 1, 2, 3});
    CHECK(names_in(dir + "/new").size() == 4);
    // A batch still on its way when the sink goes was never delivered.
    deliver(*sink, listed(5, "u5", 5), "Subject: d\n\nw\n", random);
    sink->advance(record);
  }
  CHECK(order.size() == 4);
  CHECK(names_in(dir + "/new").size() == 4);
  CHECK(names_in(dir + "/tmp").empty());
  CHECK(read_file(paths[2]) == "Subject: b\n\ny\n");
}

TEST_CASE("maildir never replaces a file that took a message's name meanwhile", "[store]")
{
  const MaildirTmpMode mode(GENERATE(MaildirTmp::automatic, MaildirTmp::named));
  const TempDir tmp;
  const std::string dir = tmp / "taken";
  std::mt19937 random(11);
  auto sink = mw::store::open_sink({OutputSpec::Kind::maildir, dir}, LineEnding::lf, std::cout);
  const std::string meant = deliver(*sink, listed(1, "u1", 5), "Subject: mine\n\nbody\n", random);
  {
    std::ofstream other(meant);
    other << "someone else's";
  }
  std::string where;
  sink->sync([&](std::size_t index, const std::string& path) {
    CHECK(index == 0);
    where = path;
  });
  CHECK(where != meant);
  CHECK(where.rfind(dir + "/new/", 0) == 0);
  CHECK(read_file(meant) == "someone else's");
  CHECK(read_file(where) == "Subject: mine\n\nbody\n");
  CHECK(names_in(dir + "/tmp").empty());
}

TEST_CASE("safe_file_name keeps safe bytes and encodes the rest", "[store]")
{
  CHECK(mw::store::safe_file_name("AZaz09._-") == "AZaz09._-");
  CHECK(mw::store::safe_file_name("a/b") == "a%2Fb");
  CHECK(mw::store::safe_file_name("x y%") == "x%20y%25");
  CHECK(mw::store::safe_file_name(".hidden") == "%2Ehidden");
  CHECK(mw::store::safe_file_name("..") == "%2E.");
  CHECK(mw::store::safe_file_name("\xff") == "%FF");
  const std::string long_uid(300, 'u');
  const std::string name = mw::store::safe_file_name(long_uid);
  CHECK(name.size() <= 200);
  CHECK(name.substr(0, 150) == std::string(150, 'u'));
  CHECK(name != mw::store::safe_file_name(std::string(299, 'u') + "v"));
  // A cut never splits a %XX escape.
  const std::string slashes(150, '/');
  const std::string encoded = mw::store::safe_file_name(slashes);
  CHECK(encoded.size() <= 200);
  CHECK(std::regex_match(encoded, std::regex("(%2F)+-[0-9a-f]{16}")));
}

TEST_CASE("unique_name follows the Maildir specification", "[store]")
{
  const std::string a = mw::store::unique_name();
  const std::string b = mw::store::unique_name();
  CHECK(a != b);
  CHECK(std::regex_match(a, std::regex("[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.[^/:]+")));
}

TEST_CASE("maildir stores each message byte-identical in new/", "[store]")
{
  const MaildirTmpMode mode(GENERATE(MaildirTmp::automatic, MaildirTmp::named));
  const TempDir tmp;
  const std::string dir = tmp / "a/b/Maildir";
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::maildir, dir}, LineEnding::lf, unused);
  for (const char* sub : {"", "/tmp", "/new", "/cur"}) {
    CHECK(mode_of(dir + sub) == 0700);
  }
  CHECK(mode_of(tmp / "a") == 0700);
  std::mt19937 random(42);
  const auto messages = sample_messages();
  std::set<std::string> paths;
  std::uint64_t number = 0;
  for (const std::string& message : messages) {
    ++number;
    const std::string path =
        deliver(*sink, listed(number, "uid" + std::to_string(number), 10), message, random);
    CHECK(path.rfind(dir + "/new/", 0) == 0);
    // Committed is not yet visible: a Maildir message appears in new/ at sync().
    CHECK_FALSE(fs::exists(path));
    std::vector<std::size_t> visible;
    sink->sync([&](std::size_t index, const std::string&) { visible.push_back(index); });
    CHECK(visible == std::vector<std::size_t>{number - 1});  // the commit index
    CHECK(read_file(path) == message);
    CHECK(mode_of(path) == 0600);
    const std::string name = fs::path(path).filename().string();
    CHECK(std::regex_match(name, std::regex("[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.[^/:]+,S=" +
                                            std::to_string(message.size()))));
    paths.insert(path);
  }
  sink->sync();
  sink->sync();
  CHECK(paths.size() == messages.size());
  CHECK(names_in(dir + "/new").size() == messages.size());
  CHECK(names_in(dir + "/tmp").empty());
  CHECK(names_in(dir + "/cur").empty());
}

TEST_CASE("maildir: an abandoned delivery leaves nothing behind", "[store]")
{
  const MaildirTmpMode mode(GENERATE(MaildirTmp::automatic, MaildirTmp::named));
  const TempDir tmp;
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::maildir, tmp.path()}, LineEnding::lf, unused);
  {
    auto delivery = sink->begin(listed(1, "u1", 5));
    delivery->write("partial message");
    if (mode.named()) {
      CHECK(names_in(tmp / "tmp").size() == 1);
    }
  }
  CHECK(names_in(tmp / "tmp").empty());
  CHECK(names_in(tmp / "new").empty());
}

TEST_CASE("maildir: a write error removes the temporary file and names it", "[store]")
{
  const MaildirTmpMode mode(GENERATE(MaildirTmp::automatic, MaildirTmp::named));
  const TempDir tmp;
  const std::string dir = tmp.path();
  const int code = run_in_child([&dir] {
    std::ostringstream unused;
    auto sink = mw::store::open_sink({OutputSpec::Kind::maildir, dir}, LineEnding::lf, unused);
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{100 * 1024, 100 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    auto delivery = sink->begin(listed(1, "u1", 5));
    try {
      for (int i = 0; i < 100; ++i) {
        delivery->write(std::string(4096, 'x'));
      }
      delivery->commit();
      return 1;
    } catch (const mw::Error& error) {
      const std::string what = error.what();
      if (error.code() != mw::ExitCode::cant_create ||
          what.find(dir + "/tmp") == std::string::npos ||
          what.find("File too large") == std::string::npos) {
        return 2;
      }
    }
    return names_in(dir + "/tmp").empty() && names_in(dir + "/new").empty() ? 0 : 3;
  });
  CHECK(code == 0);
}

TEST_CASE("maildir: out of descriptors, a message waits as a named file instead", "[store]")
{
  const TempDir tmp;
  const std::string dir = tmp.path();
  const int code = run_in_child([&dir] {
    // Room for a few more descriptors only: each unnamed file holds one until the sync.
    const int lowest_free = ::dup(0);
    ::close(lowest_free);
    const rlimit limit{static_cast<rlim_t>(lowest_free + 8), static_cast<rlim_t>(lowest_free + 8)};
    ::setrlimit(RLIMIT_NOFILE, &limit);
    std::ostringstream unused;
    auto sink = mw::store::open_sink({OutputSpec::Kind::maildir, dir}, LineEnding::lf, unused);
    std::mt19937 random(3);
    std::vector<std::string> paths;
    for (std::uint64_t n = 1; n <= 20; ++n) {
      paths.push_back(deliver(*sink, listed(n, "u" + std::to_string(n), 5),
                              "Subject: " + std::to_string(n) + "\n\nbody\n", random));
    }
    sink->sync();
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (read_file(paths[i]) != "Subject: " + std::to_string(i + 1) + "\n\nbody\n") {
        return 1;
      }
    }
    return names_in(dir + "/new").size() == 20 && names_in(dir + "/tmp").empty() ? 0 : 2;
  });
  CHECK(code == 0);
}

TEST_CASE("dir stores one .eml per UID and never replaces a different one", "[store]")
{
  const TempDir tmp;
  const std::string dir = tmp / "eml";
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::dir, dir}, LineEnding::lf, unused);
  CHECK(mode_of(dir) == 0700);
  std::mt19937 random(7);
  const auto messages = sample_messages();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string path =
        deliver(*sink, listed(i + 1, "uid-" + std::to_string(i), 0), messages[i], random);
    CHECK(path == dir + "/uid-" + std::to_string(i) + ".eml");
    CHECK(read_file(path) == messages[i]);
    CHECK(mode_of(path) == 0600);
  }
  CHECK(deliver(*sink, listed(9, "a/b", 0), "x", random) == dir + "/a%2Fb.eml");
  CHECK(deliver(*sink, listed(9, ".hidden", 0), "x", random) == dir + "/%2Ehidden.eml");
  const std::string no_uid = deliver(*sink, listed(12, "", 0), "no uid", random);
  CHECK(std::regex_match(
      no_uid, std::regex(std::regex_replace(dir, std::regex("[.^$|()\\[\\]{}*+?\\\\]"), "\\$&") +
                         "/msg-12-[A-Za-z0-9._%-]+\\.eml")));
  CHECK(read_file(no_uid) == "no uid");
  CHECK(deliver(*sink, listed(13, "", 0), "no uid", random) != no_uid);

  // The same bytes again are the copy that is there; other bytes with the same UID (another
  // account, a reused UID) never replace it, but take the next free name.
  CHECK(deliver(*sink, listed(1, "uid-0", 0), messages[0], random) == dir + "/uid-0.eml");
  const std::string again = deliver(*sink, listed(1, "uid-0", 0), "refetched\n", random);
  CHECK(again == dir + "/uid-0~2.eml");
  CHECK(read_file(again) == "refetched\n");
  CHECK(read_file(dir + "/uid-0.eml") == messages[0]);
  CHECK(deliver(*sink, listed(1, "uid-0", 0), "third\n", random) == dir + "/uid-0~3.eml");
  CHECK(deliver(*sink, listed(1, "uid-0", 0), "refetched\n", random) == dir + "/uid-0~2.eml");
  CHECK(deliver(*sink, listed(1, "uid-0~2", 0), "a UID with a tilde\n", random) ==
        dir + "/uid-0%7E2.eml");
  sink->sync();
  for (const std::string& name : names_in(dir)) {
    CHECK(name.rfind(".tmp-", 0) != 0);
  }
  CHECK(names_in(dir).size() == messages.size() + 7);
}

TEST_CASE("dir: an abandoned delivery leaves no temporary file and keeps the old copy", "[store]")
{
  const TempDir tmp;
  std::ostringstream unused;
  auto sink = mw::store::open_sink({OutputSpec::Kind::dir, tmp.path()}, LineEnding::lf, unused);
  std::mt19937 random(1);
  deliver(*sink, listed(1, "u", 0), "first\n", random);
  {
    auto delivery = sink->begin(listed(1, "u", 0));
    delivery->write("second, never committed");
  }
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"u.eml"});
  CHECK(read_file(tmp / "u.eml") == "first\n");
}

TEST_CASE("standard output gets the raw bytes", "[store]")
{
  std::ostringstream out;
  auto sink = mw::store::open_sink({OutputSpec::Kind::standard_output, ""}, LineEnding::crlf, out);
  std::mt19937 random(3);
  const std::string message = "From x\r\nSubject: s\r\n\r\nFrom here\r\n";
  CHECK(deliver(*sink, listed(1, "u", 0), message, random) == "-");
  sink->sync();
  CHECK(out.str() == message);
}

TEST_CASE("standard output: a failing stream is an error 74", "[store]")
{
  std::ostringstream out;
  auto sink = mw::store::open_sink({OutputSpec::Kind::standard_output, ""}, LineEnding::lf, out);
  auto delivery = sink->begin(listed(1, "u", 0));
  out.setstate(std::ios::badbit);
  try {
    delivery->write("x");
    FAIL("a write to a failing stream succeeded");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::io);
  }
  sink->sync();  // nothing was committed: nothing to report again
}

TEST_CASE("standard output: a stream closed from the start is refused (74)", "[store]")
{
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  try {
    mw::store::open_sink({OutputSpec::Kind::standard_output, ""}, LineEnding::lf, out);
    FAIL("opened a sink on a bad stream");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::io);
    CHECK_THAT(error.what(), Catch::Contains("standard output"));
  }
}

TEST_CASE("open_sink under a regular file is Error 73 naming the path", "[store]")
{
  const TempDir tmp;
  write_file(tmp / "file", "not a directory");
  std::ostringstream unused;
  for (const auto kind :
       {OutputSpec::Kind::maildir, OutputSpec::Kind::dir, OutputSpec::Kind::mbox}) {
    try {
      mw::store::open_sink({kind, tmp / "file/sub/target"}, LineEnding::lf, unused);
      FAIL("opened a sink under a regular file");
    } catch (const mw::Error& error) {
      CHECK(error.code() == mw::ExitCode::cant_create);
      CHECK_THAT(error.what(), Catch::Contains(tmp / "file") && Catch::Contains("Not a directory"));
    }
  }
  try {
    mw::store::open_sink({OutputSpec::Kind::maildir, tmp / "file"}, LineEnding::lf, unused);
    FAIL("used a regular file as a Maildir");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::cant_create);
  }
}

TEST_CASE("opening a maildir or dir removes temporary files older than 36 hours", "[store]")
{
  const TempDir tmp;
  const std::string maildir = tmp / "md";
  const std::string dir = tmp / "eml";
  fs::create_directories(maildir + "/tmp");
  fs::create_directories(dir);
  for (const std::string& path : {maildir + "/tmp/old", maildir + "/tmp/fresh", dir + "/.tmp-old",
                                  dir + "/.tmp-fresh", dir + "/old.eml"}) {
    write_file(path, "x");
  }
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(40);
  for (const std::string& path : {maildir + "/tmp/old", dir + "/.tmp-old", dir + "/old.eml"}) {
    fs::last_write_time(path, old);
  }
  std::ostringstream unused;
  mw::store::open_sink({OutputSpec::Kind::maildir, maildir}, LineEnding::lf, unused);
  mw::store::open_sink({OutputSpec::Kind::dir, dir}, LineEnding::lf, unused);
  CHECK(names_in(maildir + "/tmp") == std::vector<std::string>{"fresh"});
  CHECK(names_in(dir) == std::vector<std::string>{".tmp-fresh", "old.eml"});
}
