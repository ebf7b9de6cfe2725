// SPDX-License-Identifier: Apache-2.0
#include "cli/password.hpp"

#include "store/file.hpp"
#include "util/error.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <istream>
#include <poll.h>
#include <streambuf>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace mw::cli {

namespace {

// The first line of text, without its line ending.
std::string first_line(std::string text)
{
  auto nl = text.find('\n');
  if (nl != std::string::npos) {
    text.resize(nl);
  }
  if (!text.empty() && text.back() == '\r') {
    text.pop_back();
  }
  return text;
}

// The whole of a (small) file, read without stream buffers so that the only copy is the one
// returned, which the caller wipes; nullopt if it cannot be opened or read (errno says why).
std::optional<std::string> read_whole_file(const std::string& path)
{
  // A FIFO (--password-file <(pass show x)) blocks in open until its writer comes.
  const int fd = store::file::open_retrying(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  constexpr std::size_t k_max = 1024 * 1024;
  struct stat info {};
  std::string text;
  // Room for all of it at once: growing the string would leave copies in freed memory.
  const bool sized = ::fstat(fd, &info) == 0 && info.st_size > 0;
  text.reserve(std::min(k_max, sized ? static_cast<std::size_t>(info.st_size) + 1 : 4096));
  char buf[4096];
  bool ok = true;
  while (text.size() < k_max) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, text.capacity() - text.size()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ok = false;
      break;
    }
    if (n == 0) {
      break;
    }
    if (text.size() + static_cast<std::size_t>(n) > text.capacity()) {
      break;  // grew while read: what fits is enough for a password
    }
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() == text.capacity()) {
      break;
    }
  }
  const int saved = errno;
  OPENSSL_cleanse(buf, sizeof buf);
  ::close(fd);
  if (!ok) {
    wipe_string(text);
    errno = saved;
    return std::nullopt;
  }
  return text;
}

