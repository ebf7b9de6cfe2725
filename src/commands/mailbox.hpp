#pragma once

#include "commands/context.hpp"
#include "commands/session.hpp"
#include "mail/headers.hpp"
#include "output/results.hpp"

#include <vector>

namespace mw::commands {

// The messages a selection picked: their LIST/UIDL rows and, when read, their headers.
struct Selected {
  std::vector<output::MessageRow> rows;
  std::vector<std::string> server_uids;  // every UID on the server (for the state file)
  bool headers_read = false;
};

// Whether to fail when a message number or UID the user named is not in the mailbox.
enum class Missing { ignore, fail };

// LIST and UIDL, then TOP n 0 (pipelined) for the candidates when `want_headers` or the
// selection needs headers, then the selection itself. Throws 65 for a named message that does
// not exist when `missing` is fail, 69 when the server lacks UIDL/TOP that the request needs.
Selected select_messages(Pop3Session& session, const Context& context, bool want_headers,
                         Missing missing);

}  // namespace mw::commands
