#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>

namespace mw::output {

// A one-line progress display (messages, octets, rate, ETA) redrawn in place on a terminal,
// at most ten times a second. Inactive (draws nothing) unless enabled.
class Progress {
public:
  Progress(std::ostream& out, bool enabled, std::uint64_t total_messages,
           std::uint64_t total_octets);
  ~Progress();

  void add_octets(std::uint64_t octets);
  void message_done();

  // Erases the line (before a summary or an error is printed).
  void clear();

private:
  void draw(bool force);

  std::ostream& m_out;
  bool m_enabled;
  bool m_drawn = false;
  std::uint64_t m_total_messages;
  std::uint64_t m_total_octets;
  std::uint64_t m_messages = 0;
  std::uint64_t m_octets = 0;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last_draw;
};

}  // namespace mw::output
