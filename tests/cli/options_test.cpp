// SPDX-License-Identifier: Apache-2.0
#define CATCH_CONFIG_MAIN
#include "cli/options.hpp"
#include "cli/password.hpp"
#include "commands/table.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

using namespace mw;
using namespace mw::cli;

namespace {

struct Env {
  std::map<std::string, std::string> vars;
  Getenv getenv() const
  {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) {
        return std::nullopt;
      }
      return it->second;
    };
  }
};

// A config file in a fresh temporary directory, removed at the end of the test.
struct TempConfig {
  explicit TempConfig(const std::string& text)
  {
    dir = std::filesystem::temp_directory_path() /
          ("mw-cli-test-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir);
    path = (dir / "config").string();
    std::ofstream(path) << text;
  }
  ~TempConfig() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  std::string path;
};

Invocation parse_with(std::vector<std::string> args, const Env& env = {})
{
  return parse(args, mw::commands::table(), env.getenv());
}

ExitCode code_of(std::vector<std::string> args, const Env& env = {})
{
  try {
    parse_with(std::move(args), env);
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

std::string message_of(std::vector<std::string> args, const Env& env = {})
{
  try {
    parse_with(std::move(args), env);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("global options before and after the command", "[cli]")
{
  auto a = parse_with({"-H", "pop.example.org", "-u", "me", "stat"}).settings;
  auto b = parse_with({"stat", "--host", "pop.example.org", "--user=me"}).settings;
  CHECK(a.command == "stat");
  CHECK(b.command == "stat");
  CHECK(a.host == b.host);
  CHECK(a.user == b.user);
  CHECK(a.port == 995);
  CHECK(a.tls == TlsMode::implicit);
  CHECK(a.timeout == std::chrono::seconds(30));
}

TEST_CASE("defaults depend on --tls", "[cli]")
{
  CHECK(parse_with({"-H", "h", "--tls", "starttls", "stat"}).settings.port == 110);
  CHECK(parse_with({"-H", "h", "--tls", "none", "stat"}).settings.port == 110);
  CHECK(parse_with({"-H", "h", "-p", "2995", "stat"}).settings.port == 2995);
}

TEST_CASE("repeated -v raises the verbosity", "[cli]")
{
  CHECK(parse_with({"-H", "h", "stat"}).settings.verbosity == 0);
  CHECK(parse_with({"-H", "h", "-v", "stat"}).settings.verbosity == 1);
  CHECK(parse_with({"-H", "h", "-vv", "stat"}).settings.verbosity == 2);
  CHECK(parse_with({"-v", "-H", "h", "stat", "--verbose"}).settings.verbosity == 2);
}

TEST_CASE("usage errors are 64 and name the problem", "[cli]")
{
  CHECK(code_of({"-H", "h", "lst"}) == ExitCode::usage);
  CHECK(message_of({"-H", "h", "lst"}).find("did you mean 'list'") != std::string::npos);
  CHECK(code_of({"-H", "h", "list", "--hedaers"}) == ExitCode::usage);
  CHECK(message_of({"-H", "h", "list", "--hedaers"}).find("--headers") != std::string::npos);
  CHECK(message_of({"-H", "h", "stat", "--headers"}).find("option of 'list'") != std::string::npos);
  CHECK(code_of({"-H", "h", "--tls", "ssl", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "-p", "70000", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "-p", "x", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "--timeout", "0", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "--auth", "plian", "stat"}) == ExitCode::usage);
  CHECK(message_of({"-H", "h", "--auth", "plian", "stat"}).find("'plain'") != std::string::npos);
  CHECK(code_of({"-H", "h", "top"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "top", "0"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "stat", "extra"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "list", "5-3"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "list", "--larger-than", "10X"}) == ExitCode::usage);
  CHECK(code_of({"stat"}) == ExitCode::usage);               // no host
  CHECK(code_of({"-H", "h"}) == ExitCode::usage);            // no command
  CHECK(code_of({"-H", "h", "--host"}) == ExitCode::usage);  // missing argument
  CHECK(code_of({"-H", "h", "--allow-plaintext", "stat"}) == ExitCode::usage);
}

TEST_CASE("option values and mistyped options are not taken for the command", "[cli]")
{
  auto s = parse_with({"-H", "h", "--password-file=-v", "stat"}).settings;
  CHECK(s.command == "stat");
  CHECK(s.verbosity == 0);
  CHECK(s.password.value == "-v");
  CHECK(code_of({"--hos", "127.0.0.1", "stat"}) == ExitCode::usage);
  CHECK(message_of({"--hos", "127.0.0.1", "stat"}).find("did you mean '--host'") !=
        std::string::npos);
  CHECK(code_of({"-H", "h", "--insecure", "--fingerprint", "AB", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "--password-file", "f", "--password-command", "c", "stat"}) ==
        ExitCode::usage);
}

TEST_CASE("purge and fetch arguments", "[cli]")
{
  CHECK(code_of({"-H", "h", "purge"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "purge", "--all", "-n"}) == ExitCode::ok);
  CHECK(code_of({"-H", "h", "fetch"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "fetch", "-o", "maildir:/x", "--new", "--delete", "--limit", "5",
                 "--max-size", "1M", "--wait-lock", "3"}) == ExitCode::ok);
  CHECK(code_of({"-H", "h", "fetch", "-o", "-", "--limit", "x"}) == ExitCode::usage);
  CHECK(message_of({"-H", "h", "fetch", "-o", "-", "--max-size", "1X"}).find("--max-size") !=
        std::string::npos);
  CHECK(code_of({"-H", "h", "fetch", "-o", "-", "--flush"}) == ExitCode::usage);
}

// A command of a table of its own, which keeps what it read: the reading itself, as every
// command of commands/table.cpp does it.
struct Probe {
  std::optional<std::string> limit;
  bool fresh = false;
  std::optional<std::string> output;
  std::vector<std::string> to;
  std::vector<std::string> arguments;
  std::string host;
};
Probe g_probe;

void probe_options(boost::program_options::options_description& d)
{
  namespace po = boost::program_options;
  d.add_options()("smtp", po::bool_switch())("limit", po::value<std::string>())("new",
                                                                                po::bool_switch())(
      "output", po::value<std::string>())("to", po::value<std::vector<std::string>>()->composing());
}

Run probe(const Options& o)
{
  g_probe = {o.given("limit"),  o.flag("new"), o.configured("output"),
             o.given_all("to"), o.arguments(), o.settings().host};
  return [](const Context&) { return 42; };
}

TEST_CASE("a command reads its own options through cli::Options", "[cli]")
{
  const CommandTable table = {
      {"probe", "", "keeps what it read", Service::pop3, false, &probe_options, &probe}};
  Env env;
  env.vars["MAILWRENCH_OUTPUT"] = "mbox:/from-env";
  auto inv = parse({"-H", "h", "probe", "--limit", "5", "--new", "--to", "a", "--to", "b"}, table,
                   env.getenv());
  CHECK(g_probe.limit == "5");
  CHECK(g_probe.fresh);
  CHECK(g_probe.output == "mbox:/from-env");
  CHECK(g_probe.to == std::vector<std::string>{"a", "b"});
  CHECK(g_probe.host == "h");
  REQUIRE(inv.run);
  CHECK(inv.settings.command == "probe");
  // Not a selection command: a stray word is refused, not ignored.
  CHECK_THROWS_AS(parse({"-H", "h", "probe", "7"}, table, env.getenv()), UsageError);
  CHECK(help_text(table, "").find("probe") != std::string::npos);
  CHECK(help_text(table, "probe").find("--limit") != std::string::npos);
}

TEST_CASE("a row's smtp switch makes the command read the smtp-* keys and ports", "[cli]")
{
  CommandTable table = {
      {"probe", "", "keeps what it read", Service::pop3, false, &probe_options, &probe, "smtp"}};
  TempConfig config("[account a]\nhost = pop.example\nsmtp-host = smtp.example\n");
  auto pop3 = parse({"--config", config.path, "-a", "a", "probe"}, table, Env{}.getenv());
  CHECK(pop3.settings.host == "pop.example");
  CHECK(pop3.settings.port == 995);
  auto smtp = parse({"--config", config.path, "-a", "a", "probe", "--smtp"}, table, Env{}.getenv());
  CHECK(smtp.settings.host == "smtp.example");
  CHECK(smtp.settings.port == 465);
}

TEST_CASE("help and version", "[cli]")
{
  CHECK(parse_with({"--help"}).action == Invocation::Action::help);
  CHECK(parse_with({"help", "list"}).help_topic == "list");
  CHECK(parse_with({"list", "--help"}).help_topic == "list");
  CHECK(parse_with({"--version"}).action == Invocation::Action::version);
  CHECK(help_text(mw::commands::table(), "list").find("--larger-than") != std::string::npos);
  CHECK(help_text(mw::commands::table(), "").find("top SELECTION") != std::string::npos);
}

TEST_CASE("top and list arguments", "[cli]")
{
  // Issue 13.6: top takes a selection, as purge does; the body lines are --lines N.
  auto top = parse_with({"-H", "h", "top", "7", "20", "--lines", "5"}).settings;
  CHECK(top.selection.ranges().size() == 2);
  CHECK(parse_with({"-H", "h", "top", "--uid", "abc"}).settings.selection.uids() ==
        std::vector<std::string>{"abc"});
  CHECK(code_of({"-H", "h", "top"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "top", "7", "--lines", "x"}) == ExitCode::usage);
  auto list = parse_with({"-H", "h", "list", "--headers", "1,3", "5-9", "--larger-than", "1M",
                          "--from", "alice", "--uid", "abc"})
                  .settings;
  CHECK(list.selection.ranges().size() == 3);
  CHECK(list.selection.uids() == std::vector<std::string>{"abc"});
  CHECK(list.selection.needs_headers());
}

TEST_CASE("precedence: command line > environment > config file > default", "[cli]")
{
  TempConfig config("timeout = 5\n"
                    "[account work]\n"
                    "host = file.example.org\n"
                    "port = 1995\n"
                    "user = file-user\n"
                    "tls = starttls\n"
                    "password-command = echo from-file\n"
                    "cacert = ~/ca.pem\n");
  Env env;
  env.vars["HOME"] = "/home/me";
  auto s = parse_with({"--config", config.path, "-a", "work", "stat"}, env).settings;
  CHECK(s.account == "work");
  CHECK(s.host == "file.example.org");
  CHECK(s.port == 1995);
  CHECK(s.tls == TlsMode::starttls);
  CHECK(s.user == "file-user");
  CHECK(s.timeout == std::chrono::seconds(5));
  CHECK(s.cacert == "/home/me/ca.pem");
  CHECK(s.password.kind == PasswordSource::Kind::command);

  env.vars["MAILWRENCH_HOST"] = "env.example.org";
  env.vars["MAILWRENCH_PASSWORD"] = "x";
  s = parse_with({"--config", config.path, "-a", "work", "stat"}, env).settings;
  CHECK(s.host == "env.example.org");
  CHECK(s.password.kind == PasswordSource::Kind::environment);

  s = parse_with({"--config", config.path, "-a", "work", "-H", "cli.example.org", "--password-file",
                  "/pw", "stat"},
                 env)
          .settings;
  CHECK(s.host == "cli.example.org");
  CHECK(s.password.kind == PasswordSource::Kind::file);
  CHECK(s.password.value == "/pw");

  // The environment's password file beats the config file's password command.
  Env env2;
  env2.vars["MAILWRENCH_PASSWORD_FILE"] = "/env-pw";
  s = parse_with({"--config", config.path, "-a", "work", "stat"}, env2).settings;
  CHECK(s.password.kind == PasswordSource::Kind::file);
  CHECK(s.password.value == "/env-pw");

  env.vars["MAILWRENCH_ACCOUNT"] = "work";
  CHECK(parse_with({"--config", config.path, "stat"}, env).settings.account == "work");
}

TEST_CASE("config file errors are 78 and name the file and key", "[cli]")
{
  TempConfig typo("[account work]\nhots = x\n");
  CHECK(code_of({"--config", typo.path, "-a", "work", "stat"}) == ExitCode::config);
  auto message = message_of({"--config", typo.path, "-a", "work", "stat"});
  CHECK(message.find("hots") != std::string::npos);
  CHECK(message.find("did you mean 'host'") != std::string::npos);

  TempConfig ok("[account work]\nhost = h\n");
  CHECK(code_of({"--config", ok.path, "-a", "wrok", "stat"}) == ExitCode::config);
  CHECK(message_of({"--config", ok.path, "-a", "wrok", "stat"}).find("'work'") !=
        std::string::npos);

  TempConfig section("[server x]\nhost = h\n");
  CHECK(code_of({"--config", section.path, "stat"}) == ExitCode::config);

  TempConfig syntax("[account work]\nthis is not ini\n");
  CHECK(code_of({"--config", syntax.path, "-a", "work", "stat"}) == ExitCode::config);
  // The line is named by its number, not quoted (it might hold a secret), and a line holding
  // Boost's own placeholders does not send its message substitution into an endless loop
  // (found by the config fuzzer).
  TempConfig placeholders("[account work]\npassword s3cret %invalid_line%%invalid_line%\n");
  auto syntax_message = message_of({"--config", placeholders.path, "-a", "work", "stat"});
  CHECK(syntax_message.find("line 2 is neither") != std::string::npos);
  CHECK(syntax_message.find("s3cret") == std::string::npos);

  CHECK(code_of({"--config", "/nonexistent/config", "-H", "h", "stat"}) == ExitCode::no_input);

  // [account default] is used without -a; config-only keys of later commands are accepted.
  TempConfig fallback("[account default]\nhost = d.example.org\nsmtp-host = s\nstate = ~/x\n");
  CHECK(parse_with({"--config", fallback.path, "stat"}).settings.host == "d.example.org");
}

TEST_CASE(".netrc lookup", "[cli]")
{
  std::string netrc = "machine other login nobody password nothing\n"
                      "machine pop.example.org login alice password \"a b\\\"c\"\n"
                      "machine pop.example.org login bob password bobpw\n"
                      "default login anonymous password guest\n";
  auto alice = netrc_lookup(netrc, "pop.example.org", "alice");
  REQUIRE(alice);
  CHECK(alice->password.reveal() == "a b\"c");
  auto bob = netrc_lookup(netrc, "pop.example.org", "bob");
  REQUIRE(bob);
  CHECK(bob->password.reveal() == "bobpw");
  auto first = netrc_lookup(netrc, "pop.example.org", "");
  REQUIRE(first);
  CHECK(first->user == "alice");
  auto fallback = netrc_lookup(netrc, "elsewhere", "anonymous");
  REQUIRE(fallback);
  CHECK(fallback->password.reveal() == "guest");
  CHECK_FALSE(netrc_lookup(netrc, "elsewhere", "carol"));
}

// Issue 13.1: a bad value that came from the config file or the environment is a
// configuration error (78) that names the file, line and key, or the variable; one typed on
// the command line stays a usage error (64).
TEST_CASE("bad values: 78 with file, line and key from the config file", "[cli]")
{
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"port", "99999"},     {"port", "abc"},       {"tls", "foo"},
      {"timeout", "abc"},    {"timeout", "0"},      {"auth", "bogus"},
      {"fingerprint", "zz"}, {"insecure", "maybe"}, {"allow-plaintext", "perhaps"}};
  for (const auto& [key, value] : rows) {
    TempConfig config("host = h\n[account work]\nuser = u\n" + key + " = " + value + "\n");
    INFO(key << " = " << value);
    CHECK(code_of({"--config", config.path, "-a", "work", "stat"}) == ExitCode::config);
    auto message = message_of({"--config", config.path, "-a", "work", "stat"});
    CHECK(message.find(config.path) != std::string::npos);
    CHECK(message.find("line 4") != std::string::npos);
    CHECK(message.find(key) != std::string::npos);
    CHECK(message.find("--" + key) == std::string::npos);
  }
  // send reads smtp-port: the error names that key.
  TempConfig smtp("[account work]\nhost = h\nsmtp-port = 99999\n");
  auto message = message_of({"--config", smtp.path, "-a", "work", "send", "--from", "a@b.c", "--to",
                             "d@e.f", "--body", "x"});
  CHECK(message.find("line 3") != std::string::npos);
  CHECK(message.find("smtp-port") != std::string::npos);

  // A command's own configured key (fetch's output) is blamed on the file too, and on the
  // variable, and on the option only when it was typed.
  TempConfig output("[account work]\nhost = h\noutput = foo:bar\n");
  CHECK(code_of({"--config", output.path, "-a", "work", "fetch"}) == ExitCode::config);
  CHECK(message_of({"--config", output.path, "-a", "work", "fetch"}).find("line 3") !=
        std::string::npos);
  Env env;
  env.vars["MAILWRENCH_OUTPUT"] = "foo:bar";
  CHECK(code_of({"-H", "h", "fetch"}, env) == ExitCode::config);
  CHECK(code_of({"-H", "h", "fetch", "-o", "foo:bar"}) == ExitCode::usage);
}

TEST_CASE("bad values: 78 naming the variable from the environment", "[cli]")
{
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"MAILWRENCH_PORT", "abc"},   {"MAILWRENCH_PORT", "99999"},
      {"MAILWRENCH_TLS", "foo"},    {"MAILWRENCH_TIMEOUT", "abc"},
      {"MAILWRENCH_AUTH", "bogus"}, {"MAILWRENCH_FINGERPRINT", "zz"}};
  for (const auto& [variable, value] : rows) {
    Env env;
    env.vars[variable] = value;
    INFO(variable << "=" << value);
    CHECK(code_of({"-H", "h", "stat"}, env) == ExitCode::config);
    auto message = message_of({"-H", "h", "stat"}, env);
    CHECK(message.find(variable) != std::string::npos);
    CHECK(message.find("'" + value + "'") != std::string::npos);
  }
}

TEST_CASE("bad values on the command line stay usage errors", "[cli]")
{
  TempConfig config("[account work]\nhost = h\nport = 99999\n");
  Env env;
  env.vars["MAILWRENCH_TLS"] = "foo";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-H", "h", "-p", "abc", "stat"},
        {"-H", "h", "--tls", "foo", "stat"},
        {"-H", "h", "--timeout", "abc", "stat"},
        {"-H", "h", "--auth", "bogus", "stat"},
        {"-H", "h", "--fingerprint", "zz", "stat"}}) {
    CHECK(code_of(args) == ExitCode::usage);
  }
  // A good value on the command line replaces a bad one of the file or the environment.
  CHECK(code_of({"--config", config.path, "-a", "work", "-p", "110", "--tls", "none", "stat"},
                env) == ExitCode::ok);
  CHECK(message_of({"-H", "h", "--tls", "foo", "stat"}).find("--tls") != std::string::npos);
}

