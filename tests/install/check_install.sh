#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the build into a temporary prefix and checks that every file landed where the
# system looks for it, that the installed manual renders without warnings, and that the
# installed binary runs.
#   check_install.sh CMAKE BUILD_DIR
set -euo pipefail
cmake_bin=$1
build=$2
prefix=$(mktemp -d /tmp/mw-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

"$cmake_bin" --install "$build" --prefix "$prefix" >/dev/null

failed=0
for f in bin/mailwrench \
         share/man/man1/mailwrench.1.gz \
         share/doc/mailwrench/copyright \
         share/doc/mailwrench/changelog.gz \
         share/bash-completion/completions/mailwrench \
         share/zsh/vendor-completions/_mailwrench \
         share/fish/vendor_completions.d/mailwrench.fish; do
  if [ -s "$prefix/$f" ]; then
    echo "ok: $f"
  else
    echo "MISSING: $prefix/$f"
    failed=1
  fi
done
[ -x "$prefix/bin/mailwrench" ] || { echo "not executable: bin/mailwrench"; failed=1; }

"$prefix/bin/mailwrench" --version | head -1

# The installed page must render cleanly, as 'man mailwrench' would show it.
page="$prefix/man.1"
gzip -dc "$prefix/share/man/man1/mailwrench.1.gz" >"$page"
if command -v mandoc >/dev/null; then
  out=$(mandoc -Tlint -W warning "$page" 2>&1 || true)
  if [ -n "$out" ]; then echo "mandoc -Tlint:"; echo "$out"; failed=1; else echo "ok: mandoc -Tlint"; fi
fi
if command -v groff >/dev/null; then
  out=$(groff -man -ww -z "$page" 2>&1 || true)
  if [ -n "$out" ]; then echo "groff -ww:"; echo "$out"; failed=1; else echo "ok: groff -ww"; fi
fi
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$page" >/dev/null 2>"$prefix/man.err" || { cat "$prefix/man.err"; failed=1; }
  echo "ok: man -l"
fi
exit $failed
