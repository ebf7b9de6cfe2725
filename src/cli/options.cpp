#include "cli/options.hpp"

#include "select/selection.hpp"
#include "util/error.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace po = boost::program_options;

namespace mw::cli {

namespace {

constexpr unsigned k_help_width = 100;

// Keys a config file section may hold besides the global value options: used by later
// commands (send, fetch), accepted now so that one config file serves every version.
const std::vector<std::string> k_config_only_keys = {
    "smtp-host", "smtp-port", "smtp-tls", "smtp-user", "smtp-auth", "smtp-password-command",
    "smtp-password-file", "from", "state", "output",
};

// Options the config file and the environment may not set.
const std::vector<std::string> k_command_line_only = {"account", "config", "help", "version",
                                                      "verbose", "json",   "quiet"};

po::options_description global_options()
{
  po::options_description d("Global options", k_help_width);
  // clang-format off
  d.add_options()
    ("account,a", po::value<std::string>()->value_name("NAME"),
     "use the [account NAME] section of the config file")
    ("config", po::value<std::string>()->value_name("FILE"),
     "config file (default $XDG_CONFIG_HOME/mailwrench/config)")
    ("host,H", po::value<std::string>()->value_name("HOST"), "server host name or address")
    ("port,p", po::value<std::string>()->value_name("PORT"),
     "server port (POP3: 995 with --tls implicit, else 110; send: 465 implicit, 587 starttls, "
     "25 none)")
    ("tls", po::value<std::string>()->value_name("MODE"),
     "implicit | starttls | none (default implicit)")
    ("user,u", po::value<std::string>()->value_name("USER"), "user name to log in as")
    ("auth", po::value<std::string>()->value_name("MECH"),
     "auto | user | apop | plain | login | cram-md5 | scram-sha-256 | xoauth2 | oauthbearer "
     "(default auto: the strongest the server offers)")
    ("password-command", po::value<std::string>()->value_name("CMD"),
     "run CMD with /bin/sh and read the password (or OAuth token) from its first output line")
    ("password-file", po::value<std::string>()->value_name("FILE"),
     "read the password from the first line of FILE")
    ("allow-plaintext", po::bool_switch(),
     "allow sending the password without TLS (only with --tls none)")
    ("cacert", po::value<std::string>()->value_name("FILE"),
     "trust the CA certificates in FILE (PEM) instead of the system store")
    ("fingerprint", po::value<std::string>()->value_name("SHA256"),
     "trust only the server certificate with this SHA-256 fingerprint")
    ("insecure", po::bool_switch(), "do not verify the server certificate (dangerous)")
    ("timeout", po::value<std::string>()->value_name("SECONDS"),
     "deadline for connecting and for every read and write (default 30)")
    ("no-pipelining", po::bool_switch(),
     "send one command per round trip even if the server offers PIPELINING")
    ("json", po::bool_switch(), "print one JSON document on stdout")
    ("verbose,v", po::bool_switch(),
     "print the protocol transcript on stderr, secrets redacted (-vv: debug log)")
    ("quiet,q", po::bool_switch(), "print only errors on stderr")
    ("help,h", po::bool_switch(), "show this help")
    ("version", po::bool_switch(), "show the version");
  // clang-format on
  return d;
}

po::options_description selection_options()
{
  po::options_description d("Selection (all given filters must match)", k_help_width);
  // clang-format off
  d.add_options()
    ("uid", po::value<std::vector<std::string>>()->value_name("UID")->composing(),
     "the message with this UID (repeatable)")
    ("uid-file", po::value<std::string>()->value_name("FILE"),
     "UIDs from FILE, one a line ('-' reads stdin)")
    ("larger-than", po::value<std::string>()->value_name("SIZE"),
     "messages larger than SIZE (e.g. 500K, 5M, 1G)")
    ("smaller-than", po::value<std::string>()->value_name("SIZE"), "messages smaller than SIZE")
    ("older-than", po::value<std::string>()->value_name("AGE"),
     "messages whose Date is older than AGE (e.g. 12h, 30d, 2w)")
    ("newer-than", po::value<std::string>()->value_name("AGE"),
     "messages whose Date is newer than AGE")
    ("from", po::value<std::string>()->value_name("REGEX"),
     "messages whose From matches REGEX (case-insensitive)")
    ("subject", po::value<std::string>()->value_name("REGEX"),
     "messages whose Subject matches REGEX (case-insensitive)")
    ("header", po::value<std::vector<std::string>>()->value_name("'NAME: REGEX'")->composing(),
     "messages with a header NAME matching REGEX (repeatable)")
    ("all", po::bool_switch(), "every message");
  // clang-format on
  return d;
}

po::options_description command_options(std::string_view command)
{
  po::options_description d(std::string(command) + " options", k_help_width);
  if (command == "list") {
    d.add_options()("headers", po::bool_switch(),
                    "also show From, Subject and Date (read with TOP n 0)");
    d.add(selection_options());
  } else if (command == "top") {
    d.add_options()("raw", po::bool_switch(),
                    "the message's bytes as they are, even on a terminal (which otherwise shows "
                    "control characters and cuts lines over 4096 octets)");
  } else if (command == "purge") {
    // clang-format off
    d.add_options()
      ("dry-run,n", po::bool_switch(), "show what would be deleted; delete nothing")
      ("yes,y", po::bool_switch(), "do not ask for confirmation");
    // clang-format on
    d.add(selection_options());
  } else if (command == "send") {
    // clang-format off
    d.add_options()
      ("from", po::value<std::string>()->value_name("ADDR"),
       "sender (From header and MAIL FROM)")
      ("to", po::value<std::vector<std::string>>()->value_name("ADDR")->composing(),
       "recipient (repeatable)")
      ("cc", po::value<std::vector<std::string>>()->value_name("ADDR")->composing(),
       "copy recipient (repeatable)")
      ("bcc", po::value<std::vector<std::string>>()->value_name("ADDR")->composing(),
       "blind copy recipient: envelope only, never in the headers (repeatable)")
      ("subject", po::value<std::string>()->value_name("TEXT"), "the Subject")
      ("body", po::value<std::string>()->value_name("TEXT"), "the text of the message")
      ("body-file", po::value<std::string>()->value_name("FILE"),
       "read the text from FILE ('-' = stdin; stdin is read only then or with --raw: "
       "without --body or --body-file the body is empty)")
      ("attach", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
       "attach FILE (repeatable; type from the extension)")
      ("header", po::value<std::vector<std::string>>()->value_name("'NAME: VALUE'")->composing(),
       "add or replace a header (repeatable)")
      ("raw", po::bool_switch(),
       "stdin is a complete message; the envelope comes from --from/--to or its headers")
      ("ehlo", po::value<std::string>()->value_name("NAME"),
       "the name to greet with (default: this machine's FQDN)")
      ("dry-run,n", po::bool_switch(), "print the message that would be sent; connect to nothing")
      ("chunking", po::bool_switch(), "send with BDAT when the server offers CHUNKING")
      ("dsn-notify", po::value<std::string>()->value_name("LIST"),
       "delivery status notifications: NEVER, or SUCCESS,FAILURE,DELAY")
      ("dsn-return", po::value<std::string>()->value_name("full|hdrs"),
       "what a bounce returns: the full message or its headers")
      ("dsn-envid", po::value<std::string>()->value_name("ID"), "envelope id for DSNs")
      ("await", po::value<std::string>()->value_name("ACCOUNT"),
       "then poll the POP3 account ACCOUNT (config file) until the message arrives")
      ("await-timeout", po::value<std::string>()->value_name("SECONDS"),
       "how long --await waits (default 60)")
      ("await-purge", po::bool_switch(), "delete the message from ACCOUNT once it arrived");
    // clang-format on
  } else if (command == "fetch") {
    // clang-format off
    d.add_options()
      ("output,o", po::value<std::string>()->value_name("TARGET"),
       "maildir:DIR | mbox:FILE | dir:DIR | - (stdout, one message); an existing Maildir "
       "may be given as DIR")
      ("new", po::bool_switch(), "skip messages whose UID the state file records")
      ("state", po::value<std::string>()->value_name("FILE"),
       "the state file of --new (default $XDG_STATE_HOME/mailwrench/"
       "[ACCOUNT+]USER@HOST-PORT.uids)")
      ("delete", po::bool_switch(),
       "delete each message on the server once it is safely stored")
      ("flush", po::bool_switch(),
       "with --new: also delete the messages the state file says earlier runs stored")
      ("limit", po::value<std::string>()->value_name("N"), "fetch at most N messages")
      ("max-size", po::value<std::string>()->value_name("SIZE"),
       "skip (and report) messages larger than SIZE")
      ("crlf", po::bool_switch(), "store CRLF line endings as sent (default: LF)")
      ("wait-lock", po::value<std::string>()->value_name("SECONDS"),
       "wait this long for another run on the same mailbox to finish (default 0)");
    // clang-format on
    d.add(selection_options());
  }
  return d;
}

// Positional arguments of each command, as hidden options.
po::options_description positional_options()
{
  po::options_description d;
  d.add_options()("args", po::value<std::vector<std::string>>()->composing());
  return d;
}

po::options_description all_options()
{
  po::options_description d;
  d.add(global_options());
  for (const auto& c : command_table()) {
    auto own = command_options(c.name);
    for (const auto& opt : own.options()) {
      if (d.find_nothrow(opt->long_name(), false) == nullptr) {
        d.add(opt);
      }
    }
  }
  return d;
}

std::vector<std::string> long_names(const po::options_description& d)
{
  std::vector<std::string> names;
  for (const auto& opt : d.options()) {
    names.push_back(opt->long_name());
  }
  return names;
}

bool takes_value(const po::options_description& d, std::string_view token)
{
  const po::option_description* opt = nullptr;
  if (token.starts_with("--")) {
    if (token.find('=') != std::string_view::npos) {
      return false;
    }
    opt = d.find_nothrow(std::string(token.substr(2)), false);
  } else if (token.size() == 2) {
    opt = d.find_nothrow(std::string(token), false, false, false);
  }
  return opt != nullptr && opt->semantic()->max_tokens() > 0;
}

std::string expand_home(const std::string& path, const Getenv& getenv)
{
  if (path == "~" || path.starts_with("~/")) {
    if (auto home = getenv("HOME")) {
      return *home + path.substr(1);
    }
  }
  return path;
}

std::string default_config_path(const Getenv& getenv)
{
  if (auto xdg = getenv("XDG_CONFIG_HOME"); xdg && !xdg->empty()) {
    return *xdg + "/mailwrench/config";
  }
  if (auto home = getenv("HOME")) {
    return *home + "/.config/mailwrench/config";
  }
  return "";
}

// One value of the config file: the text, the key as the file spells it (smtp-port stands in
// for port when send reads it) and its line, so that an error in it can point there.
struct ConfigValue {
  std::string value;
  std::string key;
  std::size_t line = 0;
};
using ConfigValues = std::map<std::string, ConfigValue>;

std::string trimmed(std::string_view text)
{
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

// Reads the keys that apply to `account` from an INI config file: those before any section,
// overridden by those in [account NAME]. A line whose first non-blank character is '#' or ';'
// is a comment, and so is a '#' after white space to the end of its line ("timeout = 60  #
// seconds"); a '#' anywhere else is part of the value ("pass show a#b" stays whole). The value
// is the rest of the line after '=', white space around it removed; there is no quoting.
ConfigValues read_config(const std::string& path, std::string& account, bool explicit_file)
{
  ConfigValues values;
  std::ifstream in(path);
  if (!in) {
    if (explicit_file) {
      throw Error(ExitCode::no_input, "cannot read the config file '" + path + "'");
    }
    if (!account.empty()) {
      throw Error(ExitCode::config, "no config file '" + path + "' for account '" + account +
                                        "' (--config FILE names another)");
    }
    return values;
  }
  std::vector<std::string> allowed;
  const auto globals = global_options();
  for (const auto& opt : globals.options()) {
    const auto& name = opt->long_name();
    if (std::find(k_command_line_only.begin(), k_command_line_only.end(), name) ==
        k_command_line_only.end()) {
      allowed.push_back(name);
    }
  }
  allowed.insert(allowed.end(), k_config_only_keys.begin(), k_config_only_keys.end());

  ConfigValues top;
  std::map<std::string, ConfigValues> sections;
  std::string section;
  std::string raw;
  for (std::size_t number = 1; std::getline(in, raw); ++number) {
    if (!raw.empty() && raw.back() == '\r') {
      raw.pop_back();
    }
    // Not the line itself in any message: it might hold a secret. Its number.
    const std::string at = "config file '" + path + "' line " + std::to_string(number);
    const std::string line = trimmed(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') {
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']') {
        throw Error(ExitCode::config,
                    at + " is neither 'key = value' nor a section [account NAME]");
      }
      section = trimmed(std::string_view(line).substr(1, line.size() - 2));
      if (!section.starts_with("account ") || trimmed(section.substr(8)).empty()) {
        throw Error(ExitCode::config,
                    at + ": unknown section [" + section + "] (sections are [account NAME])");
      }
      section = trimmed(section.substr(8));
      sections[section];
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || trimmed(std::string_view(line).substr(0, eq)).empty()) {
      throw Error(ExitCode::config, at + " is neither 'key = value' nor a section [account NAME]");
    }
    auto key = trimmed(std::string_view(line).substr(0, eq));
    std::string where = section.empty() ? "" : " in [account " + section + "]";
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      auto hint = closest(key, allowed);
      throw Error(ExitCode::config, at + ": unknown key '" + key + "'" + where +
                                        (hint ? " (did you mean '" + *hint + "'?)" : ""));
    }
    std::string_view text = std::string_view(line).substr(eq + 1);
    for (std::size_t i = 1; i < text.size(); ++i) {
      if (text[i] == '#' && (text[i - 1] == ' ' || text[i - 1] == '\t')) {
        text = text.substr(0, i);
        break;
      }
    }
    ConfigValue value{trimmed(text), key, number};
    if (section.empty()) {
      top[key] = std::move(value);
    } else {
      sections[section][key] = std::move(value);
    }
  }
  if (account.empty() && sections.count("default") != 0) {
    account = "default";
  }
  values = top;
  if (!account.empty()) {
    auto it = sections.find(account);
    if (it == sections.end()) {
      std::vector<std::string> names;
      for (const auto& [name, keys] : sections) {
        names.push_back(name);
      }
      auto hint = closest(account, names);
      throw Error(ExitCode::config, "no [account " + account + "] in the config file '" + path +
                                        "'" + (hint ? " (did you mean '" + *hint + "'?)" : ""));
    }
    for (const auto& [key, value] : it->second) {
      values[key] = value;
    }
  }
  return values;
}

std::uint64_t parse_number(const std::string& text, const std::string& what)
{
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    throw UsageError("invalid " + what + " '" + text + "' (expected a whole number)");
  }
  return value;
}

