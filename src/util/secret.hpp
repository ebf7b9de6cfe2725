// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <string_view>
#include <utility>

namespace mw {

// Overwrites all of `text`'s buffer (its capacity, not only its size: a short string moved
// away keeps its characters in its own buffer) in a way the compiler cannot drop, and empties it.
// For the temporary copies of a secret (what a pipe or a file was read into).
inline void wipe_string(std::string& text) noexcept
{
  text.resize(text.capacity());  // within the capacity: no allocation, and the tail is counted
  OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

// A password or token. It cannot be streamed or formatted by accident, and its memory is
// wiped when it goes away. Read it with reveal() only where it goes on the wire.
class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value) : m_value(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret(Secret&& other) noexcept : m_value(std::move(other.m_value)) { other.wipe(); }
  Secret& operator=(const Secret&) = default;
  Secret& operator=(Secret&& other) noexcept
  {
    if (this != &other) {
      wipe();
      m_value = std::move(other.m_value);
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  const std::string& reveal() const noexcept { return m_value; }
  bool empty() const noexcept { return m_value.empty(); }

private:
  void wipe() noexcept { wipe_string(m_value); }

  std::string m_value;
};

}  // namespace mw
