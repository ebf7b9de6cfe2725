// SPDX-License-Identifier: Apache-2.0
#include "store/file.hpp"
#include "store/names.hpp"
#include "store/sinks.hpp"

#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <future>
#include <optional>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace mw::store::detail {

namespace {

constexpr mode_t k_dir_mode = 0700;
constexpr mode_t k_file_mode = 0600;
constexpr int k_name_attempts = 5;
constexpr long k_stale_tmp_seconds = 36 * 60 * 60;  // the Maildir specification's limit

class MaildirSink;

// <unique>,S=<octets>, the name in new/: the size in it spares readers a stat (as Dovecot
// writes it).
std::string name_for(const std::string& unique, std::uint64_t octets)
{
  return unique + ",S=" + std::to_string(octets);
}

// A new file without a name in the directory `dir_fd` (O_TMPFILE): its descriptor, or -1 with
// errno set.
int open_unnamed(int dir_fd)
{
  return file::open_retrying(".", O_TMPFILE | O_WRONLY | O_CLOEXEC, k_file_mode, dir_fd);
}

// linkat(2) of the open file `fd` (an O_TMPFILE inode) as `name` in the directory `dir_fd`,
// through /proc/self/fd (which needs no capability, unlike AT_EMPTY_PATH): 0 or the errno.
int link_open_file(int fd, int dir_fd, const std::string& name)
{
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  return ::linkat(AT_FDCWD, self.c_str(), dir_fd, name.c_str(), AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
}

// Links the open file `fd` as `name` in `dir_fd`; false if the name is taken. `target` names
// it in errors.
bool link_no_replace(int fd, int dir_fd, const std::string& name, const std::string& target)
{
  const int err = link_open_file(fd, dir_fd, name);
  if (err == EEXIST) {
    return false;
  }
  if (err != 0) {
    file::fail("link a new message to", target, err);
  }
  return true;
}

file::Fd open_directory(const std::string& path)
{
  const int fd = file::open_retrying(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    file::fail("open the directory", path, errno);
  }
  return file::Fd(fd);
}

MaildirTmp g_tmp_files = MaildirTmp::automatic;

// Whether the directory `tmp_fd` takes unnamed files (O_TMPFILE: Linux 3.11 on ext4, xfs,
// btrfs, tmpfs ...) that can be given a name later through /proc: tried once, with a file then
// removed.
bool takes_unnamed_files(int tmp_fd)
{
  if (g_tmp_files == MaildirTmp::named) {
    return false;
  }
  const file::Fd probe(open_unnamed(tmp_fd));
  if (probe.get() < 0) {
    return false;
  }
  const std::string name = unique_name();
  if (link_open_file(probe.get(), tmp_fd, name) != 0) {
    return false;
  }
  ::unlinkat(tmp_fd, name.c_str(), 0);
  return true;
}

// How many messages may wait as unnamed files (each holds a descriptor until its batch is
// synced): half of the descriptors still free.
std::size_t descriptor_budget()
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return 1024;
  }
  std::size_t in_use = 0;
  if (DIR* fds = ::opendir("/proc/self/fd")) {
    while (::readdir(fds) != nullptr) {
      ++in_use;
    }
    ::closedir(fds);
  }
  return limit.rlim_cur > in_use ? static_cast<std::size_t>(limit.rlim_cur - in_use) / 2 : 0;
}

// A message is written to a file without a name in tmp/ (O_TMPFILE) where the file system
// allows: a kill leaves nothing behind, and it costs one directory entry instead of two plus
// a rename. Elsewhere it is tmp/<unique>, renamed later. Either way it gets its name
// new/<unique>,S=<octets> only once the batch is synced.
class MaildirDelivery final : public Delivery {
public:
  MaildirDelivery(MaildirSink& sink, const std::string& dir, bool unnamed);
  ~MaildirDelivery() override { abandon(); }

  void write(std::string_view data) override;
  std::string commit() override;

private:
  void abandon() noexcept;

  MaildirSink& m_sink;
  std::string m_dir;
  std::string m_unique;
  std::string m_tmp_path;  // empty for an unnamed file
  std::optional<file::OutFile> m_file;
  std::uint64_t m_octets = 0;
};

class MaildirSink final : public Sink {
public:
  explicit MaildirSink(std::string dir) : m_dir(std::move(dir))
  {
    file::make_directories(m_dir, k_dir_mode);
    for (const char* sub : {"/tmp", "/new", "/cur"}) {
      file::make_directories(m_dir + sub, k_dir_mode);
    }
    file::remove_stale_files(m_dir + "/tmp", "", k_stale_tmp_seconds);
    file::remove_orphans(m_dir + "/tmp", unique_host());
    m_tmp_fd = open_directory(m_dir + "/tmp");
    m_new_fd = open_directory(m_dir + "/new");
    m_unnamed = takes_unnamed_files(m_tmp_fd.get());
    m_unnamed_budget = descriptor_budget();
  }

