#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace mw {

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
  void wipe() noexcept
  {
    volatile char* p = m_value.data();
    for (std::size_t i = 0; i < m_value.size(); ++i) {
      p[i] = 0;
    }
    m_value.clear();
  }

  std::string m_value;
};

}  // namespace mw
