#include "commands/fetch_plan.hpp"

#include "output/render.hpp"
#include "util/error.hpp"

#include <unordered_map>

namespace mw::commands {

FetchPlan plan_fetch(std::vector<mailbox::Message> rows,
                     const std::vector<std::string>& server_uids, const store::UidState* state,
                     const PlanOptions& options)
{
  FetchPlan plan;
  // RFC 1939 section 7 makes UIDs unique; a server that repeats one cannot tell us which of
  // its messages with that UID we stored. They are skipped once recorded (nothing doubled),
  // never deleted unread, and a run that deletes refuses to guess.
  std::unordered_map<std::string, std::size_t> uid_count;
  for (const auto& uid : server_uids) {
    ++uid_count[uid];
  }
  for (auto& row : rows) {
    if (state != nullptr && !store::valid_uid(row.uid)) {
      // It could not be recorded, so every later run would store it again: it costs this one
      // message, never the state file.
      plan.failed.push_back({row.number, row.uid, row.octets, "",
                             "the server gives it a UID that RFC 1939 does not allow (bytes "
                             "0x21 to 0x7E only), so --new cannot record it; fetch it by number"});
      continue;
    }
    if (state != nullptr && state->contains(row.uid)) {
      if (uid_count[row.uid] != 1) {
        if (options.deletes) {
          throw Error(ExitCode::protocol,
                      "the server gives several messages the UID '" + row.uid +
                          "' (RFC 1939 wants them unique), so --delete cannot tell which "
                          "of them were stored; nothing was done (fetch them by number)");
        }
        ++plan.ambiguous;
        continue;
      }
      plan.stored_before.push_back(std::move(row));
      continue;
    }
    if (options.max_size && row.octets > *options.max_size) {
      plan.skipped.push_back({row.number, row.uid, row.octets, "",
                              "larger than --max-size " + output::human_size(*options.max_size)});
      continue;
    }
    if (options.limit && plan.fetch.size() >= *options.limit) {
      continue;
    }
    plan.octets = mailbox::add_octets(plan.octets, row.octets);
    plan.fetch.push_back(std::move(row));
  }
  return plan;
}

}  // namespace mw::commands
