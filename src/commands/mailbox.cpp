// SPDX-License-Identifier: Apache-2.0
#include "commands/mailbox.hpp"

#include "mail/date.hpp"
#include "mail/headers.hpp"
#include "output/progress.hpp"
#include "select/selection.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace mw::commands {

namespace {

// A header section larger than this is cut: From, Subject and Date come first in practice,
// and a hostile server must not make us buffer without bound. Only one reply is held at a
// time: each is parsed as it ends and only the fields that are shown or matched are kept, each
// value cut to k_max_field_octets, at most k_max_kept_octets of values per message (400
// messages with 1 MiB headers must not take 400 MiB).
constexpr std::size_t k_max_header_octets = 1024 * 1024;
constexpr std::size_t k_max_field_octets = 4096;
constexpr std::size_t k_max_kept_octets = 16 * 1024;

// Reads the header section of one message after another (TOP n 0): each reply is parsed as it
// ends, and only the fields called one of `names` are kept, bounded (see k_max_kept_octets).
class HeaderReader {
public:
  explicit HeaderReader(std::vector<std::string> names) : m_names(std::move(names)) {}

  // The callbacks for a TOP reply; `done` gets its headers (null when the server refused).
  pop3::Reply reply(std::function<void(mail::Headers*)> done)
  {
    return {[this](const pop3::Status& status) {
              m_ok = status.ok();
              m_block.clear();
            },
            [this](std::string_view data) {
              if (m_block.size() < k_max_header_octets) {
                m_block.append(data.substr(0, k_max_header_octets - m_block.size()));
              }
            },
            [this, done = std::move(done)] {
              std::optional<mail::Headers> headers;
              if (m_ok) {
                headers = mail::Headers::parse(m_block);
                headers->keep_only(m_names, k_max_field_octets, k_max_kept_octets);
              }
              m_block.clear();
              done(headers ? &*headers : nullptr);
            }};
  }

private:
  std::vector<std::string> m_names;
  bool m_ok = false;
  std::string m_block;  // the reply being read
};

// Every message number and UID the user named exists, and names one message: a UID that the
// server repeats (RFC 1939 section 7 wants them unique) would select messages nobody chose.
void check_named_messages(const select::Selection& selection, const pop3::Listing& listing)
{
  std::uint64_t count = listing.size();
  for (const auto& r : selection.ranges()) {
    // An open range ("10-") names no particular message: it may select none.
    if (r.last != UINT64_MAX && r.last > count) {
      throw Error(ExitCode::data, "message " + std::to_string(std::max(r.first, count + 1)) +
                                      " does not exist (the mailbox has " + std::to_string(count) +
                                      (count == 1 ? " message)" : " messages)") +
                                      "; nothing was changed");
    }
  }
  if (selection.uids().empty()) {
    return;
  }
  // One pass over the mailbox, whatever the number of UIDs named (a --uid-file may name
  // thousands).
  std::unordered_map<std::string_view, std::vector<std::uint64_t>> numbers;
  for (const auto& uid : selection.uids()) {
    numbers.emplace(uid, std::vector<std::uint64_t>{});
  }
  for (std::size_t i = 0; i < listing.size(); ++i) {
    if (auto found = numbers.find(listing.uid(i)); found != numbers.end()) {
      found->second.push_back(listing.number(i));
    }
  }
  for (const auto& uid : selection.uids()) {
    const auto& found = numbers.at(uid);
    if (found.empty()) {
      throw Error(ExitCode::data, "no message with UID '" + uid +
                                      "' in the mailbox (already deleted?); nothing was changed");
    }
    if (found.size() > 1) {
      std::string list;
      for (auto n : found) {
        list += (list.empty() ? "" : ", ") + std::to_string(n);
      }
      throw Error(ExitCode::data, "the server gives the UID '" + uid + "' to messages " + list +
                                      " (UIDs should be unique), so it does not say which one "
                                      "is meant: select by number; nothing was changed");
    }
  }
}

}  // namespace

mailbox::Message row_of(const pop3::Listing& listing, std::size_t i)
{
  mailbox::Message row;
  row.number = listing.number(i);
  row.octets = listing.octets(i);
  row.uid = listing.uid(i);
  return row;
}

