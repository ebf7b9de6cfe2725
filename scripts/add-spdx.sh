#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Adds the license's SPDX line at the top of every source file that lacks it (after a #! or
# #compdef first line), as the test "arch: SPDX license line in every source file" wants.
# Re-run it after adding files (or merging branches that add some); it changes nothing twice.
#   scripts/add-spdx.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tests/arch/check_spdx.py --source . --fix
