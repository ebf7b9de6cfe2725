#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs with apt-get whatever of the build tools, libraries, test servers and documentation
# tools is missing (run by test.sh, demo.sh and bench/run.sh). Root, or sudo, is needed only
# when something is missing.
set -euo pipefail
extra=("$@")
# Build tools and libraries; the servers the integration tests start (and the clients whose
# records fetch --import-state reads); the tools the documentation tests use (tmux: a real
# terminal for the prompts); the package tests' (dpkg-dev, lintian; git for the version and
# the reproducibility test).
packages=(
  cmake make g++ pkg-config
  libboost-dev libboost-program-options-dev libboost-regex-dev libssl-dev libspdlog-dev
  nlohmann-json3-dev catch2 libedit-dev
  dovecot-core dovecot-pop3d dovecot-lmtpd postfix openssl ca-certificates python3
  mpop fetchmail getmail6
  mandoc groff-base man-db bash-completion zsh fish tmux
  dpkg-dev lintian git clang-14 libclang-rt-14-dev clang-format-14
)

packages+=("${extra[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps.sh: installing ${missing[*]}"
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
  if [ $created_policy = 1 ]; then
    $sudo rm -f /usr/sbin/policy-rc.d
  fi
fi

