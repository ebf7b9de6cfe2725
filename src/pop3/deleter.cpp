// SPDX-License-Identifier: Apache-2.0
#include "pop3/deleter.hpp"

namespace mw::pop3 {

Deleter::Deleter(Requests& requests, const Listing& listing, DryRun dry_run)
    : m_requests(requests), m_listing(listing), m_dry_run(dry_run)
{
}

void Deleter::remove(const Chosen& message, std::function<void(const Deletion&)> done)
{
  Deletion deletion{message.number, message.uid, Deletion::Result::marked, {}, {}};
  if (!message.uid.empty() && m_listing.has_uids()) {
    auto listed = m_listing.uid_of(message.number);
    if (!listed || *listed != message.uid) {
      // The number no longer names the message that was chosen: deleting it would delete
      // another one.
      deletion.result = Deletion::Result::moved;
      deletion.reason = "message " + std::to_string(message.number) + " does not have the UID '" +
                        message.uid + "' any more";
      report(std::move(deletion), done);
      return;
    }
  }
  if (m_dry_run == DryRun::yes) {
    deletion.result = Deletion::Result::shown;
    report(std::move(deletion), done);
    return;
  }
  m_requests.dele(message.number, [this, deletion = std::move(deletion),
                                   done = std::move(done)](const Status& status) mutable {
    if (!status.ok()) {
      deletion.result = Deletion::Result::refused;
      deletion.reason = status.text;
    } else {
      deletion.reply = status.text;
    }
    report(std::move(deletion), done);
  });
}

void Deleter::undo()
{
  m_requests.rset();
  m_requests.run();
  m_marked = 0;
}

void Deleter::report(Deletion deletion, const std::function<void(const Deletion&)>& done)
{
  if (deletion.result == Deletion::Result::marked) {
    ++m_marked;
  } else if (deletion.result != Deletion::Result::shown) {
    ++m_failed;
  }
  if (done) {
    done(deletion);
  }
}

}  // namespace mw::pop3
