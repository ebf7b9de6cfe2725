// SPDX-License-Identifier: Apache-2.0
#pragma once

// Several accounts in one run (-a A -a B, --all-accounts, --jobs N): each account is a run of
// its own, a child process of this program with the same command line and one --account NAME,
// so that its lock, its --new state, its password and its failure stay its own.

#include "cli/command.hpp"
#include "cli/options.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mw::cli {

// The command line of one account's run: `--account NAME` and the rest of the command line as
// it was given (the command, its options and the selection), without -a, --all-accounts and
// --jobs.
std::vector<std::string> account_arguments(const AccountsRequest& request,
                                           const std::string& account);

// Checks a run of several accounts before anything runs (the accounts exist, the command and
// its options make sense for several: not session or send, no --state, no --uid-file -; each
// account's own settings, as its run will parse them), then runs each account as a child
// process, up to request.jobs at once, and prints what they printed in account order and one
// summary line per account (output/accounts.hpp). Returns the worst exit status of theirs,
// 128 + the signal when SIGINT, SIGTERM or SIGHUP was passed on to them; nullopt for a command
// line that asks for --help or --version, which the caller shows from request.rest.
std::optional<int> run_accounts(const AccountsRequest& request, const CommandTable& table,
                                const Getenv& getenv = process_getenv);

}  // namespace mw::cli
