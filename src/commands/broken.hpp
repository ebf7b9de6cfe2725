// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "cli/password.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"

#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mw::commands {

// The --broken[=CODES] selector of list, fetch and purge: which check findings make a message
// broken.
struct BrokenFilter {
  std::vector<std::string> codes;  // empty: any finding of severity error
};

// Declares --broken[=CODES] in a command's options.
void broken_option(boost::program_options::options_description& options);

// --broken as given, or nullopt; an unknown code is a usage error (64) that lists the known
// ones (mail::known_codes()).
std::optional<BrokenFilter> broken_filter(const cli::Options& options);

// Checks the selected messages (`selected.rows`; commands/check_messages: each one downloaded,
// streamed, never stored) and keeps in `selected` (rows and picked) only those the filter
// calls broken, each with its problem
// codes. Returns the session to go on with: the one given, or the one reopened after the
// server dropped it inside a message; then the kept messages are found again by UID and
// `selected` describes the new session (its numbers and UIDL listing), so a message that
// kills every session can still be deleted. Throws when the check gave up (nothing is done).
Pop3Session keep_broken(const cli::Context& context, const cli::Login& login, Pop3Session session,
                        Selected& selected, const BrokenFilter& filter);

}  // namespace mw::commands
