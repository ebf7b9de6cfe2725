#pragma once

#include "cli/command.hpp"
#include "commands/session.hpp"
#include "mailbox/message.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace mw::commands {

// The messages a selection picked, as LIST and UIDL (and, when read, TOP n 0) described them.
struct Selected {
  std::vector<mailbox::Message> rows;
  std::vector<std::string> server_uids;  // every UID on the server (for the state file)
  std::unordered_map<std::uint64_t, std::string> uid_of;  // the session's UIDL: number to UID
  bool headers_read = false;
};

// Whether to fail when a message number or UID the user named is not in the mailbox.
enum class Missing { ignore, fail };

// LIST and UIDL, then TOP n 0 (pipelined) when `want_headers` or the selection needs headers,
// for the messages that numbers, UIDs and sizes have not ruled out; then the selection itself.
// Throws 65 for a named message that does not exist when `missing` is fail, 69 when the server
// lacks UIDL/TOP that the request needs.
Selected select_messages(Pop3Session& session, const cli::Context& context, bool want_headers,
                         Missing missing);

}  // namespace mw::commands
