// SPDX-License-Identifier: Apache-2.0
#pragma once

// The command table's interface: what a command gives the command line (a row: its name, its
// options, how it reads them) and what it gets when it runs (a Context). This header is the
// only meeting point of src/cli and src/commands: cli parses and dispatches through the rows
// without knowing a command; a command reads its options through cli::Options without knowing
// argv, the environment or the config file. The rows themselves are in commands/table.cpp.

#include "cli/settings.hpp"
#include "util/error.hpp"
#include "util/secret.hpp"

#include <boost/program_options/options_description.hpp>

#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace boost::program_options {
class variables_map;
}

namespace spdlog {
class logger;
}

namespace mw::cli {

// Reads an environment variable (injected so tests can parse without touching the real one).
using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// The person at a terminal, for `mailwrench session`: a line editor with history and completion,
// and a pager. What a command gets as Context::terminal when standard input and output are a
// terminal (Context::open_terminal); none otherwise.
class Terminal {
public:
  // Candidates for the word being typed (`word`), after the words before it (`before`).
  using Completer =
      std::function<std::vector<std::string>(std::string_view before, std::string_view word)>;
  // Why read_line() returned no line: the end of input (Ctrl-D), Ctrl-C (SIGINT), the terminal
  // hung up (SIGHUP) or the process was asked to stop (SIGTERM).
  enum class End { eof, interrupt, hangup, terminate };

  virtual ~Terminal() = default;

  // Reads one line after `prompt`, with line editing, completion and history; nullopt at the end
  // of input (Ctrl-D, a terminal that went away) or at Ctrl-C (ended() says which). While the
  // person types nothing, the idle callback runs every `every`. SIGINT, SIGHUP and SIGTERM end
  // the prompt (ended() says which); during a command they keep their usual effect.
  virtual std::optional<std::string> read_line(const std::string& prompt) = 0;
  virtual End ended() const = 0;
  virtual void on_idle(std::chrono::milliseconds every, std::function<void()> idle) = 0;
  virtual void complete_with(Completer completer) = 0;
  // Keeps the history in the file `name` of the state directory (0600, never through a
  // symbolic link); remember() adds a line to it (its callers never give it a secret).
  virtual void keep_history(const std::string& name) = 0;
  virtual void remember(const std::string& line) = 0;
  // Where one command's output goes: the screen, or $PAGER (default less) once it is taller
  // than the screen; end_page() waits for the pager.
  virtual std::ostream& page() = 0;
  virtual void end_page() = 0;
};

// What a command gets when it runs: its settings, and the world: where to read and write, the
// terminal, the clock, this machine's name, the environment, the logger for the transcript
// (-v), debug messages (-vv) and warnings. Commands reach none of these but through here (no
// std::cin, std::cout, isatty, getenv, system_clock or gethostname), so tests can run them
// in-process.
struct Context {
  const Settings& settings;
  std::istream& in;  // send --raw, --body-file -
  std::ostream& out;
  std::ostream& err;  // summaries when stdout carries data, progress bars
  std::shared_ptr<spdlog::logger> log;
  bool out_is_terminal = false;
  std::size_t terminal_width = 100;
  // Asks the person at the terminal a yes/no question; empty when there is no terminal.
  std::function<bool(const std::string& question)> confirm;
  // Whether stderr is a terminal (progress bars).
  bool err_is_terminal = false;
  // The wall clock (Date headers, --older-than).
  std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now;
  // This machine's fully qualified name (EHLO, Message-ID).
  std::function<std::string()> host_name;
  Getenv getenv;
  // Opens the person at the terminal (session): null unless stdin and stdout are a terminal.
  std::function<std::unique_ptr<Terminal>()> open_terminal;
  // Takes the one-line outcome of the run ("stored 12 messages (3.4 MiB) in 1.20 s, deleted 12
  // on the server") for the run line of --log-file and --syslog; empty when nothing logs.
  std::function<void(const std::string& summary)> summarize;
  // Takes the password a command obtained (cli::obtain_login), which the log then redacts
  // wherever it appears; empty when nothing logs.
  std::function<void(const Secret& password)> hide_in_log;

