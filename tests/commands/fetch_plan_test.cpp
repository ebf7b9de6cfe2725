// SPDX-License-Identifier: Apache-2.0
#define CATCH_CONFIG_MAIN
#include "commands/fetch_plan.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

using mw::commands::plan_fetch;
using mw::commands::PlanOptions;

// What fetch decides before any RETR: which messages it stores, which an earlier run stored
// (deleted only with --flush), which it skips and which fail (issue 11 items 2, 3 and 5).

namespace {

// A session's listing (numbered from 1, UIDs and sizes as given), every message picked.
struct Mailbox {
  mw::pop3::Listing listing;
  std::vector<std::uint32_t> picked;
};

Mailbox rows(const std::vector<std::pair<std::string, std::uint64_t>>& uids)
{
  Mailbox out;
  std::uint64_t number = 0;
  for (const auto& [uid, octets] : uids) {
    out.listing.add_listing({++number, octets});
    out.listing.add_uid(number, uid);
    out.picked.push_back(static_cast<std::uint32_t>(number - 1));
  }
  out.listing.set_has_uids();
  return out;
}

std::vector<std::uint64_t> numbers(const Mailbox& m, const std::vector<std::uint32_t>& indices)
{
  std::vector<std::uint64_t> out;
  for (const auto i : indices) {
    out.push_back(m.listing.number(i));
  }
  return out;
}

// A --new state that records `uids` (in a file that is never written).
mw::store::UidState state_with(const std::vector<std::string>& uids)
{
  auto path = std::filesystem::temp_directory_path() /
              ("mw-plan-" + std::to_string(::getpid()) + "-absent.uids");
  auto state = mw::store::UidState::load(path, "me@pop.example:995");
  for (const auto& uid : uids) {
    state.add(uid);
  }
  return state;
}

}  // namespace

TEST_CASE("plan: without --new, every selected message is fetched", "[plan]")
{
  auto r = rows({{"a", 10}, {"b", 20}, {"c", 30}});
  auto plan = plan_fetch(r.listing, r.picked, nullptr, {});
  CHECK(numbers(r, plan.fetch) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(plan.octets == 60);
  CHECK(plan.stored_before.empty());
}

TEST_CASE("plan: --new skips what the state records; those are only candidates for --flush",
          "[plan]")
{
  auto r = rows({{"a", 10}, {"b", 20}, {"c", 30}});
  auto state = state_with({"b"});
  auto plan = plan_fetch(r.listing, r.picked, &state, {});
  CHECK(numbers(r, plan.fetch) == std::vector<std::uint64_t>{1, 3});
  CHECK(numbers(r, plan.stored_before) == std::vector<std::uint64_t>{2});
}

TEST_CASE("plan: a recorded UID the server repeats is skipped, and refused when deleting", "[plan]")
{
  auto r = rows({{"dup", 10}, {"dup", 20}, {"u3", 30}});
  auto state = state_with({"dup"});
  auto plan = plan_fetch(r.listing, r.picked, &state, {});
  CHECK(plan.ambiguous == 2);
  CHECK(plan.stored_before.empty());  // never deleted, even with --flush
  CHECK(numbers(r, plan.fetch) == std::vector<std::uint64_t>{3});
  try {
    plan_fetch(r.listing, r.picked, &state, {true, {}, {}});
    FAIL("planned a deleting run on an ambiguous UID");
  } catch (const mw::Error& e) {
    CHECK(e.code() == mw::ExitCode::protocol);
    CHECK_THAT(e.what(), Catch::Contains("'dup'"));
  }
}

TEST_CASE("plan: a UID RFC 1939 does not allow fails alone with --new, not without", "[plan]")
{
  auto r = rows({{"ok", 10}, {"caf\xC3\xA9", 20}, {"ok3", 30}});
  auto state = state_with({});
  auto plan = plan_fetch(r.listing, r.picked, &state, {true, {}, {}});
  CHECK(numbers(r, plan.fetch) == std::vector<std::uint64_t>{1, 3});
  REQUIRE(plan.failed.size() == 1);
  CHECK(plan.failed[0].number == 2);
  CHECK_THAT(plan.failed[0].reason, Catch::Contains("RFC 1939"));
  CHECK(plan_fetch(r.listing, r.picked, nullptr, {}).fetch.size() == 3);
}

TEST_CASE("plan: --max-size skips by LIST size with the reason; --limit keeps the first N",
          "[plan]")
{
  auto r = rows({{"a", 100}, {"b", 5000}, {"c", 100}, {"d", 100}});
  auto plan = plan_fetch(r.listing, r.picked, nullptr, {false, 1000, 2});
  CHECK(numbers(r, plan.fetch) == std::vector<std::uint64_t>{1, 3});
  REQUIRE(plan.skipped.size() == 1);
  CHECK(plan.skipped[0].number == 2);
  CHECK_THAT(plan.skipped[0].reason, Catch::Contains("--max-size"));
}
