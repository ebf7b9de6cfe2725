// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "mail/address.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mw::mail {

// A file to attach (RFC 2183 section 2.3): its name (a path is cut to its last component) and
// its bytes exactly as read from disk; composition never touches the file system.
struct Attachment {
  std::string filename;
  std::string content;
};

// What a user asked to send, as RFC 5322 section 3.6 fields plus a body and attachments; the
// time, Message-ID and MIME boundary are chosen by the caller so that composition is pure.
struct Composition {
  Mailbox from;
  std::vector<Mailbox> to;
  std::vector<Mailbox> cc;  // Bcc is envelope only (RFC 5322 section 3.6.3): never in the message
  std::string subject;      // UTF-8
  std::string body;         // UTF-8 text, any line endings
  std::vector<Attachment> attachments;
  // `--header 'Name: value'`, value UTF-8: encoded (RFC 2047) when not ASCII, address fields
  // re-formatted; one named like a generated field (Date, From, To, Cc, Subject, Message-ID,
  // MIME-Version, and Content-Type without attachments) replaces it; Bcc is dropped;
  // Content-Transfer-Encoding, and Content-Type with attachments, are usage errors.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  bool eight_bit_allowed = false;  // the server offers 8BITMIME (RFC 6152): 8-bit text as 8bit
  std::chrono::sys_seconds date;   // for the Date field (RFC 5322 section 3.6.1)
  int utc_offset_minutes = 0;      // the local zone for the Date field
  std::string message_id;          // "<...@...>" chosen by the caller (see make_message_id)
  std::string boundary;            // MIME boundary chosen by the caller (see make_boundary)
};

// A composed message (RFC 5322 section 2.1) with what the SMTP client needs to know about it.
struct Composed {
  std::string message;           // CRLF line endings, ends with CRLF, not dot-stuffed
  bool eight_bit = false;        // contains octets above 127: needs BODY=8BITMIME (RFC 6152)
  std::size_t longest_line = 0;  // in octets, without the CRLF (RFC 5322 section 2.1.1)
  std::string message_id;        // the Message-ID as written (the caller's, or one from --header)
};

// Builds an RFC 5322 message with MIME (RFC 2045-2047, RFC 2231): Date, From, To (or
// `undisclosed-recipients:;` when there is neither To nor Cc), Cc, Subject (when not empty),
// Message-ID, MIME-Version, the extra headers, then a text/plain body (charset us-ascii or
// utf-8; 7bit, 8bit, or quoted-printable when 8-bit is not allowed, a line exceeds 998
// octets, or the text holds NUL or the boundary), or with attachments a multipart/mixed of the
// text part and one base64 part per attachment (RFC 2046 section 5.1.3). Header fields are
// folded at 78 columns where possible (RFC 5322 section 2.2.3). Throws UsageError for a bad
// extra header name or an empty From.
Composed compose(const Composition& c);

// The MIME type (RFC 2045 section 5) for a file name's extension, from a table of common
// types, `application/octet-stream` when unknown.
std::string content_type_for(std::string_view filename);

// Formats unstructured header text (RFC 5322 section 3.2.5, e.g. Subject) to follow a field
// name of `name_length` characters and ": ": printable ASCII words pass through, words with
// other octets, controls or a literal "=?" become RFC 2047 section 5(1) encoded-words (UTF-8,
// Q for mostly-ASCII text, else B, at most 75 characters, never splitting a character); folded
// with CRLF + space at 78 columns where possible; leading and trailing whitespace dropped.
std::string encode_header_text(std::string_view utf8_text, std::size_t name_length);

// Encodes text as quoted-printable (RFC 2045 section 6.7): any line ending becomes a hard CRLF
// line break, lines are at most 76 characters with soft breaks, "=", octets outside printable
// ASCII and whitespace at the end of a line are encoded.
std::string quoted_printable(std::string_view text);

// Encodes bytes as base64 (RFC 2045 section 6.8) in lines of 76 characters, each ending in CRLF.
std::string base64_lines(std::string_view data);

// Formats an RFC 5322 section 3.3 date-time, e.g. "Mon, 23 Nov 2026 15:04:05 +0100", of the
// instant `t` in a zone `utc_offset_minutes` east of UTC.
std::string format_date(std::chrono::sys_seconds t, int utc_offset_minutes);

// An RFC 5322 section 3.6.4 msg-id "<token@domain>"; characters that msg-id does not allow are
// dropped from both, and an empty domain becomes "localhost.invalid".
std::string make_message_id(std::string_view domain, std::string_view random_token);

// A MIME boundary (RFC 2046 section 5.1.1) "=_mailwrench_<token>": the "=_" pair cannot occur
// in base64 or quoted-printable text; the token is cut to bchars and the whole to 70 characters.
std::string make_boundary(std::string_view random_token);

// A complete message given with --raw, ready to send (RFC 5322 section 3.6.3).
struct RawMessage {
  std::string message;                         // CRLF line endings, Bcc fields removed, Date and
                                               // Message-ID added at the top when missing
  std::optional<Mailbox> from;                 // the first From mailbox, else Sender
  std::vector<Mailbox> recipients;             // To + Cc + Bcc, de-duplicated (case-insensitively)
  std::string message_id;                      // the existing one or the added one
  bool eight_bit = false;                      // contains octets above 127
  std::size_t longest_line = 0;                // in octets, without the CRLF
  std::vector<std::string> invalid_addresses;  // From/Sender/To/Cc/Bcc values that did not parse
};

// Prepares a message read for --raw: converts every line ending to CRLF, drops a leading mbox
// "From " line, removes Bcc and Resent-Bcc fields with their folded lines (RFC 5322 section
// 3.6.3), adds Date (from `now`) and Message-ID (`new_message_id`) at the top when missing,
// inserts the blank line when the header section ends without one, and reads the envelope
// from From/Sender/To/Cc/Bcc; never throws for bad addresses (they are listed instead).
RawMessage prepare_raw(std::string_view message, std::chrono::sys_seconds now,
                       int utc_offset_minutes, std::string_view new_message_id);

}  // namespace mw::mail
