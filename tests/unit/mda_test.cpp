// SPDX-License-Identifier: Apache-2.0
#include "store/mda.hpp"
#include "store/sink.hpp"
#include "store_helpers.hpp"
#include "temp_dir.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using mw::store::check_mda_command;
using mw::store::envelope_sender;
using mw::store::expand_mda_command;
using mw::store::MdaValues;
using mw::test::listed;
using mw::test::read_file;
using mw::test::TempDir;

namespace {

// Hands `message` to an MDA sink running `command`; what commit() returned.
std::string hand_over(const std::string& command, const std::string& message,
                      std::chrono::seconds timeout = std::chrono::seconds(20),
                      const std::string& account = "work")
{
  auto sink = mw::store::open_mda({command, account, timeout});
  auto delivery = sink->begin(listed(1, "u1", message.size()));
  delivery->write(message.substr(0, message.size() / 2));
  delivery->write(message.substr(message.size() / 2));
  return delivery->commit();
}

const std::vector<std::string> k_hostile = {
    "a'b@example.org",        "'; touch PWNED; '", "\"; touch PWNED; \"",
    "$(touch PWNED)",         "`touch PWNED`",     "x\\'; touch PWNED; #",
    "\\\"$(touch PWNED)\\\"", "-f; touch PWNED",   "a b  c* ? [x] ~ & | ; < !",
};

}  // namespace

TEST_CASE("mda: known placeholders are accepted, others refused", "[mda]")
{
  CHECK_NOTHROW(check_mda_command("procmail -f %F"));
  CHECK_NOTHROW(check_mda_command("/usr/lib/dovecot/dovecot-lda -d %A -f '%F'"));
  CHECK_NOTHROW(check_mda_command("printf %%s x"));
  CHECK_NOTHROW(check_mda_command("echo \\%s"));  // escaped: sh's business
  CHECK_THROWS_AS(check_mda_command("printf '%s' x"), mw::UsageError);
  CHECK_THROWS_WITH(check_mda_command("deliver %T"), Catch::Contains("%T"));
  CHECK_THROWS_WITH(check_mda_command("deliver 100%"), Catch::Contains("at the end"));
}

TEST_CASE("mda: output specs take mda:COMMAND", "[mda]")
{
  const auto spec = mw::store::parse_output("mda:procmail -f %F");
  CHECK(spec.kind == mw::store::OutputSpec::Kind::mda);
  CHECK(spec.path == "procmail -f %F");
  CHECK_THROWS_AS(mw::store::parse_output("mda:"), mw::UsageError);
  CHECK_THROWS_AS(mw::store::parse_output("mda:  "), mw::UsageError);
  CHECK_THROWS_AS(mw::store::parse_output("mda:deliver %x"), mw::UsageError);
}

TEST_CASE("mda: values are quoted for where they stand", "[mda]")
{
  const MdaValues v{"it's@x", "acc"};
  CHECK(expand_mda_command("deliver -f %F -a %A", v) == "deliver -f 'it'\\''s@x' -a 'acc'");
  CHECK(expand_mda_command("deliver -f '%F'", v) == "deliver -f 'it'\\''s@x'");
  CHECK(expand_mda_command("deliver -f \"<%F>\"", {"a$b`c\"d\\e", ""}) ==
        "deliver -f \"<a\\$b\\`c\\\"d\\\\e>\"");
  CHECK(expand_mda_command("echo 100%% \\%F", v) == "echo 100% \\%F");
  CHECK(expand_mda_command("deliver -f %F", {"", ""}) == "deliver -f ''");
  // A quote after a backslash does not start quoting, nor one inside the other kind.
  CHECK(expand_mda_command("echo \\' %F", v) == "echo \\' 'it'\\''s@x'");
  CHECK(expand_mda_command("echo \"'\" %F", v) == "echo \"'\" 'it'\\''s@x'");
}

TEST_CASE("mda: the envelope sender is the first Return-Path's address", "[mda]")
{
  CHECK(envelope_sender("Return-Path: <a@example.org>\nFrom: b@x\n\nbody\n") == "a@example.org");
  CHECK(envelope_sender("From: b@x\r\nReturn-Path:  <a@example.org> \r\n\r\n") == "a@example.org");
  CHECK(envelope_sender("Return-Path: <>\n\n") == "");
  CHECK(envelope_sender("From: b@x\n\nReturn-Path: <late@x>\n") == "");
  CHECK(envelope_sender("Return-Path: bare@example.org\n\n") == "bare@example.org");
  CHECK(envelope_sender("Return-Path: <first@x>\nReturn-Path: <second@x>\n\n") == "first@x");
  CHECK(envelope_sender("Return-Path: <a\x01\x7f@x>\n\n") == "a@x");
  CHECK(envelope_sender("Return-Path: <a@x\n b>\n\n") == "a@x b");  // unfolded
}

