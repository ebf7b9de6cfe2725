#pragma once

#include "cli/settings.hpp"
#include "util/secret.hpp"

#include <string>

namespace mw::cli {

// Obtains the password (or OAuth token) for settings.user at settings.host, trying in turn
// the source chosen by precedence (--password-command, --password-file, MAILWRENCH_PASSWORD),
// then ~/.netrc, then a no-echo prompt on the terminal. Throws Error 78 when there is none,
// and never puts the secret in an error message.
Secret obtain_password(const Settings& settings);

// Looks up the password for (host, user) in a .netrc file's text (the format of ftp(1) and
// curl: "machine HOST login USER password PASS", and "default"); "" if none.
Secret netrc_password(const std::string& netrc_text, const std::string& host,
                      const std::string& user);

}  // namespace mw::cli
