# SPDX-License-Identifier: Apache-2.0
# Warnings as an interface target: every project target links it.
add_library(mailwrench_warnings INTERFACE)
target_compile_options(mailwrench_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(MAILWRENCH_WERROR)
  target_compile_options(mailwrench_warnings INTERFACE -Werror)
endif()
