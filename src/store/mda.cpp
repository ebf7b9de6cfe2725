// SPDX-License-Identifier: Apache-2.0
#include "store/mda.hpp"

#include "mail/headers.hpp"
#include "store/file.hpp"
#include "store/sinks.hpp"
#include "util/error.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace mw::store {

namespace {

// The header section is read from the start of the message; a Return-Path further in than this
// is not looked for (a real one is the first line, put there by the final MTA).
constexpr std::size_t k_max_head = 64 * 1024;
constexpr int k_tempfail = 75;  // EX_TEMPFAIL of sysexits.h

enum class Quoting { none, single, double_quotes };

// `value` for sh(1) at a place quoted as `quoting`.
std::string quoted(std::string_view value, Quoting quoting)
{
  std::string out;
  switch (quoting) {
  case Quoting::none:
    // One word, whatever it holds: '...' with each ' written as '\''.
    out += '\'';
    for (const char c : value) {
      out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    out += '\'';
    break;
  case Quoting::single:
    // Inside '...' already: each ' ends the quoting, adds a quoted ' and starts it again.
    for (const char c : value) {
      out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    break;
  case Quoting::double_quotes:
    // Inside "...", a backslash makes $ ` " \ literal (POSIX sh 2.2.3); nothing else is special.
    for (const char c : value) {
      if (c == '$' || c == '`' || c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    break;
  }
  return out;
}

// Walks `command` as sh(1) reads its quoting, calling `placeholder(letter, quoting, out)` for each
// %X outside a backslash escape; everything else is copied to `out`.
template <typename Placeholder> std::string walk(std::string_view command, Placeholder placeholder)
{
  std::string out;
  Quoting quoting = Quoting::none;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '%') {
      const char letter = i + 1 < command.size() ? command[i + 1] : '\0';
      placeholder(letter, quoting, out);
      ++i;
      continue;
    }
    out += c;
    if (c == '\\' && quoting != Quoting::single && i + 1 < command.size()) {
      out += command[++i];  // escaped: never a quote, never a placeholder
    } else if (c == '\'' && quoting != Quoting::double_quotes) {
      quoting = quoting == Quoting::single ? Quoting::none : Quoting::single;
    } else if (c == '"' && quoting != Quoting::single) {
      quoting = quoting == Quoting::double_quotes ? Quoting::none : Quoting::double_quotes;
    }
  }
  return out;
}

bool is_control(char c)
{
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string describe_status(int status)
{
  if (WIFEXITED(status)) {
    return "exited " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return "was killed by " + (name != nullptr ? "SIG" + std::string(name)
                                               : "signal " + std::to_string(WTERMSIG(status)));
  }
  return "ended with status " + std::to_string(status);
}

// Kills the command and everything it started (its process group), and reaps it.
void kill_group(pid_t pid) noexcept
{
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Waits for `pid` to exit, at most until `deadline`: its wait status, or nullopt when it is still
// running then. A signal caught meanwhile (SIGINT, SIGTERM or SIGHUP, which the connection notes
// and acts on once this returns) is passed on to the command's process group as SIGTERM, as if it
// shared our process group: Ctrl-C stops it rather than waiting for it until the deadline.
std::optional<int> wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline,
                              bool& passed_on)
{
  using clock = std::chrono::steady_clock;
  // A pidfd becomes readable when the process exits (Linux 5.3); without one, poll every 10 ms.
  const file::Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return status;
    }
    if (done < 0 && errno != EINTR) {
      throw Refused(std::string("cannot wait for the MDA: ") + std::strerror(errno));
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      return std::nullopt;
    }
    const int wait_ms = static_cast<int>(std::min<long long>(left, pidfd.get() >= 0 ? 1000 : 10));
    pollfd ready{pidfd.get(), POLLIN, 0};
    const int n = pidfd.get() >= 0 ? ::poll(&ready, 1, wait_ms) : ::poll(nullptr, 0, wait_ms);
    if (n < 0 && errno == EINTR && !passed_on) {
      // Only the handlers of the connection's signals interrupt us (SA_RESTART does not apply
      // to poll).
      ::kill(-pid, SIGTERM);
      passed_on = true;
    }
  }
}

// An unlinked file for one message: O_TMPFILE where the file system has it, else a named file
// removed at once.
file::Fd temporary_file(std::string& dir)
{
  const char* tmpdir = std::getenv("TMPDIR");
  dir = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  int fd = file::open_retrying(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    return file::Fd(fd);
  }
  std::string name = dir + "/mailwrench-mda-XXXXXX";
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) {
    file::fail("create a temporary file in", dir, errno);
  }
  ::unlink(name.c_str());
  return file::Fd(fd);
}

class MdaSink;

// The message goes into an unlinked temporary file; commit() gives the file to the command.
class MdaDelivery final : public Delivery {
public:
  MdaDelivery(const MdaOptions& options, detail::Unsynced& unsynced, bool& interrupted)
      : m_options(options), m_unsynced(unsynced), m_interrupted(interrupted)
  {
    std::string dir;
    m_fd = temporary_file(dir);
    m_file.emplace(m_fd.get(), dir + " (the MDA's temporary file)");
  }

  void write(std::string_view data) override
  {
    if (m_head.size() < k_max_head && !m_head_done) {
      m_head.append(data.substr(0, k_max_head - m_head.size()));
      m_head_done =
          m_head.find("\n\n") != std::string::npos || m_head.find("\r\n\r\n") != std::string::npos;
    }
    m_file->write(data);
  }

