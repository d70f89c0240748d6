#!/usr/bin/env bash
# The Debian/Ubuntu system libraries the Qt (xcb) window of Colossus GUI needs, in one list that README.md's
# quick start and .ci/run both use. Found with `ldd` on PySide6's libqxcb.so, libQt6XcbQpa, libQt6Gui and
# libQt6DBus (a bare Debian 12 lacks libxcb-icccm4, libxcb-keysyms1 and friends, and Qt names only
# libxcb-cursor0 when they are missing).
#
#   packaging/system-deps.sh            install what is missing (uses sudo when not root)
#   packaging/system-deps.sh --tests    ... plus xvfb (end-to-end test of the real window) and prometheus
#                                       (the metrics round-trip test)
#   packaging/system-deps.sh --check    list what is missing; exit 1 if anything is
set -euo pipefail

pkgs="libxcb1 libx11-6 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
      libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0
      libxcb-xkb1 libxkbcommon0 libxkbcommon-x11-0 libegl1 libgl1 libglx0 libfontconfig1 libfreetype6
      fonts-dejavu-core libdbus-1-3"
check=0
for arg in "$@"; do
  case "$arg" in
    --tests) pkgs="$pkgs xvfb prometheus" ;;
    --check) check=1 ;;
    *) echo "system-deps.sh: unknown option $arg (use --tests or --check)" >&2; exit 2 ;;
  esac
done
# GLib's package was renamed for the 64-bit time_t transition (Debian 13, Ubuntu 24.04)
if dpkg -s libglib2.0-0t64 >/dev/null 2>&1 || { command -v apt-cache >/dev/null &&
     apt-cache show libglib2.0-0t64 >/dev/null 2>&1; }; then
  pkgs="$pkgs libglib2.0-0t64"
else
  pkgs="$pkgs libglib2.0-0"
fi

missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | tr '\n' ' ')
if [ "$check" = 1 ]; then
  if [ -n "${missing// /}" ]; then echo "missing: $missing"; exit 1; fi
  echo "all system libraries present"; exit 0
fi
[ -z "${missing// /}" ] && exit 0
command -v apt-get >/dev/null || { echo "not a Debian/Ubuntu system: install the equivalents of: $missing" >&2; exit 1; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
