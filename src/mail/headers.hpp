// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "util/text.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mw::mail {

// One header field of RFC 5322 section 2.2: its name as written and its unfolded value.
struct HeaderField {
  std::string name;
  std::string value;
};

// The header section of a message (RFC 5322 section 2.2), parsed leniently.
class Headers {
public:
  // Parses a header section (the reply to `TOP n 0`, LF or CRLF line endings, with or without
  // the blank line and a body after it) into fields, unfolding values (RFC 5322 section 2.2.3)
  // and skipping lines that are not fields (an mbox `From ` line, garbage); never throws.
  static Headers parse(std::string_view block);

  // All fields in the order they appear, values unfolded and trimmed (raw, not RFC 2047-decoded).
  const std::vector<HeaderField>& fields() const { return m_fields; }

  // The value of the first field called `name` (compared case-insensitively, RFC 5322 section
  // 1.2.2), or nullopt when there is none.
  std::optional<std::string_view> get(std::string_view name) const;

  // The values of every field called `name` (case-insensitively), in order; e.g. Received.
  std::vector<std::string_view> get_all(std::string_view name) const;

  // get(name) with RFC 2047 encoded-words decoded to UTF-8, or "" when the field is absent.
  std::string decoded(std::string_view name) const;

  // Keeps only the fields called one of `names` (case-insensitively), each value cut to its
  // first `max_value` octets (on a UTF-8 character boundary), and of those only as many, in
  // order, as fit in `max_total` octets of values: what a caller shows or matches, bounded
  // whatever the message holds.
  void keep_only(const std::vector<std::string>& names, std::size_t max_value,
                 std::size_t max_total);

private:
  std::vector<HeaderField> m_fields;
};

// Whether `name` is a valid field name: one or more printable US-ASCII characters other than
// colon (RFC 5322 section 2.2, ftext).
bool is_valid_field_name(std::string_view name);

// Whether `a` and `b` are equal ignoring the case of ASCII letters (RFC 5322 section 1.2.2).
using text::iequals;

}  // namespace mw::mail
