// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mw::mail {

// One mailbox of RFC 5322 section 3.4: an optional display name (decoded from RFC 2047 and
// unquoted, UTF-8) and an addr-spec (section 3.4.1) such as `bob@example.com`.
struct Mailbox {
  std::string display_name;
  std::string address;
};

// Parses an RFC 5322 section 3.4 address-list as found in To/Cc/Bcc/From fields: mailboxes,
// name-addrs with quoted or RFC 2047-encoded display names, groups (section 3.4, whose members
// are returned and whose name is dropped), comments (a comment after a bare addr-spec becomes
// its display name, the old `bob@x (Bob)` form), obsolete routes (section 4.4); empty items are
// skipped; throws UsageError naming the item when one has no usable addr-spec.
std::vector<Mailbox> parse_address_list(std::string_view text);

// parse_address_list() for text that is not the user's (a message given with --raw): an item
// without a usable addr-spec is skipped and its error message appended to `invalid` instead
// of thrown, so one bad item does not lose the others.
std::vector<Mailbox> parse_address_list(std::string_view text, std::vector<std::string>& invalid);

// Parses one address as a user writes it on the command line (`bob@x`, `Bob <bob@x>`,
// `"Doe, J." <j@y>`, RFC 5322 section 3.4); throws UsageError for anything else: no `@`,
// whitespace inside the addr-spec, CR or LF, a group, or more than one address.
Mailbox parse_mailbox(std::string_view text);

// Formats a mailbox for a header field (RFC 5322 section 3.4): `b@x` without a display name,
// else `Bob <b@x>` with the name quoted when it has specials (section 3.2.4) and RFC 2047
// section 5(3) encoded-words when it is not printable ASCII; unfolded.
std::string format_mailbox(const Mailbox& m);

}  // namespace mw::mail
