// SPDX-License-Identifier: Apache-2.0
#include "cli/command.hpp"
#include "commands/check_messages.hpp"
#include "commands/mailbox.hpp"
#include "commands/session.hpp"
#include "output/check_report.hpp"
#include "output/render.hpp"
#include "select/selection.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <optional>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

// The telnet session it replaces: USER/PASS, LIST, UIDL, RETR n for each selected message
// (pipelined, read as it arrives), QUIT; and when the server hangs up inside a message, the
// same again for the messages after it.
int run(const cli::Context& context, const CheckOptions& options)
{
  const auto& s = context.settings;
  auto login = Pop3Session::login_for(context);
  auto session = Pop3Session::open(context, login);
  auto plan = select_messages(session, context, false, Missing::fail).rows;

  output::Progress progress(context.err, context.err_is_terminal && !s.quiet && !s.json,
                            plan.size(), mailbox::total_octets(plan));
  std::optional<CheckRun> checked;
  try {
    checked.emplace(
        check_messages(context, login, std::move(session), std::move(plan), options, progress));
  } catch (const Error&) {
    progress.clear();
    throw;
  }
  progress.clear();
  if (checked->session) {
    checked->session->quit_quietly();
  }
  const auto& result = checked->result;
  const auto& gave_up = checked->gave_up;
  if (s.json) {
    // One document: what was found, and why the rest was not checked.
    auto doc = output::to_json(result);
    if (gave_up) {
      doc["error"] = output::error_json(gave_up->code(), gave_up->what())["error"];
    }
    output::write_json(doc, context.out);
  } else {
    output::render_plain(result, context.out, s.verbosity > 0);
  }
  context.out.flush();
  if (gave_up) {
    context.log->error("{}", gave_up->what());
    return static_cast<int>(gave_up->code());
  }
  return result.with_errors > 0 ? 1 : 0;
}

}  // namespace

void check_options(po::options_description& options)
{
  // clang-format off
  options.add_options()
    ("max-header", po::value<std::string>()->value_name("SIZE"),
     "a header section larger than SIZE is an error (default 256K)")
    ("max-depth", po::value<std::string>()->value_name("N"),
     "MIME parts nested deeper than N are an error (default 20)")
    ("max-parts", po::value<std::string>()->value_name("N"),
     "more than N MIME parts in a message are an error (default 1000)")
    ("retries", po::value<std::string>()->value_name("N"),
     "reopen the session at most N times after the server drops it inside a message "
     "(default 3)");
  // clang-format on
}

cli::Run check(const cli::Options& options)
{
  options.require_server();
  CheckOptions check;
  if (auto size = options.given("max-header")) {
    check.limits.header_section =
        cli::for_option("max-header", [&] { return select::parse_size(*size); });
  }
  if (auto depth = options.given("max-depth")) {
    check.limits.depth = static_cast<std::size_t>(cli::parse_number(*depth, "--max-depth"));
  }
  if (auto parts = options.given("max-parts")) {
    check.limits.parts = static_cast<std::size_t>(cli::parse_number(*parts, "--max-parts"));
  }
  if (auto retries = options.given("retries")) {
    check.retries = cli::parse_number(*retries, "--retries");
  }
  return [check](const cli::Context& context) { return run(context, check); };
}

}  // namespace mw::commands
