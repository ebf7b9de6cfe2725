// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace mw::output {

// Text that a server or a message sent (a TOP or RETR reply, a listing), streamed to a
// terminal so that it cannot control it: control characters other than tab and line feed, C1
// and bidirectional controls and invalid UTF-8 are shown (text::visible), and a line longer
// than `max_line` octets is cut there with "… [N more octets]", in bounded memory (a 2 MB
// header line is counted, not held). Chunks may split lines and UTF-8 characters anywhere.
class TerminalText {
public:
  static constexpr std::size_t k_default_max_line = 4096;

  explicit TerminalText(std::ostream& out, std::size_t max_line = k_default_max_line)
      : m_out(out), m_max_line(max_line)
  {
  }

  void write(std::string_view data);
  // At the end of the text: shows what a chunk left pending, and marks a line that was cut.
  void finish();

private:
  void show(std::string_view data);
  void put(std::string_view data);
  void mark_cut();

  std::ostream& m_out;
  std::size_t m_max_line;
  std::string m_pending;
  std::size_t m_line = 0;  // octets of the current line shown so far
  bool m_cut = false;      // the current line is over the limit: counted, not shown
  std::uint64_t m_cut_octets = 0;
};

}  // namespace mw::output
