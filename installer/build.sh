#!/usr/bin/env bash
# Installs what is missing (Debian packages), then configures and builds Gander in ./build.
# Idempotent: a second run only rebuilds what changed. Extra arguments go to CMake's configure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/installer/install-deps.sh"
build=${GANDER_BUILD_DIR:-$root/build}
jobs=${GANDER_JOBS:-$(nproc)}
cmake -S "$root" -B "$build" -G Ninja "$@"
cmake --build "$build" -j "$jobs"
