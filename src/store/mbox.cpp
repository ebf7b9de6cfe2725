// SPDX-License-Identifier: Apache-2.0
#include "store/file.hpp"
#include "store/mboxrd.hpp"
#include "store/sinks.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <optional>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mw::store::detail {

namespace {

constexpr mode_t k_dir_mode = 0700;
constexpr mode_t k_file_mode = 0600;
constexpr std::size_t k_max_header = 1024 * 1024;
constexpr std::time_t k_stale_dot_lock_seconds = 10 * 60;
constexpr int k_dot_lock_attempts = 3;

// Who owns a file, for messages: the user name, or "uid N".
std::string owner_name(uid_t uid)
{
  if (const passwd* entry = ::getpwuid(uid); entry != nullptr && entry->pw_name != nullptr) {
    return entry->pw_name;
  }
  return "uid " + std::to_string(uid);
}

// FILE.lock, the dot-lock every mbox reader and writer honours (created O_EXCL, holding our pid).
// It is never followed through a symbolic link: a link in its place is refused (73), so another
// user who can write the directory cannot make us create, read or remove a file elsewhere.
class DotLock {
public:
  explicit DotLock(const std::string& mbox_path) : m_path(mbox_path + ".lock")
  {
    for (int attempt = 0; attempt < k_dot_lock_attempts; ++attempt) {
      if (link_complete_lock()) {
        return;
      }
      const int fd = file::open_retrying(
          m_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, k_file_mode);
      if (fd >= 0) {
        create(fd);
        return;
      }
      if (errno != EEXIST) {
        file::fail("create lock", m_path, errno);
      }
      if (!remove_if_stale(mbox_path)) {
        break;
      }
    }
    throw Error(ExitCode::temporary, "mbox " + mbox_path + " is locked: " + m_path + " exists" +
                                         m_holder + " (a stale lock is removed after 10 minutes)");
  }
  DotLock(const DotLock&) = delete;
  DotLock& operator=(const DotLock&) = delete;
  ~DotLock()
  {
    if (m_held) {
      file::remove_quietly(m_path);
    }
  }

private:
  // Takes the lock as an unnamed file (O_TMPFILE) that holds our pid before it is linked in
  // under the lock's name: a kill at any moment leaves no lock or a complete one, never an
  // empty lock whose holder cannot be told dead, which would hold off every later run and
  // every delivery agent for 10 minutes. False when the lock exists, or when the file system
  // (or a missing /proc) does not allow it: then create() below does it in two steps.
  bool link_complete_lock()
  {
    const auto slash = m_path.rfind('/');
    const std::string dir = slash == std::string::npos ? "."
                            : slash == 0               ? "/"
                                                       : m_path.substr(0, slash);
    const int fd = file::open_retrying(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, k_file_mode);
    if (fd < 0) {
      return false;
    }
    const file::Fd owner(fd);
    try {
      file::write_all(fd, std::to_string(::getpid()) + "\n", m_path);
    } catch (const Error& e) {
      // (Unnamed, it goes with its descriptor.)
      throw Error(e.code(), std::string(e.what()) + " (the unfinished lock was removed)");
    }
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, m_path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      return false;
    }
    m_held = true;
    return true;
  }

  // Writes our pid into the lock just created as `fd`. A lock that cannot be completed (a full
  // disk) is removed: left empty, it would hold off every later run and every delivery agent.
  void create(int fd)
  {
    file::Fd owner(fd);
    try {
      file::write_all(fd, std::to_string(::getpid()) + "\n", m_path);
    } catch (const Error& e) {
      struct stat created {};
      struct stat now {};
      const bool ours = ::fstat(fd, &created) == 0 && ::lstat(m_path.c_str(), &now) == 0 &&
                        created.st_ino == now.st_ino && created.st_dev == now.st_dev;
      owner.reset();
      if (ours) {
        file::remove_quietly(m_path);
      }
      throw Error(e.code(), std::string(e.what()) + " (the unfinished lock was removed)");
    }
    m_held = true;
  }