TEST_CASE("mda: no sender reaches the shell as syntax", "[mda]")
{
  TempDir dir;
  for (const auto& hostile : k_hostile) {
    for (const std::string form : {"%F", "'%F'", "\"%F\"", "x%Fy", "'<%F>'", "\"<%F>\""}) {
      INFO("sender " << hostile << " as " << form);
      const auto out = dir / "out";
      const std::string command = "cd '" + dir.path() + "' && printf %%s " + form + " > out";
      const std::string message = "Return-Path: <" + hostile + ">\nSubject: x\n\nbody\n";
      hand_over(command, message);
      std::string expected = hostile;
      if (form == "x%Fy") {
        expected = "x" + hostile + "y";
      } else if (form.find('<') != std::string::npos) {
        expected = "<" + hostile + ">";
      }
      CHECK(read_file(out) == expected);
      CHECK_FALSE(std::filesystem::exists(dir / "PWNED"));
    }
  }
}

TEST_CASE("mda: the command gets the whole message and the values in its environment", "[mda]")
{
  TempDir dir;
  std::string message = "Return-Path: <s@example.org>\nSubject: x\n\n";
  for (int i = 0; i < 20000; ++i) {
    message += "line " + std::to_string(i) + " of a message bigger than any pipe buffer\n";
  }
  ::setenv("MAILWRENCH_PASSWORD", "do-not-pass-on", 1);
  ::setenv("MAILWRENCH_PROXY_PASSWORD", "proxy-not-passed-on", 1);
  const auto where = hand_over("cat > '" + dir / "msg" + "'; env > '" + dir / "env" + "'", message);
  ::unsetenv("MAILWRENCH_PASSWORD");
  ::unsetenv("MAILWRENCH_PROXY_PASSWORD");
  CHECK(where.rfind("mda:cat", 0) == 0);
  CHECK(read_file(dir / "msg") == message);
  const auto env = read_file(dir / "env");
  CHECK(env.find("MAILWRENCH_MDA_SENDER=s@example.org\n") != std::string::npos);
  CHECK(env.find("MAILWRENCH_MDA_ACCOUNT=work\n") != std::string::npos);
  CHECK(env.find("do-not-pass-on") == std::string::npos);
  CHECK(env.find("proxy-not-passed-on") == std::string::npos);
}

TEST_CASE("mda: a command that reads nothing and exits 0 has taken the message", "[mda]")
{
  std::string big(4 << 20, 'x');
  CHECK_NOTHROW(hand_over("exit 0", "Subject: x\n\n" + big + "\n"));
}

TEST_CASE("mda: a failed command refuses the message, exit 75 defers it", "[mda]")
{
  CHECK_THROWS_AS(hand_over("cat >/dev/null; exit 1", "Subject: x\n\nb\n"), mw::store::Refused);
  CHECK_THROWS_WITH(hand_over("exit 3", "Subject: x\n\nb\n"), Catch::Contains("exited 3"));
  CHECK_THROWS_WITH(hand_over("kill -TERM $$", "Subject: x\n\nb\n"), Catch::Contains("SIGTERM"));
  CHECK_THROWS_AS(hand_over("no-such-mda-anywhere", "Subject: x\n\nb\n"), mw::store::Refused);
  CHECK_THROWS_AS(hand_over("exit 75", "Subject: x\n\nb\n"), mw::store::Deferred);
}

TEST_CASE("mda: a hung command is killed with what it started after the timeout", "[mda]")
{
  TempDir dir;
  const auto started = std::chrono::steady_clock::now();
  // The child writes its pid, then both hang; the kill must reach the child too.
  CHECK_THROWS_AS(hand_over("sleep 30 & echo $! > '" + dir / "child" + "'; wait",
                            "Subject: x\n\nb\n", std::chrono::seconds(1)),
                  mw::store::Deferred);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  const auto child = std::stol(read_file(dir / "child"));
  // Killed (a zombie of init at worst, never still sleeping).
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    const auto stat = std::filesystem::path("/proc/" + std::to_string(child) + "/stat");
    gone = !std::filesystem::exists(stat) || read_file(stat).find(") Z") != std::string::npos;
    if (!gone) {
      ::usleep(20000);
    }
  }
  CHECK(gone);
}
