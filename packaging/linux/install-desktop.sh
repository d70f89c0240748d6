#!/usr/bin/env bash
# Add (or remove) Colossus GUI in the desktop's application menu for the current user (XDG, no root).
#
#   packaging/linux/install-desktop.sh                          # colossus-gui on PATH (uv tool / pipx install)
#   packaging/linux/install-desktop.sh --exec /opt/colossus-gui/colossus-gui   # an unpacked bundle
#   packaging/linux/install-desktop.sh --uninstall
#
# Writes $XDG_DATA_HOME (default ~/.local/share)/applications/colossus-gui.desktop and the icons under
# icons/hicolor/{scalable,256x256}/apps/. The .desktop and icons come from the installed app itself (the
# bundle's _internal/resources, or the wheel's colossus_gui/_resources), else from this checkout.
set -euo pipefail

DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
EXEC=""
RES=""
uninstall=0
while [ $# -gt 0 ]; do
  case "$1" in
    --exec) EXEC="$2"; shift 2 ;;
    --resources) RES="$2"; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-desktop.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor"
if [ "$uninstall" = 1 ]; then
  rm -f "$APPS/colossus-gui.desktop" "$ICONS/scalable/apps/colossus-gui.svg" "$ICONS/256x256/apps/colossus-gui.png"
  echo "removed Colossus GUI from $DATA"
  exit 0
fi

on_path=0
if [ -z "$EXEC" ]; then
  EXEC="$(command -v colossus-gui || true)"
  [ -n "$EXEC" ] || { echo "install-desktop.sh: colossus-gui is not on PATH; pass --exec /path/to/colossus-gui" >&2; exit 2; }
  on_path=1
fi
[ -x "$EXEC" ] || { echo "install-desktop.sh: --exec $EXEC: not an executable file" >&2; exit 2; }
# the path as given (a stable symlink such as ~/.local/bin/colossus-gui survives upgrades) goes into the
# .desktop; the resolved file is where to look for the resources
EXEC="$(cd "$(dirname "$EXEC")" && pwd)/$(basename "$EXEC")"
REAL="$(readlink -f "$EXEC")"

if [ -z "$RES" ]; then
  if [ -d "$(dirname "$REAL")/_internal/resources" ]; then          # PyInstaller one-folder bundle
    RES="$(dirname "$REAL")/_internal/resources"
  elif head -c 2 "$REAL" | grep -q '#!'; then                      # a wheel's console script: ask its Python
    py="$(head -1 "$REAL" | sed 's/^#! *//' | cut -d' ' -f1)"
    RES="$("$py" -c 'from colossus_gui.resources import resources_dir; print(resources_dir())' 2>/dev/null || true)"
  fi
  [ -n "$RES" ] || RES="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/resources"
fi
[ -f "$RES/colossus-gui.desktop" ] || { echo "install-desktop.sh: no colossus-gui.desktop in $RES" >&2; exit 2; }

mkdir -p "$APPS" "$ICONS/scalable/apps" "$ICONS/256x256/apps"
# On PATH: keep the bare name so a later upgrade in place still works. Otherwise point at the file itself
# (desktop entries quote paths with spaces in double quotes).
if [ "$on_path" = 1 ]; then
  exec_line="colossus-gui"; tryexec="colossus-gui"
else
  exec_line="\"$EXEC\""; tryexec="$EXEC"
fi
tmp="$APPS/.colossus-gui.desktop.tmp"
sed -e "s|^Exec=colossus-gui|Exec=$exec_line|" -e "s|^TryExec=.*|TryExec=$tryexec|" -e '/^#/d' \
  "$RES/colossus-gui.desktop" > "$tmp"
mv -f "$tmp" "$APPS/colossus-gui.desktop"  # atomic: a menu never sees half a file
cp "$RES/icons/colossus-gui.svg" "$ICONS/scalable/apps/colossus-gui.svg"
cp "$RES/icons/colossus-gui.png" "$ICONS/256x256/apps/colossus-gui.png"
# refresh caches where the tools exist (they do on full desktops; harmless to skip elsewhere)
command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$ICONS" 2>/dev/null || true
echo "installed $APPS/colossus-gui.desktop (Exec=$exec_line) and icons from $RES"
