#!/usr/bin/env bash
# Installs what the tests need, builds lifeboat with its tests and runs them
# all (unit tests and end-to-end tests of the real binary). CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test

BUILD_DIR=${BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIFEBOAT_BUILD_TESTS=ON
cmake --build "$BUILD_DIR" -j "$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"
