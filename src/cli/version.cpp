// SPDX-License-Identifier: Apache-2.0
#include "cli/version.hpp"

#include "mailwrench_build_info.hpp"  // generated at build time by cmake/BuildInfo.cmake

#include <boost/version.hpp>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <climits>
#include <cstdlib>
#include <link.h>
#include <sstream>
#include <string_view>
#include <vector>

namespace mw::cli {

namespace {

int collect_library(dl_phdr_info* info, size_t /*size*/, void* data)
{
  if (info->dlpi_name != nullptr && *info->dlpi_name != '\0') {
    static_cast<std::vector<std::string>*>(data)->emplace_back(info->dlpi_name);
  }
  return 0;
}

// The file a loaded shared library whose name starts with `prefix` resolves to, which names
// its full version (libedit.so.2 -> "libedit.so.2.0.70"); "" when none is loaded.
std::string loaded_library(const std::vector<std::string>& loaded, std::string_view prefix)
{
  for (const auto& path : loaded) {
    std::string name = path.substr(path.rfind('/') + 1);
    if (!name.starts_with(prefix)) {
      continue;
    }
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) != nullptr) {
      std::string real(resolved);
      return real.substr(real.rfind('/') + 1);
    }
    return name;
  }
  return {};
}

}  // namespace

std::string version_text()
{
  std::ostringstream out;
  out << "mailwrench " << MAILWRENCH_VERSION;
  if (std::string_view(MAILWRENCH_GIT_COMMIT).empty()) {
    out << "\n";
  } else {
    out << " (commit " << MAILWRENCH_GIT_COMMIT << ")\n";
  }
  out << "License: Apache-2.0 (Apache License 2.0, https://www.apache.org/licenses/LICENSE-2.0)\n";
  out << "built with " << OPENSSL_VERSION_TEXT << ", Boost " << BOOST_VERSION / 100000 << "."
      << BOOST_VERSION / 100 % 1000 << "." << BOOST_VERSION % 100 << ", libedit "
      << MAILWRENCH_LIBEDIT_VERSION << "\n";
  // OpenSSL names its version; Boost and libedit do not, so the files loaded name theirs.
  std::vector<std::string> loaded;
  dl_iterate_phdr(collect_library, &loaded);
  out << "running with " << OpenSSL_version(OPENSSL_VERSION);
  for (std::string_view library :
       {"libboost_program_options.so", "libboost_regex.so", "libedit.so"}) {
    if (auto file = loaded_library(loaded, library); !file.empty()) {
      out << ", " << file;
    }
  }
  out << "\n";
  return out.str();
}

}  // namespace mw::cli