  std::string commit() override
  {
    if (m_interrupted) {
      // A signal ends this run (once the connection sees it): no command is started any more.
      throw Deferred("the MDA was not run: the run was interrupted by a signal");
    }
    m_file->flush();
    if (::lseek(m_fd.get(), 0, SEEK_SET) != 0) {
      file::fail("rewind", m_file->path(), errno);
    }
    const MdaValues values{envelope_sender(m_head), m_options.account};
    const int status = run(expand_mda_command(m_options.command, values), values);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      const std::string where = "mda:" + m_options.command;
      m_unsynced.add(where);
      return where;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == k_tempfail) {
      throw Deferred("the MDA exited 75 (EX_TEMPFAIL: try again later)");
    }
    throw Refused("the MDA " + describe_status(status));
  }

private:
  // Runs the expanded command with the message on its standard input: its wait status.
  int run(const std::string& command, const MdaValues& values)
  {
    // Everything the child needs is made before fork(): after it, only async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const std::string_view name = entry.substr(0, entry.find('='));
      // (Not MAILWRENCH_ACCOUNT: that would choose the account of a mailwrench the command runs.)
      if (name != "MAILWRENCH_PASSWORD" && name != "MAILWRENCH_PROXY_PASSWORD" &&
          name != "MAILWRENCH_MDA_SENDER" && name != "MAILWRENCH_MDA_ACCOUNT") {
        env_strings.emplace_back(entry);
      }
    }
    env_strings.push_back("MAILWRENCH_MDA_SENDER=" + values.sender);
    env_strings.push_back("MAILWRENCH_MDA_ACCOUNT=" + values.account);
    std::vector<char*> envp;
    for (auto& entry : env_strings) {
      envp.push_back(entry.data());
    }
    envp.push_back(nullptr);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    const int input = m_fd.get();

    const pid_t pid = ::fork();
    if (pid < 0) {
      throw Refused(std::string("cannot start the MDA: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::dup2(input, STDIN_FILENO);
      // Its output must not mix with ours (--json on standard output): to standard error.
      ::dup2(STDERR_FILENO, STDOUT_FILENO);
      // No socket, lock or file of ours may live on in a child the command leaves behind.
      ::close_range(3, ~0U, 0);
      ::signal(SIGPIPE, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here: no race with the kill on a timeout
    const auto status =
        wait_until(pid, std::chrono::steady_clock::now() + m_options.timeout, m_interrupted);
    if (!status) {
      kill_group(pid);
      throw Deferred("the MDA did not finish within " + std::to_string(m_options.timeout.count()) +
                     " s and was killed (--mda-timeout sets the limit)");
    }
    return *status;
  }

  const MdaOptions& m_options;
  detail::Unsynced& m_unsynced;
  bool& m_interrupted;  // the sink's: a signal was passed on to a command
  file::Fd m_fd;
  std::optional<file::OutFile> m_file;
  std::string m_head;
  bool m_head_done = false;
};

class MdaSink final : public Sink {
public:
  explicit MdaSink(MdaOptions options) : m_options(std::move(options)) {}

  std::unique_ptr<Delivery> begin(const mailbox::Message&) override
  {
    return std::make_unique<MdaDelivery>(m_options, m_unsynced, m_interrupted);
  }

  // What the command took is its own (durable once it exited 0): nothing to wait for.
  void sync(const Visible& visible) override { m_unsynced.report(visible); }

private:
  MdaOptions m_options;
  detail::Unsynced m_unsynced;
  bool m_interrupted = false;
};

}  // namespace

void check_mda_command(std::string_view command)
{
  walk(command, [&](char letter, Quoting, std::string&) {
    if (letter != 'F' && letter != 'A' && letter != '%') {
      throw UsageError("--output mda:" + std::string(command) + ": " +
                       (letter == '\0' ? std::string("a % at the end")
                                       : "unknown placeholder %" + std::string(1, letter)) +
                       " (known: %F the envelope sender, %A the account, %% a %)");
    }
  });
}

std::string expand_mda_command(std::string_view command, const MdaValues& values)
{
  return walk(command, [&](char letter, Quoting quoting, std::string& out) {
    if (letter == 'F') {
      out += quoted(values.sender, quoting);
    } else if (letter == 'A') {
      out += quoted(values.account, quoting);
    } else if (letter == '%') {
      out += '%';
    } else {
      check_mda_command(command);  // throws
    }
  });
}

std::string envelope_sender(std::string_view header_section)
{
  const auto headers = mail::Headers::parse(header_section);
  const auto field = headers.get("Return-Path");
  if (!field) {
    return "";
  }
  std::string_view value = *field;
  if (const auto open = value.find('<'); open != std::string_view::npos) {
    const auto close = value.find('>', open);
    value = value.substr(open + 1, close == std::string_view::npos ? std::string_view::npos
                                                                   : close - open - 1);
  }
  std::string sender;
  for (const char c : value) {
    if (!is_control(c)) {
      sender += c;
    }
  }
  const auto first = sender.find_first_not_of(' ');
  if (first == std::string::npos) {
    return "";
  }
  return sender.substr(first, sender.find_last_not_of(' ') - first + 1);
}

std::unique_ptr<Sink> open_mda(MdaOptions options)
{
  return std::make_unique<MdaSink>(std::move(options));
}

}  // namespace mw::store
