# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` puts where, and the Debian package built from it by CPack:
#   cpack --config build/<preset>/CPackConfig.cmake
# The package passes lintian (tests/install/check_package.sh): a stripped binary whose debug
# symbols go to mailwrench-dbgsym (a .ddeb), a compressed manual page, a DEP-5 copyright file,
# a Debian changelog, Depends from dpkg-shlibdeps. Two builds of one commit give the same
# bytes (cmake/Reproducible.cmake; SOURCE_DATE_EPOCH is the last commit's date).
include(GNUInstallDirs)

# The Maintainer field and the signature of the Debian changelog. Packagers set theirs:
#   cmake --preset release -DMAILWRENCH_PACKAGE_MAINTAINER="Jane Doe <jane@example.net>"
set(MAILWRENCH_PACKAGE_MAINTAINER "mailwrench developers <mailwrench@example.org>"
    CACHE STRING "Maintainer of the Debian package: \"Name <address>\"")

set(_mw_epoch "${MAILWRENCH_GENERATED_DIR}/source_date_epoch")
set(_mw_man "${CMAKE_BINARY_DIR}/man/mailwrench.1")
set(_mw_changelog "${CMAKE_BINARY_DIR}/packaging/changelog.gz")
file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/man" "${CMAKE_BINARY_DIR}/packaging")
add_custom_command(OUTPUT "${_mw_man}" "${_mw_man}.gz"
  COMMAND "${CMAKE_COMMAND}" "-DSOURCE=${CMAKE_SOURCE_DIR}/man/mailwrench.1" "-DOUTPUT=${_mw_man}"
          "-DVERSION=${PROJECT_VERSION}" "-DEPOCH_FILE=${_mw_epoch}"
          -P "${CMAKE_SOURCE_DIR}/cmake/ManPage.cmake"
  DEPENDS "${CMAKE_SOURCE_DIR}/man/mailwrench.1" "${CMAKE_SOURCE_DIR}/cmake/ManPage.cmake"
          "${_mw_epoch}" mailwrench_build_info
  COMMENT "Manual page for version ${PROJECT_VERSION}" VERBATIM)
add_custom_command(OUTPUT "${_mw_changelog}"
  COMMAND "${CMAKE_COMMAND}" "-DVERSION=${PROJECT_VERSION}"
          "-DMAINTAINER=${MAILWRENCH_PACKAGE_MAINTAINER}" "-DEPOCH_FILE=${_mw_epoch}"
          "-DOUTPUT=${_mw_changelog}" -P "${CMAKE_SOURCE_DIR}/cmake/DebianChangelog.cmake"
  DEPENDS "${CMAKE_SOURCE_DIR}/cmake/DebianChangelog.cmake" "${_mw_epoch}" mailwrench_build_info
  COMMENT "Debian changelog for version ${PROJECT_VERSION}" VERBATIM)
add_custom_target(mailwrench_docs ALL DEPENDS "${_mw_man}.gz" "${_mw_changelog}")

install(TARGETS mailwrench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES "${_mw_man}.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES completions/mailwrench.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME mailwrench)
install(FILES completions/_mailwrench DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES completions/mailwrench.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(FILES packaging/copyright "${_mw_changelog}"
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/mailwrench)
install(FILES packaging/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME mailwrench)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mailwrench)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${MAILWRENCH_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MAILWRENCH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Look into, export and repair mailboxes over POP3 (stat, list, top, fetch,\npurge) and send test mail over SMTP, with TLS, SASL, JSON output and\nsysexits exit codes. Licensed under the Apache License 2.0.")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_RESOURCE_FILE_LICENSE "${CMAKE_SOURCE_DIR}/LICENSE")
# cpack takes SOURCE_DATE_EPOCH (the archive's dates) from the build (cmake/BuildInfo.cmake).
set(CPACK_MW_EPOCH_FILE "${_mw_epoch}")
configure_file(cmake/CPackProjectConfig.cmake.in "${CMAKE_BINARY_DIR}/CPackProjectConfig.cmake" @ONLY)
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_BINARY_DIR}/CPackProjectConfig.cmake")
include(CPack)
