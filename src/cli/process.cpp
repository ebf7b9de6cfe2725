// SPDX-License-Identifier: Apache-2.0
#include "cli/process.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace mw::cli {

ProcessStart prepare_process() noexcept
{
  ProcessStart start;
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) {
      continue;
    }
    if (fd == STDOUT_FILENO) {
      start.stdout_closed = true;
    }
    // The lowest free descriptor: this one (those below it are open already).
    const int null = ::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  }
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  return start;
}

bool stdout_reader_gone() noexcept
{
  // POLLERR on the write end of a pipe (POLLHUP on a socket) once no reader is left.
  pollfd p{STDOUT_FILENO, POLLOUT, 0};
  if (::poll(&p, 1, 0) <= 0) {
    return false;
  }
  struct stat info {};
  if (::fstat(STDOUT_FILENO, &info) != 0) {
    return false;
  }
  if (S_ISFIFO(info.st_mode)) {
    return (p.revents & POLLERR) != 0;
  }
  return S_ISSOCK(info.st_mode) && (p.revents & (POLLERR | POLLHUP)) != 0;
}

void wait_until_stdout_read(std::chrono::seconds limit)
{
  struct stat info {};
  if (::fstat(STDOUT_FILENO, &info) != 0 || !S_ISFIFO(info.st_mode)) {
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (stdout_reader_gone()) {
      throw ClosedPipe();
    }
    int unread = 0;
    if (::ioctl(STDOUT_FILENO, FIONREAD, &unread) != 0 || unread <= 0) {
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ExitCode::temporary,
                  "the reader of standard output did not read the message within " +
                      std::to_string(limit.count()) + " s (--timeout sets the limit)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// The name to greet with: the machine's fully qualified name (RFC 5321 section 4.1.4), which
// receiving servers check; "localhost" would be refused by many.
std::string host_fqdn()
{
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) {
    return "localhost.localdomain";
  }
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  addrinfo* info = nullptr;
  std::string fqdn = name;
  if (getaddrinfo(name, nullptr, &hints, &info) == 0 && info != nullptr) {
    if (info->ai_canonname != nullptr &&
        std::string(info->ai_canonname).find('.') != std::string::npos) {
      fqdn = info->ai_canonname;
    }
    freeaddrinfo(info);
  }
  return fqdn;
}

}  // namespace mw::cli
