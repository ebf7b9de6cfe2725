# SPDX-License-Identifier: Apache-2.0
# Reproducible builds: two builds of one commit, in any directories, give the same bytes.
# - No build path in the objects: __FILE__, the debug information and its compilation
#   directory name paths relative to the source tree (the build tree mapped last, so that
#   a build tree inside the source tree is mapped as itself: the last matching map wins).
# - The git commit and the date come from the checkout, not the clock (cmake/BuildInfo.cmake,
#   run at every build; target mailwrench_build_info; header in MAILWRENCH_GENERATED_DIR).
add_compile_options("-ffile-prefix-map=${CMAKE_SOURCE_DIR}/=" "-ffile-prefix-map=${CMAKE_BINARY_DIR}/=build/")

set(MAILWRENCH_GENERATED_DIR "${CMAKE_BINARY_DIR}/generated")
file(MAKE_DIRECTORY "${MAILWRENCH_GENERATED_DIR}")
add_custom_target(mailwrench_build_info ALL
  COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${CMAKE_SOURCE_DIR}"
          "-DOUTPUT_DIR=${MAILWRENCH_GENERATED_DIR}" -P "${CMAKE_SOURCE_DIR}/cmake/BuildInfo.cmake"
  BYPRODUCTS "${MAILWRENCH_GENERATED_DIR}/mailwrench_build_info.hpp"
             "${MAILWRENCH_GENERATED_DIR}/source_date_epoch"
  COMMENT "Build information: git commit, SOURCE_DATE_EPOCH"
  VERBATIM)