  // Removes the lock if it is older than 10 minutes (by its mtime) or its process is dead;
  // true when the lock is gone (so creating it again may succeed). A lock this user cannot read
  // (Postfix's local(8) makes it empty with mode 0) is judged by its age alone.
  bool remove_if_stale(const std::string& mbox_path)
  {
    struct stat info {};
    if (::lstat(m_path.c_str(), &info) != 0) {
      if (errno == ENOENT) {
        return true;
      }
      file::fail("examine lock", m_path, errno);
    }
    if (!S_ISREG(info.st_mode)) {
      throw Error(ExitCode::cant_create,
                  "refusing the lock " + m_path + " of mbox " + mbox_path + ": it is " +
                      (S_ISLNK(info.st_mode) ? "a symbolic link" : "not a regular file") +
                      ", not a lock file (remove it if no program of yours made it)");
    }
    m_holder.clear();
    long pid = 0;
    const int fd = file::open_retrying(m_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      const file::Fd owner(fd);
      struct stat opened {};
      if (::fstat(fd, &opened) == 0 && opened.st_ino == info.st_ino &&
          opened.st_dev == info.st_dev) {
        pid = file::read_pid(fd);
      }
    } else if (errno == ENOENT) {
      return true;
    } else if (errno == EACCES || errno == EPERM) {
      m_holder = " (owned by " + owner_name(info.st_uid) + ", not readable by this user)";
    } else {
      file::fail("read lock", m_path, errno);
    }
    if (pid > 0) {
      m_holder = " (held by pid " + std::to_string(pid) + ")";
    }
    const bool too_old = std::time(nullptr) - info.st_mtime > k_stale_dot_lock_seconds;
    const bool dead = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    if (!too_old && !dead) {
      return false;
    }
    // Remove only the file judged stale, not one a live process created meanwhile.
    struct stat now {};
    if (::lstat(m_path.c_str(), &now) != 0) {
      return errno == ENOENT;
    }
    if (now.st_ino != info.st_ino || now.st_dev != info.st_dev) {
      return true;
    }
    if (::unlink(m_path.c_str()) != 0 && errno != ENOENT) {
      file::fail("remove the stale lock of " + mbox_path + ":", m_path, errno);
    }
    return true;
  }

  std::string m_path;
  std::string m_holder;
  bool m_held = false;
};

class MboxSink;

// Appends one message: From line, the header buffered to find the sender, the body quoted.
class MboxDelivery final : public Delivery {
public:
  MboxDelivery(MboxSink& sink, int fd, const std::string& path, LineEnding ending);
  ~MboxDelivery() override { abandon(); }

  void write(std::string_view data) override;
  std::string commit() override;

private:
  void start_body();
  void emit(std::string_view data);
  void abandon() noexcept;

  MboxSink& m_sink;
  std::optional<file::OutFile> m_file;
  std::string_view m_ending;
  off_t m_start = 0;
  bool m_in_header = true;
  std::string m_header;
  std::size_t m_scan = 0;
  mboxrd::Quoter m_quoter;
  std::string m_quoted;
  char m_last = '\n';
};

class MboxSink final : public Sink {
public:
  MboxSink(std::string path, LineEnding ending)
      : m_path(std::move(path)), m_ending(ending), m_dot_lock(prepare(m_path))
  {
    const int fd =
        file::open_retrying(m_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, k_file_mode);
    if (fd < 0) {
      file::fail("open", m_path, errno);
    }
    m_fd = file::Fd(fd);
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
      file::fail("open", m_path, errno);
    }
    if (!S_ISREG(info.st_mode)) {
      throw Error(ExitCode::cant_create,
                  "cannot use " + m_path + " as an mbox: not a regular file");
    }
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &lock) != 0) {
      if (errno != EACCES && errno != EAGAIN) {
        file::fail("lock", m_path, errno);
      }
      std::string holder;
      struct flock query {};
      query.l_type = F_WRLCK;
      query.l_whence = SEEK_SET;
      if (::fcntl(fd, F_GETLK, &query) == 0 && query.l_type != F_UNLCK && query.l_pid > 0) {
        holder = " held by pid " + std::to_string(query.l_pid);
      }
      throw Error(ExitCode::temporary,
                  "mbox " + m_path + " is locked by another program (fcntl lock" + holder + ")");
    }
  }

  std::unique_ptr<Delivery> begin(const mailbox::Message&) override
  {
    if (m_active) {
      throw Error(ExitCode::software, "internal error: two messages at once into mbox " + m_path);
    }
    auto delivery = std::make_unique<MboxDelivery>(*this, m_fd.get(), m_path, m_ending);
    m_active = true;
    return delivery;
  }

  void sync(const Visible& visible) override
  {
    if (!m_unsynced.empty()) {
      int result = 0;
      do {
        result = ::fsync(m_fd.get());
      } while (result < 0 && errno == EINTR);
      if (result < 0) {
        file::fail("sync", m_path, errno);
      }
    }
    m_unsynced.report(visible);
  }

  void finished(bool committed)
  {
    m_active = false;
    if (committed) {
      m_unsynced.add(m_path);
    }
  }

  const std::string& path() const { return m_path; }

