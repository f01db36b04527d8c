#!/usr/bin/env bash
# The package test: builds gander's .deb from a build folder (cpack, once), installs it into a
# fresh root (dpkg --root when run as root, else dpkg-deb -x), starts the installed programs from
# there (gander offscreen, gander-cli info on a fixture model), validates the desktop entry and
# the AppStream metainfo, checks the .tar.gz runs from where it is unpacked, runs lintian, then
# removes the package and checks nothing is left.
#
#   test_package.sh BUILD_DIR VERSION GUI(ON|OFF) CUDA(ON|OFF) [SERVER(ON|OFF)]
#
# Everything it writes is under BUILD_DIR/package-test (made afresh each run).
set -euo pipefail

build=$(cd "$1" && pwd) version=$2 gui=$3 cuda=$4 server=${5:-OFF}
fixtures=${GANDER_FIXTURES:-${GANDER_FIXTURES_DEFAULT:-}}
work=$build/package-test
root=$work/root
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
step() { echo; echo "== $* ($(( $(date +%s) - t0 )) s)"; }
t0=$(date +%s)

rm -rf "$work"
mkdir -p "$work/out" "$root"

# ---- build the package ----------------------------------------------------------------------
step "cpack -G DEB"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 || {
  cat "$work/cpack.log"; echo "FAIL: cpack"; exit 1; }
deb=$(ls "$work"/out/gander_*.deb)
echo "$deb ($(du -h "$deb" | cut -f1))"

# ---- control fields: dependencies come from dpkg-shlibdeps ---------------------------------
step "control"
dpkg-deb -f "$deb" Package Version Architecture Depends Recommends | tee "$work/control"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' >"$work/depends"
# libstdc++6 is not among them in every build: a CUDA build may link it statically.
expected=(libc6)
[ "$gui" = ON ] && expected+=(libqt6core6 libqt6gui6 libqt6widgets6 libqt6sql6 libqt6sql6-sqlite libqt6svg6)
for dep in "${expected[@]}"; do
  grep -Fqx "$dep" "$work/depends" || fail "Depends lacks $dep"
done
grep -qi cublas "$work/depends" && fail "Depends names cuBLAS, which the package carries itself"

# ---- contents -------------------------------------------------------------------------------
step "contents"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/contents"
wanted=(/usr/bin/gander-cli /usr/bin/gander-quantize /usr/bin/gander-bench
        /usr/share/man/man1/gander-cli.1.gz /usr/share/man/man1/gander-quantize.1.gz
        /usr/share/doc/gander/copyright /usr/share/doc/gander/changelog.gz)
[ "$server" = ON ] && wanted+=(/usr/bin/gander-server /usr/share/man/man1/gander-server.1.gz)
[ "$gui" = ON ] && wanted+=(/usr/bin/gander /usr/share/man/man1/gander.1.gz
  /usr/share/applications/gander.desktop /usr/share/metainfo/app.gander.Gander.metainfo.xml
  /usr/share/icons/hicolor/scalable/apps/gander.svg /usr/share/icons/hicolor/48x48/apps/gander.png
  /usr/share/icons/hicolor/256x256/apps/gander.png)
[ "$cuda" = ON ] && wanted+=(/usr/lib/gander/cuda/libcublas.so.13 /usr/lib/gander/cuda/libcublasLt.so.13)
for f in "${wanted[@]}"; do
  grep -qx "$f" "$work/contents" || fail "the package lacks $f"
done
outside=$(grep -v '^/usr/' "$work/contents" | grep -vx '/' || true)
[ -z "$outside" ] || fail "files outside /usr: $outside"

# ---- install into a fresh root --------------------------------------------------------------
step "install into $root"
use_dpkg=no
# GANDER_PACKAGE_UNPACK_ONLY=1 takes the non-root path as root too.
if [ "$(id -u)" -eq 0 ] && [ -z "${GANDER_PACKAGE_UNPACK_ONLY:-}" ]; then
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
  touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
  # The root is empty: its dependencies (libc, Qt) are the host's, so they are not checked here.
  if dpkg --root="$root" --force-depends --log="$work/dpkg.log" -i "$deb" >"$work/dpkg-install.log" 2>&1
  then use_dpkg=yes
  else cat "$work/dpkg-install.log"; fail "dpkg --root -i"
  fi
else
  echo "not root: unpacking with dpkg-deb -x (no removal check)"
  dpkg-deb -x "$deb" "$root"
fi

# The programs find their private libraries by RPATH; nothing else points into the root.
unset LD_LIBRARY_PATH
if [ "$cuda" = ON ]; then
  ldd "$root/usr/bin/gander-cli" | grep cublas | tee "$work/ldd"
  grep -Eq "=> $root/usr/(bin/\.\./)?lib/gander/cuda/libcublas\.so" "$work/ldd" ||
    fail "gander-cli does not take cuBLAS from the package"
fi

