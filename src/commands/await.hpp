#pragma once

#include "commands/context.hpp"
#include "output/results.hpp"

#include <chrono>
#include <string>
#include <unordered_set>

namespace mw::commands {

// The UIDs (RFC 1939 section 7) in the POP3 account of context.settings.await_account before
// the message is sent: none of these can be the message awaited, whatever its Message-ID (a
// saved message sent again with --raw keeps its own). Throws 69 when the server has no UIDL.
using AwaitBaseline = std::unordered_set<std::string>;
AwaitBaseline await_baseline(const Context& context);

// Polls the POP3 account of context.settings.await_account until a message with this
// Message-ID arrives that is not in `baseline` (reading only the headers of messages not seen
// before), then deletes it when --await-purge is given. Throws 75 when it does not arrive in
// --await-timeout. The time reported is counted from `sent`, when the SMTP server took it.
output::AwaitOutcome await_delivery(const Context& context, const std::string& message_id,
                                    std::chrono::steady_clock::time_point sent,
                                    const AwaitBaseline& baseline);

}  // namespace mw::commands
