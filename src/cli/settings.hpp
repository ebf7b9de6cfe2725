#pragma once

#include "select/selection.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mw::cli {

// How the connection is secured (RFC 8314 implicit TLS, RFC 2595 STLS, or none).
enum class TlsMode { implicit, starttls, none };

// Where the password comes from, after applying the precedence of DESIGN.md.
struct PasswordSource {
  enum class Kind { none, command, file, environment };
  Kind kind = Kind::none;
  std::string value;  // the command or the file name; never the password itself
};

// Everything one run needs, from the command line, the environment, the config file and
// the built-in defaults (in that order of precedence). Immutable once built.
struct Settings {
  std::string command;
  std::string account;  // the config file section used, or ""
  std::string config_file;

  std::string host;
  std::uint16_t port = 0;
  TlsMode tls = TlsMode::implicit;
  std::string user;
  std::string auth = "auto";
  PasswordSource password;
  bool allow_plaintext = false;
  std::string cacert;
  std::string fingerprint;
  bool insecure = false;
  std::chrono::seconds timeout{30};
  bool pipelining = true;

  bool json = false;
  int verbosity = 0;
  bool quiet = false;

  // list, fetch, purge
  bool headers = false;
  select::Selection selection;

  // purge
  bool dry_run = false;
  bool yes = false;

  // fetch
  std::string output;                   // "maildir:DIR", "mbox:FILE", "dir:DIR" or "-"
  bool only_new = false;                // --new
  std::string state_file;               // --state, or the default for the account
  bool delete_after = false;            // --delete
  bool flush = false;                   // --flush: also delete what earlier runs stored
  std::optional<std::uint64_t> limit;   // --limit N
  std::optional<std::uint64_t> max_size;
  bool crlf = false;
  std::chrono::seconds wait_lock{0};

  // send
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::vector<std::string> bcc;
  std::string subject;
  std::optional<std::string> body;       // --body
  std::string body_file;                 // --body-file ("-" = stdin)
  std::vector<std::string> attachments;  // --attach
  std::vector<std::string> extra_headers;
  bool raw = false;                      // send --raw; top --raw: the bytes even on a terminal
  std::string ehlo;                      // "" = this machine's FQDN
  bool chunking = false;
  std::string dsn_notify;
  std::string dsn_return;
  std::string dsn_envid;
  // send --await: the POP3 account to watch for the message, how long, and whether to delete it.
  std::shared_ptr<const Settings> await_account;
  std::chrono::seconds await_timeout{60};
  bool await_purge = false;

  // top
  std::uint64_t message = 0;
  std::uint64_t lines = 0;
};

}  // namespace mw::cli
