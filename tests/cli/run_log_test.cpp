// SPDX-License-Identifier: Apache-2.0
// cli::RunLog (issue 17.6): the file it appends to, and the secrets it hides.
#include "cli/run_log.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mw;
using namespace mw::cli;

namespace {

struct TempDir {
  TempDir()
  {
    path = std::filesystem::temp_directory_path() /
           ("mw-runlog-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

Settings log_settings(const std::string& file)
{
  Settings s;
  s.command = "fetch";
  s.account = "work";
  s.user = "alice";
  s.host = "pop.example.org";
  s.port = 995;
  s.log_file = file;
  return s;
}

std::string read(const std::filesystem::path& p)
{
  std::ifstream in(p);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ExitCode open_code(const std::string& file)
{
  try {
    RunLog::open(log_settings(file));
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

}  // namespace

TEST_CASE("run log: nothing asked, nothing opened", "[cli]")
{
  Settings s;
  CHECK(RunLog::open(s) == nullptr);
}

TEST_CASE("run log: appended, 0600, one line per failure and per run, secrets hidden", "[cli]")
{
  TempDir dir;
  const auto file = dir.path / "mw.log";
  const mode_t old = ::umask(0);
  {
    auto log = RunLog::open(log_settings(file.string()));
    ::umask(old);
    REQUIRE(log != nullptr);
    log->hide(Secret("hunter2-pw"));
    log->failure("server said: -ERR bad password hunter2-pw\x1b[2J");
    log->summarize("stored 1 message (1 KiB) in 0.10 s");
    log->finished(1);
  }
  struct stat info {};
  REQUIRE(::stat(file.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
  const auto text = read(file);
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("fetch account=work user=alice server=pop.example.org:995: error: server said: "
                  "-ERR bad password <redacted>\\x1b[2J\n") != std::string::npos);
  CHECK(text.find("fetch account=work user=alice server=pop.example.org:995: exit 1: stored 1 "
                  "message (1 KiB) in 0.10 s\n") != std::string::npos);
  // A second run appends.
  RunLog::open(log_settings(file.string()))->finished(0);
  const auto again = read(file);
  CHECK(again.starts_with(text));
  CHECK(again.ends_with(": exit 0\n"));
}

TEST_CASE("run log: a path it must not write is an error 73", "[cli]")
{
  TempDir dir;
  CHECK(open_code(dir.path.string()) == ExitCode::cant_create);                   // a directory
  CHECK(open_code((dir.path / "no" / "log").string()) == ExitCode::cant_create);  // no parent
  const auto target = dir.path / "target";
  std::ofstream(target) << "keep\n";
  std::filesystem::create_symlink(target, dir.path / "link");
  CHECK(open_code((dir.path / "link").string()) == ExitCode::cant_create);
  CHECK(read(target) == "keep\n");
  // A FIFO: refused without waiting for a reader.
  const auto fifo = dir.path / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(open_code(fifo.string()) == ExitCode::cant_create);
  if (::geteuid() == 0) {
    const auto others = dir.path / "others.log";
    std::ofstream(others) << "";
    REQUIRE(::chown(others.c_str(), 65534, 65534) == 0);
    CHECK(open_code(others.string()) == ExitCode::cant_create);
  }
}