# ---- run the installed programs -------------------------------------------------------------
step "gander-cli info"
model=$fixtures/rwkv7/rand-a.pth
if [ -f "$model" ]; then
  if "$root/usr/bin/gander-cli" info --model "$model" >"$work/info.txt" 2>&1; then
    cat "$work/info.txt"
    grep -qi layer "$work/info.txt" || fail "gander-cli info printed no layer count"
  else
    cat "$work/info.txt"; fail "gander-cli info --model $model"
  fi
else
  fail "no fixture model at $model (set GANDER_FIXTURES)"
fi
"$root/usr/bin/gander-quantize" --help >/dev/null || fail "gander-quantize --help"
if [ "$server" = ON ]; then
  QT_QPA_PLATFORM=offscreen "$root/usr/bin/gander-server" --help >/dev/null || fail "gander-server --help"
fi

if [ "$gui" = ON ]; then
  step "gander offscreen"
  home=$work/home
  mkdir -p "$home/runtime"
  chmod 700 "$home/runtime"
  # A clean environment: the host's HOME and settings are not touched.
  gander=(env -i PATH=/usr/bin:/bin HOME="$home" XDG_RUNTIME_DIR="$home/runtime"
          QT_QPA_PLATFORM=offscreen "$root/usr/bin/gander" --settings "$home/settings.ini"
          --data-dir "$home/data")
  "${gander[@]}" --version >"$work/version.txt" 2>&1 || fail "gander --version"
  cat "$work/version.txt"
  grep -q "^Gander $version" "$work/version.txt" || fail "gander --version does not say $version"
  # A CUDA build names its kernels' architectures (installer/build_info.h, gander_version_line()).
  if [ "$cuda" = ON ] && ! grep -q "sm_[0-9]" "$work/version.txt"; then
    fail "gander --version does not name the CUDA architectures"
  fi
  # Started for real: it must still be running after a few seconds and say nothing fatal.
  rc=0
  timeout 8 "${gander[@]}" >"$work/gander.log" 2>&1 || rc=$?
  cat "$work/gander.log"
  [ "$rc" -eq 124 ] || fail "gander exited ($rc) instead of running"
  if grep -Eiq "fatal|could not load|not loaded|segmentation|abort" "$work/gander.log"; then
    fail "gander printed an error"
  fi

  step "desktop entry and metainfo"
  desktop-file-validate "$root/usr/share/applications/gander.desktop" || fail "desktop-file-validate"
  metainfo=$root/usr/share/metainfo/app.gander.Gander.metainfo.xml
  appstreamcli validate --no-net "$metainfo" || fail "appstreamcli validate"
  newest=$(grep -o '<release version="[^"]*"' "$metainfo" | head -1 | cut -d'"' -f2)
  [ "$newest" = "$version" ] || fail "metainfo's newest release is $newest, not $version"
fi

# ---- the .tar.gz: the same files, relocatable (RPATH $ORIGIN/../lib/gander/cuda) ------------
# In a CUDA build this would compress cuBLAS's 570 MB a second time (about 40 s on 2 cores) for
# the same files: the .tar.gz is checked in CPU builds only.
step "cpack -G TGZ"
if [ "$cuda" = ON ]; then
  echo "CUDA build: .tar.gz not checked"
elif cpack --config "$build/CPackConfig.cmake" -G TGZ -B "$work/out" >"$work/cpack-tgz.log" 2>&1; then
  mkdir -p "$work/tgz"
  tar -xzf "$work"/out/gander-*.tar.gz -C "$work/tgz"
  top=$(echo "$work"/tgz/gander-*)
  ls "$top"
  "$top/bin/gander-cli" info --model "$model" >/dev/null 2>&1 || fail "gander-cli info from the .tar.gz"
  [ -f "$top/share/gander/rwkv_vocab_v20230424.txt" ] || echo "note: no vocabulary in the .tar.gz"
else
  cat "$work/cpack-tgz.log"; fail "cpack -G TGZ"
fi

# ---- lintian --------------------------------------------------------------------------------
step "lintian"
if command -v lintian >/dev/null; then
  lintian --fail-on error "$deb" >"$work/lintian.txt" 2>&1 || fail "lintian reports errors"
  cat "$work/lintian.txt"
else
  fail "lintian is not installed (installer/install-deps.sh installs it)"
fi

# ---- removal leaves nothing -----------------------------------------------------------------
if [ "$use_dpkg" = yes ]; then
  step "dpkg --purge"
  dpkg --root="$root" --log="$work/dpkg.log" --purge gander >"$work/dpkg-purge.log" 2>&1 ||
    { cat "$work/dpkg-purge.log"; fail "dpkg --purge"; }
  left=$(find "$root" -mindepth 1 -not -path "$root/var" -not -path "$root/var/lib" \
              -not -path "$root/var/lib/dpkg*" -not -path "$root/var/log*")
  [ -z "$left" ] || fail "left behind after removal: $left"
fi

step "done"
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "package test passed"