// The rule of net::normalize_fingerprint, checked while the options are read so that a bad
// value is blamed on where it came from, before anything connects.
void check_fingerprint(const std::string& text, const std::string& name)
{
  std::size_t digits = 0;
  for (char c : text) {
    if (c == ':' || c == ' ') {
      continue;
    }
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
      digits = 0;
      break;
    }
    ++digits;
  }
  if (text.starts_with("sha256/") || text.starts_with("SHA256:")) {
    throw UsageError(name + " takes the SHA-256 fingerprint as hex digits, e.g. "
                            "'openssl x509 -noout -fingerprint -sha256' prints it");
  }
  if (digits != 64) {
    throw UsageError("invalid " + name + " '" + text +
                     "' (expected 64 hex digits of a SHA-256 fingerprint, colons allowed)");
  }
}

bool parse_bool(const std::string& text, const std::string& key)
{
  std::string v = text;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "yes" || v == "on" || v == "1") {
    return true;
  }
  if (v == "false" || v == "no" || v == "off" || v == "0") {
    return false;
  }
  throw Error(ExitCode::config, "invalid value '" + text + "' for " + key + " (expected true or false)");
}

std::vector<std::string> read_uid_file(const std::string& path)
{
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) {
      throw Error(ExitCode::no_input, "cannot read the UID file '" + path + "'");
    }
    in = &file;
  }
  std::vector<std::string> uids;
  std::string line;
  while (std::getline(*in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    auto start = line.find_first_not_of(" \t");
    if (start != std::string::npos) {
      uids.push_back(line.substr(start));
    }
  }
  return uids;
}

