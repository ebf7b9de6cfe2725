// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"

namespace mw::cli {

// Parses the command line, runs one of the commands of `table` and returns the process exit
// code. The only place that catches mw::Error and prints "mailwrench: error: ...".
int run(int argc, char** argv, const CommandTable& table);

}  // namespace mw::cli
