// SPDX-License-Identifier: Apache-2.0
#include "store/state.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

using mw::test::read_file;
using mw::test::TempDir;
using mw::test::write_file;

namespace {

const std::string k_box = "me@pop.example:995";

// Sets an environment variable for one scope and puts the old value back.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const char* value) : m_name(name)
  {
    const char* old = std::getenv(name);
    m_had = old != nullptr;
    m_old = m_had ? old : "";
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv()
  {
    if (m_had) {
      ::setenv(m_name, m_old.c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }

private:
  const char* m_name;
  bool m_had = false;
  std::string m_old;
};

}  // namespace

TEST_CASE("UidState: a missing file is an empty state", "[store]")
{
  const TempDir tmp;
  const auto state = mw::store::UidState::load(tmp / "none.uids", k_box);
  CHECK(state.size() == 0);
  CHECK(state.path() == tmp / "none.uids");
  CHECK_FALSE(state.contains("x"));
  CHECK_FALSE(fs::exists(tmp / "none.uids"));
}

TEST_CASE("UidState: save, load and retain round-trip", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "state/deep/work.uids";
  auto state = mw::store::UidState::load(path, k_box);
  state.add("b-2");
  state.add("a-1");
  state.add("c-3");
  state.add("a-1");
  CHECK(state.size() == 3);
  state.save();
  CHECK(read_file(path) ==
        "# mailwrench uid state 2\n# mailbox me@pop.example:995\na-1\nb-2\nc-3\n");
  CHECK((fs::status(path).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK((fs::status(tmp / "state").permissions() & fs::perms::all) == fs::perms::owner_all);
  CHECK((fs::status(tmp / "state/deep").permissions() & fs::perms::all) == fs::perms::owner_all);

  auto loaded = mw::store::UidState::load(path, k_box);
  CHECK(loaded.size() == 3);
  CHECK(loaded.contains("a-1"));
  CHECK(loaded.contains("b-2"));
  CHECK(loaded.contains("c-3"));
  CHECK_FALSE(loaded.contains("d-4"));

  loaded.retain({"c-3", "a-1", "new-on-server"});
  CHECK(loaded.size() == 2);
  CHECK_FALSE(loaded.contains("b-2"));
  CHECK_FALSE(loaded.contains("new-on-server"));
  loaded.save();
  CHECK(read_file(path) == "# mailwrench uid state 2\n# mailbox me@pop.example:995\na-1\nc-3\n");
  // No temporary file is left next to it.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(tmp / "state/deep")) {
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("UidState: loaded and added UIDs merge; forgotten ones can come back", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "work.uids";
  // A hand-edited file: out of order, one UID twice.
  write_file(path, "# mailwrench uid state 2\n# mailbox me@pop.example:995\nm\nc\nx\nc\n");
  auto state = mw::store::UidState::load(path, k_box);
  CHECK(state.size() == 3);
  CHECK(state.contains("c"));
  state.add("a");
  state.add("n");
  state.add("m");  // already there
  CHECK(state.size() == 5);
  state.forget("x");
  state.forget("n");
  CHECK_FALSE(state.contains("x"));
  CHECK_FALSE(state.contains("n"));
  CHECK(state.size() == 3);
  state.add("x");
  CHECK(state.contains("x"));
  state.add("z");
  state.retain({"z", "a", "c", "x", "q"});
  CHECK_FALSE(state.contains("m"));
  CHECK(state.size() == 4);
  state.save();
  CHECK(read_file(path) == "# mailwrench uid state 2\n# mailbox me@pop.example:995\na\nc\nx\nz\n");
}

TEST_CASE("UidState: the journal keeps what a killed run stored", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "work.uids";
  auto state = mw::store::UidState::load(path, k_box);
  state.add("saved-1");
  state.save();
  state.record("stored-2");
  state.record("stored-3");
  CHECK(read_file(path + ".journal") == "stored-2\nstored-3\n");

  // A run killed here: the next load sees the saved file and the journal together.
  {
    std::ofstream cut(path + ".journal", std::ios::app);
    cut << "half-writ";  // a line cut short is not a record
  }
  auto next = mw::store::UidState::load(path, k_box);
  CHECK(next.contains("saved-1"));
  CHECK(next.contains("stored-2"));
  CHECK(next.contains("stored-3"));
  CHECK_FALSE(next.contains("half-writ"));
  CHECK(next.size() == 3);

  // save() folds the journal into the file and removes it.
  next.save();
  CHECK_FALSE(fs::exists(path + ".journal"));
  CHECK(read_file(path) ==
        "# mailwrench uid state 2\n# mailbox me@pop.example:995\nsaved-1\nstored-2\nstored-3\n");
}

TEST_CASE("UidState: record after save starts a new journal", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "work.uids";
  auto state = mw::store::UidState::load(path, k_box);
  state.record("one");
  state.save();
  CHECK_FALSE(fs::exists(path + ".journal"));
  // The journal the first record() opened is gone with save(): a record now must not go to
  // the unlinked file.
  state.record("two");
  CHECK(read_file(path + ".journal") == "two\n");
  auto next = mw::store::UidState::load(path, k_box);
  CHECK(next.contains("one"));
  CHECK(next.contains("two"));
}

TEST_CASE("UidSet: 100,000 UIDs compactly, erased and added again", "[store]")
{
  mw::store::UidSet set;
  constexpr std::size_t n = 100'000;
  auto uid = [](std::size_t i) { return "UID-" + std::to_string(i * 7919 % 1'000'003) + "-x"; };
  for (std::size_t i = 0; i < n; ++i) {
    set.insert(uid(i));
  }
  set.insert(uid(5));  // already there
  CHECK(set.size() == n);
  for (std::size_t i = 0; i < n; i += 2) {
    set.erase(uid(i));
  }
  CHECK(set.size() == n / 2);
  CHECK_FALSE(set.contains(uid(0)));
  CHECK(set.contains(uid(1)));
  CHECK_FALSE(set.contains("UID-1-"));
  set.insert(uid(0));
  CHECK(set.contains(uid(0)));
  CHECK(set.size() == n / 2 + 1);
  const auto sorted = set.sorted();
  CHECK(sorted.size() == set.size());
  CHECK(std::is_sorted(sorted.begin(), sorted.end()));
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  // ~12 octets of UID text and its newline, and 4-octet slots at most 3/4 full (a std::set of
  // strings took ~100 octets a UID).
  CHECK(set.footprint() < (n + 1) * 40);
}

TEST_CASE("UidState: an empty file is an empty state, blank lines are skipped", "[store]")
{
  const TempDir tmp;
  write_file(tmp / "empty", "");
  CHECK(mw::store::UidState::load(tmp / "empty", k_box).size() == 0);
  write_file(tmp / "blank", "# mailwrench uid state 1\n\nu1\n\nu2");
  const auto state = mw::store::UidState::load(tmp / "blank", k_box);
  CHECK(state.size() == 2);
  CHECK(state.contains("u2"));
}

TEST_CASE("UidState: a garbage file is Error 65 naming the file and line", "[store]")
{
  const TempDir tmp;
  write_file(tmp / "mbox", "From someone Mon Nov 23 15:36:46 2026\nSubject: x\n");
  try {
    mw::store::UidState::load(tmp / "mbox", k_box);
    FAIL("loaded an mbox as a state file");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::data);
    CHECK_THAT(error.what(), Catch::Contains(tmp / "mbox:1:"));
  }
  write_file(tmp / "spaces", "# mailwrench uid state 1\nok\nnot a uid\n");
  try {
    mw::store::UidState::load(tmp / "spaces", k_box);
    FAIL("loaded a UID with spaces");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::data);
    CHECK_THAT(error.what(), Catch::Contains(tmp / "spaces:3:"));
  }
  fs::create_directories(tmp / "a-directory");
  try {
    mw::store::UidState::load(tmp / "a-directory", k_box);
    FAIL("loaded a directory");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::cant_create);
    CHECK_THAT(error.what(), Catch::Contains(tmp / "a-directory"));
  }
}

TEST_CASE("UidState: a state of another mailbox is Error 78 naming both", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "s.uids";
  auto state = mw::store::UidState::load(path, "alice@pop.example:995");
  state.add("u1");
  state.save();
  try {
    mw::store::UidState::load(path, "bob@pop.example:995");
    FAIL("loaded alice's state for bob");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::config);
    CHECK_THAT(error.what(),
               Catch::Contains("alice@pop.example:995") && Catch::Contains("bob@pop.example:995"));
  }
  CHECK(mw::store::UidState::load(path, "alice@pop.example:995").contains("u1"));
  CHECK(mw::store::mailbox_identity("me", "POP.Example.COM", 110) == "me@pop.example.com:110");
}

TEST_CASE("UidState: a version 1 file is taken over and saved with its mailbox", "[store]")
{
  const TempDir tmp;
  write_file(tmp / "old.uids", "# mailwrench uid state 1\nu1\nu2\n");
  auto state = mw::store::UidState::load(tmp / "old.uids", k_box);
  CHECK(state.size() == 2);
  state.save();
  CHECK(read_file(tmp / "old.uids") ==
        "# mailwrench uid state 2\n# mailbox " + k_box + "\nu1\nu2\n");
}

TEST_CASE("UidState: what the writer writes, the reader reads (no invalid UID is recorded)",
          "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "s.uids";
  auto state = mw::store::UidState::load(path, k_box);
  CHECK_FALSE(mw::store::valid_uid("caf\xC3\xA9"));
  CHECK_FALSE(mw::store::valid_uid(""));
  CHECK_FALSE(mw::store::valid_uid("a b"));
  CHECK_FALSE(mw::store::valid_uid(std::string(mw::store::k_max_uid + 1, 'x')));
  CHECK(mw::store::valid_uid("!~"));
  state.add("caf\xC3\xA9");
  state.record("bad\x80uid");
  state.record("good");
  state.add(std::string(mw::store::k_max_uid + 1, 'x'));
  state.save();
  const auto loaded = mw::store::UidState::load(path, k_box);
  CHECK(loaded.size() == 1);
  CHECK(loaded.contains("good"));
}

TEST_CASE("UidState and FileLock: a planted symbolic link is refused, its target untouched",
          "[store]")
{
  const TempDir tmp;
  write_file(tmp / "victim", "precious\n");
  const std::string path = tmp / "s.uids";
  fs::create_symlink(tmp / "victim", path);
  CHECK_THROWS_WITH(mw::store::UidState::load(path, k_box), Catch::Contains("symbolic link"));
  fs::remove(path);
  auto state = mw::store::UidState::load(path, k_box);
  fs::create_symlink(tmp / "victim", path + ".journal");
  CHECK_THROWS_WITH(state.record("u1"), Catch::Contains("symbolic link"));
  CHECK_THROWS_WITH(mw::store::UidState::load(path, k_box), Catch::Contains("symbolic link"));
  fs::create_symlink(tmp / "victim", path + ".lock");
  CHECK_THROWS_WITH(mw::store::FileLock::acquire(path + ".lock", std::chrono::seconds(0)),
                    Catch::Contains("symbolic link"));
  fs::create_symlink(tmp / "victim", path + ".tmp-" + std::to_string(::getpid()));
  fs::remove(path + ".journal");
  state.save();
  CHECK(read_file(tmp / "victim") == "precious\n");
  CHECK(fs::is_regular_file(fs::symlink_status(path)));
}

TEST_CASE("UidState: save under a regular file is Error 73", "[store]")
{
  const TempDir tmp;
  write_file(tmp / "file", "x");
  auto state = mw::store::UidState::load(tmp / "file/sub/state.uids", k_box);
  state.add("u");
  try {
    state.save();
    FAIL("saved under a regular file");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::cant_create);
    CHECK_THAT(error.what(), Catch::Contains(tmp / "file"));
  }
}

