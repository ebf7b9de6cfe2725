// SPDX-License-Identifier: Apache-2.0
#include "cli/options.hpp"

#include "net/address.hpp"
#include "sasl/mechanism.hpp"
#include "select/selection.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

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
    "smtp-host",
    "smtp-port",
    "smtp-tls",
    "smtp-user",
    "smtp-auth",
    "smtp-password-command",
    "smtp-password-file",
    "from",
    "state",
    "output",
};

// Options the config file and the environment may not set.
const std::vector<std::string> k_command_line_only = {
    "account", "all-accounts", "jobs", "config", "help", "version", "verbose", "json", "quiet"};

po::options_description global_options()
{
  po::options_description d("Global options", k_help_width);
  // clang-format off
  d.add_options()
    ("account,a", po::value<std::string>()->value_name("NAME"),
     "use the [account NAME] section of the config file (repeatable: each account in turn)")
    ("all-accounts", po::bool_switch(),
     "run the command for every [account NAME] of the config file, in file order")
    ("jobs", po::value<std::string>()->value_name("N"),
     "with several accounts, run up to N of them at once (default 1)")
    ("config", po::value<std::string>()->value_name("FILE"),
     "config file (default $XDG_CONFIG_HOME/mailwrench/config)")
    ("host,H", po::value<std::string>()->value_name("HOST"),
     "server host name or address (a /path: a Unix-domain socket)")
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
    ("tls-cert", po::value<std::string>()->value_name("FILE"),
     "present the client certificate in FILE (PEM) to servers that require one")
    ("tls-key", po::value<std::string>()->value_name("FILE"),
     "the key of --tls-cert (PEM, unencrypted, mode 600; default: in the --tls-cert file)")
    ("source-address", po::value<std::string>()->value_name("ADDR"),
     "connect from this IPv4 or IPv6 address of this machine")
    ("proxy", po::value<std::string>()->value_name("URL"),
     "connect through a SOCKS5 proxy: socks5h://HOST:PORT (the proxy resolves the server's "
     "name) or socks5://HOST:PORT; socks5h://USER@HOST:PORT logs in with the password in "
     "MAILWRENCH_PROXY_PASSWORD")
    ("timeout", po::value<std::string>()->value_name("SECONDS"),
     "deadline for connecting and for every read and write (default 30)")
    ("no-pipelining", po::bool_switch(),
     "send one command per round trip even if the server offers PIPELINING")
    ("json", po::bool_switch(), "print one JSON document on stdout")
    ("verbose,v", po::bool_switch(),
     "print the protocol transcript on stderr, secrets redacted (-vv: debug log)")
    ("quiet,q", po::bool_switch(), "print only errors on stderr")
    ("log-file", po::value<std::string>()->value_name("FILE"),
     "append a line per run and per failure to FILE (secrets redacted; created 0600, never "
     "through a symbolic link)")
    ("syslog", po::bool_switch(), "send those lines to syslog too (facility mail)")
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

// A command's own options, and the selection options if it takes a SELECTION.
po::options_description own_options(const Command& command)
{
  po::options_description d(std::string(command.name) + " options", k_help_width);
  if (command.declare != nullptr) {
    command.declare(d);
  }
  if (command.selection) {
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

// Words parsed against `visible` and the positional "args", abbreviations not guessed; throws
// po::error.
po::variables_map store_words(const std::vector<std::string>& words,
                              const po::options_description& visible)
{
  po::options_description desc;
  desc.add(visible).add(positional_options());
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(words).options(desc).positional(positional).style(style).run(),
            vm);
  po::notify(vm);
  return vm;
}

// Every option of every command, for finding the command word and for "did you mean".
po::options_description all_options(const CommandTable& table)
{
  po::options_description d;
  d.add(global_options());
  for (const auto& c : table) {
    auto own = own_options(c);
    for (const auto& opt : own.options()) {
      if (d.find_nothrow(opt->long_name(), false) == nullptr) {
        d.add(opt);
      }
    }
  }
  return d;
}

const Command* find_command(const CommandTable& table, std::string_view name)
{
  auto it =
      std::find_if(table.begin(), table.end(), [&](const Command& c) { return c.name == name; });
  return it == table.end() ? nullptr : &*it;
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

// The keys a config file may set: the global options but those of the command line only,
// and the keys of send and fetch.
std::vector<std::string> config_keys()
{
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
  return allowed;
}

// The values of a config file: those before any section, and those of each [account NAME].
struct ConfigSections {
  ConfigValues top;
  std::map<std::string, ConfigValues> sections;
  std::vector<std::string> order;  // the section names, in file order
};

ConfigSections read_sections(std::istream& in, const std::string& path)
{
  const auto allowed = config_keys();
  ConfigValues top;
  std::map<std::string, ConfigValues> sections;
  std::vector<std::string> order;
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
      if (sections.count(section) == 0) {
        order.push_back(section);
      }
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
  return {std::move(top), std::move(sections), std::move(order)};
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
  auto [top, sections, order] = read_sections(in, path);
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
  throw Error(ExitCode::config,
              "invalid value '" + text + "' for " + key + " (expected true or false)");
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
    sel.set_larger_than(for_option(
        "larger-than", [&] { return select::parse_size(vm["larger-than"].as<std::string>()); }));
  }
  if (vm.count("smaller-than") != 0) {
    sel.set_smaller_than(for_option(
        "smaller-than", [&] { return select::parse_size(vm["smaller-than"].as<std::string>()); }));
  }
  if (vm.count("older-than") != 0) {
    sel.set_older_than(for_option(
        "older-than", [&] { return select::parse_age(vm["older-than"].as<std::string>()); }));
  }
  if (vm.count("newer-than") != 0) {
    sel.set_newer_than(for_option(
        "newer-than", [&] { return select::parse_age(vm["newer-than"].as<std::string>()); }));
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

}  // namespace

select::Selection parse_selection(const std::vector<std::string>& words)
{
  po::variables_map vm;
  try {
    vm = store_words(words, selection_options());
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (vm.count("uid-file") != 0 && vm["uid-file"].as<std::string>() == "-") {
    throw UsageError("--uid-file - cannot read standard input in a session");
  }
  Settings settings;
  build_selection(vm, settings);
  return std::move(settings.selection);
}

namespace {

std::string environment_name(const std::string& option)
{
  std::string name = "MAILWRENCH_";
  for (char c : option) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

}  // namespace

std::uint64_t parse_number(const std::string& text, const std::string& what)
{
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    throw UsageError("invalid " + what + " '" + text + "' (expected a whole number)");
  }
  return value;
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

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates)
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

std::string help_text(const CommandTable& table, std::string_view command)
{
  std::ostringstream out;
  const Command* row = find_command(table, command);
  if (row == nullptr) {
    out << "mailwrench - look into, export and repair mailboxes over POP3, and send test mail "
           "over SMTP\n\n"
        << "Usage: mailwrench [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS] [ARGS]\n\n"
        << "Commands:\n";
    for (const auto& c : table) {
      std::string head = std::string(c.name) + " " + std::string(c.synopsis);
      out << "  " << head << std::string(head.size() < 22 ? 22 - head.size() : 1, ' ') << c.summary
          << "\n";
    }
    out << "  help COMMAND          the options of COMMAND\n\n" << global_options();
    out << "\nSee 'mailwrench help COMMAND' and the manual page mailwrench(1).\n";
    return out.str();
  }
  out << "Usage: mailwrench [GLOBAL OPTIONS] " << row->name << " [OPTIONS]"
      << (row->synopsis.empty() ? "" : " ") << row->synopsis << "\n\n"
      << row->summary << "\n";
  auto own = own_options(*row);
  if (!own.options().empty()) {
    out << "\n" << own;
  }
  if (row->selection) {
    out << "\nSELECTION: message numbers and ranges such as 3, 5-9, 1,4,7 or 10-\n";
  }
  // The global options are the same for every command: one page has them.
  out << "\nGlobal options (connection, login, TLS, output, -v, -q ...): see 'mailwrench "
         "--help'.\n";
  return out.str();
}

Options::Options(const po::variables_map& given, const Settings& settings, Lookup configured,
                 AccountReader account, Getenv getenv, Blame blame)
    : m_given(given), m_settings(settings), m_configured(std::move(configured)),
      m_account(std::move(account)), m_getenv(std::move(getenv)), m_blame(std::move(blame))
{
}

void Options::blame(const std::string& key, const Error& error) const
{
  m_blame(key, error);
  throw error;
}

bool Options::flag(const std::string& key) const
{
  return m_given.count(key) != 0 && m_given[key].as<bool>();
}

std::optional<std::string> Options::given(const std::string& key) const
{
  if (m_given.count(key) != 0 && !m_given[key].defaulted()) {
    return m_given[key].as<std::string>();
  }
  return std::nullopt;
}

std::vector<std::string> Options::given_all(const std::string& key) const
{
  return m_given.count(key) != 0 ? m_given[key].as<std::vector<std::string>>()
                                 : std::vector<std::string>{};
}

std::optional<std::string> Options::configured(const std::string& key) const
{
  return m_configured(key);
}

std::string Options::configured_path(const std::string& key) const
{
  return expand_home(configured(key).value_or(""), m_getenv);
}

std::vector<std::string> Options::arguments() const
{
  return given_all("args");
}

Settings Options::account(const std::string& name) const
{
  return m_account(name);
}

void Options::require_server() const
{
  if (m_settings.host.empty()) {
    throw UsageError("no server given: use --host HOST, or -a ACCOUNT with 'host = ...' in the "
                     "config file");
  }
}

namespace {

// The words of the command line, with the command word taken out.
struct Words {
  std::vector<std::string> args;
  std::string command;
  int verbosity = 0;
};

// One pass over the words: count -v (Program_options has no counting switch), stop at an
// unknown option before it can be mistaken for the command, and find the command word,
// skipping options and their values, so that global options may come before or after it.
Words split_words(const std::vector<std::string>& input_args,
                  const po::options_description& every_option)
{
  Words w;
  std::optional<std::size_t> command_at;
  bool options_ended = false;
  for (std::size_t i = 0; i < input_args.size(); ++i) {
    const auto& a = input_args[i];
    bool is_option = !options_ended && a.size() > 1 && a[0] == '-';
    if (is_option && a == "--") {
      options_ended = true;
      w.args.push_back(a);
      continue;
    }
    if (is_option && (a == "--verbose" || a.find_first_not_of('v', 1) == std::string::npos)) {
      w.verbosity += a == "--verbose" ? 1 : static_cast<int>(a.size() - 1);
      continue;
    }
    if (is_option) {
      w.args.push_back(a);
      if (a.starts_with("--")) {
        auto name = a.substr(2, a.find('=') - 2);
        if (every_option.find_nothrow(name, false) == nullptr) {
          auto hint = closest(name, long_names(every_option));
          throw UsageError("unknown option '--" + name + "'" +
                           (hint ? " (did you mean '--" + *hint + "'?)" : ""));
        }
      }
      if (takes_value(every_option, a) && i + 1 < input_args.size()) {
        w.args.push_back(input_args[++i]);
      }
      continue;
    }
    if (!command_at) {
      command_at = w.args.size();
    }
    w.args.push_back(a);
  }
  if (command_at) {
    w.command = w.args[*command_at];
    w.args.erase(w.args.begin() + static_cast<std::ptrdiff_t>(*command_at));
  }
  return w;
}

// Program_options' reading of the words, its errors made ours: an unknown option names the
// command, the closest option, or the command it belongs to.
po::variables_map read_words(const std::vector<std::string>& args, const CommandTable& table,
                             const Command* command)
{
  po::options_description visible = global_options();
  if (command != nullptr) {
    visible.add(own_options(*command));
  }
  po::variables_map vm;
  try {
    vm = store_words(args, visible);
  } catch (const po::unknown_option& e) {
    auto name = e.get_option_name();
    auto bare = name;
    while (bare.starts_with("-")) {
      bare.erase(0, 1);
    }
    auto hint = closest(bare, long_names(visible));
    std::string where = command == nullptr ? "" : " for '" + std::string(command->name) + "'";
    if (!hint) {
      for (const auto& c : table) {
        if (own_options(c).find_nothrow(bare, false) != nullptr) {
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
  return vm;
}

// Where a value came from, by precedence: command line > environment > config file > default.
enum class Source { none, command_line, environment, config_file };

// The three sources of the settings, and how an error in a value names where it came from.
class Sources {
public:
  Sources(const po::variables_map& vm, Getenv getenv, ConfigValues file, std::string config_file)
      : m_vm(vm), m_getenv(std::move(getenv)), m_file(std::move(file)),
        m_config_file(std::move(config_file))
  {
  }

  // smtp-* keys configure send; the POP3 port and TLS mode never carry over to SMTP, while
  // host, user, auth and password sources do when no smtp-* key replaces them.
  void use_smtp_keys()
  {
    m_file.erase("port");
    m_file.erase("tls");
    for (const auto* key :
         {"host", "port", "tls", "user", "auth", "password-command", "password-file"}) {
      if (auto it = m_file.find(std::string("smtp-") + key); it != m_file.end()) {
        m_file[key] = it->second;
      }
    }
  }

  // A switch of the command line only (a command's own, absent from other commands' maps).
  bool switched(const std::string& key) const
  {
    return m_vm.count(key) != 0 && m_vm[key].as<bool>();
  }

  std::optional<std::string> given(const std::string& key) const
  {
    if (m_vm.count(key) != 0 && !m_vm[key].defaulted()) {
      return m_vm[key].as<std::string>();
    }
    return std::nullopt;
  }

  std::optional<std::string> lookup(const std::string& key, Source* source = nullptr) const
  {
    auto from = [source](Source s) {
      if (source != nullptr) {
        *source = s;
      }
    };
    if (auto v = given(key)) {
      from(Source::command_line);
      return v;
    }
    if (auto v = m_getenv(environment_name(key))) {
      from(Source::environment);
      return v;
    }
    if (auto it = m_file.find(key); it != m_file.end()) {
      from(Source::config_file);
      return it->second.value;
    }
    from(Source::none);
    return std::nullopt;
  }

  // What a value's error calls it: the option the user typed, or the key of the config file
  // (as spelt there: smtp-port for send's port) or the environment variable.
  std::string name_of(const std::string& key, Source source) const
  {
    if (source == Source::config_file) {
      return m_file.at(key).key;
    }
    if (source == Source::environment) {
      return environment_name(key);
    }
    return "--" + key;
  }

  // Checks a value: an error in one the command line gave is a usage error (64); in one that
  // came from the config file or the environment, which the user may never have typed, it is
  // a configuration error (78) that names the file and line, or the variable.
  template <typename F> auto checked(const std::string& key, Source source, const F& check) const
  {
    try {
      return check();
    } catch (const Error& e) {
      if (source == Source::config_file) {
        throw Error(ExitCode::config, "config file '" + m_config_file + "' line " +
                                          std::to_string(m_file.at(key).line) + ": " + e.what());
      }
      if (source == Source::environment) {
        throw Error(ExitCode::config, "in the environment: " + std::string(e.what()));
      }
      throw;
    }
  }

  // A switch: given on the command line, or true/yes/on in the config file.
  bool flag(const std::string& key) const
  {
    if (m_vm[key].as<bool>()) {
      return true;
    }
    if (auto it = m_file.find(key); it != m_file.end()) {
      return checked(key, Source::config_file, [&] { return parse_bool(it->second.value, key); });
    }
    return false;
  }

  // A whole number in [1, max] for the setting `key` ("port" or "timeout").
  std::optional<std::uint64_t> number(const std::string& key, std::uint64_t max,
                                      const std::string& expected) const
  {
    Source source = Source::none;
    auto text = lookup(key, &source);
    if (!text) {
      return std::nullopt;
    }
    return checked(key, source, [&] {
      auto what = source == Source::command_line ? key : name_of(key, source);
      auto n = parse_number(*text, what);
      if (n == 0 || n > max) {
        throw UsageError("invalid " + what + " '" + *text + "' (expected " + expected + ")");
      }
      return n;
    });
  }

private:
  const po::variables_map& m_vm;
  Getenv m_getenv;
  ConfigValues m_file;
  std::string m_config_file;
};

// Host, TLS mode and port (by the service's defaults), user and mechanism.
void read_server(const Sources& in, Service service, Settings& s)
{
  Source source = Source::none;
  // A port may be written with the host: "mail.example.org:995", "[::1]:995". A host that is
  // a path is a Unix-domain socket (send --lmtp to a local delivery agent): local, so no TLS
  // unless asked for. send --lmtp over TCP too: port 24 (IANA's; RFC 2033 names none), no TLS
  // unless asked for.
  const bool lmtp = in.switched("lmtp");
  std::optional<std::uint16_t> host_port;
  if (auto host = in.lookup("host", &source); host && host->starts_with('/')) {
    s.host = *host;
  } else if (host) {
    in.checked("host", source, [&] {
      auto split = net::split_host_port(*host, in.name_of("host", source));
      s.host = split.host;
      host_port = split.port;
    });
  }
  auto tls =
      in.lookup("tls", &source).value_or(s.host.starts_with('/') || lmtp ? "none" : "implicit");
  in.checked("tls", source, [&] {
    if (tls == "implicit") {
      s.tls = TlsMode::implicit;
    } else if (tls == "starttls") {
      s.tls = TlsMode::starttls;
    } else if (tls == "none") {
      s.tls = TlsMode::none;
    } else {
      throw UsageError("invalid " + in.name_of("tls", source) + " '" + tls +
                       "' (expected implicit, starttls or none)");
    }
  });
  if (auto port = in.number("port", 65535, "1-65535")) {
    s.port = static_cast<std::uint16_t>(*port);
    if (host_port && *host_port != s.port) {
      throw UsageError("the port written with the host (" + std::to_string(*host_port) +
                       ") is not the one --port gives (" + std::to_string(s.port) +
                       "); give it once");
    }
  } else if (host_port) {
    s.port = *host_port;
  } else if (lmtp) {
    s.port = 24;
  } else if (service == Service::smtp) {
    s.port = s.tls == TlsMode::implicit ? 465 : s.tls == TlsMode::starttls ? 587 : 25;
  } else {
    s.port = s.tls == TlsMode::implicit ? 995 : 110;
  }
  s.user = in.lookup("user").value_or("");
  s.auth = text::lower(in.lookup("auth", &source).value_or("auto"));
  // auto, POP3's own logins, and every SASL mechanism of sasl::supported().
  std::vector<std::string> auths = {"auto", "user", "apop"};
  for (auto name : sasl::supported()) {
    auths.push_back(text::lower(name));
  }
  if (std::find(auths.begin(), auths.end(), s.auth) == auths.end()) {
    auto hint = closest(s.auth, auths);
    in.checked("auth", source, [&] {
      throw UsageError("invalid " + in.name_of("auth", source) + " '" + s.auth + "'" +
                       (hint ? " (did you mean '" + *hint + "'?)" : "") + "; expected one of " +
                       text::join(auths, ", "));
    });
  }
}

// The password source, by the same precedence as everything else: command line, then the
// environment (MAILWRENCH_PASSWORD_COMMAND, _FILE, MAILWRENCH_PASSWORD), then the config
// file; ~/.netrc and the prompt come after all of them.
PasswordSource read_password_source(const Sources& in, const Getenv& getenv)
{
  Source cmd_source = Source::none;
  Source file_source = Source::none;
  auto pw_command = in.lookup("password-command", &cmd_source);
  auto pw_file = in.lookup("password-file", &file_source);
  if (pw_command && pw_file && cmd_source == file_source) {
    throw UsageError("give either a password command or a password file, not both");
  }
  auto env_password = getenv("MAILWRENCH_PASSWORD");
  auto level = [](Source from) { return from == Source::none ? 9 : static_cast<int>(from); };
  int env_level = env_password ? static_cast<int>(Source::environment) : 9;
  int best = std::min({level(cmd_source), level(file_source), env_level});
  if (best == 9) {
    return {};
  }
  if (pw_command && level(cmd_source) == best) {
    return {PasswordSource::Kind::command, *pw_command};
  }
  if (pw_file && level(file_source) == best) {
    return {PasswordSource::Kind::file, expand_home(*pw_file, getenv)};
  }
  return {PasswordSource::Kind::environment, "MAILWRENCH_PASSWORD"};
}

// How the server is trusted and talked to: plaintext, CA file, pin, timeout, pipelining.
void read_transport(const Sources& in, const Getenv& getenv, Settings& s)
{
  s.allow_plaintext = in.flag("allow-plaintext");
  if (s.allow_plaintext && s.tls != TlsMode::none) {
    throw UsageError("--allow-plaintext only makes sense with --tls none");
  }
  s.cacert = expand_home(in.lookup("cacert").value_or(""), getenv);
  Source source = Source::none;
  s.fingerprint = in.lookup("fingerprint", &source).value_or("");
  if (!s.fingerprint.empty()) {
    in.checked("fingerprint", source,
               [&] { check_fingerprint(s.fingerprint, in.name_of("fingerprint", source)); });
  }
  s.insecure = in.flag("insecure");
  if (s.insecure && !s.fingerprint.empty()) {
    throw UsageError("--insecure turns off every certificate check, --fingerprint pins one; "
                     "give only one of them");
  }
  s.tls_cert = expand_home(in.lookup("tls-cert").value_or(""), getenv);
  s.tls_key = expand_home(in.lookup("tls-key").value_or(""), getenv);
  if (!s.tls_key.empty() && s.tls_cert.empty()) {
    throw UsageError("--tls-key is the key of a client certificate: give --tls-cert FILE too");
  }
  if (!s.tls_cert.empty() && s.tls == TlsMode::none) {
    throw UsageError("--tls-cert needs TLS: use --tls implicit or --tls starttls");
  }
  s.source_address = in.lookup("source-address", &source).value_or("");
  if (!s.source_address.empty() && !net::is_ip_literal(s.source_address)) {
    in.checked("source-address", source, [&] {
      throw UsageError("invalid " + in.name_of("source-address", source) + " '" + s.source_address +
                       "' (expected an IPv4 or IPv6 address of this machine)");
    });
  }
  s.proxy = in.lookup("proxy", &source).value_or("");
  in.checked("proxy", source, [&] { net::parse_proxy(s.proxy, in.name_of("proxy", source)); });
  if (auto timeout = in.number("timeout", 86400, "1-86400 seconds")) {
    s.timeout = std::chrono::seconds(*timeout);
  }
  s.pipelining = !in.flag("no-pipelining");
}

// Reads the config file the command line or the environment names (or the default one).
ConfigValues read_config_file(const Sources& cli_only, const Getenv& getenv, Settings& s)
{
  auto account = cli_only.given("account");
  if (!account) {
    account = getenv("MAILWRENCH_ACCOUNT");
  }
  s.account = account.value_or("");
  bool explicit_config = true;
  auto config = cli_only.given("config");
  if (!config) {
    config = getenv("MAILWRENCH_CONFIG");
  }
  if (!config) {
    config = default_config_path(getenv);
    explicit_config = false;
  }
  s.config_file = expand_home(*config, getenv);
  return s.config_file.empty() ? ConfigValues{}
                               : read_config(s.config_file, s.account, explicit_config);
}

// The command a help request is about: "help COMMAND" (the first word after help that is not
// an option), "" for the program's help.
std::string help_topic(const Words& words)
{
  for (const auto& a : words.args) {
    if (!a.starts_with("-")) {
      return a;
    }
  }
  return "";
}

const Command& known_command(const CommandTable& table, const std::string& command)
{
  if (const auto* row = find_command(table, command)) {
    return *row;
  }
  std::vector<std::string> names;
  for (const auto& c : table) {
    names.emplace_back(c.name);
  }
  auto hint = closest(command, names);
  throw UsageError("unknown command '" + command + "'" +
                   (hint ? " (did you mean '" + *hint + "'?)" : "") +
                   "; 'mailwrench --help' lists the commands");
}

}  // namespace

void find_log_target(const std::vector<std::string>& args, const Getenv& getenv, Settings& s)
{
  try {
    po::options_description d;
    // clang-format off
    d.add_options()
      ("log-file", po::value<std::string>())
      ("syslog", po::bool_switch())
      ("config", po::value<std::string>())
      ("account,a", po::value<std::vector<std::string>>());
    // clang-format on
    d.add(positional_options());
    po::positional_options_description positional;
    positional.add("args", -1);
    po::variables_map vm;
    auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args)
                  .options(d)
                  .positional(positional)
                  .style(style)
                  .allow_unregistered()
                  .run(),
              vm);
    // Several accounts (-a more than once, --all-accounts): the run as a whole logs where the
    // top keys say; one account: where its section says.
    if (auto account = vm.find("account"); account != vm.end()) {
      auto names = account->second.as<std::vector<std::string>>();
      vm.erase(account);
      if (names.size() == 1 &&
          std::find(args.begin(), args.end(), "--all-accounts") == args.end()) {
        vm.emplace("account", po::variable_value(boost::any(names.front()), false));
      }
    }
    ConfigValues file;
    try {
      file = read_config_file(Sources(vm, getenv, {}, ""), getenv, s);
    } catch (const Error&) {
      std::string no_account;
      file = s.config_file.empty() ? ConfigValues{} : read_config(s.config_file, no_account, false);
    }
    Sources in(vm, getenv, std::move(file), s.config_file);
    s.log_file = expand_home(in.lookup("log-file").value_or(""), getenv);
    s.syslog = in.flag("syslog");
  } catch (const std::exception&) {
    s.log_file.clear();
    s.syslog = false;
  }
}

namespace {

Invocation parse_invocation(const std::vector<std::string>& input_args, const CommandTable& table,
                            const Getenv& getenv, Settings* known)
{
  Invocation inv;
  auto& s = inv.settings;
  const auto words = split_words(input_args, all_options(table));
  s.verbosity = words.verbosity;
  if (words.command == "help") {
    inv.action = Invocation::Action::help;
    inv.help_topic = help_topic(words);
    if (!inv.help_topic.empty()) {
      known_command(table, inv.help_topic);
    }
    return inv;
  }
  const Command* row = words.command.empty() ? nullptr : &known_command(table, words.command);
  const auto vm = read_words(words.args, table, row);
  if (vm["version"].as<bool>()) {
    inv.action = Invocation::Action::version;
    return inv;
  }
  if (vm["help"].as<bool>()) {
    inv.action = Invocation::Action::help;
    inv.help_topic = words.command;
    return inv;
  }
  if (row == nullptr) {
    throw UsageError("no command given; 'mailwrench --help' lists them");
  }
  s.command = words.command;
  s.json = vm["json"].as<bool>();
  s.quiet = vm["quiet"].as<bool>();
  if (known != nullptr) {
    *known = s;
  }

  auto file = read_config_file(Sources(vm, getenv, {}, ""), getenv, s);
  Sources in(vm, getenv, std::move(file), s.config_file);
  Service service = row->service;
  if (const std::string smtp(row->smtp_switch);
      !smtp.empty() && vm.count(smtp) != 0 && vm[smtp].as<bool>()) {
    service = Service::smtp;
  }
  if (service == Service::smtp) {
    in.use_smtp_keys();
  }
  // First where the log goes, so that a mistake in any other value is logged (cli/run.cpp).
  s.log_file = expand_home(in.lookup("log-file").value_or(""), getenv);
  s.syslog = in.flag("syslog");
  if (known != nullptr) {
    *known = s;
  }
  read_server(in, service, s);
  if (known != nullptr) {
    *known = s;
  }
  s.password = read_password_source(in, getenv);
  read_transport(in, getenv, s);
  if (row->selection) {
    build_selection(vm, s);
  } else if (vm.count("args") != 0) {
    throw UsageError("'" + s.command + "' takes no arguments (got '" +
                     vm["args"].as<std::vector<std::string>>().front() + "')");
  }

  auto lookup = [&in](const std::string& key) { return in.lookup(key); };
  // Another account (send --await): configured like any POP3 account, so parsed as one; the
  // MAILWRENCH_* variables (a password, a host) were meant for this run, not for it.
  auto account = [&](const std::string& name) {
    std::vector<std::string> args = {"-a", name, "stat"};
    if (!s.config_file.empty()) {
      args.insert(args.begin(), {"--config", s.config_file});
    }
    Getenv account_env = [&getenv](const std::string& var) -> std::optional<std::string> {
      return var.starts_with("MAILWRENCH_") ? std::nullopt : getenv(var);
    };
    return parse(args, table, account_env).settings;
  };
  auto blame = [&in](const std::string& key, const Error& error) {
    Source source = Source::none;
    in.lookup(key, &source);
    in.checked(key, source, [&] { throw error; });
  };
  inv.run = row->prepare(Options(vm, s, lookup, account, getenv, blame));
  return inv;
}

}  // namespace

Invocation parse(const std::vector<std::string>& args, const CommandTable& table,
                 const Getenv& getenv, Settings* known)
{
  try {
    return parse_invocation(args, table, getenv, known);
  } catch (const Error&) {
    if (known != nullptr && known->log_file.empty() && !known->syslog) {
      find_log_target(args, getenv, *known);
    }
    throw;
  }
}

}  // namespace mw::cli

namespace mw::cli {

AccountsRequest split_accounts(const std::vector<std::string>& args, const CommandTable& table)
{
  const auto every = all_options(table);
  AccountsRequest request;
  std::optional<std::string> jobs;
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (options_ended || a.size() < 2 || a[0] != '-') {
      request.rest.push_back(a);
      continue;
    }
    if (a == "--") {
      options_ended = true;
      request.rest.push_back(a);
      continue;
    }
    // The option's long name and its value, from "--name=value", "--name value", "-xvalue" or
    // "-x value"; a switch (-q, -vv, --dry-run) has none.
    std::string name;
    std::optional<std::string> value;
    std::size_t words = 1;
    if (a.starts_with("--")) {
      const auto eq = a.find('=');
      name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (takes_value(every, a) && i + 1 < args.size()) {
        value = args[i + 1];
        words = 2;
      }
    } else if (const auto* opt = every.find_nothrow(a.substr(0, 2), false, false, false);
               opt != nullptr) {
      name = opt->long_name();
      if (opt->semantic()->max_tokens() == 0) {
        // A switch, or several in one word (-qv).
      } else if (a.size() > 2) {
        value = a.substr(2);
      } else if (i + 1 < args.size()) {
        value = args[i + 1];
        words = 2;
      }
    }
    if (name == "account" && value) {
      request.accounts.push_back(*value);
    } else if (name == "all-accounts" && !value) {
      request.all = true;
    } else if (name == "jobs" && value) {
      jobs = value;
    } else {
      request.rest.insert(request.rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i),
                          args.begin() + static_cast<std::ptrdiff_t>(i + words));
      if (!name.empty()) {
        request.options.emplace_back(name, value.value_or(""));
      }
    }
    i += words - 1;
  }
  if (jobs) {
    const auto n = parse_number(*jobs, "--jobs");
    if (n == 0 || n > 1000) {
      throw UsageError("invalid --jobs '" + *jobs + "' (expected 1-1000 accounts at once)");
    }
    request.jobs = static_cast<unsigned>(n);
  }
  return request;
}

ConfigAccounts config_accounts(const AccountsRequest& request, const Getenv& getenv)
{
  ConfigAccounts found;
  std::optional<std::string> config;
  for (const auto& [name, value] : request.options) {
    if (name == "config") {
      config = value;
    }
  }
  found.explicit_file = config.has_value();
  if (!config) {
    config = getenv("MAILWRENCH_CONFIG");
    found.explicit_file = config.has_value();
  }
  found.path = expand_home(config ? *config : default_config_path(getenv), getenv);
  std::ifstream in(found.path);
  if (found.path.empty() || !in) {
    return found;
  }
  found.exists = true;
  found.names = read_sections(in, found.path).order;
  return found;
}

}  // namespace mw::cli
