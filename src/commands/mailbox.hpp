// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "cli/command.hpp"
#include "commands/session.hpp"
#include "mailbox/message.hpp"
#include "pop3/listing.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mw::commands {

// Message `i` of `listing` as LIST and UIDL describe it (no headers).
mailbox::Message row_of(const pop3::Listing& listing, std::size_t i);

// The messages a selection picked, as LIST and UIDL (and, when read, TOP n 0) described them.
// What is kept per message is the listing's 24 octets and its UID, and 4 octets for each one
// picked: a row with headers exists only while it is handed to its caller (RowSink), unless
// the caller asked for them all (rows).
struct Selected {
  pop3::Listing listing;               // the session's LIST and UIDL
  std::vector<std::uint32_t> picked;   // indices into `listing` of the picked, in its order
  std::uint64_t octets = 0;            // of the picked messages, as LIST gave them
  std::vector<mailbox::Message> rows;  // the picked rows, when no RowSink took them
  bool headers_read = false;

  // The row of listing index `i` (row_of).
  mailbox::Message row(std::size_t i) const { return row_of(listing, i); }
};

// Takes each picked message as soon as it is known, in mailbox order (with its headers, when
// read); it may move from the row.
using RowSink = std::function<void(mailbox::Message&)>;

// Whether to fail when a message number or UID the user named is not in the mailbox.
enum class Missing { ignore, fail };

// LIST and UIDL, then TOP n 0 (pipelined) when `want_headers` or the selection needs headers,
// for the messages that numbers, UIDs and sizes have not ruled out (fed to the pipeline a
// window at a time, each reply parsed as it ends); then the selection itself. Each picked row
// goes to `sink`, or, without one, into Selected::rows. Throws 65 for a named message that does
// not exist when `missing` is fail, 69 when the server lacks UIDL/TOP that the request needs.
Selected select_messages(Pop3Session& session, const cli::Context& context, bool want_headers,
                         Missing missing, const RowSink& sink = {});

}  // namespace mw::commands
