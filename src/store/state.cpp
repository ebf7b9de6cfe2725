// SPDX-License-Identifier: Apache-2.0
#include "store/state.hpp"

#include "store/file.hpp"
#include "store/names.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <pwd.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace mw::store {

namespace {

constexpr std::string_view k_header_v1 = "# mailwrench uid state 1";
constexpr std::string_view k_header = "# mailwrench uid state 2";
constexpr std::string_view k_mailbox_line = "# mailbox ";
constexpr mode_t k_dir_mode = 0700;
constexpr mode_t k_file_mode = 0600;
constexpr auto k_lock_poll = std::chrono::milliseconds(50);

[[noreturn]] void bad_state(const std::string& path, std::size_t line, const std::string& why)
{
  throw Error(ExitCode::data, path + ":" + std::to_string(line) + ": " + why +
                                  " (not a mailwrench UID state file? move it away to start over)");
}

std::string read_file(const std::string& path, bool& missing)
{
  missing = false;
  // A parent that is a regular file (ENOTDIR) counts as missing too: save() says what is wrong
  // with the path when it tries to create it.
  const file::Fd owner = file::open_private(path, O_RDONLY, 0, "read");
  if (owner.get() < 0) {
    missing = true;
    return {};
  }
  const int fd = owner.get();
  std::string content;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      file::fail("read", path, errno, ExitCode::data);
    }
    if (got == 0) {
      return content;
    }
    content.append(buffer, static_cast<std::size_t>(got));
  }
}

std::string home_directory()
{
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') {
    return home;
  }
  if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr && entry->pw_dir != nullptr) {
    return entry->pw_dir;
  }
  throw Error(ExitCode::config,
              "cannot find the home directory for the UID state file: set HOME or use --state");
}

std::string journal_of(const std::string& path)
{
  return path + ".journal";
}

}  // namespace

bool valid_uid(std::string_view uid)
{
  return !uid.empty() && uid.size() <= k_max_uid && std::all_of(uid.begin(), uid.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7F;
  });
}

std::string mailbox_identity(const std::string& user, const std::string& host, std::uint16_t port)
{
  std::string lower = host;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return user + "@" + lower + ":" + std::to_string(port);
}

std::string_view UidSet::entry(std::size_t at) const
{
  const std::size_t end = m_arena.find('\n', at);
  return std::string_view(m_arena).substr(at, end - at);
}

std::size_t UidSet::slot_of(std::string_view uid) const
{
  const std::size_t mask = m_slots.size() - 1;
  for (std::size_t i = std::hash<std::string_view>{}(uid)&mask;; i = (i + 1) & mask) {
    if (m_slots[i] == 0 || entry(m_slots[i] - 1) == uid) {
      return i;
    }
  }
}

bool UidSet::contains(std::string_view uid) const
{
  return !m_slots.empty() && m_slots[slot_of(uid)] != 0;
}

void UidSet::grow()
{
  std::vector<std::uint32_t> old = std::move(m_slots);
  m_slots.assign(old.empty() ? 1024 : old.size() * 2, 0);
  m_used = 0;
  for (const std::uint32_t taken : old) {
    // An erased UID's slot is not carried over.
    if (taken != 0 && m_arena[taken - 1] != '\0') {
      m_slots[slot_of(entry(taken - 1))] = taken;
      ++m_used;
    }
  }
}

void UidSet::insert(std::string_view uid)
{
  // At most 3/4 of the slots taken, so that a probe ends soon.
  if ((m_used + 1) * 4 > m_slots.size() * 3) {
    grow();
  }
  const std::size_t slot = slot_of(uid);
  if (m_slots[slot] != 0) {
    return;
  }
  if (m_arena.size() + uid.size() + 1 >= std::numeric_limits<std::uint32_t>::max()) {
    throw Error(ExitCode::software, "more than 4 GiB of new UIDs in one run");
  }
  m_slots[slot] = static_cast<std::uint32_t>(m_arena.size() + 1);
  m_arena.append(uid);
  m_arena.push_back('\n');
  ++m_used;
  ++m_live;
}

void UidSet::erase(std::string_view uid)
{
  if (m_slots.empty()) {
    return;
  }
  if (const std::uint32_t taken = m_slots[slot_of(uid)]; taken != 0) {
    // No valid UID begins with NUL: the entry matches nothing now, and probes pass over it.
    m_arena[taken - 1] = '\0';
    --m_live;
  }
}