  std::unique_ptr<Delivery> begin(const mailbox::Message&) override
  {
    // Messages waiting for their sync hold a descriptor each when unnamed; past the budget
    // they wait as named files.
    const bool unnamed =
        m_unnamed && m_pending.size() + m_in_flight.messages.size() < m_unnamed_budget;
    return std::make_unique<MaildirDelivery>(*this, m_dir, unnamed);
  }

  // tmp/, open: unnamed files are made in it.
  int tmp_fd() const { return m_tmp_fd.get(); }

  MaildirSink(const MaildirSink&) = delete;
  MaildirSink& operator=(const MaildirSink&) = delete;

  // Messages committed but never synced were not delivered: they go, as an aborted one would
  // (an unnamed file goes with its descriptor).
  ~MaildirSink() override
  {
    if (m_in_flight_data.valid()) {
      m_in_flight_data.wait();
    }
    drop(m_in_flight.messages, 0);
    drop(m_pending, 0);
  }

  // Durability in batches, as safe as a sync per message: first every pending file's data is
  // on disk (one syncfs for the batch instead of one fsync per file), then the files get their
  // names in new/, then new/ itself is synced. A message is visible only once its bytes are
  // safe.
  void sync(const Visible& visible) override
  {
    finish_in_flight(visible);
    auto batch = take_pending();
    sync_now(batch, visible);
  }

  // The batch committed since the last call has its data synced on another thread while the
  // caller receives the next one (the wait for the disk is most of a sync); the batch before
  // it, whose data is on disk by now, gets its names in new/ here.
  void advance(const Visible& visible) override
  {
    finish_in_flight(visible);
    auto batch = take_pending();
    if (batch.messages.empty()) {
      return;
    }
    m_in_flight = std::move(batch);
    try {
      m_in_flight_data = std::async(
          std::launch::async, [this] { sync_data(m_in_flight.messages, m_dir, m_tmp_fd.get()); });
    } catch (const std::system_error&) {
      // No thread to be had: this batch is synced here and now.
      auto now = std::move(m_in_flight);
      m_in_flight.messages.clear();
      sync_now(now, visible);
    }
  }

  std::size_t batch() const override { return k_batch; }

  // Where a message named `name` is once it is visible.
  std::string path_in_new(const std::string& name) const { return m_dir + "/new/" + name; }

  void committed(file::Fd fd, std::string tmp_path, std::string name, std::uint64_t octets)
  {
    m_pending.push_back({std::move(fd), std::move(tmp_path), std::move(name), octets});
  }

private:
  // At most this many messages in a batch (each unnamed one holds a descriptor until then).
  static constexpr std::size_t k_batch = 128;

  struct Pending {
    file::Fd fd;           // an unnamed file, open until it is linked
    std::string tmp_path;  // or a named one in tmp/
    std::string name;      // in new/
    std::uint64_t octets;
  };

  // Messages synced together; `first` is the commit index of the first of them.
  struct Batch {
    std::vector<Pending> messages;
    std::size_t first = 0;
  };

  Batch take_pending()
  {
    Batch batch{std::move(m_pending), m_next_index};
    m_pending.clear();
    m_next_index += batch.messages.size();
    return batch;
  }

  // Waits for the batch whose data is being synced on the other thread, and makes it visible.
  void finish_in_flight(const Visible& visible)
  {
    if (!m_in_flight_data.valid()) {
      return;
    }
    m_in_flight_data.wait();
    auto batch = std::move(m_in_flight);
    m_in_flight.messages.clear();
    try {
      m_in_flight_data.get();
    } catch (...) {
      drop(batch.messages, 0);
      throw;
    }
    make_visible(batch, visible);
  }

  void sync_now(Batch& batch, const Visible& visible)
  {
    if (batch.messages.empty()) {
      return;
    }
    try {
      sync_data(batch.messages, m_dir, m_tmp_fd.get());
    } catch (...) {
      drop(batch.messages, 0);
      throw;
    }
    make_visible(batch, visible);
  }

  // Names every message of a batch whose data is on disk, then syncs new/.
  void make_visible(Batch& batch, const Visible& visible)
  {
    // Each message is reported right after it gets its name, so that a kill between two
    // leaves at most one message visible but unrecorded.
    for (std::size_t i = 0; i < batch.messages.size(); ++i) {
      try {
        move_into_new(batch.messages[i]);
      } catch (...) {
        drop(batch.messages, i);
        throw;
      }
      if (visible) {
        visible(batch.first + i, path_in_new(batch.messages[i].name));
      }
    }
    if (::fsync(m_new_fd.get()) != 0) {
      file::fail("sync", m_dir + "/new", errno);
    }
  }

