#!/usr/bin/env bash
# Debian packages the test suite starts for real (browser, databases, proxy); installed once.
set -euo pipefail
packages=(chromium chromium-driver postgresql redis-server nginx)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  printf '\033[1m==> Installing Debian packages for the tests: %s\033[0m\n' "${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  printf '\033[1m==> Debian packages for the tests are installed\033[0m\n'
fi
