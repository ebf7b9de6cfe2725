// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>

// The pure parts of writing an mbox in the mboxrd format (lines matching `^>*From ` get one more
// `>`; each message is preceded by a `From SENDER DATE` line and followed by an empty line).
namespace mw::store::mboxrd {

// Quotes a message given in chunks split anywhere, even inside the `>>From ` of a line start.
class Quoter {
public:
  // Appends the quoted form of `data` to `out`; bytes that may still become a `From ` line start
  // are held back until they are decided.
  void put(std::string_view data, std::string& out);
  // Appends what is held back (the message ended); the Quoter is then ready for a new message.
  void finish(std::string& out);

private:
  bool m_line_start = true;
  std::string m_pending;           // the `>`s and the part of "From " seen at this line start
  std::size_t m_from_matched = 0;  // how many characters of "From " m_pending ends with
};

// The envelope sender of the From line: the address of Return-Path, else of From, else
// "MAILER-DAEMON" (also for the null sender `<>`), with no whitespace or control characters.
std::string sender(std::string_view header_section);

// `when` in asctime(3) format, in UTC, independent of the locale: "Mon Nov 23 15:36:46 2026".
std::string asctime_utc(std::time_t when);

// Whether `text` (one line, without its ending) must be quoted: it matches `^>*From `.
bool needs_quoting(std::string_view line);

}  // namespace mw::store::mboxrd
