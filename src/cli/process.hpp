// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <string>

namespace mw::cli {

// What prepare_process() found.
struct ProcessStart {
  bool stdout_closed = false;  // descriptor 1 was closed when the program started
};

// Run first thing in main: makes sure descriptors 0, 1 and 2 are open (a closed one gets
// /dev/null, so that no file opened later, such as a lock, becomes standard output and
// receives what is printed), and makes the process undumpable with a core size limit of 0
// (a core file or a ptrace attach would show the password). Never fails.
ProcessStart prepare_process() noexcept;

// True when standard output is a pipe (or socket) whose reader has gone away: a write to it
// fails with EPIPE (`mailwrench list | head -1`).
bool stdout_reader_gone() noexcept;

// When standard output is a pipe: waits until its reader has read everything written to it,
// so that what was written has reached the reader and not just the pipe's buffer. Throws
// ClosedPipe when the reader goes away first, Error 75 when it has not read it within `limit`.
// Returns at once for anything else than a pipe.
void wait_until_stdout_read(std::chrono::seconds limit);

// This machine's fully qualified name (RFC 5321 section 4.1.4: what EHLO greets with, which
// receiving servers check; "localhost" would be refused by many).
std::string host_fqdn();

}  // namespace mw::cli
