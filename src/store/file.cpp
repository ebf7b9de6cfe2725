// SPDX-License-Identifier: Apache-2.0
#include "store/file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace mw::store::file {

namespace {

constexpr std::size_t k_buffer_size = 64 * 1024;
// A large file's data is sent to the disk every this many bytes while it is written, so
// that the sync at its end waits only for the tail (a 200 MB message: for the last 8 MB,
// not for all of it). Smaller files are left to the batch's syncfs.
constexpr std::uint64_t k_write_behind = 8 * 1024 * 1024;

}  // namespace

void fail(const std::string& what, const std::string& path, int err, ExitCode code)
{
  throw Error(code, "cannot " + what + " " + path + ": " + std::strerror(err));
}

int open_retrying(const std::string& path, int flags, mode_t mode, int dir_fd)
{
  int fd = -1;
  do {
    fd = ::openat(dir_fd, path.c_str(), flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

long parse_pid(std::string_view text)
{
  long pid = 0;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      pid = pid * 10 + (c - '0');
      if (pid > 1'000'000'000) {
        return 0;
      }
    } else if (c == '\n' || c == ' ' || c == '\r') {
      break;
    } else {
      return 0;
    }
  }
  return pid;
}

long read_pid(int fd)
{
  char buffer[32];
  ssize_t got = -1;
  do {
    got = ::pread(fd, buffer, sizeof buffer, 0);
  } while (got < 0 && errno == EINTR);
  return got > 0 ? parse_pid(std::string_view(buffer, static_cast<std::size_t>(got))) : 0;
}

Fd& Fd::operator=(Fd&& other) noexcept
{
  if (this != &other) {
    reset();
    m_fd = other.release();
  }
  return *this;
}

int Fd::release() noexcept
{
  return std::exchange(m_fd, -1);
}

void Fd::reset() noexcept
{
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
}

OutFile::OutFile(std::string path, int flags, mode_t mode) : m_path(std::move(path))
{
  const int fd = open_retrying(m_path, flags | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) {
    fail("create", m_path, errno);
  }
  m_fd = Fd(fd);
}

OutFile::OutFile(int borrowed_fd, std::string path)
    : m_borrowed(borrowed_fd), m_path(std::move(path))
{
}

void OutFile::write(std::string_view data)
{
  if (m_buffer.size() + data.size() <= k_buffer_size) {
    m_buffer.append(data);
    return;
  }
  flush();
  if (data.size() >= k_buffer_size) {
    write_all(fd(), data, m_path);
    written(data.size());
  } else {
    m_buffer.append(data);
  }
}

void OutFile::written(std::size_t n)
{
  m_unsynced += n;
  if (m_unsynced >= k_write_behind) {
    // Starts writeback of the file's dirty pages without waiting for it; errors show up at
    // the sync that follows.
    ::sync_file_range(fd(), 0, 0, SYNC_FILE_RANGE_WRITE);
    m_unsynced = 0;
  }
}

void OutFile::flush()
{
  if (!m_buffer.empty()) {
    // Cleared even when the write fails (the caller removes or truncates the file then);
    // the buffer keeps its capacity for the next bytes.
    try {
      write_all(fd(), m_buffer, m_path);
    } catch (...) {
      m_buffer.clear();
      throw;
    }
    written(m_buffer.size());
    m_buffer.clear();
  }
}

void OutFile::sync(bool metadata)
{
  flush();
  int result = 0;
  do {
    result = metadata ? ::fsync(fd()) : ::fdatasync(fd());
  } while (result < 0 && errno == EINTR);
  if (result < 0) {
    fail("sync", m_path, errno);
  }
}

void OutFile::close()
{
  flush();
  if (m_fd.get() >= 0) {
    // close(2) is not retried after EINTR: on Linux the descriptor is gone either way.
    if (::close(m_fd.release()) < 0 && errno != EINTR) {
      fail("write", m_path, errno);
    }
  }
}

Fd OutFile::release()
{
  flush();
  return std::move(m_fd);
}

Fd open_private(const std::string& path, int flags, mode_t mode, const std::string& what)
{
  const int fd = open_retrying(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    if ((errno == ENOENT || errno == ENOTDIR) && (flags & O_CREAT) == 0) {
      return Fd();
    }
    if (errno == ELOOP) {
      throw Error(ExitCode::cant_create, "cannot " + what + " " + path +
                                             ": it is a symbolic link (not followed: it may "
                                             "have been planted; remove it)");
    }
    fail(what, path, errno);
  }
  Fd owner(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    fail(what, path, errno);
  }
  if (!S_ISREG(info.st_mode)) {
    throw Error(ExitCode::cant_create, "cannot " + what + " " + path + ": not a regular file");
  }
  if (info.st_uid != ::geteuid()) {
    throw Error(ExitCode::cant_create, "cannot " + what + " " + path + ": it belongs to uid " +
                                           std::to_string(info.st_uid) + ", not to you (uid " +
                                           std::to_string(::geteuid()) +
                                           "); another user may have planted it");
  }
  return owner;
}

void write_all(int fd, std::string_view data, const std::string& path)
{
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("write", path, errno);
    }
    if (written == 0) {
      fail("write", path, EIO);
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
}

void sync_directory(const std::string& path)
{
  const int fd = open_retrying(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    fail("open directory", path, errno);
  }
  const Fd owner(fd);
  int result = 0;
  do {
    result = ::fsync(fd);
  } while (result < 0 && errno == EINTR);
  // Some file systems cannot fsync a directory (EINVAL) and make renames durable anyway.
  if (result < 0 && errno != EINVAL) {
    fail("sync directory", path, errno);
  }
}

std::string parent_of(const std::string& path)
{
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    return ".";
  }
  if (slash == 0) {
    return "/";
  }
  return path.substr(0, slash);
}

