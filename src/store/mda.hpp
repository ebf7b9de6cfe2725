// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "store/sink.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

// Delivery to a mail delivery agent (`--output mda:COMMAND`), as mpop and fetchmail do it: each
// message is handed to COMMAND, run by /bin/sh -c, on its standard input, and counts as stored
// only once the command has exited 0.
namespace mw::store {

// What the placeholders of an MDA command stand for.
struct MdaValues {
  std::string sender;   // %F: the envelope sender (Return-Path), "" for the null sender or none
  std::string account;  // %A: the account name, or USER@HOST
};

// Checks the placeholders of `command`: %F, %A and %% are known; any other %, or a % at the end,
// is an mw::UsageError naming it.
void check_mda_command(std::string_view command);

// `command` with each placeholder replaced by its value quoted for sh(1) where it stands: outside
// quotes as one single-quoted word, inside '...' or "..." escaped for that kind of quoting, so that
// no value (a hostile Return-Path) can end the quoting and add shell syntax. Placeholders after a
// backslash are left as they are.
std::string expand_mda_command(std::string_view command, const MdaValues& values);

// The envelope sender that a message's header section (LF or CRLF) records: the address of its
// first Return-Path field (RFC 5321 section 4.4), without the angle brackets and control
// characters; "" when there is none or it is the null sender "<>".
std::string envelope_sender(std::string_view header_section);

// How an MDA sink runs its command.
struct MdaOptions {
  std::string command;  // with placeholders
  std::string account;  // what %A becomes
  std::chrono::seconds timeout{300};
};

// A Sink that hands each message to the command: begin() writes the message into an unlinked
// temporary file (in $TMPDIR, else /tmp), and commit() runs `/bin/sh -c COMMAND` in a process
// group of its own with that file as standard input (so it reads a complete message whatever
// becomes of this process), its standard output and error this process's standard error, the
// environment without MAILWRENCH_PASSWORD, MAILWRENCH_PROXY_PASSWORD and with MAILWRENCH_MDA_SENDER
// and MAILWRENCH_MDA_ACCOUNT, and waits for it: exit 0 returns "mda:COMMAND" (durable: sync() only
// reports it); exit 75 throws Deferred; another exit status, a signal or a failure to start it
// throws Refused; a command still running after the timeout is killed with its process group and
// throws Deferred. A signal caught while it runs (the connection's SIGINT, SIGTERM, SIGHUP) is
// passed on to its process group as SIGTERM, and no later commit() runs the command (Deferred).
std::unique_ptr<Sink> open_mda(MdaOptions options);

}  // namespace mw::store
