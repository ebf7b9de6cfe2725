// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "output/results.hpp"

#include <chrono>
#include <string>
#include <unordered_set>

namespace mw::commands {

// send --await: the POP3 account to watch for the message, how long, whether to delete it.
struct AwaitOptions {
  cli::Settings account;
  std::chrono::seconds timeout{60};
  bool purge = false;
};

// The UIDs (RFC 1939 section 7) in the POP3 account of options.account before
// the message is sent: none of these can be the message awaited, whatever its Message-ID (a
// saved message sent again with --raw keeps its own). Throws 69 when the server has no UIDL.
using AwaitBaseline = std::unordered_set<std::string>;
AwaitBaseline await_baseline(const cli::Context& context, const AwaitOptions& options);

// Polls the POP3 account of options.account until a message with this
// Message-ID arrives that is not in `baseline` (reading only the headers of messages not seen
// before), then deletes it when --await-purge is given. Throws 75 when it does not arrive in
// --await-timeout. The time reported is counted from `sent`, when the SMTP server took it.
output::AwaitOutcome await_delivery(const cli::Context& context, const AwaitOptions& options,
                                    const std::string& message_id,
                                    std::chrono::steady_clock::time_point sent,
                                    const AwaitBaseline& baseline);

}  // namespace mw::commands
