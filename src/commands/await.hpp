#pragma once

#include "commands/context.hpp"
#include "output/results.hpp"

#include <chrono>
#include <string>

namespace mw::commands {

// Polls the POP3 account of context.settings.await_account until a message with this
// Message-ID arrives (reading only the headers of messages not seen before), then deletes it
// when --await-purge is given. Throws 75 when it does not arrive in --await-timeout.
// The time reported is counted from `sent`, when the SMTP server took the message.
output::AwaitOutcome await_delivery(const Context& context, const std::string& message_id,
                                    std::chrono::steady_clock::time_point sent);

}  // namespace mw::commands
