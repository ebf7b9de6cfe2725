#include "commands/context.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "output/render.hpp"

namespace mw::commands {

// The telnet session it replaces: USER/PASS, LIST, UIDL, (TOP n 0 for each), QUIT.
int list(const Context& context)
{
  const auto& s = context.settings;
  auto session = Pop3Session::open(context);
  auto selected = select_messages(session, context, s.headers, Missing::ignore);
  session.quit_quietly();

  output::ListResult result{std::move(selected.rows), selected.headers_read};
  if (s.json) {
    output::write_json(output::to_json(result), context.out);
  } else {
    output::render_plain(result, context.out, {context.out_is_terminal, context.terminal_width});
  }
  return 0;
}

}  // namespace mw::commands
