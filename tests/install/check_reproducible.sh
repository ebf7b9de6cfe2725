#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reproducible builds: the commit checked out again in another directory, configured like
# this build and built once more (-j2, only what the package holds), gives byte-identical
# .deb and -dbgsym packages. Registered for optimised builds only (the release and ci
# presets): the second build takes a few minutes on 2 cores.
#   check_reproducible.sh SOURCE_DIR BUILD_DIR [CMAKE_ARGS...]
set -euo pipefail
source=$1
build=$2
shift 2
command -v dpkg-shlibdeps >/dev/null || { echo "SKIP: dpkg-shlibdeps missing (package dpkg-dev)"; exit 77; }
commit=$(git -C "$source" rev-parse HEAD 2>/dev/null) || { echo "SKIP: $source is no git checkout"; exit 77; }
if [ -n "$(git -C "$source" status --porcelain --untracked-files=no)" ]; then
  echo "SKIP: the checkout has uncommitted changes: this build is of no commit"
  exit 77
fi
# The build must be of this commit (ctest runs what was built; HEAD may have moved since).
built=$(sed -n 's/#define MAILWRENCH_GIT_COMMIT "\(.*\)"/\1/p' "$build/generated/mailwrench_build_info.hpp")
if [ "$built" != "${commit:0:12}" ]; then
  echo "SKIP: $build was built from '$built', HEAD is ${commit:0:12}: build again first"
  exit 77
fi

# The copy lives under the build tree (ignored by git): another path, the same for every run.
work="$build/reproducible"
rm -rf "$work"
# Kept when the packages differ, to look into (diffoscope, if installed, shows where).
trap '[ "${failed:-1}" = 0 ] && rm -rf "$work"' EXIT
mkdir -p "$work/first" "$work/second"
git clone --quiet --shared --no-checkout "$source" "$work/copy/mailwrench"
git -C "$work/copy/mailwrench" checkout --quiet --detach "$commit"

start=$SECONDS
maintainer=$(sed -n 's/^MAILWRENCH_PACKAGE_MAINTAINER:STRING=//p' "$build/CMakeCache.txt")
cmake -S "$work/copy/mailwrench" -B "$work/copy/mailwrench/build/copy" -DMAILWRENCH_TESTS=OFF "$@" \
  "-DMAILWRENCH_PACKAGE_MAINTAINER=$maintainer" >"$work/configure.log" \
  || { cat "$work/configure.log"; exit 1; }
CCACHE_RECACHE=1 cmake --build "$work/copy/mailwrench/build/copy" -j2 >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; exit 1; }
echo "second build: $((SECONDS - start)) s"

# cpack builds the project first (its preinstall step), so the first package is of this commit.
# Both packaged in one output directory: CPack 3.25 writes the -dbgsym package's md5sums with
# the absolute path of its staging directory under it (the .deb's are right).
for d in first second; do
  config="$build/CPackConfig.cmake"
  [ $d = second ] && config="$work/copy/mailwrench/build/copy/CPackConfig.cmake"
  rm -rf "$work/package"
  cpack --config "$config" -B "$work/package" >/dev/null
  mv "$work"/package/*.deb "$work"/package/*.ddeb "$work/$d/"
done

failed=0
for f in "$work"/first/*.deb "$work"/first/*.ddeb; do
  name=$(basename "$f")
  other="$work/second/$name"
  if [ ! -f "$other" ]; then echo "FAIL: the second build made no $name"; failed=1; continue; fi
  if cmp -s "$f" "$other"; then
    echo "ok: $name is byte-identical ($(sha256sum <"$f" | cut -c1-16))"
  else
    echo "FAIL: $name differs between the two builds"
    failed=1
    if command -v diffoscope >/dev/null; then
      diffoscope --text - "$f" "$other" | head -80 || true
    else
      for d in first second; do rm -rf "$work/x-$d"; mkdir -p "$work/x-$d"; dpkg-deb -R "$work/$d/$name" "$work/x-$d"; done
      diff -r "$work/x-first" "$work/x-second" | head -20 || true
      (cd "$work/x-first" && find . -type f ! -exec cmp -s {} "$work/x-second/{}" \; -print) | head -20
    fi
  fi
done
[ $failed = 0 ] || echo "the two builds are kept in $work"
exit $failed
