// SPDX-License-Identifier: Apache-2.0
#include "output/terminal_text.hpp"

#include "util/text.hpp"

namespace mw::output {

void TerminalText::write(std::string_view data)
{
  // A UTF-8 character split between two chunks waits for its end.
  m_pending.append(data);
  const std::size_t complete = text::complete_utf8_prefix(m_pending);
  show(std::string_view(m_pending).substr(0, complete));
  m_pending.erase(0, complete);
}

void TerminalText::finish()
{
  show(m_pending);
  m_pending.clear();
  if (m_cut) {
    mark_cut();
  }
}

// Complete characters for the terminal, line by line.
void TerminalText::show(std::string_view data)
{
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t newline = data.find('\n', pos);
    const std::size_t end = newline == std::string_view::npos ? data.size() : newline;
    if (m_cut) {
      m_cut_octets += end - pos;
    } else if (m_line + (end - pos) <= m_max_line) {
      put(data.substr(pos, end - pos));
      m_line += end - pos;
    } else {
      // Cut at the limit, but not inside a character.
      const auto head = data.substr(pos, m_max_line - m_line);
      const std::size_t shown = text::complete_utf8_prefix(head);
      put(head.substr(0, shown));
      m_cut = true;
      m_cut_octets = (end - pos) - shown;
    }
    if (newline == std::string_view::npos) {
      break;
    }
    if (m_cut) {
      mark_cut();
    }
    m_out << '\n';
    m_line = 0;
    pos = newline + 1;
  }
}

void TerminalText::put(std::string_view data)
{
  m_out << text::visible(data, {.tab = true, .newline = true});
}

void TerminalText::mark_cut()
{
  m_out << "\u2026 [" << m_cut_octets << " more octets]";
  m_cut = false;
  m_cut_octets = 0;
}

}  // namespace mw::output
