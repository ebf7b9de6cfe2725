// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"

namespace mw::commands {

// Every command of mailwrench, one row each, in the order --help lists them.
const cli::CommandTable& table();

}  // namespace mw::commands
