// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mailbox/message.hpp"
#include "output/results.hpp"
#include "pop3/listing.hpp"
#include "store/state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mw::commands {

// What a fetch run does with the messages its selection picked, decided before any RETR:
// a pure function of the listing, the picked messages, the --new state and the options, so
// that the rules that decide what may be deleted are tested without a server. Messages are
// named by their index in the listing (4 octets each).
struct FetchPlan {
  std::vector<std::uint32_t> fetch;             // RETR these, in this order
  std::vector<std::uint32_t> stored_before;     // the state says an earlier run stored them
  std::vector<output::FetchedMessage> skipped;  // reported, not fetched, with the reason
  std::vector<output::FetchedMessage> failed;   // reported as failed, with the reason
  std::size_t ambiguous = 0;  // recorded UIDs that the server gives several messages: skipped
  std::uint64_t octets = 0;   // of `fetch`, as LIST gave them
};

// The options of fetch that planning looks at.
struct PlanOptions {
  bool deletes = false;  // --delete or --flush: a wrong guess would delete a message
  std::optional<std::uint64_t> max_size;
  std::optional<std::uint64_t> limit;
};

// Plans a run over the messages `picked` (indices into `listing`, the session's LIST and
// UIDL). `state` is the --new state (nullptr without --new). A message whose UID RFC 1939 does not
// allow cannot be recorded, so with
// --new it fails (alone); one the state records is stored_before, unless the server gives its
// UID to several messages (then it is skipped, and with `deletes` the run is refused: Error 76,
// nothing done); one LIST says is larger than max_size is skipped; at most `limit` are fetched.
FetchPlan plan_fetch(const pop3::Listing& listing, const std::vector<std::uint32_t>& picked,
                     const store::UidState* state, const PlanOptions& options);

}  // namespace mw::commands
