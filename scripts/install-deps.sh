#!/usr/bin/env bash
# Installs what building lifeboat needs (and, with --test, what its tests and
# benchmarks need) from Debian 12 packages. Safe to run again.
set -euo pipefail

build_pkgs=(cmake ninja-build g++ pkg-config ccache
  libssl-dev libsodium-dev libzstd-dev libcurl4-openssl-dev libssh-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev attr python3 tar xxd)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
