// SPDX-License-Identifier: Apache-2.0
#include "cli/command.hpp"
#include "commands/broken.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "output/progress.hpp"
#include "output/render.hpp"
#include "pop3/deleter.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>
#include <sstream>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

using pop3::DryRun;

// All or nothing: every chosen message is marked for deletion through the one Deleter, or
// none is (RSET) and purge fails. With a dry run nothing is marked, and RSET makes sure of it.
// `count` messages are chosen, `chosen(k)` the k-th; their DELEs are fed to the pipeline a
// window at a time.
void delete_messages(pop3::Client& client, const pop3::Listing& listing, std::size_t count,
                     const std::function<pop3::Chosen(std::size_t)>& chosen, DryRun dry_run,
                     output::Steps* steps = nullptr)
{
  pop3::Requests requests(client);
  pop3::Deleter deleter(requests, listing, dry_run);
  std::string failure;
  std::size_t marked = 0;
  auto done = [&](const pop3::Deletion& d) {
    if (steps != nullptr) {
      steps->show("marking for deletion", ++marked, count);
    }
    if (failure.empty() && d.result == pop3::Deletion::Result::refused) {
      failure = "the server refused DELE " + std::to_string(d.number) + ": " + d.reason;
    } else if (failure.empty() && d.result == pop3::Deletion::Result::moved) {
      failure = d.reason;
    }
  };
  std::size_t next = 0;
  requests.feed([&] {
    if (next == count) {
      return false;
    }
    deleter.remove(chosen(next++), done);
    return true;
  });
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
  const bool with_headers = !shown_to_nobody || s.selection.needs_headers();
  const output::PlainStyle style{context.out_is_terminal, context.terminal_width};
  // The rows are kept for what needs them after the listing: the question, the JSON document,
  // a check (--broken). Otherwise each is shown as it comes and only its place is kept.
  const bool keep_rows = asking || s.json || o.broken.has_value();
  std::optional<output::ListWriter> table;
  if (!s.json && !shown_to_nobody) {
    table.emplace(context.out, output::ListWriter::Kind::plain, style, with_headers,
                  o.broken.has_value());
  }
  std::vector<mailbox::Message> rows;
  auto selected = select_messages(session, context, !shown_to_nobody, Missing::fail,
                                  [&](mailbox::Message& row) {
                                    if (table && !o.broken) {
                                      table->add(row);
                                    }
                                    if (keep_rows) {
                                      rows.push_back(std::move(row));
                                    }
                                  });
  if (o.broken) {
    // Deleted below in the session the check ends with: after a drop, a new one where the
    // messages were found again by UID (and the Deleter checks that UID again).
    selected.rows = std::move(rows);
    session = keep_broken(context, login, std::move(session), selected, *o.broken);
    rows = std::move(selected.rows);
    if (table) {
      for (const auto& row : rows) {
        table->add(row);
      }
    }
  }
  auto& client = session.client();
  const std::size_t count = selected.picked.size();
  const auto octets = selected.octets;  // of the rows kept, also after a check (repick)
  if (table && count > 0) {
    table->finish();
    context.out.flush();
  }
  if (count == 0) {
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
      output::render_plain(output::ListResult{rows, with_headers, o.broken.has_value()}, question,
                           {true, context.terminal_width});
    }
    question << "Delete " << count_text(count, octets) << " from mailbox " << account_text(s)
             << "?";
    if (!context.confirm(question.str())) {
      delete_messages(client, selected.listing, 0, {}, DryRun::yes);
      session.quit_quietly();
      if (s.json) {
        output::write_json(output::to_json(std::vector<mailbox::Message>{}, false), context.out);
      } else {
        context.out << "nothing deleted\n";
      }
      return 0;
    }
  }

  // By the rows kept, or by each picked message's place in the listing.
  const auto chosen = [&](std::size_t k) -> pop3::Chosen {
    if (keep_rows) {
      return {rows[k].number, rows[k].uid};
    }
    const auto i = selected.picked[k];
    return {selected.listing.number(i), std::string(selected.listing.uid(i))};
  };
  {
    output::Steps steps(context.err, context.err_is_terminal && !s.quiet && !s.json);
    delete_messages(client, selected.listing, count, chosen, dry_run, &steps);
  }
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

  if (context.summarize) {
    context.summarize(dry_run == DryRun::yes
                          ? "would delete " + count_text(count, octets) + " (--dry-run)"
                          : "deleted " + count_text(count, octets));
  }
  if (s.json) {
    output::write_json(output::to_json(rows, o.dry_run), context.out);
  } else if (shown_to_nobody) {
    // Nothing to say: the exit status tells.
  } else if (dry_run == DryRun::yes) {
    context.out << "would delete " << count_text(count, octets)
                << "; nothing deleted (--dry-run)\n";
  } else {
    context.out << "deleted " << count_text(count, octets) << "\n";
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
