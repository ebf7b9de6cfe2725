#pragma once

#include "commands/context.hpp"
#include "output/results.hpp"

#include <string>

namespace mw::commands {

// Polls the POP3 account of context.settings.await_account until a message with this
// Message-ID arrives (reading only the headers of messages not seen before), then deletes it
// when --await-purge is given. Throws 75 when it does not arrive in --await-timeout.
output::AwaitOutcome await_delivery(const Context& context, const std::string& message_id);

}  // namespace mw::commands
