// SPDX-License-Identifier: Apache-2.0
#include "cli/run.hpp"

#include "cli/accounts.hpp"
#include "cli/options.hpp"
#include "cli/process.hpp"
#include "cli/run_log.hpp"
#include "cli/terminal.hpp"
#include "cli/version.hpp"
#include "output/render.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/ioctl.h>
#include <unistd.h>

namespace mw::cli {

namespace {

// stderr with the program's name before warnings and debug lines; transcript lines (info)
// go out as they are, except that nothing a server sent can control the terminal.
class StderrSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
protected:
  void sink_it_(const spdlog::details::log_msg& msg) override
  {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (msg.level == spdlog::level::err) {
      std::cerr << "mailwrench: error: ";
    } else if (msg.level == spdlog::level::warn) {
      std::cerr << "mailwrench: warning: ";
    } else if (msg.level == spdlog::level::debug) {
      std::cerr << "mailwrench: debug: ";
    }
    std::cerr << text::visible(payload, {.tab = true}) << '\n';
  }
  void flush_() override { std::cerr.flush(); }
};

// stderr by -v, -vv and -q; the log (--log-file, --syslog) gets the warnings and errors.
std::shared_ptr<spdlog::logger> make_logger(const Settings& settings, RunLog* run_log)
{
  auto stderr_sink = std::make_shared<StderrSink>();
  if (settings.verbosity >= 2) {
    stderr_sink->set_level(spdlog::level::debug);
  } else if (settings.verbosity == 1) {
    stderr_sink->set_level(spdlog::level::info);
  } else if (settings.quiet) {
    stderr_sink->set_level(spdlog::level::err);
  } else {
    stderr_sink->set_level(spdlog::level::warn);
  }
  auto logger = std::make_shared<spdlog::logger>("mailwrench", stderr_sink);
  auto level = stderr_sink->level();
  if (run_log != nullptr) {
    auto log_sink = run_log->failure_sink();
    logger->sinks().push_back(log_sink);
    level = std::min(level, log_sink->level());
  }
  logger->set_level(level);
  return logger;
}

// The width of stdout's terminal, else of the controlling terminal (where purge asks, with
// the table, when stdout goes to a file).
std::size_t terminal_width()
{
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) {
    return ws.ws_col;
  }
  int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) {
    bool known = ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40;
    close(fd);
    if (known) {
      return ws.ws_col;
    }
  }
  return 100;
}

// Asks on the controlling terminal (/dev/tty), wherever stdin, stdout and stderr go: stdin may
// be a pipe of UIDs, `purge 7 >log` or `2>log` still has a person to ask. Empty without one
// (cron, setsid).
std::function<bool(const std::string&)> terminal_confirm()
{
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return {};
  }
  close(fd);
  return [](const std::string& question) {
    std::FILE* tty = std::fopen("/dev/tty", "r+");
    if (tty == nullptr) {
      return false;
    }
    std::fprintf(tty, "%s [y/N] ", question.c_str());
    std::fflush(tty);
    char answer[16] = {};
    bool yes =
        std::fgets(answer, sizeof answer, tty) != nullptr && (answer[0] == 'y' || answer[0] == 'Y');
    std::fclose(tty);
    return yes;
  };
}

int run_command(const Invocation& invocation, RunLog* run_log)
{
  const auto& settings = invocation.settings;
  Context context{.settings = settings,
                  .in = std::cin,
                  .out = std::cout,
                  .err = std::cerr,
                  .log = make_logger(settings, run_log),
                  .out_is_terminal = isatty(STDOUT_FILENO) == 1,
                  .terminal_width = terminal_width(),
                  .confirm = terminal_confirm(),
                  .err_is_terminal = isatty(STDERR_FILENO) == 1,
                  .now = std::chrono::system_clock::now,
                  .host_name = host_fqdn,
                  .getenv = process_getenv,
                  .open_terminal = [] { return open_terminal(process_getenv); },
                  .summarize = {},
                  .hide_in_log = {}};
  if (run_log != nullptr) {
    context.summarize = [run_log](const std::string& summary) { run_log->summarize(summary); };
    context.hide_in_log = [run_log](const Secret& password) { run_log->hide(password); };
  }
  return invocation.run(context);
}

// The message may quote what a server said (an -ERR text, an SMTP reply): it is made visible
// before it reaches stderr (a terminal) and the JSON document.
int fail(ExitCode code, const std::string& raw_message, bool json)
{
  const std::string message = text::visible(raw_message, {.tab = true});
  std::cout.flush();
  std::cerr << "mailwrench: error: " << message << std::endl;
  if (json) {
    output::write_json(output::error_json(code, message), std::cout);
  }
  return static_cast<int>(code);
}

}  // namespace

