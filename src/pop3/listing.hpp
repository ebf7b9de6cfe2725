// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "pop3/protocol.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace mw::pop3 {

// A session's LIST and UIDL (RFC 1939 sections 5 and 7), held compactly: 24 octets a message
// and its UID in an arena, however large the mailbox (a million messages take ~45 MB, not the
// gigabyte that a string and a map node per message would). Both grow in blocks, never by
// reallocating: a vector that doubles holds its old and new copies at once (and up to twice
// what it needs after). Messages keep LIST's order; a
// message is named by its index here (0 ..< size()), its number by number(i).
class Listing {
public:
  // Adds a LIST row (in the order the server sent them); throws ProtocolError when the sizes
  // add up to more than 2^64 octets.
  void add_listing(const ScanListing& row);
  // Adds a UIDL row: the UID of the message LIST gave that number. A row for a number LIST
  // did not give, or the earlier of two rows for one number, is kept only among the server's
  // UIDs (uids_on_server), never as a message's UID.
  void add_uid(std::uint64_t number, std::string_view uid);
  // Marks that UIDL answered (even with no rows): has_uids().
  void set_has_uids() { m_has_uids = true; }

  std::size_t size() const { return m_entries.size(); }
  bool empty() const { return m_entries.empty(); }
  std::uint64_t number(std::size_t i) const { return m_entries[i].number; }
  std::uint64_t octets(std::size_t i) const { return m_entries[i].octets; }
  // The UID of message i, "" when UIDL gave it none (or the server has no UIDL).
  std::string_view uid(std::size_t i) const;
  // Whether the server answered UIDL, and how many rows its answer had.
  bool has_uids() const { return m_has_uids; }
  std::size_t uids_given() const { return m_uids_given; }

  // The index of the message numbered `number`, if LIST gave it (the first, if twice).
  std::optional<std::size_t> find(std::uint64_t number) const;
  // The UID the session's UIDL gave message `number`, if any (what pop3::Deleter checks).
  std::optional<std::string_view> uid_of(std::uint64_t number) const;

  // The octets of all messages.
  std::uint64_t total_octets() const { return m_total_octets; }

  // Every UID the server's UIDL gave, messages' and others' (for the --new state).
  std::vector<std::string_view> uids_on_server() const;
  // The UIDs the server gives to more than one message (RFC 1939 section 7 wants them unique;
  // usually none). Costs 4 octets a message while it runs.
  std::unordered_set<std::string> shared_uids() const;

private:
  struct Entry {
    std::uint64_t number;
    std::uint64_t octets;
    std::uint32_t uid_at;    // into m_arena
    std::uint32_t uid_size;  // 0: no UID
  };
  static_assert(sizeof(Entry) == 24);

  std::uint32_t intern(std::string_view uid);
  std::string_view text(std::uint32_t at, std::uint32_t size) const;
  // Builds m_by_number when LIST's numbers are not ascending (a server's odd order).
  void index_numbers() const;

  std::deque<Entry> m_entries;
  // The UIDs, one after another in blocks of k_block octets (a UID never crosses a block);
  // offset `at` is block at / k_block, octet at % k_block.
  static constexpr std::size_t k_block = std::size_t{1} << 20;
  std::vector<std::unique_ptr<char[]>> m_blocks;
  std::size_t m_block_used = k_block;  // octets taken in the last block
  // UIDL rows that name no message (see add_uid): offset and size in the blocks.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> m_other_uids;
  bool m_ascending = true;
  mutable std::vector<std::uint32_t> m_by_number;  // indices sorted by number, when !ascending
  bool m_has_uids = false;
  std::size_t m_uids_given = 0;
  std::uint64_t m_total_octets = 0;
  std::size_t m_uid_cursor = 0;  // where the next UIDL row is expected (UIDL in LIST's order)
};

}  // namespace mw::pop3
