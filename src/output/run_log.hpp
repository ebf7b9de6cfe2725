// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mw::output {

// The lines of --log-file and --syslog (issue 17.6): for cron and systemd, one line per run
// and one per failure, e.g. (each on one line)
//
//   2026-12-03T14:11:02Z mailwrench[4711]: fetch account=work user=alice
//     server=pop.example.org:995: exit 0: stored 12 messages (3.4 MiB) in 1.20 s, ...
//   2026-12-03T14:11:02Z mailwrench[4711]: fetch account=work user=alice
//     server=pop.example.org:995: error: authentication failed: -ERR ...
//
// Every text that goes in is made one visible line (text::one_line: no terminal escape, CR or
// LF a server sent reaches the log raw) after each secret in it is replaced by "<redacted>".

// Who a run was for: the command, the config file's account ("-" for none), the user and the
// server ("-" where unknown).
struct RunIdentity {
  std::string command;
  std::string account;
  std::string user;
  std::string host;
  std::uint16_t port = 0;
};

// "fetch account=work user=alice server=pop.example.org:995" (an IPv6 address in brackets).
std::string identity_text(const RunIdentity& who);

// `text` redacted and on one visible line.
std::string log_text(std::string_view text, const std::vector<std::string>& secrets);

// "IDENTITY: exit CODE" and ": SUMMARY" when there is one.
std::string run_text(const RunIdentity& who, int exit_code, std::string_view summary,
                     const std::vector<std::string>& secrets);
// "IDENTITY: error: MESSAGE" (or "warning: ").
std::string failure_text(const RunIdentity& who, std::string_view level, std::string_view message,
                         const std::vector<std::string>& secrets);

// ISO 8601 in UTC, to the second: "2026-12-03T14:11:02Z".
std::string iso8601_utc(std::chrono::system_clock::time_point when);

// One line of the log file: "TIME mailwrench[PID]: TEXT\n" (TEXT as log_text made it).
std::string file_line(std::chrono::system_clock::time_point when, long pid, std::string_view text);

}  // namespace mw::output
