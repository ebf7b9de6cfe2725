#include "commands/dialogue.hpp"
#include "util/error.hpp"

namespace mw::commands {

std::unique_ptr<Dialogue> smtp_dialogue(const cli::Context&, bool)
{
  throw Error(ExitCode::unavailable, "session --smtp: not built yet");
}

}  // namespace mw::commands
