// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mailbox/message.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

// Where fetched messages go: Maildir, mbox (mboxrd, locked), a directory of .eml files, or
// standard output. Every sink follows DESIGN.md "Nothing lost": a message becomes visible only
// complete, and sync() makes it durable before the caller may delete it on the server.
namespace mw::store {

// The line endings of the bytes given to Delivery::write(); the mbox From line and the blank
// line after each message use the same ending.
enum class LineEnding { lf, crlf };

// One message being written: bytes arrive in chunks of any size (already dot-unstuffed).
// Destroying a Delivery without commit() removes every trace of it (the temporary file is
// unlinked; an mbox is truncated back to its size before this message). A Delivery must not
// outlive the Sink that began it.
class Delivery {
public:
  Delivery() = default;
  // Not copyable: two owners would both clean up after one message.
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;
  virtual ~Delivery() = default;
  // Appends the next bytes of the message; throws mw::Error 73 (naming the path) on failure,
  // after removing what was written.
  virtual void write(std::string_view data) = 0;
  // Ends the message and returns where it goes: a file path, the mbox path, "-" for standard
  // output, or "mda:COMMAND". It is durable (and, for a Maildir, visible) only after the Sink's
  // next sync(). A sink that hands messages to a program (mda:) may throw Refused (this message
  // was not taken; go on with the next) or Deferred (not taken, and the program asks to try
  // later: deliver nothing more in this run); either way the message is not committed.
  virtual std::string commit() = 0;
};

// A message the delivery agent did not take (it failed, or was killed): it stays on the server
// and the run goes on (exit 1 at the end).
class Refused : public Error {
public:
  explicit Refused(const std::string& message) : Error(ExitCode::partial, message) {}
};

// A message the delivery agent asked to be retried later (EX_TEMPFAIL, or it did not finish in
// time): it and every message after it stay on the server (exit 75).
class Deferred : public Error {
public:
  explicit Deferred(const std::string& message) : Error(ExitCode::temporary, message) {}
};

// A destination for many messages.
class Sink {
public:
  virtual ~Sink() = default;
  // Starts storing one message of the mailbox (a directory names its file after the UID, else
  // the number); an mbox takes one Delivery at a time (a second one before the first is
  // committed or destroyed is an Error 70).
  virtual std::unique_ptr<Delivery> begin(const mailbox::Message& message) = 0;
  // Called for each message as soon as it is durable and visible, with its index (0, 1, ...
  // in commit order since the Sink was opened) and where it is (what commit() returned,
  // unless a Maildir name had to change because another file took it meanwhile).
  using Visible = std::function<void(std::size_t index, const std::string& where)>;

  // Makes every message committed so far durable on disk and visible, calling `visible` for
  // each right after it is; the caller deletes a message on the server, and records it as
  // stored, only then.
  virtual void sync(const Visible& visible) = 0;
  void sync() { sync({}); }

  // The same for all but the newest messages: those may only be on their way (a Maildir syncs
  // them on another thread while the caller goes on receiving), and a later advance() or
  // sync() finishes them, calling `visible`. Unless overridden, this is sync().
  virtual void advance(const Visible& visible) { sync(visible); }

  // How many committed messages are best synced together (1: each on its own).
  virtual std::size_t batch() const { return 1; }
};

// A parsed `--output` value.
struct OutputSpec {
  enum class Kind { maildir, mbox, dir, standard_output, mda };
  Kind kind = Kind::maildir;
  std::string path;  // empty for standard_output; the command for mda
};

// Parses "maildir:DIR", "mbox:FILE", "dir:DIR", "mda:COMMAND" (placeholders checked, see
// store/mda.hpp) or "-" (a leading "~/" in the path is the home directory); a bare path naming an
// existing Maildir (with cur/, new/ and tmp/) is a maildir; anything else is an mw::UsageError
// explaining the forms.
OutputSpec parse_output(std::string_view text);

// Opens the destination (not mda: open_mda() in store/mda.hpp opens that), creating what is missing
// (directories 0700, files 0600); an mbox is locked (fcntl write lock and FILE.lock dot-lock, held
// until the Sink is destroyed; Error 75 when another process holds either). Standard output (`out`)
// gets the raw bytes of each message, no From line and no separator: the caller uses it for one
// message; a bad `out` (closed standard output) or a failed write to it is an Error 74. Errors
// creating anything are mw::Error 73 naming the path.
std::unique_ptr<Sink> open_sink(const OutputSpec& spec, LineEnding ending, std::ostream& out);

}  // namespace mw::store
