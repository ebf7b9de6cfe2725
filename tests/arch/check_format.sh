#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every C++ file of the tree is as the repository's .clang-format writes it (clang-format 14,
# the Debian 12 one: other versions format some constructs differently). Exit 77 (skipped,
# with the reason) when clang-format 14 is not installed; scripts/install-deps.sh installs it.
#
#   tests/arch/check_format.sh SOURCE_DIR
#   clang-format-14 -i $(git ls-files '*.cpp' '*.hpp')      # what fixes it
set -euo pipefail
cd "$1"
format=$(command -v clang-format-14 || true)
if [ -z "$format" ]; then
  echo "SKIP: clang-format-14 is not installed, so the formatting is not checked"
  exit 77
fi
mapfile -t files < <(find src tests bench -name '*.cpp' -o -name '*.hpp' | sort)
if out=$("$format" --dry-run --Werror "${files[@]}" 2>&1); then
  echo "${#files[@]} files formatted as .clang-format says"
  exit 0
fi
printf '%s\n' "$out" | head -40 || true
echo "FAIL: these files differ from .clang-format: run clang-format-14 -i on them"
exit 1
