#!/usr/bin/env bash
# Installs what building lifeboat needs (and, with --test, what its tests and
# benchmarks need) from Debian 12 packages. Safe to run again.
set -euo pipefail

build_pkgs=(cmake ninja-build g++ pkg-config ccache
  libssl-dev libsodium-dev libzstd-dev libcurl4-openssl-dev libssh-dev libexpat1-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libpq-dev libsqlite3-dev libmicrohttpd-dev)
# Tests: GoogleTest, tools the end-to-end scripts use, and the real servers
# the storage tests start on 127.0.0.1 (sshd for SFTP; s3rver from npm and
# OpenStack Swift for S3; PostgreSQL 15 and MariaDB for the database sources, see
# tests/servers/).
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev attr python3 tar xxd
  openssh-server openssh-client procps curl openssl postgresql-15 postgresql-client-15
  redis-server redis-tools git sqlite3
  mariadb-server mariadb-client)
# Installed without their recommends (which would pull in services).
test_pkgs_norecommends=(swift swift-proxy swift-account swift-container swift-object)

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
updated=0

# install [apt-get options...] -- packages...: installs the missing ones.
install() {
  local opts=()
  while [[ $1 != "--" ]]; do opts+=("$1"); shift; done
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "installing: ${missing[*]}"
  if ((!updated)); then
    $SUDO apt-get update -q
    updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 \
    "${opts[@]}" "${missing[@]}"
}

install -- "${build_pkgs[@]}"
if [[ "${1:-}" == "--test" ]]; then
  install -- "${test_pkgs[@]}"
  install --no-install-recommends -- "${test_pkgs_norecommends[@]}"
  # s3rver runs on Node.js; a node from elsewhere (with its own npm) is fine.
  if ! command -v npm >/dev/null; then install -- nodejs npm; fi
fi
