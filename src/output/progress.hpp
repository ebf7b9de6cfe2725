// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string_view>

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

// A one-line count of the steps of a phase that has no octets to measure ("listing: 41230
// messages", "reading headers: 5000/100000"), redrawn in place on a terminal at most ten times a
// second, so that a large mailbox's listing shows it is moving. Inactive unless enabled. When
// standard output shares the terminal, `flush_first` (it) is flushed before each drawing, and
// the caller clears the line before writing there.
class Steps {
public:
  Steps(std::ostream& out, bool enabled, std::ostream* flush_first = nullptr);
  ~Steps();
  Steps(const Steps&) = delete;
  Steps& operator=(const Steps&) = delete;

  // `done` of `total` steps of `phase` (total 0: not known).
  void show(std::string_view phase, std::uint64_t done, std::uint64_t total = 0);
  // Erases the line, if drawn.
  void clear();

private:
  std::ostream& m_out;
  bool m_enabled;
  std::ostream* m_flush_first;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_last_draw;
};

}  // namespace mw::output
