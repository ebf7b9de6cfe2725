# SPDX-License-Identifier: Apache-2.0
# Run at build time (cmake -P): the installed manual page, with project(VERSION) and the
# build's date (cmake/BuildInfo.cmake) in its .TH header, gzip-compressed without a name
# or timestamp (reproducible).
#   -DSOURCE=man/mailwrench.1 -DOUTPUT=.../mailwrench.1 -DVERSION=x.y.z -DEPOCH_FILE=...
file(READ "${EPOCH_FILE}" epoch)
string(STRIP "${epoch}" epoch)
set(ENV{SOURCE_DATE_EPOCH} "${epoch}")
string(TIMESTAMP date "%Y-%m-%d" UTC)
file(READ "${SOURCE}" page)
string(REGEX REPLACE "\n\\.TH MAILWRENCH 1 [^\n]*"
       "\n.TH MAILWRENCH 1 ${date} \"mailwrench ${VERSION}\" \"User Commands\"" page "${page}")
file(WRITE "${OUTPUT}" "${page}")
find_program(GZIP gzip REQUIRED)
execute_process(COMMAND "${GZIP}" -9 -n -c "${OUTPUT}" OUTPUT_FILE "${OUTPUT}.gz"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${OUTPUT} failed")
endif()
