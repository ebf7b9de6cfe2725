// SPDX-License-Identifier: Apache-2.0
#include "cli/command.hpp"
#include "commands/session.hpp"
#include "output/render.hpp"

namespace mw::commands {

namespace {

// The telnet session it replaces: USER/PASS, STAT, QUIT.
int run(const cli::Context& context)
{
  auto session = Pop3Session::open(context);
  auto maildrop = session.client().stat();
  session.quit_quietly();

  output::StatResult result{maildrop.messages, maildrop.octets};
  if (context.settings.json) {
    output::write_json(output::to_json(result), context.out);
  } else {
    output::render_plain(result, context.out, {context.out_is_terminal, context.terminal_width});
  }
  return 0;
}

}  // namespace

cli::Run stat(const cli::Options& options)
{
  options.require_server();
  return run;
}

}  // namespace mw::commands