void make_directories(const std::string& path, mode_t mode)
{
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if (!S_ISDIR(info.st_mode)) {
      fail("create directory", path, ENOTDIR);
    }
    return;
  }
  if (errno != ENOENT) {
    fail("create directory", path, errno);
  }
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  const std::string parent = parent_of(trimmed);
  if (parent != trimmed && parent != "." && parent != "/") {
    make_directories(parent, mode);
  }
  if (::mkdir(trimmed.c_str(), mode) < 0) {
    if (errno == EEXIST && ::stat(trimmed.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      return;  // created by someone else meanwhile
    }
    fail("create directory", path, errno);
  }
  // The new entry is durable only once its parent directory is.
  sync_directory(parent);
}

void remove_stale_files(const std::string& dir, std::string_view prefix,
                        long max_age_seconds) noexcept
{
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) {
    return;
  }
  const std::time_t now = std::time(nullptr);
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == ".." || name.substr(0, prefix.size()) != prefix) {
      continue;
    }
    struct stat info {};
    if (::fstatat(::dirfd(stream), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(info.st_mode) && now - info.st_mtime > max_age_seconds) {
      ::unlinkat(::dirfd(stream), entry->d_name, 0);
    }
  }
  ::closedir(stream);
}

void remove_orphans(const std::string& dir, std::string_view host) noexcept
{
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) {
    return;
  }
  const std::string suffix = "." + std::string(host);
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    // <seconds>.M<usec>P<pid>Q<counter>.<host>: one of ours, from this host.
    auto p = name.find('P');
    auto q = name.find('Q', p == std::string_view::npos ? 0 : p);
    if (p == std::string_view::npos || q == std::string_view::npos || name.find(".M") > p ||
        !name.ends_with(suffix)) {
      continue;
    }
    long pid = 0;
    auto digits = name.substr(p + 1, q - p - 1);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    pid = std::stol(std::string(digits));
    if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 ||
        errno != ESRCH) {
      continue;  // its writer may still be at work
    }
    struct stat info {};
    if (::fstatat(::dirfd(stream), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(info.st_mode)) {
      ::unlinkat(::dirfd(stream), entry->d_name, 0);
    }
  }
  ::closedir(stream);
}

namespace {

// open(2) of an existing file for reading, not through a symbolic link; -1 when it is missing or
// a link (errno set), an Error 73 for other failures.
int open_existing(const std::string& path)
{
  const int fd = open_retrying(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT && errno != ELOOP) {
    fail("read", path, errno);
  }
  return fd;
}

// Reads up to `size` bytes at the current offset (less only at the end of the file).
std::size_t read_some(int fd, char* buffer, std::size_t size, const std::string& path)
{
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, buffer + got, size - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      fail("read", path, errno);
    }
    if (n == 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  return got;
}

}  // namespace

bool same_bytes(const std::string& a, const std::string& b)
{
  const Fd fa(open_existing(a));
  const Fd fb(open_existing(b));
  struct stat sa {};
  struct stat sb {};
  if (fa.get() < 0 || fb.get() < 0 || ::fstat(fa.get(), &sa) != 0 || ::fstat(fb.get(), &sb) != 0 ||
      !S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode) || sa.st_size != sb.st_size) {
    return false;
  }
  std::string buffer_a(k_buffer_size, '\0');
  std::string buffer_b(k_buffer_size, '\0');
  for (;;) {
    const std::size_t got_a = read_some(fa.get(), buffer_a.data(), buffer_a.size(), a);
    const std::size_t got_b = read_some(fb.get(), buffer_b.data(), buffer_b.size(), b);
    if (got_a != got_b || std::memcmp(buffer_a.data(), buffer_b.data(), got_a) != 0) {
      return false;
    }
    if (got_a < buffer_a.size()) {
      return true;
    }
  }
}

void sync_file(const std::string& path)
{
  const Fd fd(open_existing(path));
  if (fd.get() < 0) {
    fail("sync", path, errno);
  }
  int result = 0;
  do {
    result = ::fsync(fd.get());
  } while (result < 0 && errno == EINTR);
  if (result < 0) {
    fail("sync", path, errno);
  }
}

void remove_quietly(const std::string& path) noexcept
{
  ::unlink(path.c_str());
}

}  // namespace mw::store::file
