#include "cli/command.hpp"
#include "commands/broken.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "output/render.hpp"

namespace po = boost::program_options;

namespace mw::commands {

namespace {

// The telnet session it replaces: USER/PASS, LIST, UIDL, (TOP n 0 for each), (with --broken
// RETR n for each, checked), QUIT.
int run(const cli::Context& context, bool headers, const std::optional<BrokenFilter>& broken)
{
  const auto& s = context.settings;
  auto login = Pop3Session::login_for(context);
  auto session = Pop3Session::open(context, login);
  auto selected = select_messages(session, context, headers, Missing::ignore);
  if (broken) {
    session = keep_broken(context, login, std::move(session), selected, *broken);
  }
  session.quit_quietly();

  output::ListResult result{std::move(selected.rows), selected.headers_read, broken.has_value()};
  if (s.json) {
    output::write_json(output::to_json(result), context.out);
  } else {
    output::render_plain(result, context.out, {context.out_is_terminal, context.terminal_width});
  }
  return 0;
}

}  // namespace

void list_options(po::options_description& options)
{
  options.add_options()("headers", po::bool_switch(),
                        "also show From, Subject and Date (read with TOP n 0)");
  broken_option(options);
}

cli::Run list(const cli::Options& options)
{
  options.require_server();
  return [headers = options.flag("headers"), broken = broken_filter(options)](
             const cli::Context& context) { return run(context, headers, broken); };
}

}  // namespace mw::commands