private:
  static const std::string& prepare(const std::string& path)
  {
    file::make_directories(file::parent_of(path), k_dir_mode);
    return path;
  }

  std::string m_path;
  LineEnding m_ending;
  // Taken before the mbox is opened: closing any descriptor of a file drops this process's fcntl
  // locks on it, so a second open in the same process must fail before it opens the file.
  DotLock m_dot_lock;
  file::Fd m_fd;
  bool m_active = false;
  Unsynced m_unsynced;
};

MboxDelivery::MboxDelivery(MboxSink& sink, int fd, const std::string& path, LineEnding ending)
    : m_sink(sink), m_ending(ending == LineEnding::crlf ? "\r\n" : "\n")
{
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    file::fail("open", path, errno);
  }
  m_start = info.st_size;
  m_file.emplace(fd, path);
  if (m_start > 0) {
    // A file that does not end with a line ending would glue our From line to its last line.
    char last = '\n';
    if (::pread(fd, &last, 1, m_start - 1) == 1 && last != '\n') {
      m_file->write(m_ending);
    }
  }
}

void MboxDelivery::write(std::string_view data)
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: write to a finished mbox delivery");
  }
  try {
    if (!m_in_header) {
      emit(data);
      return;
    }
    m_header.append(data);
    for (;;) {
      const std::size_t newline = m_header.find('\n', m_scan);
      if (newline == std::string::npos) {
        break;
      }
      const std::size_t length = newline - m_scan;
      m_scan = newline + 1;
      if (length == 0 || (length == 1 && m_header[newline - 1] == '\r')) {
        start_body();
        return;
      }
    }
    if (m_header.size() >= k_max_header) {
      start_body();
    }
  } catch (...) {
    abandon();
    throw;
  }
}

void MboxDelivery::start_body()
{
  m_in_header = false;
  m_file->write("From " + mboxrd::sender(m_header) + " " + mboxrd::asctime_utc(std::time(nullptr)));
  m_file->write(m_ending);
  emit(m_header);
  std::string().swap(m_header);
}

void MboxDelivery::emit(std::string_view data)
{
  if (data.empty()) {
    return;
  }
  m_quoted.clear();
  m_quoter.put(data, m_quoted);
  m_file->write(m_quoted);
  m_last = data.back();
}

std::string MboxDelivery::commit()
{
  if (!m_file) {
    throw Error(ExitCode::software, "internal error: commit of a finished mbox delivery");
  }
  try {
    if (m_in_header) {
      start_body();
    }
    m_quoted.clear();
    m_quoter.finish(m_quoted);
    m_file->write(m_quoted);
    if (m_last == '\r' && m_ending == "\r\n") {
      m_file->write("\n");
    } else if (m_last != '\n') {
      m_file->write(m_ending);
    }
    m_file->write(m_ending);
    m_file->sync(false);
    m_file.reset();
    m_sink.finished(true);
    return m_sink.path();
  } catch (...) {
    abandon();
    throw;
  }
}

void MboxDelivery::abandon() noexcept
{
  if (!m_file) {
    return;
  }
  m_file->discard();
  const int fd = m_file->fd();
  m_file.reset();
  while (::ftruncate(fd, m_start) != 0 && errno == EINTR) {
  }
  m_sink.finished(false);
}

}  // namespace

std::unique_ptr<Sink> open_mbox(const std::string& path, LineEnding ending)
{
  return std::make_unique<MboxSink>(path, ending);
}

}  // namespace mw::store::detail
