#pragma once

namespace mw::cli {

// Parses the command line, runs one command and returns the process exit code. The only
// place that catches mw::Error and prints "mailwrench: error: ...".
int run(int argc, char** argv);

}  // namespace mw::cli