  static void drop(std::vector<Pending>& pending, std::size_t from) noexcept
  {
    for (std::size_t j = from; j < pending.size(); ++j) {
      if (!pending[j].tmp_path.empty()) {
        file::remove_quietly(pending[j].tmp_path);
      }
      pending[j].fd.reset();
    }
  }

  // Never replaces a file: a name already taken (a clock stepped back) gets another unique
  // name instead.
  void move_into_new(Pending& p)
  {
    for (int attempt = 0; attempt < k_name_attempts; ++attempt) {
      const std::string target = path_in_new(p.name);
      bool done = p.tmp_path.empty() ? link_no_replace(p.fd.get(), m_new_fd.get(), p.name, target)
                                     : rename_no_replace(p.tmp_path, target);
      if (done) {
        p.fd.reset();
        return;
      }
      p.name = name_for(unique_name(), p.octets);
    }
    file::fail("move into place", path_in_new(p.name), EEXIST);
  }

  // Makes the data of every file of `pending` durable; runs on either thread.
  static void sync_data(std::vector<Pending>& pending, const std::string& dir, int tmp_fd)
  {
    if (::syncfs(tmp_fd) == 0) {
      return;
    }
    // No syncfs (or it failed): one fsync per file, the slow and sure way.
    for (auto& p : pending) {
      if (p.tmp_path.empty()) {
        file::OutFile borrowed(p.fd.get(), dir + "/tmp");
        borrowed.sync(true);
      } else {
        file::OutFile reopened(p.tmp_path, 0, k_file_mode);
        reopened.sync(true);
      }
    }
  }

  std::string m_dir;
  bool m_unnamed = false;
  std::size_t m_unnamed_budget = 0;
  file::Fd m_tmp_fd;
  file::Fd m_new_fd;
  std::vector<Pending> m_pending;  // committed since the last sync() or advance()
  std::size_t m_next_index = 0;    // the commit index of the first of them
  Batch m_in_flight;               // its data is being synced by m_in_flight_data
  std::future<void> m_in_flight_data;
};

MaildirDelivery::MaildirDelivery(MaildirSink& sink, const std::string& dir, bool unnamed)
    : m_sink(sink), m_dir(dir), m_unique(unique_name())
{
  if (unnamed) {
    const int fd = open_unnamed(sink.tmp_fd());
    if (fd >= 0) {
      m_file.emplace(file::Fd(fd), dir + "/tmp");
      return;
    }
    if (errno != EMFILE && errno != ENFILE) {
      file::fail("create a file in", dir + "/tmp", errno);
    }
    // Out of descriptors (each unnamed file holds one until its batch is synced): this one
    // gets a name in tmp/ instead.
  }
  m_tmp_path = dir + "/tmp/" + m_unique;
  m_file.emplace(m_tmp_path, O_CREAT | O_EXCL, k_file_mode);
}

void MaildirDelivery::write(std::string_view data)
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: write to a finished Maildir delivery");
  }
  try {
    m_file->write(data);
    m_octets += data.size();
  } catch (...) {
    abandon();
    throw;
  }
}

std::string MaildirDelivery::commit()
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: commit of a finished Maildir delivery");
  }
  file::Fd fd;
  try {
    if (m_tmp_path.empty()) {
      fd = m_file->release();  // the file lives as long as its descriptor
    } else {
      m_file->close();
    }
    m_file.reset();
  } catch (...) {
    abandon();
    throw;
  }
  // The name it is meant to have; sync() gives it that name (or, if another file took it
  // meanwhile, another one that it reports).
  std::string name = name_for(m_unique, m_octets);
  std::string target = m_sink.path_in_new(name);
  m_sink.committed(std::move(fd), m_tmp_path, std::move(name), m_octets);
  return target;
}

void MaildirDelivery::abandon() noexcept
{
  if (m_file) {
    m_file.reset();
    if (!m_tmp_path.empty()) {
      file::remove_quietly(m_tmp_path);
    }
  }
}

}  // namespace

std::unique_ptr<Sink> open_maildir(const std::string& dir)
{
  return std::make_unique<MaildirSink>(dir);
}

void set_maildir_tmp(MaildirTmp how)
{
  g_tmp_files = how;
}

bool rename_no_replace(const std::string& from, const std::string& to)
{
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno == EEXIST) {
    return false;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    file::fail("rename " + from + " to", to, errno);
  }
#endif
  // The Maildir specification's own way: link(2) fails rather than replace.
  if (::link(from.c_str(), to.c_str()) == 0) {
    file::remove_quietly(from);
    return true;
  }
  if (errno == EEXIST) {
    return false;
  }
  file::fail("link " + from + " to", to, errno);
}

}  // namespace mw::store::detail
