// SPDX-License-Identifier: Apache-2.0
#include "commands/fetch_plan.hpp"

#include "output/render.hpp"
#include "util/error.hpp"

namespace mw::commands {

FetchPlan plan_fetch(const pop3::Listing& listing, const std::vector<std::uint32_t>& picked,
                     const store::UidState* state, const PlanOptions& options)
{
  FetchPlan plan;
  // RFC 1939 section 7 makes UIDs unique; a server that repeats one cannot tell us which of
  // its messages with that UID we stored. They are skipped once recorded (nothing doubled),
  // never deleted unread, and a run that deletes refuses to guess.
  const auto shared = state != nullptr ? listing.shared_uids() : decltype(listing.shared_uids()){};
  for (const auto i : picked) {
    const auto uid = listing.uid(i);
    const auto number = listing.number(i);
    const auto octets = listing.octets(i);
    if (state != nullptr && !store::valid_uid(uid)) {
      // It could not be recorded, so every later run would store it again: it costs this one
      // message, never the state file.
      plan.failed.push_back({number, std::string(uid), octets, "",
                             "the server gives it a UID that RFC 1939 does not allow (bytes "
                             "0x21 to 0x7E only), so --new cannot record it; fetch it by number"});
      continue;
    }
    if (state != nullptr && state->contains(uid)) {
      if (shared.count(std::string(uid)) != 0) {
        if (options.deletes) {
          throw Error(ExitCode::protocol,
                      "the server gives several messages the UID '" + std::string(uid) +
                          "' (RFC 1939 wants them unique), so --delete cannot tell which "
                          "of them were stored; nothing was done (fetch them by number)");
        }
        ++plan.ambiguous;
        continue;
      }
      plan.stored_before.push_back(i);
      continue;
    }
    if (options.max_size && octets > *options.max_size) {
      plan.skipped.push_back({number, std::string(uid), octets, "",
                              "larger than --max-size " + output::human_size(*options.max_size)});
      continue;
    }
    if (options.limit && plan.fetch.size() >= *options.limit) {
      continue;
    }
    plan.octets = mailbox::add_octets(plan.octets, octets);
    plan.fetch.push_back(i);
  }
  return plan;
}

}  // namespace mw::commands
