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

// The --help text of the program ("") or of one command.
std::string help_text(const CommandTable& table, std::string_view command);

// The closest of `candidates` to `word` within a small edit distance, for "did you mean".
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates);

}  // namespace mw::cli
