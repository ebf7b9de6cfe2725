# SPDX-License-Identifier: Apache-2.0
# Sanitizers as an interface target (the "asan" preset turns them on).
add_library(mailwrench_sanitizers INTERFACE)
if(MAILWRENCH_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(mailwrench_sanitizers INTERFACE ${_san})
  target_link_options(mailwrench_sanitizers INTERFACE ${_san})
endif()