  // The same world for another account's settings (send --await watches one), with nobody to
  // ask.
  Context with(const Settings& other) const
  {
    return {.settings = other,
            .in = in,
            .out = out,
            .err = err,
            .log = log,
            .out_is_terminal = out_is_terminal,
            .terminal_width = terminal_width,
            .confirm = {},
            .err_is_terminal = false,
            .now = now,
            .host_name = host_name,
            .getenv = getenv,
            .open_terminal = {},
            .summarize = summarize,
            .hide_in_log = hide_in_log};
  }
};

// A command bound to the options it read: returns the process exit code, throws mw::Error.
using Run = std::function<int(const Context&)>;

// A command's view of one parsed invocation: the global settings, already read and checked,
// and the values of its own options.
class Options {
public:
  // A configured value: the command line, else MAILWRENCH_<KEY>, else the config file.
  using Lookup = std::function<std::optional<std::string>(const std::string& key)>;
  // The settings of another account of the config file, read as `stat -a NAME` would.
  using AccountReader = std::function<Settings(const std::string& name)>;
  // Rethrows an error in the value of `key` as an error of where the value came from.
  using Blame = std::function<void(const std::string& key, const Error& error)>;

  Options(const boost::program_options::variables_map& given, const Settings& settings,
          Lookup configured, AccountReader account, Getenv getenv, Blame blame);

  const Settings& settings() const { return m_settings; }
  // Whether a switch (--dry-run) was given on the command line.
  bool flag(const std::string& key) const;
  // A value given on the command line, or nullopt.
  std::optional<std::string> given(const std::string& key) const;
  // Every value of a repeatable option (--to A --to B), in order.
  std::vector<std::string> given_all(const std::string& key) const;
  // A value from the command line, the environment or the config file (fetch's output).
  std::optional<std::string> configured(const std::string& key) const;
  // configured(), with a leading ~ made $HOME; "" when there is none.
  std::string configured_path(const std::string& key) const;
  // The words after the command that are not options (message numbers, ranges).
  std::vector<std::string> arguments() const;
  // The settings of the [account NAME] of the config file (send --await watches one).
  Settings account(const std::string& name) const;
  // Throws the usage error of a command that connects but was given no host.
  void require_server() const;
  // Rethrows `error`, found in the configured() value of `key`, as the error of where that
  // value came from: a usage error (64) for the command line, a configuration error (78)
  // naming the file and line, or the variable, for the others.
  [[noreturn]] void blame(const std::string& key, const Error& error) const;

private:
  const boost::program_options::variables_map& m_given;
  const Settings& m_settings;
  Lookup m_configured;
  AccountReader m_account;
  Getenv m_getenv;
  Blame m_blame;
};

// Which account keys and default ports a command uses: POP3's, or SMTP's (smtp-host ... and
// 465, 587, 25).
enum class Service { pop3, smtp };

// One row of the command table (ninja's Tool): everything the command line knows of a command.
struct Command {
  std::string_view name;
  std::string_view synopsis;  // its arguments, for --help
  std::string_view summary;   // one line, for --help
  Service service = Service::pop3;
  // Takes a SELECTION: message numbers as arguments, and the selection options.
  bool selection = false;
  // Adds the command's own options (nullptr: it has none).
  void (*declare)(boost::program_options::options_description& options) = nullptr;
  // Reads and checks them (throws UsageError), and returns the run bound to them.
  Run (*prepare)(const Options& options) = nullptr;
  // For a command that serves both (info): its switch that makes it use SMTP's account keys
  // and ports (--smtp), or "".
  std::string_view smtp_switch = {};
};

// Every command, in the order --help lists them.
using CommandTable = std::vector<Command>;

// The selection options of the command line (numbers, ranges, --uid, --from, ...), read from
// the words a person typed in `session` ("headers 3-5 --from alice"); throws UsageError.
select::Selection parse_selection(const std::vector<std::string>& words);

// Parses a whole number for an option's value; the error names it ("invalid --limit 'x' ...").
std::uint64_t parse_number(const std::string& text, const std::string& what);

// Runs a value parser for one option; its UsageError then names the option too
// ("--larger-than: invalid size '10X' ...").
template <typename F> auto for_option(const char* option, F&& parse)
{
  try {
    return parse();
  } catch (const UsageError& e) {
    throw UsageError(std::string("--") + option + ": " + e.what());
  }
}

}  // namespace mw::cli