int run(int argc, char** argv, const CommandTable& table)
{
  // Before any file is opened: none may become standard output. With standard output closed,
  // whatever would be printed goes nowhere, and `-o -` is refused before anything is fetched.
  const bool stdout_closed = prepare_process().stdout_closed;
  if (stdout_closed) {
    std::cout.setstate(std::ios::badbit);
  }
  // --log-file, --syslog: opened once the settings are known, before any server is contacted;
  // the run line goes out with the exit code, whatever ended the run.
  std::unique_ptr<RunLog> run_log;
  // Standard output's reader went away (`| head`): stop quietly as a filter killed by SIGPIPE
  // does, with its exit status (141) and no error line.
  std::string write_error;
  auto reader_gone = [stdout_closed, &write_error] {
    if (stdout_closed || std::cout.flush()) {
      return false;
    }
    write_error = std::strerror(errno);
    return stdout_reader_gone();
  };
  // The exit status once standard output is flushed: 141 when its reader went away, 74 when a
  // write failed otherwise (a full disk: `list --json >report.json` is not a success).
  auto written = [&](int code) {
    if (reader_gone()) {
      return static_cast<int>(ExitCode::closed_pipe);
    }
    if (!stdout_closed && !std::cout) {
      const std::string message = "cannot write to standard output (" + write_error + ")";
      if (run_log) {
        run_log->failure(message);
      }
      return fail(ExitCode::io, message, false);
    }
    return code;
  };
  // A closed pipe (mailwrench list | head) must not kill us mid-session.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  bool json = std::find(args.begin(), args.end(), "--json") != args.end();
  bool quiet = false;
  // What parse() knew when it failed: a mistake in the options is logged where they said.
  Settings known;
  // A mistake found before parse() (several accounts, --jobs) is logged where the command
  // line says, read alone (parse() does the same for its own mistakes).
  bool parsed = false;
  bool log_opened = false;
  auto open_log = [&run_log, &log_opened](const Settings& settings) {
    log_opened = true;
    run_log = RunLog::open(settings);
    for (const char* name : {"MAILWRENCH_PASSWORD", "MAILWRENCH_PROXY_PASSWORD"}) {
      if (auto password = process_getenv(name); run_log && password) {
        run_log->hide(Secret(std::move(*password)));
      }
    }
  };
  auto logged = [&](int code, const std::string& failure = {}) {
    if (!log_opened) {
      try {
        if (!parsed) {
          find_log_target(args, process_getenv, known);
        }
        open_log(known);
      } catch (const Error&) {
        // The mistake is on stderr already; a log that cannot be opened adds nothing.
      }
    }
    if (run_log) {
      if (!failure.empty()) {
        run_log->failure(failure);
      }
      run_log->finished(code);
    }
    return code;
  };
  try {
    // Several accounts: each one's own run, as a child process (cli/accounts.hpp).
    if (auto accounts = split_accounts(args, table); accounts.several()) {
      if (auto code = run_accounts(accounts, table)) {
        return written(*code);
      }
      args = accounts.rest;
    }
    parsed = true;
    auto invocation = parse(args, table, process_getenv, &known);
    switch (invocation.action) {
    case Invocation::Action::help:
      std::cout << help_text(table, invocation.help_topic);
      return written(0);
    case Invocation::Action::version: std::cout << version_text(); return written(0);
    case Invocation::Action::run: break;
    }
    json = invocation.settings.json;
    quiet = invocation.settings.quiet;
    open_log(invocation.settings);
    return logged(written(run_command(invocation, run_log.get())));
  } catch (const ClosedPipe& e) {
    return logged(static_cast<int>(e.code()));
  } catch (const BusyError& e) {
    // -q: a lock another run holds is no news for cron (exit 75 says it; --json still does).
    if (quiet) {
      if (json) {
        output::write_json(output::error_json(e.code(), text::visible(e.what(), {.tab = true})),
                           std::cout);
      }
      return logged(static_cast<int>(e.code()), e.what());
    }
    return logged(fail(e.code(), e.what(), json), e.what());
  } catch (const Error& e) {
    if (reader_gone()) {
      return logged(static_cast<int>(ExitCode::closed_pipe), e.what());
    }
    std::string message = e.what();
    if (e.code() == ExitCode::usage && message.find("--help") == std::string::npos) {
      message += " (see 'mailwrench --help')";
    }
    return logged(fail(e.code(), message, json), message);
  } catch (const std::exception& e) {
    const std::string message = std::string("internal error: ") + e.what();
    return logged(fail(ExitCode::software, message, json), message);
  }
}

}  // namespace mw::cli
