#!/usr/bin/env bash
# Sets everything up (installer/build.sh) and runs every test with ctest. Tests labelled `gpu`
# need an NVIDIA card: they run when one is present (tests/gpu/run.sh runs them on the lent GPU).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/installer/build.sh"
build=${GANDER_BUILD_DIR:-$root/build}
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export GANDER_FIXTURES=${GANDER_FIXTURES:-$root/../shared/fixtures}
exclude=()
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "test.sh: no NVIDIA card here; tests labelled gpu are left to tests/gpu/run.sh"
  exclude=(-LE gpu)
fi
ctest --test-dir "$build" --output-on-failure -j "${GANDER_JOBS:-$(nproc)}" "${exclude[@]}"