std::vector<std::string_view> UidSet::sorted() const
{
  std::vector<std::string_view> uids;
  uids.reserve(m_live);
  for_each([&uids](std::string_view uid) { uids.push_back(uid); });
  std::sort(uids.begin(), uids.end());
  return uids;
}

UidState UidState::load(const std::string& path, const std::string& mailbox)
{
  UidState state;
  state.m_path = path;
  state.m_mailbox = mailbox;
  bool missing = false;
  state.m_file = read_file(path, missing);
  const std::string& content = state.m_file;
  if (content.size() > std::numeric_limits<std::uint32_t>::max()) {
    bad_state(path, 1, "larger than 4 GiB");
  }
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    if (end == std::string::npos) {
      end = content.size();
    }
    const std::string_view line = std::string_view(content).substr(start, end - start);
    const std::size_t at = start;
    start = end + 1;
    ++line_number;
    if (line_number == 1) {
      if (line != k_header && line != k_header_v1) {
        bad_state(path, line_number, "expected \"" + std::string(k_header) + "\"");
      }
      continue;
    }
    if (line_number == 2 && line.starts_with(k_mailbox_line)) {
      const auto owner = line.substr(k_mailbox_line.size());
      if (owner != mailbox) {
        throw Error(ExitCode::config,
                    "the state file " + path + " belongs to the mailbox " + std::string(owner) +
                        ", not to " + mailbox +
                        " of this run: UIDs of one mailbox say nothing "
                        "about another (use another --state, or move the file away)");
      }
      continue;
    }
    if (line.empty()) {
      continue;
    }
    if (!valid_uid(line)) {
      bad_state(path, line_number, "not a UID (printable characters without spaces)");
    }
    state.m_loaded.push_back(
        {static_cast<std::uint32_t>(at), static_cast<std::uint16_t>(line.size()), 0});
  }
  // save() writes them in order: sorting is a check then, and a hand-edited file still works.
  auto less = [&state](const Loaded& x, const Loaded& y) {
    return state.loaded(x) < state.loaded(y);
  };
  if (!std::is_sorted(state.m_loaded.begin(), state.m_loaded.end(), less)) {
    std::sort(state.m_loaded.begin(), state.m_loaded.end(), less);
  }
  auto same = [&state](const Loaded& x, const Loaded& y) {
    return state.loaded(x) == state.loaded(y);
  };
  state.m_loaded.erase(std::unique(state.m_loaded.begin(), state.m_loaded.end(), same),
                       state.m_loaded.end());
  state.m_loaded.shrink_to_fit();
  state.m_kept = state.m_loaded.size();

  // UIDs recorded by a run that did not get to save(): one a line, no header.
  bool journal_missing = false;
  const std::string journal = read_file(journal_of(path), journal_missing);
  for (std::size_t from = 0; from < journal.size();) {
    std::size_t end = journal.find('\n', from);
    if (end == std::string::npos) {
      break;  // a line cut short by a kill: that message was not recorded
    }
    const std::string_view line = std::string_view(journal).substr(from, end - from);
    from = end + 1;
    if (valid_uid(line) && !state.contains(line)) {
      state.m_added.insert(line);
    }
  }
  return state;
}

const UidState::Loaded* UidState::find_loaded(std::string_view uid) const
{
  auto it = std::lower_bound(m_loaded.begin(), m_loaded.end(), uid,
                             [this](const Loaded& l, std::string_view u) { return loaded(l) < u; });
  return it != m_loaded.end() && loaded(*it) == uid ? &*it : nullptr;
}

bool UidState::contains(std::string_view uid) const
{
  const Loaded* found = find_loaded(uid);
  return (found != nullptr && found->gone == 0) || m_added.contains(uid);
}

void UidState::add(const std::string& uid)
{
  // What the reader would refuse is never written.
  if (!valid_uid(uid) || contains(uid)) {
    return;
  }
  if (auto* found = const_cast<Loaded*>(find_loaded(uid))) {
    found->gone = 0;
    ++m_kept;
  } else {
    m_added.insert(uid);
  }
}

void UidState::forget(const std::string& uid)
{
  if (auto* found = const_cast<Loaded*>(find_loaded(uid)); found != nullptr && found->gone == 0) {
    found->gone = 1;
    --m_kept;
  }
  m_added.erase(uid);
}

