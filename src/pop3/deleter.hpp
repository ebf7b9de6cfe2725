// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "pop3/client.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace mw::pop3 {

// Whether a deletion is only shown (--dry-run) or really asked of the server.
enum class DryRun { yes, no };

// A message chosen for deletion, as the session listed it (RFC 1939 sections 5 and 7).
struct Chosen {
  std::uint64_t number = 0;
  std::string uid;  // "" when the server has no UIDL
};

// What became of one deletion: the same for every caller.
struct Deletion {
  enum class Result { marked, shown, refused, moved };
  std::uint64_t number = 0;
  std::string uid;
  Result result = Result::marked;
  std::string reason;  // for refused (the server's -ERR text) and moved
  std::string reply;   // for marked: the text of the server's +OK
};

// The one place that deletes (ninja's Cleaner::Remove is the model): purge, fetch --delete and
// --flush, and send --await-purge send every DELE through it. It alone decides dry-run (then
// nothing is sent), checks that the message still has the UID it was chosen by (against the
// session's own UIDL listing: numbers do not change within a session, RFC 1939 section 5), and
// reports each outcome the same way. Deletions happen only at +OK to QUIT (section 6).
class Deleter {
public:
  // `listing`: the session's LIST and UIDL (without UIDs when the server has no UIDL); it must
  // outlive the Deleter.
  Deleter(Requests& requests, const Listing& listing, DryRun dry_run);

  // Queues DELE for the message (sent with the requests' next run), or with a dry run only
  // reports it; `done` gets the outcome once it is known.
  void remove(const Chosen& message, std::function<void(const Deletion&)> done = {});

  // Unmarks every message of the session (RSET), for callers that delete all or nothing.
  void undo();

  bool dry_run() const { return m_dry_run == DryRun::yes; }
  // How many messages the server marked, and how many deletions failed (refused or moved).
  std::size_t marked() const { return m_marked; }
  std::size_t failed() const { return m_failed; }

private:
  void report(Deletion deletion, const std::function<void(const Deletion&)>& done);

  Requests& m_requests;
  const Listing& m_listing;
  DryRun m_dry_run;
  std::size_t m_marked = 0;
  std::size_t m_failed = 0;
};

}  // namespace mw::pop3
