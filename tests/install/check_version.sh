#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One version everywhere: project(VERSION) of CMakeLists.txt is what the package's Version
# field, its binary's --version, its manual page's header and its Debian changelog say, and
# CHANGELOG.md has a section for it. From a git checkout, --version names its commit.
#   check_version.sh BUILD_DIR SOURCE_DIR VERSION
set -euo pipefail
build=$1
source=$2
version=$3
command -v dpkg-shlibdeps >/dev/null || { echo "SKIP: dpkg-shlibdeps missing (package dpkg-dev)"; exit 77; }
out=$(mktemp -d /tmp/mw-version.XXXXXX)
trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -B "$out" >/dev/null
deb=$(ls "$out"/mailwrench_*.deb)
dpkg-deb -x "$deb" "$out/root"
failed=0
same() {  # WHAT FOUND
  if [ "$2" = "$version" ]; then echo "ok: $1: $2"; else echo "FAIL: $1 says '$2', CMakeLists.txt $version"; failed=1; fi
}
same "package Version" "$(dpkg-deb -f "$deb" Version)"
same "package file name" "$(basename "$deb" | sed -n 's/^mailwrench_\([^_]*\)_.*/\1/p')"
first=$("$out/root/usr/bin/mailwrench" --version | head -1)
same "--version" "$(sed -n 's/^mailwrench \([^ ]*\).*/\1/p' <<<"$first")"
th=$(gzip -dc "$out/root/usr/share/man/man1/mailwrench.1.gz" | grep '^\.TH ')
same "manual page .TH" "$(sed -n 's/^\.TH MAILWRENCH 1 [0-9-]* "mailwrench \([^"]*\)".*/\1/p' <<<"$th")"
same "Debian changelog" "$(gzip -dc "$out/root/usr/share/doc/mailwrench/changelog.gz" | sed -n '1s/^mailwrench (\(.*\)).*/\1/p')"
same "CHANGELOG.md section" "$(sed -n "s/^## \[\(${version//./\\.}\)\].*/\1/p" "$source/CHANGELOG.md")"
"$out/root/usr/bin/mailwrench" --version | grep -q 'Apache-2.0' && echo "ok: --version names Apache-2.0" \
  || { echo "FAIL: --version does not name the license"; failed=1; }

if commit=$(git -C "$source" rev-parse --short=12 HEAD 2>/dev/null); then
  if grep -q "(commit $commit\(-dirty\)\?)" <<<"$first"; then echo "ok: --version names commit $commit"
  else echo "FAIL: --version '$first' does not name commit $commit"; failed=1; fi
fi
"$out/root/usr/bin/mailwrench" --version | sed 's/^/  /'
exit $failed