// Runs a value parser for one option; its error then names the option too ("--larger-than:
// invalid size '10X' ...").
template <typename F> auto for_option(const char* option, F&& parse)
{
  try {
    return parse();
  } catch (const UsageError& e) {
    throw UsageError(std::string("--") + option + ": " + e.what());
  }
}

void build_selection(const po::variables_map& vm, Settings& s)
{
  auto& sel = s.selection;
  if (vm.count("args") != 0) {
    for (const auto& arg : vm["args"].as<std::vector<std::string>>()) {
      sel.add_ranges(arg);
    }
  }
  if (vm.count("uid") != 0) {
    for (const auto& uid : vm["uid"].as<std::vector<std::string>>()) {
      sel.add_uid(uid);
    }
  }
  if (vm.count("uid-file") != 0) {
    sel.expect_uids();
    for (auto& uid : read_uid_file(vm["uid-file"].as<std::string>())) {
      sel.add_uid(std::move(uid));
    }
  }
  if (vm.count("larger-than") != 0) {
    sel.set_larger_than(
        for_option("larger-than", [&] { return select::parse_size(vm["larger-than"].as<std::string>()); }));
  }
  if (vm.count("smaller-than") != 0) {
    sel.set_smaller_than(for_option(
        "smaller-than", [&] { return select::parse_size(vm["smaller-than"].as<std::string>()); }));
  }
  if (vm.count("older-than") != 0) {
    sel.set_older_than(
        for_option("older-than", [&] { return select::parse_age(vm["older-than"].as<std::string>()); }));
  }
  if (vm.count("newer-than") != 0) {
    sel.set_newer_than(
        for_option("newer-than", [&] { return select::parse_age(vm["newer-than"].as<std::string>()); }));
  }
  if (vm.count("from") != 0) {
    sel.set_from(vm["from"].as<std::string>());
  }
  if (vm.count("subject") != 0) {
    sel.set_subject(vm["subject"].as<std::string>());
  }
  if (vm.count("header") != 0) {
    for (const auto& h : vm["header"].as<std::vector<std::string>>()) {
      sel.add_header(h);
    }
  }
  if (vm.count("all") != 0 && vm["all"].as<bool>()) {
    sel.set_all();
  }
}

