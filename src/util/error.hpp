// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace mw {

// Process exit codes, as sysexits.h defines them (and msmtp/mpop use them).
enum class ExitCode : int {
  ok = 0,
  partial = 1,       // some messages or recipients failed, the rest succeeded
  usage = 64,        // EX_USAGE
  data = 65,         // EX_DATAERR
  no_input = 66,     // EX_NOINPUT
  no_host = 68,      // EX_NOHOST
  unavailable = 69,  // EX_UNAVAILABLE
  software = 70,     // EX_SOFTWARE
  cant_create = 73,  // EX_CANTCREAT
  io = 74,           // EX_IOERR
  temporary = 75,    // EX_TEMPFAIL
  protocol = 76,     // EX_PROTOCOL
  permission = 77,   // EX_NOPERM
  config = 78,       // EX_CONFIG
  // 128 + the signal, as a shell reports a process killed by it (what cron, timeout(1) and a
  // script expect); the run was cut short by SIGHUP, SIGINT or SIGTERM and cleaned up.
  hangup = 129,
  interrupt = 130,
  // Standard output's reader went away (a closed pipe: `| head`): what a filter killed by
  // SIGPIPE reports, said without an error line.
  closed_pipe = 141,
  terminate = 143,
};

// True for the exit codes of a run cut short by a signal (hangup, interrupt, terminate).
constexpr bool interrupted(ExitCode code) noexcept
{
  return code == ExitCode::hangup || code == ExitCode::interrupt || code == ExitCode::terminate;
}

// The "kind" of an exit code as JSON error documents name it ("usage", "protocol", ...).
std::string_view exit_code_kind(ExitCode code);

// The one exception type that crosses layers: a message for the user and the exit code
// class it maps to. Caught once, in cli::run. Messages never contain secrets.
class Error : public std::runtime_error {
public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}

  ExitCode code() const noexcept { return m_code; }

private:
  ExitCode m_code;
};

// A malformed or unexpected reply from a server (exit 76).
class ProtocolError : public Error {
public:
  explicit ProtocolError(const std::string& message) : Error(ExitCode::protocol, message) {}
};

// Another run holds the mailbox's lock (exit 75): the one error -q silences, so that a cron
// job that overlaps the previous run mails nobody.
class BusyError : public Error {
public:
  explicit BusyError(const std::string& message) : Error(ExitCode::temporary, message) {}
};

// Standard output is a pipe whose reader went away (exit 141, no error line): nothing more is
// written, and what did not reach the reader is neither recorded nor deleted.
class ClosedPipe : public Error {
public:
  ClosedPipe() : Error(ExitCode::closed_pipe, "the reader of standard output went away") {}
};

// A command-line or option-value mistake (exit 64).
class UsageError : public Error {
public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

}  // namespace mw
