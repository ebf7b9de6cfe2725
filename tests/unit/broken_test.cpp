// SPDX-License-Identifier: Apache-2.0
#include "mail/check.hpp"
#include "output/render.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {

// The source of the checker and of check_messages, read from the tree (MW_TEST_DATA_DIR is
// tests/unit/data).
std::string source(const std::string& relative)
{
  auto path = std::filesystem::path(MW_TEST_DATA_DIR) / ".." / ".." / ".." / relative;
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("broken selector: known_codes is sorted, unique, and has every code a check reports",
          "[broken]")
{
  const auto& known = mw::mail::known_codes();
  CHECK(std::is_sorted(known.begin(), known.end()));
  CHECK(std::adjacent_find(known.begin(), known.end()) == known.end());
  // Every literal code given to add() or a Finding, with its severity after it.
  const std::regex code(R"re("([a-z0-9]+(?:-[a-z0-9]+)+)",\s*(?:mail::)?Severity::)re");
  std::size_t seen = 0;
  for (const auto* file : {"src/mail/check.cpp", "src/commands/check_messages.cpp"}) {
    auto text = source(file);
    REQUIRE_FALSE(text.empty());
    for (std::sregex_iterator it(text.begin(), text.end(), code), end; it != end; ++it) {
      ++seen;
      INFO((*it)[1].str() << " in " << file);
      CHECK(std::find(known.begin(), known.end(), (*it)[1].str()) != known.end());
    }
  }
  CHECK(seen > 20);
  // Codes given by a variable in check_messages.cpp.
  for (const auto* c : {"connection-lost", "retr-timeout", "message-unterminated"}) {
    CHECK(std::find(known.begin(), known.end(), c) != known.end());
  }
}

TEST_CASE("broken selector: list rows show their problem codes", "[broken][output]")
{
  mw::output::ListResult result;
  result.problems = true;
  mw::mailbox::Message row;
  row.number = 2;
  row.octets = 100;
  row.uid = "u2";
  row.problems = {"nul-byte", "bare-cr"};
  result.messages.push_back(row);

  std::ostringstream plain;
  mw::output::render_plain(result, plain, {false, 100});
  CHECK(plain.str() == "2\t100\tu2\tnul-byte,bare-cr\n");

  std::ostringstream table;
  mw::output::render_plain(result, table, {true, 100});
  CHECK(table.str().find("PROBLEMS") != std::string::npos);
  CHECK(table.str().find("nul-byte,bare-cr") != std::string::npos);

  auto json = mw::output::to_json(result);
  CHECK(json["messages"][0]["problems"] == nlohmann::json({"nul-byte", "bare-cr"}));
  auto purged = mw::output::to_json(result.messages, true);
  CHECK(purged["would_delete"][0]["problems"] == nlohmann::json({"nul-byte", "bare-cr"}));

  result.problems = false;
  CHECK_FALSE(mw::output::to_json(result)["messages"][0].contains("problems"));
}