Selected select_messages(Pop3Session& session, const cli::Context& context, bool want_headers,
                         Missing missing, const RowSink& sink)
{
  const auto& s = context.settings;
  const auto& selection = s.selection;
  auto& client = session.client();
  // A large mailbox's listing takes seconds: a terminal sees it move. Rows written to the same
  // terminal first clear the line.
  output::Steps steps(context.err, context.err_is_terminal && !s.quiet && !s.json,
                      context.out_is_terminal ? &context.out : nullptr);
  // Rows handed on are written at once; what is buffered reaches the reader whenever the
  // server keeps us waiting (`list | head` on a slow server), not only at the end.
  struct FlushWhileWaiting {
    pop3::Client& client;
    ~FlushWhileWaiting() { client.before_reading({}); }
  } flushing{client};
  if (sink) {
    client.before_reading([&out = context.out] { out.flush(); });
  }
  Selected selected;
  selected.listing = client.listing([&steps](std::string_view command, std::size_t rows) {
    steps.show(command == "LIST" ? "listing" : "reading UIDs", rows);
  });
  const auto& listing = selected.listing;
  if (!listing.has_uids() && selection.needs_uids()) {
    throw Error(ExitCode::unavailable,
                "the server does not support UIDL, so messages cannot be selected by UID");
  }
  if (missing == Missing::fail) {
    check_named_messages(selection, listing);
  }

  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(context.now());
  auto pick = [&](std::size_t i, mailbox::Message& row) {
    selected.picked.push_back(static_cast<std::uint32_t>(i));
    selected.octets = mailbox::add_octets(selected.octets, row.octets);
    if (context.out_is_terminal) {
      steps.clear();
    }
    if (sink) {
      sink(row);
    } else {
      selected.rows.push_back(std::move(row));
    }
  };

  // Headers are read only for the messages that numbers, UIDs and sizes leave in: one UID of
  // 10,000 messages is one TOP, not 10,000.
  selected.headers_read = want_headers || selection.needs_headers();
  std::vector<std::uint32_t> candidates;
  for (std::size_t i = 0; i < listing.size(); ++i) {
    auto row = selected.row(i);
    if (!selection.matches_listing(row)) {
      continue;
    }
    if (!selected.headers_read) {
      if (selection.matches(row, nullptr, now)) {
        pick(i, row);
      }
    } else {
      candidates.push_back(static_cast<std::uint32_t>(i));
    }
  }
  if (candidates.empty()) {
    return selected;
  }
  if (client.capabilities().known && !client.capabilities().top) {
    throw Error(ExitCode::unavailable, "the server does not support TOP, which reading "
                                       "From, Subject and Date needs");
  }
  auto names = selection.header_names();
  for (const char* shown : {"From", "Subject", "Date"}) {
    names.emplace_back(shown);
  }
  HeaderReader reader(std::move(names));
  pop3::Requests requests(client);
  std::size_t next = 0;
  std::size_t read = 0;
  requests.feed([&] {
    if (next == candidates.size()) {
      return false;
    }
    const std::size_t i = candidates[next++];
    requests.top(listing.number(i), 0, reader.reply([&, i](mail::Headers* headers) {
      steps.show("reading headers", ++read, candidates.size());
      auto row = selected.row(i);
      if (headers == nullptr) {
        // The message may have gone (another session); it is shown without headers, and a
        // header filter cannot match it.
        context.log->warn("cannot read the headers of message {}", row.number);
        if (!selection.needs_headers() && selection.matches(row, nullptr, now)) {
          pick(i, row);
        }
        return;
      }
      row.has_headers = true;
      // Shown as matched (select::field_text): every From (or Subject) field, not only the
      // first, the one a filter matched first.
      row.from = selection.shown(*headers, "From");
      row.subject = selection.shown(*headers, "Subject");
      if (auto date = headers->get("Date")) {
        row.date = mail::parse_date(*date);
      }
      if (selection.matches(row, headers, now)) {
        pick(i, row);
      }
    }));
    return true;
  });
  requests.run();
  return selected;
}

}  // namespace mw::commands
