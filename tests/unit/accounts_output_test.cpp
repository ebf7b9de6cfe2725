// SPDX-License-Identifier: Apache-2.0
#include "output/accounts.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace mw::output;

TEST_CASE("accounts: the worst exit status by the documented order", "[output][accounts]")
{
  CHECK(worst_exit({}) == 0);
  CHECK(worst_exit({0, 0}) == 0);
  CHECK(worst_exit({0, 1, 0}) == 1);
  CHECK(worst_exit({1, 75}) == 75);
  CHECK(worst_exit({75, 69, 68}) == 68);
  CHECK(worst_exit({76, 65}) == 65);
  CHECK(worst_exit({65, 64, 66}) == 66);
  CHECK(worst_exit({66, 78}) == 78);
  CHECK(worst_exit({78, 77, 0}) == 77);
  CHECK(worst_exit({77, 73}) == 73);
  CHECK(worst_exit({73, 74}) == 74);
  CHECK(worst_exit({74, 70, 75}) == 70);
  // A status not in the order (a child killed by a signal) is worse than all of them.
  CHECK(worst_exit({70, 137}) == 137);
  // Each status of the order beats every one after it.
  const auto& order = exit_severity();
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (std::size_t j = i + 1; j < order.size(); ++j) {
      CHECK(worst_exit({order[j], order[i]}) == order[i]);
      CHECK(worst_exit({order[i], order[j]}) == order[i]);
    }
  }
}

TEST_CASE("accounts: summary lines", "[output][accounts]")
{
  CHECK(summary_line({"work", 0, "", "", true}) == "work: ok");
  CHECK(summary_line({"home", 77, "", "", true}) ==
        "home: failed (77: authentication failed or not permitted)");
  CHECK(summary_line({"old", 137, "", "", true}) == "old: failed (137: killed by signal 9)");
  CHECK(summary_line({"spare", 0, "", "", false}) == "spare: not run (interrupted)");
}

TEST_CASE("accounts: plain output under a header, stderr lines named", "[output][accounts]")
{
  std::ostringstream out;
  std::ostringstream err;
  write_account({"work", 0, "1 message\n", "", true}, true, out, err);
  write_account({"home", 75, "no newline", "mailwrench: error: busy\nsecond\n", true}, false, out,
                err);
  CHECK(out.str() == "==> work <==\n1 message\n\n==> home <==\nno newline\n");
  CHECK(err.str() == "home: mailwrench: error: busy\nhome: second\n");
}

TEST_CASE("accounts: each JSON element is the account's document with account and exit",
          "[output][accounts]")
{
  auto doc = account_json({"work", 0, "{\"count\": 2}\n", "", true});
  CHECK(doc["count"] == 2);
  CHECK(doc["account"] == "work");
  CHECK(doc["exit"] == 0);
  auto error = account_json({"home", 77, "{\"error\": {\"exit_code\": 77}}", "", true});
  CHECK(error["error"]["exit_code"] == 77);
  CHECK(error["account"] == "home");
  for (const auto* garbage : {"", "not json", "[1, 2]", "{\"a\": 1} trailing"}) {
    INFO(garbage);
    auto made = account_json({"bad", 70, garbage, "", true});
    CHECK(made["account"] == "bad");
    CHECK(made["exit"] == 70);
    CHECK(made["error"]["exit_code"] == 70);
    CHECK(made["error"]["kind"] == "internal");
  }
}
