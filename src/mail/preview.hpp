// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mail/headers.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mw::mail {

// What `session`'s `show n` shows of a message: its decoded headers and the first lines of its
// text part.
struct Preview {
  // From, To, Cc, Date, Subject (those present, in that order), values RFC 2047-decoded, each on
  // one line (CR, LF and HT become spaces) and cut to a few KiB.
  std::vector<HeaderField> headers;
  // Which part the text comes from: "" for a single-part message, else its MIME part path ("1",
  // "2.1"), numbered as `check` numbers them.
  std::string part;
  std::string content_type;  // of that part, lower case ("text/plain"); "" when there is none
  std::string charset;       // its charset parameter, lower case ("" when absent)
  // The first lines of its text, transfer-decoded and converted to UTF-8 when the charset is
  // us-ascii, utf-8, iso-8859-1 or windows-1252 (or absent); not made safe for a terminal: the
  // caller does that. A line is cut to k_preview_line octets, never inside a UTF-8 character.
  std::vector<std::string> lines;
  // What the reader should know, one sentence each: no text part, the text is cut, a charset
  // shown as it is, base64 that does not decode, the attachments and their names, ...
  std::vector<std::string> notes;
};

// The longest line a preview holds, in octets.
inline constexpr std::size_t k_preview_line = 4000;

// The preview of a message from its first octets (what `TOP n L` gives: LF or CRLF line ends,
// dot-unstuffed); `prefix_is_complete` says whether they are the whole message. The text is the
// first text/plain part, depth first through multipart/* (RFC 2046 section 5.1; parts that are
// attachments skipped, so multipart/alternative shows its text/plain), else the first text/html
// part with its tags crudely stripped (a note says so); a message without Content-Type is
// text/plain (RFC 2045 section 5.2). message/rfc822 parts are listed as attachments, not
// entered. Multiparts nested more than 20 deep are not followed. Sans-IO, never throws, memory
// and time linear in the input.
Preview preview(std::string_view message_prefix, std::size_t max_lines, bool prefix_is_complete);

}  // namespace mw::mail
