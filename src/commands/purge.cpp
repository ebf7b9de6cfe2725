#include "cli/command.hpp"
#include "commands/broken.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "output/render.hpp"
#include "pop3/deleter.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <sstream>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

using pop3::DryRun;

// All or nothing: every selected message is marked for deletion through the one Deleter, or
// none is (RSET) and purge fails. With a dry run nothing is marked, and RSET makes sure of it.
void delete_messages(pop3::Client& client, const Selected& selected, DryRun dry_run)
{
  pop3::Requests requests(client);
  pop3::Deleter deleter(requests, selected.uid_of, dry_run);
  std::string failure;
  for (const auto& row : selected.rows) {
    deleter.remove({row.number, row.uid}, [&failure](const pop3::Deletion& d) {
      if (failure.empty() && d.result == pop3::Deletion::Result::refused) {
        failure = "the server refused DELE " + std::to_string(d.number) + ": " + d.reason;
      } else if (failure.empty() && d.result == pop3::Deletion::Result::moved) {
        failure = d.reason;
      }
    });
  }
  requests.run();
  if (deleter.dry_run() || !failure.empty()) {
    deleter.undo();
  }
  if (!failure.empty()) {
    throw Error(ExitCode::protocol, failure + "; nothing was deleted");
  }
}

// Whose messages: "user@host", and the account's name when one is used.
std::string account_text(const cli::Settings& s)
{
  std::string text = s.user.empty() ? s.host : s.user + "@" + s.host;
  if (!s.account.empty()) {
    text += " (account " + s.account + ")";
  }
  return text;
}

std::string count_text(std::size_t count, std::uint64_t octets)
{
  return std::to_string(count) + (count == 1 ? " message (" : " messages (") +
         output::human_size(octets) + ")";
}

struct PurgeOptions {
  bool dry_run = false;
  bool yes = false;
  std::optional<BrokenFilter> broken;
};

// The telnet session it replaces: USER/PASS, LIST, UIDL, TOP n 0 (look), DELE n..., QUIT.
int run(const cli::Context& context, const PurgeOptions& o)
{
  const auto& s = context.settings;
  if (!o.dry_run && !o.yes && !context.confirm) {
    throw UsageError("purge asks for confirmation, and there is no terminal to ask on: add "
                     "--yes to delete, or --dry-run to look");
  }
  // Headers are read (TOP n 0 for every message) for whoever looks: the person answering,
  // the table and the JSON document. With --quiet and nobody to ask, nothing is shown, so
  // nothing is read that only the table would show (filters on headers still read them).
  const bool asking = !o.dry_run && !o.yes;
  const bool shown_to_nobody = s.quiet && !s.json && !asking;
  auto login = Pop3Session::login_for(context);
  auto session = Pop3Session::open(context, login);
  auto selected = select_messages(session, context, !shown_to_nobody, Missing::fail);
  if (o.broken) {
    // Deleted below in the session the check ends with: after a drop, a new one where the
    // messages were found again by UID (and the Deleter checks that UID again).
    session = keep_broken(context, login, std::move(session), selected, *o.broken);
  }
  auto& client = session.client();
  const auto& rows = selected.rows;
  auto octets = mailbox::total_octets(rows);

  output::ListResult shown{rows, selected.headers_read, o.broken.has_value()};
  if (!s.json && !shown_to_nobody && !rows.empty()) {
    output::render_plain(shown, context.out, {context.out_is_terminal, context.terminal_width});
    context.out.flush();
  }
  if (rows.empty()) {
    session.quit_quietly();
    if (s.json) {
      output::write_json(output::to_json(rows, o.dry_run), context.out);
    } else if (!shown_to_nobody) {
      context.out << (o.broken ? "no selected message is broken; nothing deleted\n"
                               : "no message matches; nothing deleted\n");
    }
    return 0;
  }

  auto dry_run = o.dry_run ? DryRun::yes : DryRun::no;
  if (asking) {
    // The person answering must see what they agree to, on the terminal they answer on: when
    // stdout is not that terminal (`purge 7 >log`, --json), the table comes with the question.
    std::ostringstream question;
    if (s.json || !context.out_is_terminal) {
      output::render_plain(shown, question, {true, context.terminal_width});
    }
    question << "Delete " << count_text(rows.size(), octets) << " from mailbox " << account_text(s)
             << "?";
    if (!context.confirm(question.str())) {
      delete_messages(client, {}, DryRun::yes);
      session.quit_quietly();
      if (s.json) {
        output::write_json(output::to_json(std::vector<mailbox::Message>{}, false), context.out);
      } else {
        context.out << "nothing deleted\n";
      }
      return 0;
    }
  }

  delete_messages(client, selected, dry_run);
  // RFC 1939 section 6: deletions happen in the UPDATE state, only after +OK to QUIT.
  pop3::Status quit;
  try {
    quit = client.quit();
  } catch (const Error& e) {
    throw Error(e.code(), std::string(e.what()) +
                              " while waiting for the reply to QUIT: the messages may or may "
                              "not have been deleted; run 'mailwrench list' to check");
  }
  if (!quit.ok() && dry_run == DryRun::no) {
    throw Error(ExitCode::temporary, "the server did not confirm QUIT (" + quit.text +
                                         "): nothing may have been deleted; run 'mailwrench "
                                         "list' to check");
  }

  if (s.json) {
    output::write_json(output::to_json(rows, o.dry_run), context.out);
  } else if (shown_to_nobody) {
    // Nothing to say: the exit status tells.
  } else if (dry_run == DryRun::yes) {
    context.out << "would delete " << count_text(rows.size(), octets)
                << "; nothing deleted (--dry-run)\n";
  } else {
    context.out << "deleted " << count_text(rows.size(), octets) << "\n";
  }
  return 0;
}

}  // namespace

void purge_options(po::options_description& options)
{
  // clang-format off
  options.add_options()
    ("dry-run,n", po::bool_switch(), "show what would be deleted; delete nothing")
    ("yes,y", po::bool_switch(), "do not ask for confirmation");
  // clang-format on
  broken_option(options);
}

cli::Run purge(const cli::Options& options)
{
  options.require_server();
  PurgeOptions purge{options.flag("dry-run"), options.flag("yes"), broken_filter(options)};
  if (options.settings().selection.empty() && !purge.broken) {
    throw UsageError("purge needs a selection (message numbers, --uid, --from, --broken, ...) "
                     "or --all; it never deletes everything by default");
  }
  return [purge](const cli::Context& context) { return run(context, purge); };
}

}  // namespace mw::commands
