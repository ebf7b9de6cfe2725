// SPDX-License-Identifier: Apache-2.0
#include "cli/accounts.hpp"
#include "cli/options.hpp"
#include "commands/table.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace mw;
using namespace mw::cli;

namespace {

AccountsRequest split(const std::vector<std::string>& args)
{
  return split_accounts(args, mw::commands::table());
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("accounts: one account or none is not several", "[cli][accounts]")
{
  CHECK_FALSE(split({"stat"}).several());
  CHECK_FALSE(split({"-a", "work", "stat"}).several());
  CHECK_FALSE(split({"--jobs", "3", "-a", "work", "stat"}).several());
  CHECK(split({"-a", "work", "-a", "home", "stat"}).several());
  CHECK(split({"stat", "--all-accounts"}).several());
}

TEST_CASE("accounts: -a, --account, --all-accounts and --jobs in every spelling are taken out",
          "[cli][accounts]")
{
  auto r = split({"-a", "work", "--json", "--account=home", "fetch", "-ashop", "--jobs=2",
                  "--account", "spare", "-o", "maildir:/tmp/x", "--new", "3-5"});
  CHECK(r.accounts == Strings{"work", "home", "shop", "spare"});
  CHECK(r.jobs == 2);
  CHECK_FALSE(r.all);
  CHECK(r.rest == Strings{"--json", "fetch", "-o", "maildir:/tmp/x", "--new", "3-5"});
  CHECK(account_arguments(r, "home") ==
        Strings{"--account", "home", "--json", "fetch", "-o", "maildir:/tmp/x", "--new", "3-5"});
}

TEST_CASE("accounts: an option's value that looks like -a stays the value", "[cli][accounts]")
{
  auto r = split({"-a", "work", "-a", "home", "list", "--subject", "-a", "--from", "--jobs"});
  CHECK(r.accounts == Strings{"work", "home"});
  CHECK(r.jobs == 1);
  CHECK(r.rest == Strings{"list", "--subject", "-a", "--from", "--jobs"});
}

TEST_CASE("accounts: nothing after -- is an option", "[cli][accounts]")
{
  auto r = split({"-a", "work", "-a", "home", "list", "--", "-a", "x"});
  CHECK(r.accounts == Strings{"work", "home"});
  CHECK(r.rest == Strings{"list", "--", "-a", "x"});
}

TEST_CASE("accounts: the other options are noted with their values", "[cli][accounts]")
{
  auto r = split(
      {"-a", "w", "-a", "h", "fetch", "--state", "/s", "--uid-file=-", "-q", "--config", "/c"});
  CHECK(r.options == std::vector<std::pair<std::string, std::string>>{
                         {"state", "/s"}, {"uid-file", "-"}, {"quiet", ""}, {"config", "/c"}});
}

TEST_CASE("accounts: --jobs must be a whole number of 1 or more", "[cli][accounts]")
{
  for (const auto* bad : {"0", "two", "-1", "", "2x", "1001"}) {
    INFO(bad);
    try {
      split({"--jobs", bad, "-a", "w", "-a", "h", "stat"});
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
      CHECK(std::string(e.what()).find("--jobs") != std::string::npos);
    }
  }
  CHECK(split({"--jobs", "1000", "stat"}).jobs == 1000);
}

TEST_CASE("accounts: the config file's sections in file order", "[cli][accounts]")
{
  auto dir = std::filesystem::temp_directory_path() / "mw-cli-accounts-test";
  std::filesystem::create_directories(dir);
  auto path = (dir / "config").string();
  std::ofstream(path) << "host = x\n[account zeta]\nuser = a\n[account alpha]\nuser = b\n"
                         "[account mid]\n[account zeta]\nport = 7\n";
  auto found = config_accounts(split({"--config", path, "--all-accounts", "stat"}),
                               [](const std::string&) { return std::nullopt; });
  std::filesystem::remove_all(dir);
  CHECK(found.exists);
  CHECK(found.explicit_file);
  CHECK(found.names == Strings{"zeta", "alpha", "mid"});
}

TEST_CASE("accounts: refused before any account runs", "[cli][accounts]")
{
  auto dir = std::filesystem::temp_directory_path() / "mw-cli-accounts-refused";
  std::filesystem::create_directories(dir);
  auto path = (dir / "config").string();
  std::ofstream(path) << "host = pop.example.org\n[account work]\nuser = a\n[account home]\n"
                         "user = b\n";
  auto code_of = [&](const std::vector<std::string>& args, const std::string& state_variable = "") {
    Getenv getenv = [&](const std::string& name) -> std::optional<std::string> {
      if (name == "MAILWRENCH_STATE" && !state_variable.empty()) {
        return state_variable;
      }
      return std::nullopt;
    };
    auto with_config = args;
    with_config.insert(with_config.begin(), {"--config", path});
    try {
      run_accounts(split(with_config), mw::commands::table(), getenv);
    } catch (const Error& e) {
      return e.code();
    }
    return ExitCode::ok;
  };
  CHECK(code_of({"-a", "work", "--all-accounts", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-a", "work", "-a", "work", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-a", "work", "-a", "away", "stat"}) == ExitCode::usage);
  CHECK(code_of({"--all-accounts", "fetch", "--new", "-o", "maildir:/tmp/x"}, "/tmp/one.uids") ==
        ExitCode::config);
  CHECK(code_of({"--all-accounts", "fetch", "--state", "/tmp/one.uids"}) == ExitCode::usage);
  CHECK(code_of({"--all-accounts", "session"}) == ExitCode::usage);
  CHECK(code_of({"--all-accounts", "list", "--uid-file", "-"}) == ExitCode::usage);
  // Each account's own command line is checked as its run would check it.
  CHECK(code_of({"--all-accounts", "stat", "--tls", "sometimes"}) == ExitCode::usage);
  std::filesystem::remove_all(dir);
}