// Issue 13.4: '#' and ';' start a comment only at the start of a line.
TEST_CASE("a '#' inside a config value is part of the value", "[cli]")
{
  TempConfig config("# a comment\n"
                    "  ; another comment\n"
                    "[account work]\n"
                    "host = h\n"
                    "\t# an indented comment\n"
                    "password-command = pass show a#b\n"
                    "user = me;you\n");
  auto s = parse_with({"--config", config.path, "-a", "work", "stat"}).settings;
  CHECK(s.password.kind == PasswordSource::Kind::command);
  CHECK(s.password.value == "pass show a#b");
  CHECK(s.user == "me;you");

  // A '#' after white space still starts a comment (the manual's examples have them).
  TempConfig inline_comment("[account work]\nhost = h # the server\ntimeout = 60\t# seconds\n"
                            "password-command = pass show 'a '\\#b # escaped for the shell\n");
  s = parse_with({"--config", inline_comment.path, "-a", "work", "stat"}).settings;
  CHECK(s.host == "h");
  CHECK(s.timeout == std::chrono::seconds(60));
  CHECK(s.password.value == "pass show 'a '\\#b");
}

TEST_CASE("top --raw (issue 13.5)", "[cli]")
{
  CHECK(code_of({"-H", "h", "top", "--raw", "7", "20"}) == ExitCode::ok);
  CHECK(code_of({"-H", "h", "top", "7", "--raw"}) == ExitCode::ok);
  CHECK(code_of({"-H", "h", "list", "--raw"}) == ExitCode::usage);
  CHECK(help_text(mw::commands::table(), "top").find("--raw") != std::string::npos);
}

