#!/usr/bin/env bash
# Installs, from Debian's packages, everything Gander needs to build, run and test on a fresh
# Debian 12 machine. Idempotent: packages already present are left alone, so a second run is quick.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libsqlite3-dev sqlite3
  libsentencepiece-dev sentencepiece
  qt6-base-dev qt6-base-dev-tools libqt6sql6-sqlite qt6-svg-dev qt6-pdf-dev
  libgl-dev libxkbcommon-dev
  clang libclang-rt-14-dev
  xvfb xauth
  lintian librsvg2-bin desktop-file-utils appstream
  nodejs
)
# Debian's npm conflicts with NodeSource's nodejs, which bundles npm: ask for it only when absent.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
