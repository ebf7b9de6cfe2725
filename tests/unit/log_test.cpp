// SPDX-License-Identifier: Apache-2.0
// The lines of --log-file and --syslog (issue 17.6): one visible line, secrets redacted.
#include "output/run_log.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>

using namespace mw::output;

namespace {

RunIdentity identity(std::string command, std::string account = "", std::string user = "",
                     std::string host = "", std::uint16_t port = 0)
{
  RunIdentity who;
  who.command = std::move(command);
  who.account = std::move(account);
  who.user = std::move(user);
  who.host = std::move(host);
  who.port = port;
  return who;
}

const RunIdentity k_alice = identity("fetch", "work", "alice", "pop.example.org", 995);

}  // namespace

TEST_CASE("log: the run line names the command, the account, the server, the exit code", "[log]")
{
  CHECK(run_text(k_alice, 0, "stored 12 messages (3.4 MiB) in 1.20 s, deleted 12 on the server",
                 {}) ==
        "fetch account=work user=alice server=pop.example.org:995: exit 0: stored 12 messages "
        "(3.4 MiB) in 1.20 s, deleted 12 on the server");
  CHECK(run_text(identity("stat"), 69, "", {}) == "stat account=- user=- server=-: exit 69");
  CHECK(identity_text(identity("stat", "", "u", "::1", 110)) ==
        "stat account=- user=u server=[::1]:110");
}

TEST_CASE("log: the failure line carries the error, redacted", "[log]")
{
  const std::string secret = "s3cr\"et pass";
  CHECK(failure_text(k_alice, "error", "authentication failed: -ERR you sent PASS " + secret,
                     {secret}) ==
        "fetch account=work user=alice server=pop.example.org:995: error: authentication "
        "failed: -ERR you sent PASS <redacted>");
  // A user name that is the password (or holds it) is redacted too: nothing escapes.
  CHECK(run_text(identity("stat", "", secret), 0, "", {secret}).find(secret) == std::string::npos);
}

TEST_CASE("log: server text cannot reach the log raw", "[log]")
{
  const std::string hostile = "-ERR \x1b]0;owned\x07 bad\r\nfake line\xe2\x80\xae\x9b";
  const std::string text = failure_text(k_alice, "error", hostile, {});
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    CHECK((u >= 0x20 && u != 0x7f));
  }
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.find("\\x1b]0;owned\\x07") != std::string::npos);
  CHECK(text.find("<U+202E>") != std::string::npos);
  // The secret split by a control character is still not shown whole, and never raw.
  CHECK(log_text("PASS hunter2\x1b[0m", {"hunter2"}) == "PASS <redacted>\\x1b[0m");
}

TEST_CASE("log: file lines are ISO 8601 (UTC), with the pid, one per line", "[log]")
{
  using namespace std::chrono;
  const auto when = sys_days{year{2026} / 12 / 3} + hours{14} + minutes{11} + seconds{2};
  CHECK(iso8601_utc(when) == "2026-12-03T14:11:02Z");
  CHECK(file_line(when, 4711, "stat account=- user=- server=-: exit 0") ==
        "2026-12-03T14:11:02Z mailwrench[4711]: stat account=- user=- server=-: exit 0\n");
  CHECK(file_line(when, 1, "a\nb") == "2026-12-03T14:11:02Z mailwrench[1]: a b\n");
}
