// SPDX-License-Identifier: Apache-2.0
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
  const bool with_headers = headers || s.selection.needs_headers();
  output::ListWriter writer(
      context.out, s.json ? output::ListWriter::Kind::json : output::ListWriter::Kind::plain,
      {context.out_is_terminal, context.terminal_width}, with_headers, broken.has_value());
  if (broken) {
    // A check reads every message first: the rows it keeps are written after it.
    auto selected = select_messages(session, context, headers, Missing::ignore);
    session = keep_broken(context, login, std::move(session), selected, *broken);
    session.quit_quietly();
    for (const auto& row : selected.rows) {
      writer.add(row);
    }
  } else {
    // Each row is written as soon as it is known: a mailbox of any size in constant memory.
    select_messages(session, context, headers, Missing::ignore,
                    [&writer](const mailbox::Message& row) { writer.add(row); });
    session.quit_quietly();
  }
  writer.finish();
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
