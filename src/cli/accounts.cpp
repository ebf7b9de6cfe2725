// SPDX-License-Identifier: Apache-2.0
#include "cli/accounts.hpp"

#include "output/accounts.hpp"
#include "output/render.hpp"
#include "store/file.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mw::cli {

namespace {

// The names of the accounts to run: those given, each of which must be a section of the config
// file, or every section for --all-accounts.
std::vector<std::string> account_names(const AccountsRequest& request, const Getenv& getenv)
{
  const auto config = config_accounts(request, getenv);
  if (!config.exists && config.explicit_file) {
    throw Error(ExitCode::no_input, "cannot read the config file '" + config.path + "'");
  }
  if (request.all && !request.accounts.empty()) {
    throw UsageError("give either -a NAME (once or more) or --all-accounts, not both");
  }
  if (request.all) {
    if (!config.exists) {
      throw Error(ExitCode::config, "--all-accounts runs the [account NAME] sections of the config "
                                    "file, and there is no config file '" +
                                        config.path + "' (--config FILE names another)");
    }
    if (config.names.empty()) {
      throw Error(ExitCode::config,
                  "--all-accounts: no [account NAME] section in the config file '" + config.path +
                      "'");
    }
    return config.names;
  }
  for (std::size_t i = 0; i < request.accounts.size(); ++i) {
    const auto& name = request.accounts[i];
    if (!config.exists) {
      throw Error(ExitCode::config, "no config file '" + config.path + "' for account '" + name +
                                        "' (--config FILE names another)");
    }
    if (std::find(config.names.begin(), config.names.end(), name) == config.names.end()) {
      auto hint = closest(name, config.names);
      throw UsageError("no [account " + name + "] in the config file '" + config.path + "'" +
                       (hint ? " (did you mean '" + *hint + "'?)" : ""));
    }
    if (std::find(request.accounts.begin(), request.accounts.begin() + static_cast<long>(i),
                  name) != request.accounts.begin() + static_cast<long>(i)) {
      throw UsageError("account '" + name + "' is given twice");
    }
  }
  return request.accounts;
}

// What the command line gives for all of them but cannot be shared: standard input, one
// mailbox's --new state file (only fetch has --state). Checked before any account's command
// line is parsed, which would read standard input.
void refuse_shared_options(const AccountsRequest& request)
{
  for (const auto& [name, value] : request.options) {
    if (name == "uid-file" && value == "-") {
      throw UsageError("--uid-file - reads standard input, which several accounts cannot share: "
                       "give a file");
    }
    if (name == "state") {
      throw UsageError("--state FILE is one mailbox's --new state, and several accounts cannot "
                       "share it: give each its own 'state = FILE' in its [account] section");
    }
  }
}

// What else cannot be shared: one dialogue or one message (session, send), the state file
// MAILWRENCH_STATE names for fetch.
void refuse_shared(const std::string& command, const Getenv& getenv)
{
  if (command == "session" || command == "send") {
    throw UsageError("'" + command + "' works with one account at a time: give one -a NAME");
  }
  if (command == "fetch" && getenv("MAILWRENCH_STATE")) {
    throw Error(ExitCode::config,
                "MAILWRENCH_STATE names one mailbox's --new state file, and several accounts "
                "cannot share it: give each its own 'state = FILE' in its [account] section");
  }
}

// What a person or a service manager uses to stop a run: passed on to every account's run.
constexpr int k_passed_on[] = {SIGINT, SIGTERM, SIGHUP};

// The write end of the pipe through which the signal handler wakes the loop below.
int g_signal_pipe = -1;

extern "C" void note_signal_for_accounts(int signal)
{
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] auto written = ::write(g_signal_pipe, &byte, 1);
  errno = saved;
}

