// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "cli/settings.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::cli {

// What the command line asks for.
struct Invocation {
  enum class Action { run, help, version };
  Action action = Action::run;
  std::string help_topic;  // command name for "help COMMAND" / "COMMAND --help", or ""
  Settings settings;
  Run run;  // the command, bound to its options
};

// The process environment.
std::optional<std::string> process_getenv(const std::string& name);

// Parses argv, the environment (MAILWRENCH_*) and the config file into an Invocation of one
// of the commands of `table`. Throws UsageError (64) for command-line mistakes and Error 78/66
// for config problems; `known`, if given, then holds what was known of the run (its command,
// and where its log goes: --log-file, --syslog), so that the mistake can be logged.
Invocation parse(const std::vector<std::string>& args, const CommandTable& table,
                 const Getenv& getenv = process_getenv, Settings* known = nullptr);

// Where the log of a run goes when its command line could not be read whole (parse() calls
// this itself when it fails): --log-file, --syslog, --config and --account read alone from
// `args` (the rest ignored), then the environment and the config file (its top keys if the
// account is not in it, or if several are given). Best effort: whatever cannot be read leaves
// no log target in `s`.
void find_log_target(const std::vector<std::string>& args, const Getenv& getenv, Settings& s);

// Several accounts on one command line (issue 17.2): -a/--account given more than once, or
// --all-accounts, and --jobs N; `rest` is the command line without them, which each account's
// own run gets after its --account NAME. Throws UsageError for a --jobs that is not 1 or more.
struct AccountsRequest {
  std::vector<std::string> accounts;  // as given, in order
  bool all = false;
  unsigned jobs = 1;
  std::vector<std::string> rest;
  // The long names and values of the other options in `rest` (state, uid-file ...).
  std::vector<std::pair<std::string, std::string>> options;

  bool several() const { return all || accounts.size() > 1; }
};
AccountsRequest split_accounts(const std::vector<std::string>& args, const CommandTable& table);

// The config file a command line names (--config, MAILWRENCH_CONFIG or the default) and the
// names of its [account NAME] sections in file order; `exists` is false when there is no file.
struct ConfigAccounts {
  std::string path;
  bool explicit_file = false;
  bool exists = false;
  std::vector<std::string> names;
};
ConfigAccounts config_accounts(const AccountsRequest& request, const Getenv& getenv);

// The --help text of the program ("") or of one command.
std::string help_text(const CommandTable& table, std::string_view command);

// The closest of `candidates` to `word` within a small edit distance, for "did you mean".
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates);

}  // namespace mw::cli
