// SPDX-License-Identifier: Apache-2.0
#include "commands/broken.hpp"

#include "commands/check_messages.hpp"
#include "mail/check.hpp"
#include "output/progress.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace po = boost::program_options;

namespace mw::commands {

namespace {

std::vector<std::string> split_codes(const std::string& text)
{
  std::vector<std::string> codes;
  std::string::size_type start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    auto code = text.substr(start, end - start);
    code.erase(0, code.find_first_not_of(" \t"));
    code.erase(code.find_last_not_of(" \t") + 1);
    if (!code.empty() && std::find(codes.begin(), codes.end(), code) == codes.end()) {
      codes.push_back(std::move(code));
    }
    start = end + 1;
  }
  return codes;
}

// Whether the filter calls a checked message broken.
bool broken(const output::CheckedMessage& message, const BrokenFilter& filter)
{
  if (filter.codes.empty()) {
    return message.has_errors();
  }
  return std::any_of(message.problems.begin(), message.problems.end(), [&](const auto& finding) {
    return std::find(filter.codes.begin(), filter.codes.end(), finding.code) != filter.codes.end();
  });
}

// The distinct codes of its findings, in the order found.
std::vector<std::string> codes_of(const output::CheckedMessage& message)
{
  std::vector<std::string> codes;
  for (const auto& finding : message.problems) {
    if (std::find(codes.begin(), codes.end(), finding.code) == codes.end()) {
      codes.push_back(finding.code);
    }
  }
  return codes;
}

// The picked messages are the rows kept, found in the listing of the session to go on with.
void repick(Selected& selected)
{
  selected.picked.clear();
  selected.octets = 0;
  for (const auto& row : selected.rows) {
    if (auto i = selected.listing.find(row.number)) {
      selected.picked.push_back(static_cast<std::uint32_t>(*i));
      selected.octets = mailbox::add_octets(selected.octets, row.octets);
    }
  }
}

}  // namespace

void broken_option(po::options_description& options)
{
  options.add_options()(
      "broken", po::value<std::string>()->implicit_value("")->value_name("CODES"),
      "only the messages a check finds an error in; --broken=CODES (comma-separated codes of "
      "`check`): those with a finding of one of these codes. It downloads every candidate to "
      "check it");
}

std::optional<BrokenFilter> broken_filter(const cli::Options& options)
{
  auto given = options.given("broken");
  if (!given) {
    return std::nullopt;
  }
  BrokenFilter filter{split_codes(*given)};
  const auto& known = mail::known_codes();
  for (const auto& code : filter.codes) {
    if (std::find(known.begin(), known.end(), code) == known.end()) {
      if (code.find_first_not_of("0123456789-,") == std::string::npos) {
        // "--broken 3": the word after a bare --broken is taken as its codes.
        throw UsageError("--broken: '" + text::one_line(*given) +
                         "' is not a code: a word after --broken is read as its codes; put "
                         "message numbers before --broken, or write --broken=CODES");
      }
      std::string list;
      for (auto k : known) {
        list += list.empty() ? "" : ", ";
        list += k;
      }
      throw UsageError("--broken: unknown code '" + text::one_line(code) + "' (known: " + list +
                       ")");
    }
  }
  return filter;
}

Pop3Session keep_broken(const cli::Context& context, const cli::Login& login, Pop3Session session,
                        Selected& selected, const BrokenFilter& filter)
{
  const auto& s = context.settings;
  auto& rows = selected.rows;
  output::Progress progress(context.err, context.err_is_terminal && !s.quiet && !s.json,
                            rows.size(), mailbox::total_octets(rows));
  std::optional<CheckRun> checked;
  try {
    checked.emplace(check_messages(context, login, std::move(session), rows, {}, progress));
  } catch (const Error&) {
    progress.clear();
    throw;
  }
  progress.clear();
  if (checked->gave_up) {
    throw Error(checked->gave_up->code(),
                std::string(checked->gave_up->what()) + "; --broken acted on nothing");
  }

  // The rows the check calls broken, with their codes. In the one session, by number; after
  // a reopened session numbered them anew, by UID — but a UID the server gives to several
  // messages names none of them (acting on it could delete the clean namesake).
  const bool reopened = !checked->session || checked->result.reconnects > 0;
  const auto shared = selected.listing.shared_uids();
  std::vector<mailbox::Message> kept;
  for (const auto& message : checked->result.messages) {
    if (!broken(message, filter)) {
      continue;
    }
    if (reopened && (message.uid.empty() || shared.count(message.uid) != 0)) {
      context.log->warn("message {} was found broken, but after the session was reopened its "
                        "UID does not tell it from another message: left alone",
                        message.number);
      continue;
    }
    auto row = std::find_if(rows.begin(), rows.end(), [&](const mailbox::Message& m) {
      return reopened ? m.uid == message.uid : m.number == message.number;
    });
    if (row == rows.end()) {
      continue;
    }
    row->problems = codes_of(message);
    kept.push_back(std::move(*row));
  }
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  rows = std::move(kept);

  if (!reopened) {
    repick(selected);
    return std::move(*checked->session);
  }
  // The session the last message ended is gone: go on in a new one (opened here when it was
  // the last message), where the messages kept are found again by their UID.
  auto current =
      checked->session ? std::move(*checked->session) : Pop3Session::open(context, login);
  if (rows.empty()) {
    repick(selected);
    return current;
  }
  selected.listing = current.client().listing();
  if (!selected.listing.has_uids()) {
    throw Error(ExitCode::unavailable,
                "the server dropped the session inside a message and has no UIDL, so the "
                "messages found broken cannot be told apart in a new session; nothing was done");
  }
  std::unordered_map<std::string_view, std::uint64_t> number_of;
  for (std::size_t i = 0; i < selected.listing.size(); ++i) {
    number_of.emplace(selected.listing.uid(i), selected.listing.number(i));
  }
  const auto shared_now = selected.listing.shared_uids();
  std::vector<mailbox::Message> found;
  for (auto& row : rows) {
    auto it = number_of.find(row.uid);
    if (shared_now.count(row.uid) != 0) {
      context.log->warn("message {} (UID {}) cannot be told from another message with that UID "
                        "in the new session: left alone",
                        row.number, text::one_line(row.uid));
      continue;
    }
    if (row.uid.empty() || it == number_of.end()) {
      context.log->warn("message {} (UID {}) is no longer in the mailbox", row.number,
                        text::one_line(row.uid));
      continue;
    }
    row.number = it->second;
    found.push_back(std::move(row));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  rows = std::move(found);
  repick(selected);
  return current;
}

}  // namespace mw::commands