std::pair<store::file::Fd, store::file::Fd> make_pipe()
{
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw Error(ExitCode::software, std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  return {store::file::Fd(fds[0]), store::file::Fd(fds[1])};
}

// One account's run in progress: its process and the reading ends of its stdout and stderr.
struct Child {
  std::size_t index = 0;
  pid_t pid = -1;
  store::file::Fd out;
  store::file::Fd err;
};

// The accounts' runs, up to `jobs` at once, and SIGINT, SIGTERM and SIGHUP passed on to them.
class Children {
public:
  Children(const AccountsRequest& request, const std::vector<std::string>& names)
      : m_request(request), m_runs(names.size())
  {
    for (std::size_t i = 0; i < names.size(); ++i) {
      m_runs[i].account = names[i];
    }
    auto [reader, writer] = make_pipe();
    ::fcntl(reader.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(writer.get(), F_SETFL, O_NONBLOCK);
    m_signals = std::move(reader);
    m_signal_writer = std::move(writer);
    g_signal_pipe = m_signal_writer.get();
    struct sigaction action {};
    action.sa_handler = note_signal_for_accounts;
    sigemptyset(&action.sa_mask);
    for (int signal : k_passed_on) {
      ::sigaction(signal, &action, nullptr);
    }
  }

  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;

  ~Children()
  {
    // Only on an exception of ours: no account's run outlives this one.
    for (auto& child : m_running) {
      ::kill(child.pid, SIGTERM);
      while (::waitpid(child.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    for (int signal : k_passed_on) {
      ::sigaction(signal, &action, nullptr);
    }
    g_signal_pipe = -1;
  }

  // Runs them all; calls `finished` with each run in account order once it and those before it
  // have ended. Returns the signal that stopped the run, or 0.
  template <typename F> int run(const F& finished)
  {
    std::size_t next = 0;
    std::size_t reported = 0;
    while (true) {
      while (m_signal == 0 && m_running.size() < m_request.jobs && next < m_runs.size()) {
        start(next++);
      }
      if (m_running.empty()) {
        break;
      }
      wait();
      for (auto it = m_running.begin(); it != m_running.end();) {
        if (it->out.get() >= 0 || it->err.get() >= 0) {
          ++it;
          continue;
        }
        int status = 0;
        while (::waitpid(it->pid, &status, 0) < 0 && errno == EINTR) {
        }
        auto& done = m_runs[it->index];
        done.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        done.ran = true;
        it = m_running.erase(it);
      }
      while (reported < m_runs.size() && m_runs[reported].ran) {
        finished(m_runs[reported++]);
      }
    }
    return m_signal;
  }

  const std::vector<output::AccountRun>& runs() const { return m_runs; }

private:
  void start(std::size_t index)
  {
    const auto args = account_arguments(m_request, m_runs[index].account);
    // Everything the child needs is made before fork(): after it, only async-signal-safe calls.
    std::vector<const char*> argv = {"mailwrench"};
    for (const auto& a : args) {
      argv.push_back(a.c_str());
    }
    argv.push_back(nullptr);
    const bool alone = m_request.jobs == 1;
    auto [out_reader, out_writer] = make_pipe();
    auto [err_reader, err_writer] = make_pipe();
    // The signals wait until the child is one of m_running (then they are passed on to it), and
    // the child never runs our handler: it takes them as its own once it has the defaults.
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : k_passed_on) {
      sigaddset(&signals, signal);
    }
    sigset_t before;
    ::sigprocmask(SIG_BLOCK, &signals, &before);
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (int signal : k_passed_on) {
        ::signal(signal, SIG_DFL);
      }
      ::sigprocmask(SIG_SETMASK, &before, nullptr);
      // With others running at once, no terminal: their password prompts would interleave.
      // A run that needs one fails as it does from cron ("there is no terminal to ask on").
      if (!alone) {
        ::setsid();
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, STDIN_FILENO);
        if (null > STDERR_FILENO) {
          ::close(null);
        }
      }
      ::dup2(out_writer.get(), STDOUT_FILENO);
      ::dup2(err_writer.get(), STDERR_FILENO);
      ::execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
      static const char k_failed[] = "mailwrench: error: cannot run /proc/self/exe\n";
      [[maybe_unused]] auto written = ::write(STDERR_FILENO, k_failed, sizeof k_failed - 1);
      ::_exit(static_cast<int>(ExitCode::software));
    }
    const int fork_error = errno;
    if (pid > 0) {
      m_running.push_back({index, pid, std::move(out_reader), std::move(err_reader)});
    }
    ::sigprocmask(SIG_SETMASK, &before, nullptr);
    if (pid < 0) {
      throw Error(ExitCode::software, std::string("cannot fork: ") + std::strerror(fork_error));
    }
  }

  // Waits until a child wrote or closed its output, or a signal came; reads what is there.
  void wait()
  {
    std::vector<pollfd> fds = {{m_signals.get(), POLLIN, 0}};
    for (const auto& child : m_running) {
      fds.push_back({child.out.get(), POLLIN, 0});
      fds.push_back({child.err.get(), POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
      throw Error(ExitCode::software, std::string("poll: ") + std::strerror(errno));
    }
    unsigned char signal = 0;
    while (::read(m_signals.get(), &signal, 1) == 1) {
      m_signal = m_signal == 0 ? signal : m_signal;
      for (const auto& child : m_running) {
        ::kill(child.pid, signal);
      }
    }
    for (std::size_t i = 0; i < m_running.size(); ++i) {
      auto& child = m_running[i];
      drain(child.out, fds[1 + 2 * i].revents, m_runs[child.index].out);
      drain(child.err, fds[2 + 2 * i].revents, m_runs[child.index].err);
    }
  }

  static void drain(store::file::Fd& fd, short revents, std::string& into)
  {
    if (fd.get() < 0 || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      return;
    }
    char buf[65536];
    const auto n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      fd = store::file::Fd();
    }
  }

  const AccountsRequest& m_request;
  std::vector<output::AccountRun> m_runs;
  std::vector<Child> m_running;
  store::file::Fd m_signals;
  store::file::Fd m_signal_writer;
  int m_signal = 0;
};

}  // namespace

std::vector<std::string> account_arguments(const AccountsRequest& request,
                                           const std::string& account)
{
  std::vector<std::string> args = {"--account", account};
  args.insert(args.end(), request.rest.begin(), request.rest.end());
  return args;
}

std::optional<int> run_accounts(const AccountsRequest& request, const CommandTable& table,
                                const Getenv& getenv)
{
  const auto names = account_names(request, getenv);
  refuse_shared_options(request);
  bool json = false;
  bool quiet = false;
  for (const auto& name : names) {
    const auto invocation = parse(account_arguments(request, name), table, getenv);
    if (invocation.action != Invocation::Action::run) {
      return std::nullopt;
    }
    refuse_shared(invocation.settings.command, getenv);
    json = invocation.settings.json;
    quiet = invocation.settings.quiet;
  }
  Children children(request, names);
  nlohmann::json documents = nlohmann::json::array();
  std::size_t shown = 0;
  const int signal = children.run([&](const output::AccountRun& run) {
    if (json) {
      documents.push_back(output::account_json(run));
      output::write_account_errors(run, std::cerr);
    } else {
      output::write_account(run, shown == 0, std::cout, std::cerr);
    }
    ++shown;
  });
  std::vector<int> codes;
  for (const auto& run : children.runs()) {
    if (json && !run.ran) {
      documents.push_back(output::account_json(run));
    }
    if (!quiet || run.exit != 0 || !run.ran) {
      std::cerr << output::summary_line(run) << '\n';
    }
    if (run.ran) {
      codes.push_back(run.exit);
    }
  }
  if (json) {
    output::write_json(documents, std::cout);
  }
  return signal != 0 ? 128 + signal : output::worst_exit(codes);
}

}  // namespace mw::cli
