// SPDX-License-Identifier: Apache-2.0
// The mailbox model (issue 12 item 6): the sizes a server gives add up without wrapping.
#include "mailbox/message.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using mw::mailbox::add_octets;
using mw::mailbox::Message;
using mw::mailbox::total_octets;

namespace {

Message sized(std::uint64_t number, std::uint64_t octets)
{
  Message m;
  m.number = number;
  m.octets = octets;
  return m;
}

}  // namespace

TEST_CASE("mailbox: octets add up, and stop at UINT64_MAX", "[mailbox]")
{
  CHECK(add_octets(0, 0) == 0);
  CHECK(add_octets(1200, 10) == 1210);
  CHECK(add_octets(UINT64_MAX - 1, 1) == UINT64_MAX);
  CHECK(add_octets(UINT64_MAX - 1, 2) == UINT64_MAX);  // a server can claim any size
  CHECK(add_octets(2, UINT64_MAX) == UINT64_MAX);
  CHECK(add_octets(UINT64_MAX, UINT64_MAX) == UINT64_MAX);
}

TEST_CASE("mailbox: the total size of messages", "[mailbox]")
{
  CHECK(total_octets({}) == 0);
  CHECK(total_octets({sized(1, 1200), sized(2, 10), sized(3, 0)}) == 1210);
  CHECK(total_octets({sized(1, UINT64_MAX / 2 + 1), sized(2, UINT64_MAX / 2 + 1), sized(3, 5)}) ==
        UINT64_MAX);
  // Once it has stopped at the top, a later small size does not bring it back down.
  CHECK(total_octets({sized(1, UINT64_MAX), sized(2, 1), sized(3, 1)}) == UINT64_MAX);
}
