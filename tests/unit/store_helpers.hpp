// SPDX-License-Identifier: Apache-2.0
#pragma once

// Test helper for the store sinks: delivering a message in random chunks.

#include "mailbox/message.hpp"
#include "store/sink.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace mw::test {

// A message of the mailbox as a sink is told of it: its number, UID and size.
inline mw::mailbox::Message listed(std::uint64_t number, std::string uid, std::uint64_t octets)
{
  mw::mailbox::Message m;
  m.number = number;
  m.uid = std::move(uid);
  m.octets = octets;
  return m;
}

// Writes `message` in random chunks of 0 to `max_chunk` octets (some empty, some of one byte)
// and commits; returns where it went.
inline std::string deliver(mw::store::Sink& sink, const mw::mailbox::Message& meta,
                           const std::string& message, std::mt19937& random, std::size_t max_chunk)
{
  auto delivery = sink.begin(meta);
  std::size_t at = 0;
  while (at < message.size()) {
    std::uniform_int_distribution<std::size_t> size(0, std::min(message.size() - at, max_chunk));
    const std::size_t n = size(random);
    delivery->write(std::string_view(message).substr(at, n));
    at += n;
  }
  return delivery->commit();
}

}  // namespace mw::test