std::string environment_name(const std::string& option)
{
  std::string name = "MAILWRENCH_";
  for (char c : option) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

}  // namespace

const std::vector<CommandInfo>& command_table()
{
  static const std::vector<CommandInfo> table = {
      {"stat", "", "number of messages and total octets (STAT)"},
      {"list", "[SELECTION]", "one row per message: number, octets, UID; --headers adds From, "
                              "Subject, Date"},
      {"top", "MSG [LINES]", "headers and the first LINES body lines of message MSG (TOP)"},
      {"fetch", "[SELECTION]", "download messages into a Maildir, an mbox, a folder of .eml "
                               "files or stdout (RETR)"},
      {"purge", "SELECTION", "delete the selected messages (DELE, QUIT); --dry-run shows them"},
      {"send", "", "send one message over SMTP (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA)"},
  };
  return table;
}

std::optional<std::string> process_getenv(const std::string& name)
{
  // An empty variable counts as unset (MAILWRENCH_PASSWORD= must not send "").
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates)
{
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
      row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  // A word that begins exactly one candidate is an abbreviation of it ("--dry" → "--dry-run").
  std::optional<std::string> prefixed;
  std::size_t prefix_matches = 0;
  for (const auto& c : candidates) {
    if (word.size() >= 2 && c.starts_with(word)) {
      prefixed = c;
      ++prefix_matches;
    }
  }
  if (prefix_matches == 1) {
    return prefixed;
  }
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    auto d = distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string help_text(std::string_view command)
{
  std::ostringstream out;
  if (command.empty()) {
    out << "mailwrench - look into, export and repair mailboxes over POP3, and send test mail "
           "over SMTP\n\n"
        << "Usage: mailwrench [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS] [ARGS]\n\n"
        << "Commands:\n";
    for (const auto& c : command_table()) {
      std::string head = std::string(c.name) + " " + std::string(c.synopsis);
      out << "  " << head << std::string(head.size() < 22 ? 22 - head.size() : 1, ' ')
          << c.summary << "\n";
    }
    out << "  help COMMAND          the options of COMMAND\n\n" << global_options();
    out << "\nSee 'mailwrench help COMMAND' and the manual page mailwrench(1).\n";
    return out.str();
  }
  for (const auto& c : command_table()) {
    if (c.name == command) {
      out << "Usage: mailwrench [GLOBAL OPTIONS] " << c.name << " [OPTIONS]"
          << (c.synopsis.empty() ? "" : " ") << c.synopsis << "\n\n"
          << c.summary << "\n";
      auto own = command_options(command);
      if (!own.options().empty()) {
        out << "\n" << own;
      }
      if (command == "list" || command == "fetch" || command == "purge") {
        out << "\nSELECTION: message numbers and ranges such as 3, 5-9, 1,4,7 or 10-\n";
      }
      // The global options are the same for every command: one page has them.
      out << "\nGlobal options (connection, login, TLS, output, -v, -q ...): see 'mailwrench "
             "--help'.\n";
      return out.str();
    }
  }
  return help_text("");
}

Invocation parse(const std::vector<std::string>& input_args, const Getenv& getenv)
{
  Invocation inv;
  auto& s = inv.settings;

  // One pass over the words: count -v (Program_options has no counting switch), stop at an
  // unknown option before it can be mistaken for the command, and find the command word,
  // skipping options and their values, so that global options may come before or after it.
  const auto every_option = all_options();
  std::vector<std::string> args;
  std::optional<std::size_t> command_at;
  bool options_ended = false;
  for (std::size_t i = 0; i < input_args.size(); ++i) {
    const auto& a = input_args[i];
    bool is_option = !options_ended && a.size() > 1 && a[0] == '-';
    if (is_option && a == "--") {
      options_ended = true;
      args.push_back(a);
      continue;
    }
    if (is_option && (a == "--verbose" || a.find_first_not_of('v', 1) == std::string::npos)) {
      s.verbosity += a == "--verbose" ? 1 : static_cast<int>(a.size() - 1);
      continue;
    }
    if (is_option) {
      args.push_back(a);
      if (a.starts_with("--")) {
        auto name = a.substr(2, a.find('=') - 2);
        if (every_option.find_nothrow(name, false) == nullptr) {
          auto hint = closest(name, long_names(every_option));
          throw UsageError("unknown option '--" + name + "'" +
                           (hint ? " (did you mean '--" + *hint + "'?)" : ""));
        }
      }
      if (takes_value(every_option, a) && i + 1 < input_args.size()) {
        args.push_back(input_args[++i]);
      }
      continue;
    }
    if (!command_at) {
      command_at = args.size();
    }
    args.push_back(a);
  }

  std::string command;
  if (command_at) {
    command = args[*command_at];
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(*command_at));
  }
  if (command == "help") {
    inv.action = Invocation::Action::help;
    for (const auto& a : args) {
      if (!a.starts_with("-")) {
        inv.help_topic = a;
        break;
      }
    }
    if (!inv.help_topic.empty()) {
      command = inv.help_topic;
    } else {
      return inv;
    }
  }
  std::vector<std::string> names;
  for (const auto& c : command_table()) {
    names.emplace_back(c.name);
  }
  if (!command.empty() && std::find(names.begin(), names.end(), command) == names.end()) {
    auto hint = closest(command, names);
    throw UsageError("unknown command '" + command + "'" +
                     (hint ? " (did you mean '" + *hint + "'?)" : "") +
                     "; 'mailwrench --help' lists the commands");
  }
  if (inv.action == Invocation::Action::help) {
    return inv;
  }

  po::options_description visible = global_options();
  if (!command.empty()) {
    visible.add(command_options(command));
  }
  po::options_description desc;
  desc.add(visible).add(positional_options());
  po::positional_options_description positional;
  positional.add("args", -1);

  po::variables_map vm;
  try {
    auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args).options(desc).positional(positional).style(style).run(),
              vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    auto name = e.get_option_name();
    auto bare = name;
    while (bare.starts_with("-")) {
      bare.erase(0, 1);
    }
    auto hint = closest(bare, long_names(visible));
    std::string where = command.empty() ? "" : " for '" + command + "'";
    if (!hint) {
      // An option of another command?
      for (const auto& c : command_table()) {
        if (command_options(c.name).find_nothrow(bare, false) != nullptr) {
          where += " (it is an option of '" + std::string(c.name) + "')";
          break;
        }
      }
    }
    throw UsageError("unknown option '" + name + "'" + where +
                     (hint ? " (did you mean '--" + *hint + "'?)" : ""));
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }

  if (vm["version"].as<bool>()) {
    inv.action = Invocation::Action::version;
    return inv;
  }
  if (vm["help"].as<bool>()) {
    inv.action = Invocation::Action::help;
    inv.help_topic = command;
    return inv;
  }
  if (command.empty()) {
    throw UsageError("no command given; 'mailwrench --help' lists them");
  }
  s.command = command;
  s.json = vm["json"].as<bool>();
  s.quiet = vm["quiet"].as<bool>();

  // Precedence: command line > environment > config file > default.
  auto from_cli = [&](const std::string& key) -> std::optional<std::string> {
    if (vm.count(key) != 0 && !vm[key].defaulted()) {
      return vm[key].as<std::string>();
    }
    return std::nullopt;
  };
  auto account = from_cli("account");
  if (!account) {
    account = getenv("MAILWRENCH_ACCOUNT");
  }
  s.account = account.value_or("");
  bool explicit_config = true;
  auto config = from_cli("config");
  if (!config) {
    config = getenv("MAILWRENCH_CONFIG");
  }
  if (!config) {
    config = default_config_path(getenv);
    explicit_config = false;
  }
  s.config_file = expand_home(*config, getenv);
  auto file = s.config_file.empty() ? ConfigValues{}
                                    : read_config(s.config_file, s.account, explicit_config);

  enum class Source { none, command_line, environment, config_file };
  auto lookup = [&](const std::string& key, Source* source = nullptr) -> std::optional<std::string> {
    if (auto v = from_cli(key)) {
      if (source != nullptr) {
        *source = Source::command_line;
      }
      return v;
    }
    if (auto v = getenv(environment_name(key))) {
      if (source != nullptr) {
        *source = Source::environment;
      }
      return v;
    }
    if (auto it = file.find(key); it != file.end()) {
      if (source != nullptr) {
        *source = Source::config_file;
      }
      return it->second.value;
    }
    return std::nullopt;
  };
  // What a value's error calls it: the option the user typed, or the key of the config file
  // (as spelt there: smtp-port for send's port) or the environment variable.
  auto name_of = [&](const std::string& key, Source source) {
    if (source == Source::config_file) {
      return file.at(key).key;
    }
    if (source == Source::environment) {
      return environment_name(key);
    }
    return "--" + key;
  };
  // Checks a value: an error in one the command line gave is a usage error (64); in one that
  // came from the config file or the environment, which the user may never have typed, it is
  // a configuration error (78) that names the file and line, or the variable.
  auto checked = [&](const std::string& key, Source source, const auto& check) {
    try {
      return check();
    } catch (const Error& e) {
      if (source == Source::config_file) {
        throw Error(ExitCode::config, "config file '" + s.config_file + "' line " +
                                          std::to_string(file.at(key).line) + ": " + e.what());
      }
      if (source == Source::environment) {
        throw Error(ExitCode::config, "in the environment: " + std::string(e.what()));
      }
      throw;
    }
  };
  auto flag = [&](const std::string& key) {
    if (vm[key].as<bool>()) {
      return true;
    }
    if (auto it = file.find(key); it != file.end()) {
      return checked(key, Source::config_file, [&] { return parse_bool(it->second.value, key); });
    }
    return false;
  };

  if (command == "send") {
    // smtp-* keys configure send; the POP3 port and TLS mode never carry over to SMTP, while
    // host, user, auth and password sources do when no smtp-* key replaces them.
    file.erase("port");
    file.erase("tls");
    for (const auto* key : {"host", "port", "tls", "user", "auth", "password-command",
                            "password-file"}) {
      if (auto it = file.find(std::string("smtp-") + key); it != file.end()) {
        file[key] = it->second;
      }
    }
  }
  s.host = lookup("host").value_or("");
  bool connects = !(command == "send" && vm.count("dry-run") != 0 && vm["dry-run"].as<bool>());
  if (s.host.empty() && connects) {
    throw UsageError("no server given: use --host HOST, or -a ACCOUNT with 'host = ...' in the "
                     "config file");
  }
  Source source = Source::none;
  auto tls = lookup("tls", &source).value_or("implicit");
  checked("tls", source, [&] {
    if (tls == "implicit") {
      s.tls = TlsMode::implicit;
    } else if (tls == "starttls") {
      s.tls = TlsMode::starttls;
    } else if (tls == "none") {
      s.tls = TlsMode::none;
    } else {
      throw UsageError("invalid " + name_of("tls", source) + " '" + tls +
                       "' (expected implicit, starttls or none)");
    }
  });
  if (auto port = lookup("port", &source)) {
    s.port = checked("port", source, [&] {
      auto what = source == Source::command_line ? std::string("port") : name_of("port", source);
      auto p = parse_number(*port, what);
      if (p == 0 || p > 65535) {
        throw UsageError("invalid " + what + " '" + *port + "' (expected 1-65535)");
      }
      return static_cast<std::uint16_t>(p);
    });
  } else {
    if (command == "send") {
      s.port = s.tls == TlsMode::implicit ? 465 : s.tls == TlsMode::starttls ? 587 : 25;
    } else {
      s.port = s.tls == TlsMode::implicit ? 995 : 110;
    }
  }
  s.user = lookup("user").value_or("");
  s.auth = lookup("auth", &source).value_or("auto");
  std::transform(s.auth.begin(), s.auth.end(), s.auth.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::vector<std::string> auths = {"auto",     "user",          "apop",    "plain",
                                          "login",    "cram-md5",      "scram-sha-256",
                                          "xoauth2",  "oauthbearer"};
  if (std::find(auths.begin(), auths.end(), s.auth) == auths.end()) {
    auto hint = closest(s.auth, auths);
    checked("auth", source, [&] {
      throw UsageError("invalid " + name_of("auth", source) + " '" + s.auth + "'" +
                       (hint ? " (did you mean '" + *hint + "'?)" : "") +
                       "; expected one of auto, user, apop, plain, login, cram-md5, "
                       "scram-sha-256, xoauth2, oauthbearer");
    });
  }
  // The password source, by the same precedence as everything else: command line, then the
  // environment (MAILWRENCH_PASSWORD_COMMAND, _FILE, MAILWRENCH_PASSWORD), then the config
  // file; ~/.netrc and the prompt come after all of them.
  Source cmd_source = Source::none;
  Source file_source = Source::none;
  auto pw_command = lookup("password-command", &cmd_source);
  auto pw_file = lookup("password-file", &file_source);
  if (pw_command && pw_file && cmd_source == file_source) {
    throw UsageError("give either a password command or a password file, not both");
  }
  auto env_password = getenv("MAILWRENCH_PASSWORD");
  auto level = [](Source from) { return from == Source::none ? 9 : static_cast<int>(from); };
  int env_level = env_password ? static_cast<int>(Source::environment) : 9;
  int best = std::min({level(cmd_source), level(file_source), env_level});
  if (best == 9) {
    s.password = {};
  } else if (pw_command && level(cmd_source) == best) {
    s.password = {PasswordSource::Kind::command, *pw_command};
  } else if (pw_file && level(file_source) == best) {
    s.password = {PasswordSource::Kind::file, expand_home(*pw_file, getenv)};
  } else {
    s.password = {PasswordSource::Kind::environment, "MAILWRENCH_PASSWORD"};
  }

  s.allow_plaintext = flag("allow-plaintext");
  if (s.allow_plaintext && s.tls != TlsMode::none) {
    throw UsageError("--allow-plaintext only makes sense with --tls none");
  }
  s.cacert = expand_home(lookup("cacert").value_or(""), getenv);
  s.fingerprint = lookup("fingerprint", &source).value_or("");
  if (!s.fingerprint.empty()) {
    checked("fingerprint", source,
            [&] { check_fingerprint(s.fingerprint, name_of("fingerprint", source)); });
  }
  s.insecure = flag("insecure");
  if (s.insecure && !s.fingerprint.empty()) {
    throw UsageError("--insecure turns off every certificate check, --fingerprint pins one; "
                     "give only one of them");
  }
  if (auto timeout = lookup("timeout", &source)) {
    s.timeout = checked("timeout", source, [&] {
      auto what =
          source == Source::command_line ? std::string("timeout") : name_of("timeout", source);
      auto t = parse_number(*timeout, what);
      if (t == 0 || t > 86400) {
        throw UsageError("invalid " + what + " '" + *timeout + "' (expected 1-86400 seconds)");
      }
      return std::chrono::seconds(t);
    });
  }
  s.pipelining = !flag("no-pipelining");

  std::vector<std::string> positional_args;
  if (vm.count("args") != 0) {
    positional_args = vm["args"].as<std::vector<std::string>>();
  }
  if (command == "list") {
    s.headers = vm["headers"].as<bool>();
    build_selection(vm, s);
  } else if (command == "purge") {
    build_selection(vm, s);
    s.dry_run = vm["dry-run"].as<bool>();
    s.yes = vm["yes"].as<bool>();
    if (s.selection.empty()) {
      throw UsageError("purge needs a selection (message numbers, --uid, --from, ...) or --all; "
                       "it never deletes everything by default");
    }
  } else if (command == "send") {
    auto strings = [&](const char* key) {
      return vm.count(key) != 0 ? vm[key].as<std::vector<std::string>>()
                                : std::vector<std::string>{};
    };
    s.from = lookup("from").value_or("");
    s.to = strings("to");
    s.cc = strings("cc");
    s.bcc = strings("bcc");
    s.subject = from_cli("subject").value_or("");
    s.body = from_cli("body");
    s.body_file = from_cli("body-file").value_or("");
    s.attachments = strings("attach");
    s.extra_headers = strings("header");
    s.raw = vm["raw"].as<bool>();
    s.dry_run = vm["dry-run"].as<bool>();
    s.chunking = vm["chunking"].as<bool>();
    s.ehlo = from_cli("ehlo").value_or("");
    s.dsn_notify = from_cli("dsn-notify").value_or("");
    s.dsn_return = from_cli("dsn-return").value_or("");
    s.dsn_envid = from_cli("dsn-envid").value_or("");
    if (auto watched = from_cli("await")) {
      // The watched account is configured like any POP3 account: parse it as one.
      std::vector<std::string> await_args = {"-a", *watched};
      if (!s.config_file.empty()) {
        await_args.insert(await_args.begin(), {"--config", s.config_file});
      }
      await_args.emplace_back("stat");
      // MAILWRENCH_* (a password, a host) were meant for the SMTP side, not this account.
      Getenv account_env = [&getenv](const std::string& name) -> std::optional<std::string> {
        if (name.starts_with("MAILWRENCH_")) {
          return std::nullopt;
        }
        return getenv(name);
      };
      s.await_account =
          std::make_shared<const Settings>(parse(await_args, account_env).settings);
    }
    if (auto t = from_cli("await-timeout")) {
      // "90", "90s" or "2m".
      std::string number = *t;
      std::uint64_t unit = 1;
      if (!number.empty() && (number.back() == 's' || number.back() == 'm')) {
        unit = number.back() == 'm' ? 60 : 1;
        number.pop_back();
      }
      auto seconds = parse_number(number, "--await-timeout") * unit;
      if (seconds == 0 || seconds > 86400) {
        throw UsageError("invalid --await-timeout '" + *t + "' (expected e.g. 60, 90s or 2m)");
      }
      s.await_timeout = std::chrono::seconds(seconds);
    }
    s.await_purge = vm["await-purge"].as<bool>();
    if (s.await_purge && !s.await_account) {
      throw UsageError("--await-purge needs --await ACCOUNT");
    }
    if (s.body && !s.body_file.empty()) {
      throw UsageError("give the text with --body or with --body-file, not both");
    }
    if (s.raw && (s.body || !s.body_file.empty() || !s.attachments.empty() ||
                  !s.subject.empty() || !s.extra_headers.empty())) {
      throw UsageError("--raw sends stdin as it is: --subject, --body, --body-file, --attach "
                       "and --header do not apply");
    }
    if (!s.raw && s.to.empty() && s.cc.empty() && s.bcc.empty()) {
      throw UsageError("send needs at least one recipient: --to, --cc or --bcc");
    }
    if (!s.raw && s.from.empty()) {
      throw UsageError("send needs --from ADDR (or 'from = ...' in the config file)");
    }
    std::transform(s.dsn_return.begin(), s.dsn_return.end(), s.dsn_return.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (!s.dsn_return.empty() && s.dsn_return != "FULL" && s.dsn_return != "HDRS") {
      throw UsageError("invalid --dsn-return '" + s.dsn_return + "' (expected full or hdrs)");
    }
    std::transform(s.dsn_notify.begin(), s.dsn_notify.end(), s.dsn_notify.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (!s.dsn_notify.empty() && s.dsn_notify != "NEVER") {
      std::string_view rest = s.dsn_notify;
      while (!rest.empty()) {
        auto word = rest.substr(0, rest.find(','));
        if (word != "SUCCESS" && word != "FAILURE" && word != "DELAY") {
          throw UsageError("invalid --dsn-notify '" + s.dsn_notify +
                           "' (expected NEVER, or a list of SUCCESS, FAILURE, DELAY)");
        }
        rest.remove_prefix(std::min(rest.size(), word.size() + 1));
      }
    }
  } else if (command == "fetch") {
    build_selection(vm, s);
    s.output = lookup("output").value_or("");
    if (s.output.empty()) {
      throw UsageError("fetch needs --output maildir:DIR, mbox:FILE, dir:DIR or - (stdout)");
    }
    s.only_new = vm["new"].as<bool>();
    s.delete_after = vm["delete"].as<bool>();
    s.flush = vm["flush"].as<bool>();
    if (s.flush && !s.only_new) {
      throw UsageError("--flush deletes what the --new state file records as stored: it needs "
                       "--new");
    }
    s.crlf = vm["crlf"].as<bool>();
    s.state_file = expand_home(lookup("state").value_or(""), getenv);
    if (auto limit = from_cli("limit")) {
      s.limit = parse_number(*limit, "--limit");
    }
    if (auto max = from_cli("max-size")) {
      s.max_size = for_option("max-size", [&] { return select::parse_size(*max); });
    }
    if (auto wait = from_cli("wait-lock")) {
      s.wait_lock = std::chrono::seconds(parse_number(*wait, "--wait-lock"));
    }
  } else if (command == "top") {
    if (positional_args.empty()) {
      throw UsageError("top needs a message number: mailwrench top MSG [LINES]");
    }
    if (positional_args.size() > 2) {
      throw UsageError("top takes at most two arguments: MSG [LINES]");
    }
    s.message = parse_number(positional_args[0], "message number");
    if (s.message == 0) {
      throw UsageError("invalid message number '0' (messages are numbered from 1)");
    }
    if (positional_args.size() == 2) {
      s.lines = parse_number(positional_args[1], "line count");
    }
    s.raw = vm["raw"].as<bool>();
  } else if (!positional_args.empty()) {
    throw UsageError("'" + command + "' takes no arguments (got '" + positional_args[0] + "')");
  }
  return inv;
}

}  // namespace mw::cli
