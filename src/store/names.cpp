// SPDX-License-Identifier: Apache-2.0
#include "store/names.hpp"

#include "util/digest.hpp"
#include "util/text.hpp"

#include <atomic>
#include <cstdint>
#include <ctime>
#include <unistd.h>

namespace mw::store {

namespace {

constexpr std::size_t k_max_name = 200;
constexpr std::size_t k_hash_chars = 16;

bool is_kept(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '@' || c == '+';
}

void append_escaped(std::string& out, char c)
{
  out.push_back('%');
  text::append_hex(out, static_cast<unsigned char>(c), text::Hex::upper);
}

std::string host_name()
{
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') {
    return "localhost";
  }
  std::string host;
  for (const char* p = buffer; *p != '\0'; ++p) {
    if (*p == '/') {
      host += "\\057";
    } else if (*p == ':') {
      host += "\\072";
    } else {
      host.push_back(*p);
    }
  }
  return host;
}

}  // namespace

std::string safe_file_name(std::string_view text)
{
  std::string name;
  name.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_kept(c) && !(i == 0 && c == '.')) {
      name.push_back(c);
    } else {
      append_escaped(name, c);
    }
  }
  if (name.size() <= k_max_name) {
    return name;
  }
  std::size_t cut = k_max_name - k_hash_chars - 1;
  // Never cut inside a %XX escape.
  if (name[cut - 1] == '%') {
    cut -= 1;
  } else if (cut >= 2 && name[cut - 2] == '%') {
    cut -= 2;
  }
  name.resize(cut);
  name += '-';
  name += digest::hex(digest::sha256(text)).substr(0, k_hash_chars);
  return name;
}

const std::string& unique_host()
{
  static const std::string host = host_name();
  return host;
}

std::string unique_name()
{
  static std::atomic<std::uint64_t> counter{0};
  // Read once: the only child this process forks (--password-command) execs at once.
  static const std::string pid = std::to_string(::getpid());
  const std::string& host = unique_host();
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return std::to_string(now.tv_sec) + ".M" + std::to_string(now.tv_nsec / 1000) + "P" + pid + "Q" +
         std::to_string(++counter) + "." + host;
}

}  // namespace mw::store