TEST_CASE("FileLock: a second holder is refused at once with Error 75", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "locks/work.uids.lock";
  const auto lock = mw::store::FileLock::acquire(path, std::chrono::seconds(0));
  CHECK(lock.path() == path);
  CHECK(read_file(path) == std::to_string(::getpid()) + "\n");
  const std::string expected = "lock " + path + " held by pid " + std::to_string(::getpid());

  const pid_t child = ::fork();
  if (child == 0) {
    const auto start = std::chrono::steady_clock::now();
    int code = 1;
    try {
      mw::store::FileLock::acquire(path, std::chrono::seconds(0));
    } catch (const mw::Error& error) {
      const bool quick = std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500);
      const std::string what = error.what();
      code = error.code() == mw::ExitCode::temporary && quick &&
                     what.find("another mailwrench is using this mailbox") != std::string::npos &&
                     what.find(expected) != std::string::npos
                 ? 0
                 : 2;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // The lock is still ours and still a file.
  CHECK(fs::exists(path));
}

TEST_CASE("FileLock: waiting succeeds when the holder lets go", "[store]")
{
  const TempDir tmp;
  const std::string path = tmp / "work.lock";
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  if (child == 0) {
    int code = 0;
    try {
      const auto lock = mw::store::FileLock::acquire(path, std::chrono::seconds(0));
      [[maybe_unused]] auto written = ::write(ready[1], "y", 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    } catch (...) {
      code = 1;
    }
    ::_exit(code);
  }
  char status = 0;
  REQUIRE(::read(ready[0], &status, 1) == 1);
  ::close(ready[0]);
  ::close(ready[1]);
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(mw::store::FileLock::acquire(path, std::chrono::seconds(0)), mw::Error);
  auto lock = mw::store::FileLock::acquire(path, std::chrono::seconds(1));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= std::chrono::milliseconds(100));
  CHECK(waited < std::chrono::milliseconds(1000));
  CHECK(read_file(path) == std::to_string(::getpid()) + "\n");
  int child_status = 0;
  ::waitpid(child, &child_status, 0);
  CHECK(WEXITSTATUS(child_status) == 0);

  // Moving keeps the lock; destroying the last owner releases it.
  auto moved = std::move(lock);
  CHECK_THROWS_AS(mw::store::FileLock::acquire(path, std::chrono::seconds(0)), mw::Error);
  {
    const auto gone = std::move(moved);
  }
  CHECK_NOTHROW(mw::store::FileLock::acquire(path, std::chrono::seconds(0)));
}

TEST_CASE("FileLock under a regular file is Error 73", "[store]")
{
  const TempDir tmp;
  write_file(tmp / "file", "x");
  try {
    mw::store::FileLock::acquire(tmp / "file/x.lock", std::chrono::seconds(0));
    FAIL("locked under a regular file");
  } catch (const mw::Error& error) {
    CHECK(error.code() == mw::ExitCode::cant_create);
  }
}

TEST_CASE("default_state_path follows XDG_STATE_HOME, else ~/.local/state", "[store]")
{
  {
    const ScopedEnv xdg("XDG_STATE_HOME", "/xdg/state");
    CHECK(mw::store::default_state_path("work") == "/xdg/state/mailwrench/work.uids");
    CHECK(mw::store::default_state_path("me@pop.example.com") ==
          "/xdg/state/mailwrench/me@pop.example.com.uids");
    CHECK(mw::store::default_state_path("../evil/x") ==
          "/xdg/state/mailwrench/%2E.%2Fevil%2Fx.uids");
  }
  {
    const ScopedEnv xdg("XDG_STATE_HOME", nullptr);
    const ScopedEnv home("HOME", "/home/someone");
    CHECK(mw::store::default_state_path("work") ==
          "/home/someone/.local/state/mailwrench/work.uids");
  }
  {
    const ScopedEnv xdg("XDG_STATE_HOME", "relative/ignored");
    const ScopedEnv home("HOME", "/home/someone");
    CHECK(mw::store::default_state_path("work") ==
          "/home/someone/.local/state/mailwrench/work.uids");
  }
}
