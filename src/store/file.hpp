// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "util/error.hpp"

#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <sys/types.h>

// POSIX file helpers shared by the sinks and the state file: every failure becomes an
// mw::Error naming the path and the errno text.
namespace mw::store::file {

// "cannot <what> <path>: <strerror(err)>" as an mw::Error with `code` (73 unless told).
[[noreturn]] void fail(const std::string& what, const std::string& path, int err,
                       ExitCode code = ExitCode::cant_create);

// open(2) of `path` (openat(2) relative to the directory `dir_fd` when given), retried after
// EINTR: the descriptor, or -1 with errno set. The caller owns the descriptor (wrap it in Fd).
int open_retrying(const std::string& path, int flags, mode_t mode = 0, int dir_fd = AT_FDCWD);

// The pid that a lock file (the mbox dot-lock, the state lock) holds as "<pid>\n", read from the
// start of `fd`; 0 when it holds none (empty, unreadable or not a pid: see parse_pid()).
long read_pid(int fd);

// The decimal pid at the start of `text`, ended by LF, CR, a space or the end; 0 when `text`
// starts with anything else or the number is above 10^9.
long parse_pid(std::string_view text);

// An owned file descriptor that is closed when it goes away.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  // The descriptor, or -1.
  int get() const { return m_fd; }
  // Gives up ownership and returns the descriptor.
  int release() noexcept;
  // Closes the descriptor (errors ignored: OutFile::close() reports them).
  void reset() noexcept;

private:
  int m_fd = -1;
};

// A file being written through a buffer: bounded memory whatever is written (short writes and
// EINTR handled); every error is an mw::Error 73 naming the path.
class OutFile {
public:
  // Opens `path` with open(2) `flags` (O_WRONLY and O_CLOEXEC are added) and `mode`.
  OutFile(std::string path, int flags, mode_t mode);
  // Writes to an already open descriptor that the OutFile does not own; `path` names it in errors.
  OutFile(int borrowed_fd, std::string path);
  // Writes to an open descriptor that it owns from now on.
  OutFile(Fd owned, std::string path) : m_fd(std::move(owned)), m_path(std::move(path)) {}
  OutFile(OutFile&&) noexcept = default;
  OutFile& operator=(OutFile&&) noexcept = default;
  ~OutFile() = default;

  // Appends `data`, writing the buffer out whenever it fills up.
  void write(std::string_view data);
  // Writes the buffer out.
  void flush();
  // Drops what is buffered without writing it.
  void discard() { m_buffer.clear(); }
  // Writes the buffer out and makes the data durable (fdatasync, or fsync with `metadata`).
  void sync(bool metadata);
  // Writes the buffer out and closes the file, reporting close(2) errors (NFS reports late).
  void close();
  // Writes the buffer out and hands over the descriptor it owns, still open.
  Fd release();
  // The descriptor being written.
  int fd() const { return m_borrowed >= 0 ? m_borrowed : m_fd.get(); }
  // The path given when it was opened.
  const std::string& path() const { return m_path; }

private:
  // Counts bytes handed to the kernel, starting the writeback of a large file as it grows.
  void written(std::size_t n);

  Fd m_fd;
  int m_borrowed = -1;
  std::string m_path;
  std::string m_buffer;
  std::uint64_t m_unsynced = 0;
};

// open(2) of a file that only this user may control (state, journal, lock, temporary files): never
// through a symbolic link (O_NOFOLLOW), and refused unless it is a regular file owned by the
// effective user. `what` names the action in errors ("cannot <what> PATH: ..."), all Error 73.
// Returns no descriptor (-1) when the file is missing and `flags` has no O_CREAT.
Fd open_private(const std::string& path, int flags, mode_t mode, const std::string& what);

// write(2) all of `data` to `fd`, retrying after EINTR and short writes; errors name `path`.
void write_all(int fd, std::string_view data, const std::string& path);

// fsync(2) of the directory `path` (what makes a rename or a new file in it durable).
void sync_directory(const std::string& path);

// Creates `path` and any missing parents with `mode` (existing ones are left as they are);
// an existing non-directory in the way is an Error 73.
void make_directories(const std::string& path, mode_t mode);

// The directory part of `path` ("." when there is none).
std::string parent_of(const std::string& path);

// Removes the regular files in `dir` whose names start with `prefix` and that were last modified
// more than `max_age_seconds` ago: what a killed run left (the Maildir specification allows
// this after 36 hours); errors are ignored.
void remove_stale_files(const std::string& dir, std::string_view prefix,
                        long max_age_seconds) noexcept;

// Whether the regular files `a` and `b` hold the same bytes (false when either is missing, is not a
// regular file, or is a symbolic link); read errors are an Error 73.
bool same_bytes(const std::string& a, const std::string& b);

// fsync(2) of the file `path` (not followed if it is a symbolic link); errors are an Error 73.
void sync_file(const std::string& path);

// unlink(2) that ignores every error (for cleaning up after a failure).
void remove_quietly(const std::string& path) noexcept;

// Removes the files in `dir` that a mailwrench process on this host was writing when it died
// (unique names "...P<pid>Q...<host>" whose pid no longer runs): a killed fetch's unfinished
// batch, which nobody will ever finish.
void remove_orphans(const std::string& dir, std::string_view host) noexcept;

}  // namespace mw::store::file
