// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"

#include <memory>

namespace mw::cli {

// The person at this process's terminal (libedit for the line editing, completion and history;
// $PAGER for long output), or null when standard input or standard output is not a terminal.
std::unique_ptr<Terminal> open_terminal(const Getenv& getenv);

}  // namespace mw::cli
