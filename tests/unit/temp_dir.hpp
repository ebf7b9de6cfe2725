// SPDX-License-Identifier: Apache-2.0
#pragma once

// Test helpers for code that touches the file system: a temporary directory per test, and
// whole-file reads and writes.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mw::test {

// A directory under /tmp for one test, removed with everything in it afterwards.
class TempDir {
public:
  TempDir()
  {
    std::string pattern = "/tmp/mw-store-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir()
  {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  const std::string& path() const { return m_path; }
  std::string operator/(const std::string& name) const { return m_path + "/" + name; }

private:
  std::string m_path;
};

inline std::string read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline void write_file(const std::string& path, const std::string& content)
{
  std::ofstream(path, std::ios::binary) << content;
}

}  // namespace mw::test
