// SPDX-License-Identifier: Apache-2.0
#include "pop3/listing.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <limits>

namespace mw::pop3 {

void Listing::add_listing(const ScanListing& row)
{
  if (row.octets > std::numeric_limits<std::uint64_t>::max() - m_total_octets) {
    throw ProtocolError("the server's LIST sizes add up to more than 2^64 octets");
  }
  m_total_octets += row.octets;
  if (!m_entries.empty() && row.number <= m_entries.back().number) {
    m_ascending = false;
    m_by_number.clear();
  }
  m_entries.push_back({row.number, row.octets, 0, 0});
}

std::uint32_t Listing::intern(std::string_view uid)
{
  static_assert(k_max_line < k_block, "a UID fits in a block");
  if (uid.empty()) {
    return 0;
  }
  if (uid.size() > k_block - m_block_used) {
    if ((m_blocks.size() + 1) * k_block > std::numeric_limits<std::uint32_t>::max()) {
      throw ProtocolError("the server's UIDL reply has more than 4 GiB of UIDs");
    }
    m_blocks.push_back(std::make_unique_for_overwrite<char[]>(k_block));
    m_block_used = 0;
  }
  const auto at = static_cast<std::uint32_t>((m_blocks.size() - 1) * k_block + m_block_used);
  std::copy(uid.begin(), uid.end(), m_blocks.back().get() + m_block_used);
  m_block_used += uid.size();
  return at;
}

std::string_view Listing::text(std::uint32_t at, std::uint32_t size) const
{
  return size == 0 ? std::string_view()
                   : std::string_view(m_blocks[at / k_block].get() + at % k_block, size);
}

void Listing::add_uid(std::uint64_t number, std::string_view uid)
{
  m_has_uids = true;
  ++m_uids_given;
  std::optional<std::size_t> index;
  // UIDL comes in LIST's order from every server seen: no search then.
  if (m_uid_cursor < m_entries.size() && m_entries[m_uid_cursor].number == number) {
    index = m_uid_cursor;
  } else {
    index = find(number);
  }
  const auto at = intern(uid);
  const auto size = static_cast<std::uint32_t>(uid.size());
  if (!index) {
    m_other_uids.emplace_back(at, size);
    return;
  }
  m_uid_cursor = *index + 1;
  auto& entry = m_entries[*index];
  if (entry.uid_size != 0) {
    m_other_uids.emplace_back(entry.uid_at, entry.uid_size);
  }
  entry.uid_at = at;
  entry.uid_size = size;
}

std::string_view Listing::uid(std::size_t i) const
{
  const auto& entry = m_entries[i];
  return text(entry.uid_at, entry.uid_size);
}

void Listing::index_numbers() const
{
  if (!m_by_number.empty() || m_entries.empty()) {
    return;
  }
  m_by_number.resize(m_entries.size());
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    m_by_number[i] = static_cast<std::uint32_t>(i);
  }
  std::stable_sort(m_by_number.begin(), m_by_number.end(),
                   [this](auto a, auto b) { return m_entries[a].number < m_entries[b].number; });
}

std::optional<std::size_t> Listing::find(std::uint64_t number) const
{
  if (m_ascending) {
    auto it = std::lower_bound(m_entries.begin(), m_entries.end(), number,
                               [](const Entry& e, std::uint64_t n) { return e.number < n; });
    if (it == m_entries.end() || it->number != number) {
      return std::nullopt;
    }
    return static_cast<std::size_t>(it - m_entries.begin());
  }
  index_numbers();
  auto it = std::lower_bound(
      m_by_number.begin(), m_by_number.end(), number,
      [this](std::uint32_t i, std::uint64_t n) { return m_entries[i].number < n; });
  if (it == m_by_number.end() || m_entries[*it].number != number) {
    return std::nullopt;
  }
  return *it;
}

std::optional<std::string_view> Listing::uid_of(std::uint64_t number) const
{
  auto index = find(number);
  if (!index || m_entries[*index].uid_size == 0) {
    return std::nullopt;
  }
  return uid(*index);
}

std::vector<std::string_view> Listing::uids_on_server() const
{
  std::vector<std::string_view> uids;
  uids.reserve(m_entries.size() + m_other_uids.size());
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    if (m_entries[i].uid_size != 0) {
      uids.push_back(uid(i));
    }
  }
  for (const auto& [at, size] : m_other_uids) {
    uids.push_back(text(at, size));
  }
  return uids;
}

std::unordered_set<std::string> Listing::shared_uids() const
{
  std::vector<std::uint32_t> order;
  order.reserve(m_entries.size());
  for (std::size_t i = 0; i < m_entries.size(); ++i) {
    if (m_entries[i].uid_size != 0) {
      order.push_back(static_cast<std::uint32_t>(i));
    }
  }
  std::sort(order.begin(), order.end(),
            [this](std::uint32_t a, std::uint32_t b) { return uid(a) < uid(b); });
  std::unordered_set<std::string> shared;
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (uid(order[k]) == uid(order[k - 1])) {
      shared.emplace(uid(order[k]));
    }
  }
  return shared;
}

}  // namespace mw::pop3
