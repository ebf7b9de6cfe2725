// SPDX-License-Identifier: Apache-2.0
#include "util/pace.hpp"

#include "util/error.hpp"

#include <string>

namespace mw {

void Pace::start()
{
  m_awaiting_line = true;
  m_since = Clock::now();
  m_octets = 0;
}

void Pace::first_line_done()
{
  m_awaiting_line = false;
  m_since = Clock::now();
  m_octets = 0;
}

void Pace::received(std::size_t n)
{
  if (m_limit.count() == 0) {
    return;
  }
  auto now = Clock::now();
  m_octets += n;
  if (now - m_since < m_limit) {
    return;
  }
  if (m_awaiting_line) {
    throw Error(ExitCode::temporary, "the server did not complete its reply within " +
                                         std::to_string(m_limit.count()) +
                                         " s (it is sending too slowly; --timeout sets the limit)");
  }
  if (m_octets < k_min_octets) {
    throw Error(ExitCode::temporary, "the server sent less than " + std::to_string(k_min_octets) +
                                         " octets in " + std::to_string(m_limit.count()) +
                                         " s (it is sending too slowly; --timeout sets the limit)");
  }
  m_since = now;
  m_octets = 0;
}

}  // namespace mw
