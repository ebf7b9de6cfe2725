// SPDX-License-Identifier: Apache-2.0
#pragma once

// What a run of several accounts (-a A -a B, --all-accounts) prints once each account's own run
// has ended: its output under a header naming it, one summary line per account, the JSON array
// of the accounts' documents, and the exit status of the whole.

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace mw::output {

// One account's run: what it wrote on standard output and standard error, and its exit status
// (128 + the signal for a run a signal ended); `ran` is false for an account never started (the
// run was interrupted before its turn).
struct AccountRun {
  std::string account;
  int exit = 0;
  std::string out;
  std::string err;
  bool ran = false;
};

// The exit statuses from the worst down, as the manual's EXIT STATUS lists them: what needs a
// person first (an internal error, the disk, the output, a refused login, the configuration),
// what will pass by itself last (75, 1, 0). A status not listed ranks above all of them.
const std::vector<int>& exit_severity();

// The worst of several accounts' exit statuses by exit_severity() (0 for none).
int worst_exit(const std::vector<int>& codes);

// What an exit status means, in a few words ("authentication failed or not permitted").
std::string exit_meaning(int code);

// The account's summary line: "work: ok", "home: failed (77: authentication failed or not
// permitted)", "spare: not run (interrupted)".
std::string summary_line(const AccountRun& run);

// One account's plain output: a header line "==> NAME <==" and what it printed on `out` (a blank
// line before the header unless it is the first), each line it printed on standard error after
// "NAME: " on `err`.
void write_account(const AccountRun& run, bool first, std::ostream& out, std::ostream& err);

// Only what the account printed on standard error, each line after "NAME: " (with --json, whose
// standard output is one array).
void write_account_errors(const AccountRun& run, std::ostream& err);

// The element of the --json array for one account: its own JSON document with "account" and
// "exit" added; an account that printed no document (or not an object) gets the error document
// of its exit status ({"error": {"kind", "message", "exit_code"}}) instead.
nlohmann::json account_json(const AccountRun& run);

}  // namespace mw::output
