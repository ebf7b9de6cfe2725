// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/file.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// What survives between runs of `fetch --new`: the UIDs stored already, and the lock that keeps
// two runs on one mailbox apart (DESIGN.md "Nothing lost").
namespace mw::store {

// Whether `uid` is a UID as RFC 1939 section 7 defines it (bytes 0x21 to 0x7E; at most
// k_max_uid of them: servers exceed the RFC's 70, and a UIDL line is at most 8192 octets):
// the only UIDs a state file records.
constexpr std::size_t k_max_uid = 8192;
bool valid_uid(std::string_view uid);

// Which maildrop a state file belongs to: "USER@HOST:PORT" (the host in lower case). UIDs are
// unique only within one maildrop, so a state is never used for another.
std::string mailbox_identity(const std::string& user, const std::string& host, std::uint16_t port);

// A set of UIDs kept compactly: each UID once in an arena ("UID\n"), found through an
// open-addressing hash table of 4-octet offsets (a million UIDs of 20 octets take ~30 MB, where
// a std::set<std::string> took ~100). Removal marks the arena entry; the space returns only
// when the set goes away, which suits a run's additions.
class UidSet {
public:
  bool contains(std::string_view uid) const;
  // Adds `uid` (a valid UID, see valid_uid()) unless it is there; throws mw::Error 70 when the
  // arena would pass 4 GiB.
  void insert(std::string_view uid);
  void erase(std::string_view uid);
  std::size_t size() const { return m_live; }
  // Calls f(uid) for every UID in the set, in the order they were added.
  template <class F> void for_each(F&& f) const
  {
    for (std::size_t at = 0; at < m_arena.size();) {
      const std::string_view uid = entry(at);
      at += uid.size() + 1;
      if (uid.front() != '\0') {
        f(uid);
      }
    }
  }
  // The UIDs in order (a vector of views into the set, 16 octets a UID while it lives).
  std::vector<std::string_view> sorted() const;
  // The octets the set holds (its arena and table).
  std::size_t footprint() const { return m_arena.capacity() + m_slots.capacity() * 4; }

private:
  std::string_view entry(std::size_t at) const;
  // The slot holding `uid`, or the empty slot where it would go.
  std::size_t slot_of(std::string_view uid) const;
  void grow();

  std::string m_arena;
  std::vector<std::uint32_t> m_slots;  // arena offset + 1; 0 = empty
  std::size_t m_used = 0;              // slots taken (erased UIDs keep theirs)
  std::size_t m_live = 0;
};

// The UID state file of `fetch --new`: which UIDs (RFC 1939 section 7, UIDL) have been stored
// from which mailbox.
class UidState {
public:
  // Reads `path`: "# mailwrench uid state 2", "# mailbox USER@HOST:PORT", then one UID a line
  // (a version 1 file, without the mailbox line, is taken over for `mailbox`). A missing file is
  // an empty state; a state of another mailbox is an mw::Error 78 naming both; an unreadable or
  // malformed one an mw::Error 65 naming the file and line; a symbolic link or a file of another
  // user an mw::Error 73.
  static UidState load(const std::string& path, const std::string& mailbox);

  // Whether `uid` has been stored already.
  bool contains(std::string_view uid) const;
  // Records `uid` as stored (in memory; save() writes it); an invalid UID is never recorded.
  void add(const std::string& uid);

  // Adds a UID and appends it at once to the journal beside the state file (PATH.journal), so
  // that a run killed before the next save() still knows what it stored; load() reads the
  // journal back and save() folds it in.
  void record(const std::string& uid);

  // Removes a UID (the next save() drops it from the file and the journal).
  void forget(const std::string& uid);
  // Forgets the UIDs that are not in `on_server` any more, so the file stays small.
  void retain(std::vector<std::string_view> on_server);
  // Atomically replaces the file: writes PATH.tmp-<pid>, fsyncs, renames, fsyncs the directory;
  // creates missing parent directories (0700); errors are mw::Error 73 naming the path.
  void save() const;

  // The file this state is loaded from and saved to.
  const std::string& path() const { return m_path; }
  // How many UIDs are recorded.
  std::size_t size() const { return m_kept + m_added.size(); }
  // The octets this state holds (the file's text, its index, the UIDs added since).
  std::size_t footprint() const
  {
    return m_file.capacity() + m_loaded.capacity() * sizeof(Loaded) + m_added.footprint();
  }

private:
  // Where the k-th UID of the file is in m_file, and whether it was forgotten since.
  struct Loaded {
    std::uint32_t at;
    std::uint16_t size;  // at most k_max_uid
    std::uint8_t gone;
  };
  std::string_view loaded(const Loaded& l) const
  {
    return std::string_view(m_file).substr(l.at, l.size);
  }
  // The loaded UID equal to `uid`, or nullptr.
  const Loaded* find_loaded(std::string_view uid) const;

  std::string m_path;
  std::string m_mailbox;
  // The UIDs of the file as it was read, in place (a million UIDs cost their ~17 MB and 8
  // octets each, not a tree node and a string each), sorted; those added since (the journal's,
  // this run's) in m_added.
  std::string m_file;
  std::vector<Loaded> m_loaded;
  std::size_t m_kept = 0;  // loaded and not gone
  UidSet m_added;
  // The journal, opened by the first record() (one open for the run, not one a message) and
  // closed by save(), which removes the file.
  mutable file::Fd m_journal;
};

// An exclusive flock(2) on a file such as "<state>.lock", so that two runs on one mailbox do not
// collide; released when the FileLock goes away (the file is kept: deleting lock files races).
class FileLock {
public:
  // Takes the lock, waiting up to `wait` (0: not at all) for another holder to let go; then
  // writes our pid into the file. Creates missing parent directories (0700). A lock still held is
  // mw::Error 75 "another mailwrench is using this mailbox (lock FILE held by pid N)".
  static FileLock acquire(const std::string& path, std::chrono::seconds wait);

  // The lock file.
  const std::string& path() const { return m_path; }

private:
  FileLock(std::string path, file::Fd fd) : m_path(std::move(path)), m_fd(std::move(fd)) {}

  std::string m_path;
  file::Fd m_fd;  // closing it releases the lock (flock(2) locks belong to the open file)
};

// Where mailwrench keeps its state: $XDG_STATE_HOME/mailwrench, else
// ~/.local/state/mailwrench (the XDG Base Directory specification).
std::string state_directory();

// The default state file of a mailbox: $XDG_STATE_HOME/mailwrench/<name>.uids, else
// ~/.local/state/mailwrench/<name>.uids, with `name` made file-name safe (safe_file_name()).
std::string default_state_path(const std::string& name);

}  // namespace mw::store
