#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the .deb with CPack, as the README says, and checks it as a distribution would:
# its contents, its dependencies, a stripped binary whose debug symbols are in the separate
# -dbgsym package, the copyright and changelog files, the maintainer from the CMake cache,
# and lintian: no error and no warning (overrides only with a reason, in
# packaging/lintian-overrides).
#   check_package.sh BUILD_DIR [MAINTAINER]
set -euo pipefail
build=$1
maintainer=${2:-}
command -v dpkg-shlibdeps >/dev/null || { echo "SKIP: dpkg-shlibdeps missing (package dpkg-dev)"; exit 77; }
out=$(mktemp -d /tmp/mw-deb.XXXXXX)
trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -B "$out" >/dev/null
deb=$(ls "$out"/mailwrench_*.deb)
echo "built $(basename "$deb")"
contents=$(dpkg-deb -c "$deb")
failed=0
fail() { echo "FAIL: $*"; failed=1; }
for f in ./usr/bin/mailwrench ./usr/share/man/man1/mailwrench.1.gz \
         ./usr/share/bash-completion/completions/mailwrench \
         ./usr/share/zsh/vendor-completions/_mailwrench \
         ./usr/share/fish/vendor_completions.d/mailwrench.fish \
         ./usr/share/doc/mailwrench/copyright ./usr/share/doc/mailwrench/changelog.gz; do
  grep -q " $f\$" <<<"$contents" && echo "ok: $f" || fail "missing in the package: $f"
done
if grep -q '/usr/lib/debug' <<<"$contents"; then fail "debug symbols in the main package"; fi

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libssl3 libboost-program-options libboost-regex libc6 libstdc++6 libedit2; do
  grep -q "$lib" <<<"$depends" && echo "ok: depends on $lib" || fail "no dependency on $lib"
done
[ "$(dpkg-deb -f "$deb" Recommends)" = ca-certificates ] && echo "ok: Recommends: ca-certificates" \
  || fail "Recommends is '$(dpkg-deb -f "$deb" Recommends)', not ca-certificates"
if [ -n "$maintainer" ]; then
  [ "$(dpkg-deb -f "$deb" Maintainer)" = "$maintainer" ] && echo "ok: Maintainer: $maintainer" \
    || fail "Maintainer is '$(dpkg-deb -f "$deb" Maintainer)', the cache says '$maintainer'"
fi

# The binary is stripped; its debug information is in mailwrench-dbgsym, under the build ID.
root="$out/root"
mkdir "$root"
dpkg-deb -x "$deb" "$root"
if readelf -S "$root/usr/bin/mailwrench" | grep -q '\.debug_info'; then
  fail "usr/bin/mailwrench has debug information"
else
  echo "ok: usr/bin/mailwrench is stripped ($(stat -c %s "$root/usr/bin/mailwrench") bytes)"
fi
dbgsym=$(ls "$out"/mailwrench-dbgsym_*.*deb 2>/dev/null || true)
if [ -z "$dbgsym" ]; then
  fail "no mailwrench-dbgsym package"
else
  build_id=$(readelf -n "$root/usr/bin/mailwrench" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
  debug_file="./usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
  dpkg-deb -c "$dbgsym" | grep -q " $debug_file\$" && echo "ok: $(basename "$dbgsym") has $debug_file" \
    || fail "$(basename "$dbgsym") lacks $debug_file"
fi

# The copyright file is machine-readable (DEP-5) and names the license.
copyright="$root/usr/share/doc/mailwrench/copyright"
if [ -f "$copyright" ]; then
  head -1 "$copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
    && grep -q '^License: Apache-2.0' "$copyright" && echo "ok: DEP-5 copyright, Apache-2.0" \
    || fail "copyright is not DEP-5 with License: Apache-2.0"
fi

if readelf -d "$root/usr/bin/mailwrench" | grep -q 'NEEDED.*lib[a-z]*san'; then
  # The asan preset's package is no package anyone ships: lintian's verdict on it says nothing.
  echo "note: a sanitizer build; the package was not linted"
elif command -v lintian >/dev/null; then
  # Root is how CI runs; lintian's own note about it is no finding about the package.
  if lintian --fail-on error,warning --allow-root "$deb" >"$out/lintian.txt" 2>&1; then
    echo "ok: lintian (no error, no warning)"
  else
    echo "FAIL: lintian:"
    failed=1
  fi
  sed 's/^/  /' "$out/lintian.txt"
else
  echo "note: lintian is not installed (Debian: lintian); the package was not linted"
fi
exit $failed
