// SPDX-License-Identifier: Apache-2.0
// Fuzzes the config file reader (INI with [account NAME] sections, read with
// Boost.Program_options; src/cli/options.cpp) through cli::parse, the way the program reads
// it: a bad file is an mw::Error (78 or 64), never another exception or a crash.

#include "cli/options.hpp"
#include "commands/table.hpp"
#include "fuzz_support.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {

// The file the input is written to, one per process (libFuzzer may run several at once);
// removed when the process exits.
class ConfigFile {
public:
  ConfigFile()
  {
    const char* dir = std::getenv("TMPDIR");
    m_path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
             "/mailwrench-fuzz-config-XXXXXX";
    const int fd = ::mkstemp(m_path.data());
    if (fd < 0) {
      std::perror("mkstemp");
      std::abort();
    }
    ::close(fd);
  }
  ConfigFile(const ConfigFile&) = delete;
  ConfigFile& operator=(const ConfigFile&) = delete;
  ~ConfigFile() { std::remove(m_path.c_str()); }
  const std::string& path() const { return m_path; }

private:
  std::string m_path;
};

const std::string& config_path()
{
  static const ConfigFile file;
  return file.path();
}

std::optional<std::string> no_environment(const std::string& name)
{
  if (name == "HOME") {
    return "/nonexistent-home";
  }
  return std::nullopt;
}

void parse(const std::vector<std::string>& args)
{
  try {
    const auto invocation = mw::cli::parse(args, mw::commands::table(), no_environment);
    (void)invocation;
  } catch (const mw::Error& e) {
    const int code = static_cast<int>(e.code());
    mw::fuzz::check(code == 64 || code == 66 || code == 78,
                    "a config file problem with an exit code other than 64, 66 or 78", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string& path = config_path();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0) {
    std::perror("writing the config file");
    std::abort();
  }
  parse({"--config", path, "-a", "x", "stat"});
  parse({"--config", path, "list", "--headers"});
  parse({"--config", path, "-a", "x", "send", "--to", "bob@example.com", "--body", "hi"});
  return 0;
}
