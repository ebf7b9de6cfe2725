// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>

namespace mw {

// Guards against a server that sends so slowly that no single read ever times out (one byte a
// second): a reply's first line must be complete within the limit of the moment we began
// waiting for it, and after that the data must keep coming at k_min_octets per limit at least.
// A limit of zero turns the guard off. Throws Error 75 naming the problem.
class Pace {
public:
  static constexpr std::size_t k_min_octets = 1024;

  void set_limit(std::chrono::seconds limit) { m_limit = limit; }

  // A reply is awaited: its first line must arrive within the limit.
  void start();

  // The first line is complete: from now on only the rate counts.
  void first_line_done();

  // Records n octets just received and checks the pace.
  void received(std::size_t n);

private:
  using Clock = std::chrono::steady_clock;
  std::chrono::seconds m_limit{0};
  bool m_awaiting_line = false;
  Clock::time_point m_since;
  std::size_t m_octets = 0;
};

}  // namespace mw
