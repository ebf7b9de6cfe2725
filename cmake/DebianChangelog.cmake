# SPDX-License-Identifier: Apache-2.0
# Run at build time (cmake -P): the package's Debian changelog (usr/share/doc/mailwrench/
# changelog.gz, as a native package has it): one entry for project(VERSION), signed by the
# package maintainer (MAILWRENCH_PACKAGE_MAINTAINER) on the build's date, gzip-compressed
# without a name or timestamp (reproducible).
#   -DVERSION=x.y.z -DMAINTAINER="Name <address>" -DEPOCH_FILE=... -DOUTPUT=.../changelog.gz
file(READ "${EPOCH_FILE}" epoch)
string(STRIP "${epoch}" epoch)
set(ENV{SOURCE_DATE_EPOCH} "${epoch}")
string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(WRITE "${dir}/changelog"
"mailwrench (${VERSION}) unstable; urgency=medium

  * mailwrench ${VERSION}. What changed for users is in CHANGELOG.md of the
    source (https://keepachangelog.com form).

 -- ${MAINTAINER}  ${date}
")
find_program(GZIP gzip REQUIRED)
execute_process(COMMAND "${GZIP}" -9 -n -c "${dir}/changelog" OUTPUT_FILE "${OUTPUT}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${dir}/changelog failed")
endif()
