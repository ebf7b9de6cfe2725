#pragma once

#include "cli/settings.hpp"

#include <functional>
#include <memory>
#include <ostream>
#include <string>

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
  std::ostream& err;  // summaries when stdout carries data, progress bars
  std::shared_ptr<spdlog::logger> log;
  bool out_is_terminal = false;
  std::size_t terminal_width = 100;
  // Asks the person at the terminal a yes/no question; empty when there is no terminal.
  std::function<bool(const std::string& question)> confirm;
  // Whether stderr is a terminal (progress bars).
  bool err_is_terminal = false;
};

// Each returns the process exit code; failures throw mw::Error.
int stat(const Context& context);
int list(const Context& context);
int top(const Context& context);
int fetch(const Context& context);
int purge(const Context& context);
int send(const Context& context);

}  // namespace mw::commands
