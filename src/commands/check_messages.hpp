// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "cli/password.hpp"
#include "commands/session.hpp"
#include "mail/check.hpp"
#include "mailbox/message.hpp"
#include "output/check_report.hpp"
#include "output/progress.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <optional>
#include <unordered_set>
#include <vector>

namespace mw::commands {

// How check_messages judges messages and how often it reopens a lost session.
struct CheckOptions {
  mail::CheckLimits limits;
  std::uint64_t retries = 3;  // sessions reopened after one ends inside a message
};

// What check_messages found, and where it stopped.
struct CheckRun {
  output::CheckResult result;
  // The session open at the end, not quit (a caller may go on with it, e.g. to delete what was
  // found); empty when the run gave up.
  std::optional<Pop3Session> session;
  // Set when the retries ran out: `result` holds what was found before.
  std::optional<Error> gave_up;
};

// RETR of each message of `plan` (pipelined) over `session`, each streamed into its own
// mail::MessageChecker, never stored; what the server does wrong (-ERR, a drop or timeout
// inside the message, a size other than LIST's, no end) is a finding of that message. After a
// session is lost inside a message, a new one is opened with `login` (at most
// options.retries times) and the messages after it are found again by UID. Throws what is not
// a lost session (login refused, interrupted). Used by `check`; `--broken` selectors can run
// it on their candidates and act on those with errors.
CheckRun check_messages(const cli::Context& context, const cli::Login& login, Pop3Session session,
                        std::vector<mailbox::Message> plan, const CheckOptions& options,
                        output::Progress& progress);

// The UIDs the server gives to more than one message (RFC 1939 says they are unique; some
// servers repeat them): after a reopened session they name no message for sure.
std::unordered_set<std::string> shared_uids(const std::vector<std::string>& uids);

}  // namespace mw::commands
