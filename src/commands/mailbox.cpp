#include "commands/mailbox.hpp"

#include "mail/date.hpp"
#include "mail/headers.hpp"
#include "select/selection.hpp"
#include "util/error.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

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

// Reads the header sections of `count` messages (TOP n 0): each reply is parsed as it ends,
// and only the fields called one of `names` are kept, bounded (see k_max_kept_octets).
class HeaderReader {
public:
  HeaderReader(std::size_t count, std::vector<std::string> names)
      : m_headers(count), m_ok(count, 0), m_names(std::move(names))
  {
  }

  // The callbacks for the TOP reply of message `index`.
  pop3::Reply reply(std::size_t index)
  {
    return {[this, index](const pop3::Status& status) {
              m_ok[index] = status.ok() ? 1 : 0;
              m_block.clear();
            },
            [this](std::string_view data) {
              if (m_block.size() < k_max_header_octets) {
                m_block.append(data.substr(0, k_max_header_octets - m_block.size()));
              }
            },
            [this, index] {
              if (m_ok[index] != 0) {
                m_headers[index] = mail::Headers::parse(m_block);
                m_headers[index].keep_only(m_names, k_max_field_octets, k_max_kept_octets);
              }
              m_block.clear();
            }};
  }

  bool ok(std::size_t index) const { return m_ok[index] != 0; }
  mail::Headers& headers(std::size_t index) { return m_headers[index]; }

private:
  std::vector<mail::Headers> m_headers;
  std::vector<char> m_ok;
  std::vector<std::string> m_names;
  std::string m_block;  // the reply being read
};

// Every message number and UID the user named exists, and names one message: a UID that the
// server repeats (RFC 1939 section 7 wants them unique) would select messages nobody chose.
void check_named_messages(const select::Selection& selection,
                          const std::vector<pop3::ScanListing>& listings,
                          const std::unordered_map<std::string, std::vector<std::uint64_t>>& by_uid)
{
  std::uint64_t count = listings.size();
  for (const auto& r : selection.ranges()) {
    // An open range ("10-") names no particular message: it may select none.
    if (r.last != UINT64_MAX && r.last > count) {
      throw Error(ExitCode::data, "message " + std::to_string(std::max(r.first, count + 1)) +
                                      " does not exist (the mailbox has " + std::to_string(count) +
                                      (count == 1 ? " message)" : " messages)") +
                                      "; nothing was changed");
    }
  }
  for (const auto& uid : selection.uids()) {
    auto found = by_uid.find(uid);
    if (found == by_uid.end()) {
      throw Error(ExitCode::data, "no message with UID '" + uid +
                                      "' in the mailbox (already deleted?); nothing was changed");
    }
    if (found->second.size() > 1) {
      std::string numbers;
      for (auto n : found->second) {
        numbers += (numbers.empty() ? "" : ", ") + std::to_string(n);
      }
      throw Error(ExitCode::data, "the server gives the UID '" + uid + "' to messages " + numbers +
                                      " (UIDs should be unique), so it does not say which one "
                                      "is meant: select by number; nothing was changed");
    }
  }
}

}  // namespace

Selected select_messages(Pop3Session& session, const cli::Context& context, bool want_headers,
                         Missing missing)
{
  const auto& selection = context.settings.selection;
  auto& client = session.client();
  auto listings = client.list();
  std::uint64_t total = 0;
  for (const auto& l : listings) {
    if (l.octets > UINT64_MAX - total) {
      throw ProtocolError("the server's LIST sizes add up to more than 2^64 octets");
    }
    total += l.octets;
  }
  auto uids = client.uidl();
  if (!uids && selection.needs_uids()) {
    throw Error(ExitCode::unavailable,
                "the server does not support UIDL, so messages cannot be selected by UID");
  }
  Selected selected;
  std::unordered_map<std::uint64_t, std::string> uid_of;
  std::unordered_map<std::string, std::vector<std::uint64_t>> number_of;
  if (uids) {
    for (auto& u : *uids) {
      number_of[u.uid].push_back(u.number);
      selected.server_uids.push_back(u.uid);
      uid_of[u.number] = std::move(u.uid);
    }
  }
  if (missing == Missing::fail) {
    check_named_messages(selection, listings, number_of);
  }

  // Headers are read only for the messages that numbers, UIDs and sizes leave in: one UID of
  // 10,000 messages is one TOP, not 10,000.
  std::vector<mailbox::Message> candidates;
  for (const auto& l : listings) {
    mailbox::Message row;
    row.number = l.number;
    row.octets = l.octets;
    if (auto it = uid_of.find(l.number); it != uid_of.end()) {
      row.uid = it->second;
    }
    if (selection.matches_listing(row)) {
      candidates.push_back(std::move(row));
    }
  }

  selected.headers_read = want_headers || selection.needs_headers();
  std::vector<mail::Headers> headers(selected.headers_read ? candidates.size() : 0);
  if (selected.headers_read && !candidates.empty()) {
    if (client.capabilities().known && !client.capabilities().top) {
      throw Error(ExitCode::unavailable, "the server does not support TOP, which reading "
                                         "From, Subject and Date needs");
    }
    auto names = selection.header_names();
    for (const char* shown : {"From", "Subject", "Date"}) {
      names.emplace_back(shown);
    }
    HeaderReader reader(candidates.size(), std::move(names));
    pop3::Requests requests(client);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      requests.top(candidates[i].number, 0, reader.reply(i));
    }
    requests.run();
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (!reader.ok(i)) {
        // The message may have gone (another session); it is shown without headers.
        context.log->warn("cannot read the headers of message {}", candidates[i].number);
        continue;
      }
      headers[i] = std::move(reader.headers(i));
      auto& row = candidates[i];
      row.has_headers = true;
      // Shown as matched (select::field_text): every From (or Subject) field, not only the
      // first, the one a filter matched first.
      row.from = selection.shown(headers[i], "From");
      row.subject = selection.shown(headers[i], "Subject");
      if (auto date = headers[i].get("Date")) {
        row.date = mail::parse_date(*date);
      }
    }
  }

  auto now = std::chrono::time_point_cast<std::chrono::seconds>(context.now());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (selection.needs_headers() && !candidates[i].has_headers) {
      continue;  // a header filter cannot match a message whose headers could not be read
    }
    if (selection.matches(candidates[i], selected.headers_read ? &headers[i] : nullptr, now)) {
      selected.rows.push_back(std::move(candidates[i]));
    }
  }
  selected.uid_of = std::move(uid_of);
  return selected;
}

}  // namespace mw::commands
