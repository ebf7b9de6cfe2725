// SPDX-License-Identifier: Apache-2.0
#include "pop3/listing.hpp"
#include "util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace mw::pop3;

TEST_CASE("Listing: LIST and UIDL joined by number, in LIST's order", "[pop3-listing]")
{
  Listing listing;
  listing.add_listing({1, 120});
  listing.add_listing({2, 3000});
  listing.add_listing({3, 45});
  listing.add_uid(1, "a1");
  listing.add_uid(2, "b2");
  listing.add_uid(3, "c3");
  listing.set_has_uids();
  REQUIRE(listing.size() == 3);
  CHECK(listing.number(1) == 2);
  CHECK(listing.octets(1) == 3000);
  CHECK(listing.uid(2) == "c3");
  CHECK(listing.total_octets() == 3165);
  CHECK(listing.find(3) == std::optional<std::size_t>(2));
  CHECK_FALSE(listing.find(4));
  CHECK(listing.uid_of(2) == std::optional<std::string_view>("b2"));
  CHECK(listing.uids_given() == 3);
  CHECK(listing.shared_uids().empty());
}

TEST_CASE("Listing: UIDL in another order, or naming messages LIST did not give", "[pop3-listing]")
{
  Listing listing;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    listing.add_listing({n, n * 10});
  }
  listing.add_uid(3, "c");
  listing.add_uid(9, "orphan");
  listing.add_uid(1, "a");
  CHECK(listing.uid(0) == "a");
  CHECK(listing.uid(1).empty());
  CHECK(listing.uid(2) == "c");
  CHECK_FALSE(listing.uid_of(2));
  CHECK_FALSE(listing.uid_of(9));
  // The orphan is still one of the server's UIDs: the --new state keeps it.
  auto uids = listing.uids_on_server();
  std::sort(uids.begin(), uids.end());
  CHECK(uids == std::vector<std::string_view>{"a", "c", "orphan"});
}

TEST_CASE("Listing: numbers out of order are still found", "[pop3-listing]")
{
  Listing listing;
  listing.add_listing({5, 1});
  listing.add_listing({2, 2});
  listing.add_listing({9, 3});
  listing.add_uid(9, "x");
  CHECK(listing.find(2) == std::optional<std::size_t>(1));
  CHECK(listing.find(9) == std::optional<std::size_t>(2));
  CHECK(listing.uid_of(9) == std::optional<std::string_view>("x"));
  CHECK_FALSE(listing.find(3));
}

TEST_CASE("Listing: a UID given to two messages is shared; a number given two UIDs keeps the "
          "later",
          "[pop3-listing]")
{
  Listing listing;
  for (std::uint64_t n = 1; n <= 3; ++n) {
    listing.add_listing({n, 1});
  }
  listing.add_uid(1, "same");
  listing.add_uid(2, "same");
  listing.add_uid(3, "first");
  listing.add_uid(3, "second");
  CHECK(listing.shared_uids() == std::unordered_set<std::string>{"same"});
  CHECK(listing.uid_of(3) == std::optional<std::string_view>("second"));
  CHECK(listing.uids_on_server().size() == 4);
}

TEST_CASE("Listing: sizes that add up past 2^64 are a protocol error", "[pop3-listing]")
{
  Listing listing;
  listing.add_listing({1, UINT64_MAX});
  CHECK_THROWS_AS(listing.add_listing({2, 1}), mw::ProtocolError);
}

TEST_CASE("Listing: a large mailbox costs a few dozen octets a message", "[pop3-listing]")
{
  Listing listing;
  constexpr std::uint64_t n = 100'000;
  for (std::uint64_t i = 1; i <= n; ++i) {
    listing.add_listing({i, 2000});
  }
  for (std::uint64_t i = 1; i <= n; ++i) {
    listing.add_uid(i, "0000" + std::to_string(1000000 + i) + "abcde");
  }
  CHECK(listing.find(n / 2) == std::optional<std::size_t>(n / 2 - 1));
  CHECK(listing.uid(n - 1) == "0000" + std::to_string(1000000 + n) + "abcde");
}
