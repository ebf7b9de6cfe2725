#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install what is missing, build, and run every test through ctest.
#
#   scripts/test.sh [PRESET]      PRESET: default (debug), release, asan, ci (release + -Werror)
#
# Integration tests start their own Dovecot on loopback and need root (its mail processes run
# as uid 8); without root they are reported as skipped, with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-default}

scripts/install-deps.sh

cmake --preset "$preset"
cmake --build --preset "$preset" -j2
ctest --preset "$preset" -j2 --output-on-failure
