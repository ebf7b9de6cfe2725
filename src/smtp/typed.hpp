// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

// What a person types in `mailwrench session --smtp` for the envelope, sans-IO.

namespace mw::smtp {

// MAIL FROM or RCPT TO as people type them, cut into its parts (RFC 5321 section 4.1.1.2,
// 4.1.1.3).
struct TypedPath {
  std::string address;                  // between the angle brackets; "" for MAIL FROM:<>
  std::vector<std::string> parameters;  // "SIZE=100", "NOTIFY=NEVER", as typed
  std::string line;                     // the command as sent: "MAIL FROM:<a@b> SIZE=100"
};

// Reads `arguments`, what follows the verb ("MAIL" or "RCPT"): the keyword ("FROM" or "TO",
// any case), a colon, the address in angle brackets or bare, then the parameters, with blanks
// allowed around the colon ("FROM:<a@b>", "from: <a@b>", "FROM : a@b SIZE=10"). The empty
// address "<>" is the null reverse-path and only MAIL takes it. Throws UsageError, naming the
// form, for anything else: a missing keyword or colon, unbalanced brackets, an address with
// blanks outside quotes, control characters.
TypedPath parse_typed_path(std::string_view verb, std::string_view arguments);

}  // namespace mw::smtp
