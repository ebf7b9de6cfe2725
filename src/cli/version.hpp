// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace mw::cli {

// What `mailwrench --version` prints: the version (project(VERSION) in CMakeLists.txt) and,
// when built from a git checkout, the commit; the license; the OpenSSL, Boost and libedit
// versions it was built with and, where the library tells, the ones it runs with.
std::string version_text();

}  // namespace mw::cli
