// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "cli/settings.hpp"
#include "util/secret.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mw::cli {

// A user name and its password (or OAuth token).
struct Login {
  std::string user;
  Secret password;
  std::vector<std::string> warnings;  // e.g. a password file others can read
};

// Obtains the login for settings.host: the user from settings.user or else ~/.netrc; the
// password from the source chosen by precedence (--password-command, --password-file,
// MAILWRENCH_PASSWORD, read with `getenv`), then ~/.netrc ($NETRC), then a no-echo prompt on the
// terminal. Throws Error 64/78 when there is none, and never puts the secret in an error message.
Login obtain_login(const Settings& settings, const Getenv& getenv);

// Looks up (host, user) in a .netrc file's text (the format of ftp(1) and curl: "machine HOST
// login USER password PASS", and "default"); an empty user matches the first entry for the
// host. nullopt if none.
std::optional<Login> netrc_lookup(const std::string& netrc_text, const std::string& host,
                                  const std::string& user);

}  // namespace mw::cli