// Ends the helper and everything it started (its process group), and reaps it.
void kill_helper(pid_t pid) noexcept
{
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Runs `command` with sh -c in its own process group, with nothing open but standard input,
// the pipe for its output and standard error, and takes the first line of what it prints. It
// must finish within `timeout`, or it is killed with its process group (Error 75). Once it has
// exited, what it printed counts, even if a child it left holds the pipe open.
// Starts `command` with /bin/sh in a process group of its own, its standard output a pipe:
// the helper's pid and the pipe's reading end.
std::pair<pid_t, store::file::Fd> start_helper(const std::string& command)
{
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw Error(ExitCode::software, std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(ExitCode::software, std::string("cannot fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fds[1], STDOUT_FILENO);  // the copy is not close-on-exec
    // No socket, lock or file of ours may live on in a child the helper leaves behind.
    ::close_range(3, ~0U, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with the kill on a timeout
  ::close(fds[1]);
  return {pid, store::file::Fd(fds[0])};
}

Secret run_password_command(const std::string& command, std::chrono::seconds timeout)
{
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + timeout;
  // (Not a structured binding: clang 14, which builds the fuzz targets, cannot capture one.)
  const auto helper = start_helper(command);
  const pid_t pid = helper.first;
  const auto& reader = helper.second;
  constexpr std::size_t k_max_output = 64 * 1024;
  std::string output;
  char buf[4096];
  output.reserve(k_max_output + sizeof buf);  // never reallocated (old copies would stay behind)
  bool exited = false;
  bool eof = false;
  int status = 0;
  auto timed_out = [&] {
    OPENSSL_cleanse(buf, sizeof buf);
    wipe_string(output);
    kill_helper(pid);
    return Error(ExitCode::temporary, "the --password-command did not finish within " +
                                          std::to_string(timeout.count()) +
                                          " s and was stopped (--timeout sets the limit)");
  };
  while (!exited || !eof) {
    if (!exited) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      exited = done == pid || (done < 0 && errno == ECHILD);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (!exited && left <= 0) {
      throw timed_out();
    }
    if (eof) {
      // Output complete; the helper itself has yet to exit.
      ::poll(nullptr, 0, static_cast<int>(std::min<long long>(left, 20)));
      continue;
    }
    pollfd ready{reader.get(), POLLIN, 0};
    // After the helper has exited, what it wrote is in the pipe already: take what is there
    // and stop, rather than wait for a child that holds the pipe open.
    const int n = ::poll(&ready, 1, exited ? 0 : static_cast<int>(std::min<long long>(left, 20)));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (exited) {
        break;
      }
      continue;
    }
    const ssize_t got = ::read(reader.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      eof = true;
      continue;
    }
    if (output.size() < k_max_output) {
      output.append(buf, static_cast<std::size_t>(got));
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  Secret secret(first_line(std::move(output)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw Error(ExitCode::config, "the --password-command failed (exit status " +
                                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                                      ")");
  }
  if (secret.empty()) {
    throw Error(ExitCode::config, "the --password-command printed no password");
  }
  return secret;
}

Secret read_password_file(const std::string& path, std::vector<std::string>& warnings)
{
  struct stat info {};
  const bool known = ::stat(path.c_str(), &info) == 0;
  const bool directory = known && S_ISDIR(info.st_mode);
  auto text = directory ? std::nullopt : read_whole_file(path);
  if (!text) {
    throw Error(ExitCode::no_input, "cannot read the password file '" + path + "'" +
                                        (directory ? ": it is a directory" : ""));
  }
  if (known && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    warnings.push_back("the password file '" + path + "' can be read by others (mode " +
                       std::to_string((info.st_mode >> 6) & 7) +
                       std::to_string((info.st_mode >> 3) & 7) + std::to_string(info.st_mode & 7) +
                       "); chmod 600 it");
  }
  Secret secret(first_line(std::move(*text)));
  if (secret.empty()) {
    throw Error(ExitCode::config, "the password file '" + path + "' is empty");
  }
  return secret;
}

std::optional<Login> read_netrc(const std::string& host, const std::string& user,
                                const Getenv& getenv)
{
  auto path = getenv("NETRC").value_or("");
  if (path.empty()) {
    auto home = getenv("HOME");
    if (!home) {
      return std::nullopt;
    }
    path = *home + "/.netrc";
  }
  auto text = read_whole_file(path);
  if (!text) {
    return std::nullopt;
  }
  auto found = netrc_lookup(*text, host, user);
  wipe_string(*text);
  return found;
}

std::optional<Secret> prompt(const std::string& user, const std::string& host)
{
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return std::nullopt;
  }
  termios old_mode{};
  if (tcgetattr(fd, &old_mode) != 0) {
    close(fd);
    return std::nullopt;
  }
  std::string question = "Password for " + user + " at " + host + ": ";
  if (write(fd, question.data(), question.size()) < 0) {
    close(fd);
    return std::nullopt;
  }
  termios quiet = old_mode;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(fd, TCSAFLUSH, &quiet);
  std::string line;
  line.reserve(1024);  // growing would leave copies of the start in freed memory
  char c = 0;
  while (read(fd, &c, 1) == 1 && c != '\n' && c != '\r' && line.size() < line.capacity()) {
    line += c;
  }
  tcsetattr(fd, TCSAFLUSH, &old_mode);
  (void)!write(fd, "\n", 1);
  close(fd);
  c = 0;
  return Secret(std::move(line));
}

}  // namespace

namespace {

// Reads the next .netrc token: a word, or a "quoted string" with backslash escapes (as curl
// and Python's netrc read them).
bool next_token(std::istream& in, std::string& token)
{
  token.clear();
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  if (!in) {
    return false;
  }
  if (c != '"') {
    token += c;
    while (in.get(c) && !std::isspace(static_cast<unsigned char>(c))) {
      token += c;
    }
    return true;
  }
  while (in.get(c) && c != '"') {
    if (c == '\\' && in.get(c)) {
      token += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
    } else {
      token += c;
    }
  }
  return true;
}

}  // namespace

std::optional<Login> netrc_lookup(const std::string& netrc_text, const std::string& host,
                                  const std::string& user)
{
  // Read in place: an istringstream would keep a copy of every password in the file.
  struct InPlace : std::streambuf {
    explicit InPlace(const std::string& text)
    {
      char* begin = const_cast<char*>(text.data());  // only read from
      setg(begin, begin, begin + text.size());
    }
  } buffer(netrc_text);
  std::istream in(&buffer);
  std::string token;
  bool in_entry = false;
  bool host_matches = false;
  std::string login;
  std::string password;
  auto finish = [&]() -> std::optional<Login> {
    if (in_entry && host_matches && (user.empty() || login.empty() || login == user) &&
        !password.empty()) {
      return Login{user.empty() ? login : user, Secret(password), {}};
    }
    return std::nullopt;
  };
  // The copies of passwords (this file's and other hosts') go when the lookup ends.
  struct Wipe {
    std::string& a;
    std::string& b;
    ~Wipe()
    {
      wipe_string(a);
      wipe_string(b);
    }
  } wipe{password, token};
  while (next_token(in, token)) {
    if (token == "machine" || token == "default") {
      if (auto found = finish()) {
        return found;
      }
      in_entry = true;
      login.clear();
      password.clear();
      if (token == "machine") {
        std::string name;
        next_token(in, name);
        host_matches = name == host;
      } else {
        host_matches = true;
      }
    } else if (token == "login") {
      next_token(in, login);
    } else if (token == "password") {
      next_token(in, password);
    } else if (token == "macdef") {
      // A macro runs to the next empty line; skip it.
      std::string line;
      std::getline(in, line);
      while (std::getline(in, line) && !line.empty()) {
      }
      in_entry = false;
    }
  }
  return finish();
}

Login obtain_login(const Settings& settings, const Getenv& getenv)
{
  std::optional<Login> netrc;
  Login login{settings.user, Secret(), {}};
  if (login.user.empty()) {
    netrc = read_netrc(settings.host, "", getenv);
    if (!netrc || netrc->user.empty()) {
      throw UsageError("no user given: use --user USER, 'user = ...' in the config file, or a "
                       "~/.netrc entry for " +
                       settings.host);
    }
    login.user = netrc->user;
  }
  switch (settings.password.kind) {
  case PasswordSource::Kind::command:
    login.password = run_password_command(settings.password.value, settings.timeout);
    return login;
  case PasswordSource::Kind::file:
    login.password = read_password_file(settings.password.value, login.warnings);
    return login;
  case PasswordSource::Kind::environment:
    if (auto value = getenv(settings.password.value)) {
      login.password = Secret(std::move(*value));
      return login;
    }
    break;
  case PasswordSource::Kind::none: break;
  }
  if (!netrc) {
    netrc = read_netrc(settings.host, login.user, getenv);
  }
  if (netrc && !netrc->password.empty()) {
    login.password = std::move(netrc->password);
    return login;
  }
  if (auto secret = prompt(login.user, settings.host)) {
    login.password = std::move(*secret);
    return login;
  }
  throw Error(ExitCode::config,
              "no password for " + login.user + " at " + settings.host +
                  ": give --password-command CMD, --password-file FILE, MAILWRENCH_PASSWORD or a "
                  "~/.netrc entry (there is no terminal to ask on)");
}

}  // namespace mw::cli