// Issue 13 (friction): the 25 lines of global options are not repeated under every command.
TEST_CASE("help: a command's --help shows its own options and points to the global ones", "[cli]")
{
  const auto list = help_text(mw::commands::table(), "list");
  CHECK(list.find("--larger-than") != std::string::npos);
  CHECK(list.find("--timeout") == std::string::npos);
  CHECK(list.find("--password-command") == std::string::npos);
  CHECK(list.find("mailwrench --help") != std::string::npos);
  CHECK(help_text(mw::commands::table(), "").find("--timeout") != std::string::npos);
}

TEST_CASE("a port written with the host, IPv6 literals (issue 17.4)", "[cli][network]")
{
  auto s = parse_with({"-H", "[::1]:1995", "stat"}).settings;
  CHECK(s.host == "::1");
  CHECK(s.port == 1995);
  s = parse_with({"-H", "::1", "stat"}).settings;
  CHECK(s.host == "::1");
  CHECK(s.port == 995);
  s = parse_with({"-H", "[::1]", "--tls", "starttls", "stat"}).settings;
  CHECK(s.host == "::1");
  CHECK(s.port == 110);
  s = parse_with({"-H", "mail.example.org:2525", "stat"}).settings;
  CHECK(s.host == "mail.example.org");
  CHECK(s.port == 2525);
  CHECK(parse_with({"-H", "h:1995", "-p", "1995", "stat"}).settings.port == 1995);
  CHECK(code_of({"-H", "h:1995", "-p", "995", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "[h]:995", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h:0", "stat"}) == ExitCode::usage);
  Env env;
  env.vars["MAILWRENCH_HOST"] = "h:99999";
  CHECK(code_of({"stat"}, env) == ExitCode::config);
}

TEST_CASE("proxy, source address and client certificate options (issue 17.4)", "[cli][network]")
{
  auto s = parse_with({"-H", "h", "--proxy", "socks5h://127.0.0.1:9050", "--source-address",
                       "192.0.2.1", "--tls-cert", "c.pem", "--tls-key", "k.pem", "stat"})
               .settings;
  CHECK(s.proxy == "socks5h://127.0.0.1:9050");
  CHECK(s.source_address == "192.0.2.1");
  CHECK(s.tls_cert == "c.pem");
  CHECK(s.tls_key == "k.pem");
  CHECK(code_of({"-H", "h", "--proxy", "http://p:3128", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "--source-address", "eth0", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "--tls-key", "k.pem", "stat"}) == ExitCode::usage);
  CHECK(code_of({"-H", "h", "--tls", "none", "--tls-cert", "c.pem", "stat"}) == ExitCode::usage);
  TempConfig config("[account a]\nhost = h\nproxy = socks5://[::1]:1080\nsource-address = ::1\n"
                    "tls-cert = c.pem\n");
  s = parse_with({"--config", config.path, "-a", "a", "stat"}).settings;
  CHECK(s.proxy == "socks5://[::1]:1080");
  CHECK(s.source_address == "::1");
  CHECK(s.tls_cert == "c.pem");
  TempConfig bad("[account a]\nhost = h\nproxy = socks5h://u:secret@p\n");
  CHECK(code_of({"--config", bad.path, "-a", "a", "stat"}) == ExitCode::config);
}

TEST_CASE("log-file and syslog: command line, config file, environment (issue 17.6)", "[cli]")
{
  Env env;
  env.vars["HOME"] = "/home/me";
  auto s = parse_with({"-H", "h", "stat"}, env).settings;
  CHECK(s.log_file.empty());
  CHECK_FALSE(s.syslog);
  s = parse_with({"-H", "h", "stat", "--log-file", "~/mw.log", "--syslog"}, env).settings;
  CHECK(s.log_file == "/home/me/mw.log");
  CHECK(s.syslog);

  TempConfig config("log-file = ~/file.log\n[account work]\nhost = h\nsyslog = yes\n");
  s = parse_with({"--config", config.path, "-a", "work", "stat"}, env).settings;
  CHECK(s.log_file == "/home/me/file.log");
  CHECK(s.syslog);
  env.vars["MAILWRENCH_LOG_FILE"] = "/var/log/env.log";
  s = parse_with({"--config", config.path, "-a", "work", "stat"}, env).settings;
  CHECK(s.log_file == "/var/log/env.log");
  s = parse_with({"--config", config.path, "-a", "work", "--log-file", "/cli.log", "stat"}, env)
          .settings;
  CHECK(s.log_file == "/cli.log");

  TempConfig bad("host = h\nsyslog = maybe\n");
  CHECK(code_of({"--config", bad.path, "stat"}) == ExitCode::config);
}
