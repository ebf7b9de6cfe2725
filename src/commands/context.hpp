#pragma once

#include "cli/settings.hpp"

#include <memory>
#include <ostream>

namespace spdlog {
class logger;
}

namespace mw::commands {

// What a command gets: its settings, where to write, and the logger for the transcript (-v),
// debug messages (-vv) and warnings. Commands never write to std::cout/std::cerr directly,
// so tests can run them in-process.
struct Context {
  const cli::Settings& settings;
  std::ostream& out;
  std::shared_ptr<spdlog::logger> log;
  bool out_is_terminal = false;
  std::size_t terminal_width = 100;
};

// Each returns the process exit code; failures throw mw::Error.
int stat(const Context& context);
int list(const Context& context);
int top(const Context& context);

}  // namespace mw::commands
