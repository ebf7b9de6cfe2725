// SPDX-License-Identifier: Apache-2.0
#include "output/progress.hpp"

#include "output/render.hpp"

#include <cstdio>

namespace mw::output {

Progress::Progress(std::ostream& out, bool enabled, std::uint64_t total_messages,
                   std::uint64_t total_octets)
    : m_out(out), m_enabled(enabled), m_total_messages(total_messages),
      m_total_octets(total_octets), m_start(std::chrono::steady_clock::now()), m_last_draw(m_start)
{
}

Progress::~Progress()
{
  clear();
}

void Progress::add_octets(std::uint64_t octets)
{
  m_octets += octets;
  draw(false);
}

void Progress::message_done()
{
  ++m_messages;
  draw(false);
}

void Progress::clear()
{
  if (m_drawn) {
    m_out << "\r\033[K" << std::flush;
    m_drawn = false;
  }
}

void Progress::draw(bool force)
{
  if (!m_enabled) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (!force && now - m_last_draw < std::chrono::milliseconds(100)) {
    return;
  }
  m_last_draw = now;
  double seconds = std::chrono::duration<double>(now - m_start).count();
  double rate = seconds > 0 ? static_cast<double>(m_octets) / seconds : 0;
  char eta[32] = "--:--";
  if (rate > 0 && m_total_octets > m_octets) {
    auto left = static_cast<unsigned long>(static_cast<double>(m_total_octets - m_octets) / rate);
    std::snprintf(eta, sizeof eta, "%lu:%02lu", left / 60, left % 60);
  }
  std::uint64_t percent = m_total_octets > 0 ? m_octets * 100 / m_total_octets : 0;
  if (percent > 100) {
    percent = 100;
  }
  constexpr int k_bar = 20;
  auto filled = static_cast<int>(percent * k_bar / 100);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(k_bar, '.');
  m_out << "\r[" << bar << "] " << m_messages << "/" << m_total_messages << " messages  "
        << human_size(m_octets) << "  " << human_size(static_cast<std::uint64_t>(rate))
        << "/s  ETA " << eta << "\033[K" << std::flush;
  m_drawn = true;
}

Steps::Steps(std::ostream& out, bool enabled, std::ostream* flush_first)
    : m_out(out), m_enabled(enabled), m_flush_first(flush_first),
      m_last_draw(std::chrono::steady_clock::now())
{
}

Steps::~Steps()
{
  clear();
}

void Steps::show(std::string_view phase, std::uint64_t done, std::uint64_t total)
{
  if (!m_enabled) {
    return;
  }
  // Nothing for a phase shorter than the first interval: a small mailbox shows no flicker.
  auto now = std::chrono::steady_clock::now();
  if (now - m_last_draw < std::chrono::milliseconds(100)) {
    return;
  }
  m_last_draw = now;
  if (m_flush_first != nullptr) {
    m_flush_first->flush();
  }
  m_out << "\r" << phase << ": " << done;
  if (total > 0) {
    m_out << "/" << total;
  }
  m_out << (total == 1 || (total == 0 && done == 1) ? " message" : " messages");
  if (total > 0) {
    m_out << " (" << done * 100 / total << "%)";
  }
  m_out << "\033[K" << std::flush;
  m_drawn = true;
}

void Steps::clear()
{
  if (m_drawn) {
    m_out << "\r\033[K" << std::flush;
    m_drawn = false;
  }
}

}  // namespace mw::output
