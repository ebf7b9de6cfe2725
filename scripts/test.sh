#!/usr/bin/env bash
# Install what is missing, build, and run every test through ctest.
#
#   scripts/test.sh [PRESET]      PRESET: default (debug), release, asan, ci (release + -Werror)
#
# Integration tests start their own Dovecot on loopback and need root (its mail processes run
# as uid 8); without root they are reported as skipped, with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-default}

# Build tools and libraries; the servers the integration tests start; the tools the
# documentation tests use.
packages=(
  cmake make g++ pkg-config
  libboost-dev libboost-program-options-dev libboost-regex-dev libssl-dev libspdlog-dev
  nlohmann-json3-dev catch2
  dovecot-core dovecot-pop3d postfix openssl ca-certificates python3
  mandoc groff-base man-db bash-completion zsh fish
  dpkg-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Keep the packages' system-wide services from starting (no init here, and we start our own).
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  # Postfix: no system configuration (the tests run their own instance).
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ $created_policy = 1 ] && $sudo rm -f /usr/sbin/policy-rc.d
fi

cmake --preset "$preset"
cmake --build --preset "$preset" -j2
ctest --preset "$preset" -j2 --output-on-failure
