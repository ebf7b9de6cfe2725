#!/usr/bin/env bash
# Builds the .deb with CPack and checks its contents and its dependencies.
#   check_package.sh BUILD_DIR
set -euo pipefail
build=$1
command -v dpkg-shlibdeps >/dev/null || { echo "SKIP: dpkg-shlibdeps missing (package dpkg-dev)"; exit 77; }
out=$(mktemp -d /tmp/mw-deb.XXXXXX)
trap 'rm -rf "$out"' EXIT
cpack --config "$build/CPackConfig.cmake" -B "$out" >/dev/null
deb=$(ls "$out"/*.deb)
echo "built $(basename "$deb")"
contents=$(dpkg-deb -c "$deb")
failed=0
for f in ./usr/bin/mailwrench ./usr/share/man/man1/mailwrench.1 \
         ./usr/share/bash-completion/completions/mailwrench \
         ./usr/share/zsh/vendor-completions/_mailwrench \
         ./usr/share/fish/vendor_completions.d/mailwrench.fish; do
  grep -q " $f\$" <<<"$contents" && echo "ok: $f" || { echo "MISSING in the package: $f"; failed=1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libssl3 libboost-program-options libboost-regex libc6 libstdc++6; do
  grep -q "$lib" <<<"$depends" && echo "ok: depends on $lib" || { echo "no dependency on $lib"; failed=1; }
done
exit $failed
