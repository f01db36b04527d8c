#!/usr/bin/env bash
# Sets everything up (installer/build.sh) and starts the Gander desktop application.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/installer/build.sh"
build=${GANDER_BUILD_DIR:-$root/build}
exec "$build/bin/gander" "$@"
