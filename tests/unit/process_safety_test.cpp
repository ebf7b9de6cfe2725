// SPDX-License-Identifier: Apache-2.0
// Issue 11.14: secrets are wiped from every buffer that held them.
#include "util/secret.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {

bool all_zero(const char* p, std::size_t n)
{
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("a secret moved away leaves no copy in its old buffer", "[secret]")
{
  // Short enough for the string's own (small-string) buffer, which a move copies from.
  mw::Secret first(std::string("hunter2"));
  const char* old_buffer = first.reveal().data();
  const mw::Secret second(std::move(first));
  CHECK(second.reveal() == "hunter2");
  CHECK(all_zero(old_buffer, 7));

  mw::Secret third;
  mw::Secret fourth(std::string("s3cret!"));
  const char* fourth_buffer = fourth.reveal().data();
  third = std::move(fourth);
  CHECK(third.reveal() == "s3cret!");
  CHECK(all_zero(fourth_buffer, 7));
}

TEST_CASE("wipe_string clears the whole buffer, past the size too", "[secret]")
{
  std::string text = "password\nrest of the output that follows the first line";
  const char* buffer = text.data();
  const std::size_t capacity = text.capacity();
  text.resize(8);  // as first_line() does: the tail is still in the buffer
  mw::wipe_string(text);
  CHECK(text.empty());
  CHECK(text.data() == buffer);
  CHECK(all_zero(buffer, capacity));
}
