// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/settings.hpp"
#include "output/run_log.hpp"
#include "util/secret.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog::sinks {
class sink;
}

namespace mw::cli {

// --log-file PATH and --syslog (issue 17.6): for cron and systemd, one line per run (its
// command, account, user, server, exit code and summary) and one per failure (the error, and
// the warnings of the run), never a transcript line (-v stays on stderr). Every line is
// redacted of the secrets it was given (hide()), and shown as one visible line
// (output/run_log.hpp).
//
// The file is opened once, before any server is contacted: O_APPEND (one write(2) per line, so
// that concurrent runs do not interleave within a line), created 0600, never through a symbolic
// link, and only a regular file of this user (store::open_private); anything else is an Error 73.
// syslog: facility mail, ident "mailwrench" with the pid (LOG_PID), through spdlog's syslog sink
// (libc's syslog(3), /dev/log); without a syslog daemon the lines are dropped, the run goes on.
class RunLog {
public:
  // Null when the settings ask for neither.
  static std::unique_ptr<RunLog> open(const Settings& settings);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  // A secret (the password) that no line may show: "<redacted>" wherever it appears.
  void hide(Secret secret);
  // The sink that logs the warnings and errors of the run's logger as failure lines.
  std::shared_ptr<spdlog::sinks::sink> failure_sink();
  // A failure line: "IDENTITY: error: MESSAGE".
  void failure(std::string_view message, bool warning = false);
  // The outcome a command gives (Context::summarize), for the run line.
  void summarize(const std::string& summary) { m_summary = summary; }
  // The run line: "IDENTITY: exit CODE: SUMMARY".
  void finished(int exit_code);

private:
  struct Impl;
  explicit RunLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
  std::string m_summary;
};

}  // namespace mw::cli
