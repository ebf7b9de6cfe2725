#define CATCH_CONFIG_MAIN
#include "commands/fetch_plan.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

using mw::commands::plan_fetch;
using mw::commands::PlanOptions;
using mw::mailbox::Message;

// What fetch decides before any RETR: which messages it stores, which an earlier run stored
// (deleted only with --flush), which it skips and which fail (issue 11 items 2, 3 and 5).

namespace {

std::vector<Message> rows(const std::vector<std::pair<std::string, std::uint64_t>>& uids)
{
  std::vector<Message> out;
  std::uint64_t number = 0;
  for (const auto& [uid, octets] : uids) {
    Message row;
    row.number = ++number;
    row.uid = uid;
    row.octets = octets;
    out.push_back(row);
  }
  return out;
}

std::vector<std::string> uids_of(const std::vector<Message>& rows)
{
  std::vector<std::string> out;
  for (const auto& r : rows) {
    out.push_back(r.uid);
  }
  return out;
}

std::vector<std::uint64_t> numbers(const std::vector<Message>& rows)
{
  std::vector<std::uint64_t> out;
  for (const auto& r : rows) {
    out.push_back(r.number);
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
  auto plan = plan_fetch(r, uids_of(r), nullptr, {});
  CHECK(numbers(plan.fetch) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(plan.octets == 60);
  CHECK(plan.stored_before.empty());
}

TEST_CASE("plan: --new skips what the state records; those are only candidates for --flush",
          "[plan]")
{
  auto r = rows({{"a", 10}, {"b", 20}, {"c", 30}});
  auto state = state_with({"b"});
  auto plan = plan_fetch(r, uids_of(r), &state, {});
  CHECK(numbers(plan.fetch) == std::vector<std::uint64_t>{1, 3});
  CHECK(numbers(plan.stored_before) == std::vector<std::uint64_t>{2});
}

TEST_CASE("plan: a recorded UID the server repeats is skipped, and refused when deleting", "[plan]")
{
  auto r = rows({{"dup", 10}, {"dup", 20}, {"u3", 30}});
  auto state = state_with({"dup"});
  auto plan = plan_fetch(r, uids_of(r), &state, {});
  CHECK(plan.ambiguous == 2);
  CHECK(plan.stored_before.empty());  // never deleted, even with --flush
  CHECK(numbers(plan.fetch) == std::vector<std::uint64_t>{3});
  try {
    plan_fetch(r, uids_of(r), &state, {true, {}, {}});
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
  auto plan = plan_fetch(r, uids_of(r), &state, {true, {}, {}});
  CHECK(numbers(plan.fetch) == std::vector<std::uint64_t>{1, 3});
  REQUIRE(plan.failed.size() == 1);
  CHECK(plan.failed[0].number == 2);
  CHECK_THAT(plan.failed[0].reason, Catch::Contains("RFC 1939"));
  CHECK(plan_fetch(r, uids_of(r), nullptr, {}).fetch.size() == 3);
}

TEST_CASE("plan: --max-size skips by LIST size with the reason; --limit keeps the first N",
          "[plan]")
{
  auto r = rows({{"a", 100}, {"b", 5000}, {"c", 100}, {"d", 100}});
  auto plan = plan_fetch(r, uids_of(r), nullptr, {false, 1000, 2});
  CHECK(numbers(plan.fetch) == std::vector<std::uint64_t>{1, 3});
  REQUIRE(plan.skipped.size() == 1);
  CHECK(plan.skipped[0].number == 2);
  CHECK_THAT(plan.skipped[0].reason, Catch::Contains("--max-size"));
}
