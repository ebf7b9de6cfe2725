// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "select/selection.hpp"

#include <chrono>
#include <cstdint>
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

// What every command needs, from the command line, the environment, the config file and
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
  std::string tls_cert;        // client certificate (PEM), or ""
  std::string tls_key;         // its key (PEM), or "" (in tls_cert's file)
  std::string source_address;  // connect from this address of this machine, or ""
  std::string proxy;           // socks5h://HOST:PORT or socks5://HOST:PORT, or ""
  std::chrono::seconds timeout{30};
  bool pipelining = true;

  bool json = false;
  int verbosity = 0;
  bool quiet = false;
  // One line per run and per failure (cli/run_log.hpp): appended to this file, and to syslog.
  std::string log_file;
  bool syslog = false;

  // The commands that take a SELECTION (list, top, fetch, purge); each command's other
  // options are its own (commands/*.cpp).
  select::Selection selection;
};

}  // namespace mw::cli