void UidState::record(const std::string& uid)
{
  if (!valid_uid(uid)) {
    return;
  }
  add(uid);
  if (m_journal.get() < 0) {
    file::make_directories(file::parent_of(m_path), k_dir_mode);
    m_journal =
        file::open_private(journal_of(m_path), O_WRONLY | O_CREAT | O_APPEND, k_file_mode, "open");
  }
  // One write per line: O_APPEND keeps it whole. No fsync: the journal only has to survive
  // the process (a kill), and losing it to a power cut costs a refetch, never a message.
  file::write_all(m_journal.get(), uid + "\n", journal_of(m_path));
}

void UidState::retain(std::vector<std::string_view> on_server)
{
  // All in order, walked side by side: no second copy of a large mailbox's UIDs.
  std::sort(on_server.begin(), on_server.end());
  auto on = [&on_server](auto& from, std::string_view uid) {
    from = std::lower_bound(from, on_server.end(), uid);
    return from != on_server.end() && *from == uid;
  };
  auto server = on_server.begin();
  for (auto& l : m_loaded) {
    if (l.gone == 0 && !on(server, loaded(l))) {
      l.gone = 1;
      --m_kept;
    }
  }
  std::vector<std::string_view> gone;
  m_added.for_each([&](std::string_view uid) {
    if (!std::binary_search(on_server.begin(), on_server.end(), uid)) {
      gone.push_back(uid);
    }
  });
  for (const std::string_view uid : gone) {
    m_added.erase(uid);
  }
}

void UidState::save() const
{
  const std::string directory = file::parent_of(m_path);
  file::make_directories(directory, k_dir_mode);
  const std::string tmp_path = m_path + ".tmp-" + std::to_string(::getpid());
  // A leftover of a killed run with our pid, or a planted link: the name goes, never its target.
  file::remove_quietly(tmp_path);
  try {
    file::OutFile out(
        file::open_private(tmp_path, O_WRONLY | O_CREAT | O_EXCL, k_file_mode, "create"), tmp_path);
    out.write(k_header);
    out.write("\n");
    out.write(k_mailbox_line);
    out.write(m_mailbox);
    out.write("\n");
    // The loaded and the added, merged in order (what load() expects, and cheap to check).
    const std::vector<std::string_view> sorted = m_added.sorted();
    auto added = sorted.begin();
    for (const auto& l : m_loaded) {
      if (l.gone != 0) {
        continue;
      }
      for (; added != sorted.end() && *added < loaded(l); ++added) {
        out.write(*added);
        out.write("\n");
      }
      out.write(loaded(l));
      out.write("\n");
    }
    for (; added != sorted.end(); ++added) {
      out.write(*added);
      out.write("\n");
    }
    out.sync(true);
    out.close();
    if (::rename(tmp_path.c_str(), m_path.c_str()) != 0) {
      file::fail("replace", m_path, errno);
    }
  } catch (...) {
    file::remove_quietly(tmp_path);
    throw;
  }
  file::sync_directory(directory);
  // Everything the journal held is in the file now.
  m_journal.reset();
  file::remove_quietly(journal_of(m_path));
}

FileLock FileLock::acquire(const std::string& path, std::chrono::seconds wait)
{
  file::make_directories(file::parent_of(path), k_dir_mode);
  file::Fd owner = file::open_private(path, O_RDWR | O_CREAT, k_file_mode, "create lock");
  const int fd = owner.get();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      break;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EWOULDBLOCK) {
      file::fail("lock", path, errno);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const long pid = file::read_pid(fd);
      throw BusyError("another mailwrench is using this mailbox (lock " + path +
                      (pid > 0 ? " held by pid " + std::to_string(pid) : std::string(" held")) +
                      (wait.count() > 0 ? ", waited " + std::to_string(wait.count()) + " s" : "") +
                      ")");
    }
    std::this_thread::sleep_for(k_lock_poll);
  }
  // The pid only helps the message of a second run; failing to write it is not an error.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t ignored = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return FileLock(path, std::move(owner));
}

std::string state_directory()
{
  // The XDG Base Directory specification: a relative XDG_STATE_HOME is invalid and ignored.
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/mailwrench";
  }
  return home_directory() + "/.local/state/mailwrench";
}

std::string default_state_path(const std::string& name)
{
  return state_directory() + "/" + safe_file_name(name.empty() ? "default" : name) + ".uids";
}

}  // namespace mw::store
