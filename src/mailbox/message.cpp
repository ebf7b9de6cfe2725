// SPDX-License-Identifier: Apache-2.0
#include "mailbox/message.hpp"

namespace mw::mailbox {

std::uint64_t add_octets(std::uint64_t a, std::uint64_t b)
{
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

std::uint64_t total_octets(const std::vector<Message>& messages)
{
  std::uint64_t total = 0;
  for (const auto& m : messages) {
    total = add_octets(total, m.octets);
  }
  return total;
}

}  // namespace mw::mailbox
