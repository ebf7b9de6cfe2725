// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mw::text {

// s without leading and trailing spaces and tabs (and a trailing CR).
std::string_view trim(std::string_view s);

// s without the leading and trailing characters that are in `set` (" \t" for RFC 5322 WSP).
std::string_view strip(std::string_view s, std::string_view set);

// Appends the two hexadecimal digits of `byte` to `out`, upper case where the format asks for it
// (quoted-printable, xtext, percent escapes, fingerprints), else lower case.
enum class Hex { lower, upper };
void append_hex(std::string& out, unsigned char byte, Hex letters = Hex::lower);

// The octet that the two hexadecimal digits (either case) at s[at] and s[at + 1] write, or -1
// when there are not two there (the escapes of quoted-printable, RFC 2047's Q, RFC 2231).
int hex_octet(std::string_view s, std::size_t at);

// At most 80 characters of s with control and 8-bit bytes as '?', for error messages that
// quote what a server sent.
std::string printable(std::string_view s);

// What visible() leaves as it is besides printable text.
struct Keep {
  bool tab = false;      // HT
  bool newline = false;  // LF (a CR is always replaced)
};

// Text that a server or a message sent, made safe for a terminal: nothing in it can move the
// cursor, set a title, clear the screen, write the clipboard (OSC 52) or reorder what is shown.
// C0 controls (U+0000-U+001F, except those `keep` names), DEL and every octet that is not
// part of valid UTF-8 (RFC 3629 section 4) become "\xHH"; C1 controls (U+0080-U+009F),
// bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line
// and paragraph separators (U+2028, U+2029) become "<U+HHHH>". Everything else passes.
std::string visible(std::string_view s, Keep keep = {});

// Whether code point `cp` is one of the C1, bidirectional or separator controls above.
bool is_hidden_control(std::uint32_t cp);

// visible() for one line of text (a header field, a table cell): CR, LF and HT become a
// space first.
std::string one_line(std::string_view s);

// The length of the longest prefix of s that does not end inside an incomplete UTF-8
// sequence, for sanitizing a stream chunk by chunk (at most 3 octets are held back).
std::size_t complete_utf8_prefix(std::string_view s);

// ASCII upper and lower case, whatever the locale (protocol keywords, header names, charset
// names: not text).
char ascii_lower(char c);
std::string upper(std::string_view s);
std::string lower(std::string_view s);

// Whether a and b are equal but for ASCII case (header field names, RFC 5322 section 1.2.2;
// SASL mechanism names, RFC 4422 section 3.1; month and zone names).
bool iequals(std::string_view a, std::string_view b);

// The words with `separator` between them ("" for none).
std::string join(const std::vector<std::string>& words, std::string_view separator);

// s as an RFC 5322 quoted-string (section 3.2.4): in double quotes, with '"' and '\' escaped by
// a backslash.
std::string quoted(std::string_view s);

// text with every occurrence of each secret (ignoring those shorter than 3 octets) replaced by
// "<redacted>": servers sometimes quote what they were sent in their error replies.
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace mw::text
