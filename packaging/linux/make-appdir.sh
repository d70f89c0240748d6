#!/usr/bin/env bash
# Assemble an AppImage AppDir from the PyInstaller bundle, ready for appimagetool.
#
#   packaging/build.sh                        # first: dist/colossus-gui/
#   packaging/linux/make-appdir.sh            # -> build/AppDir (override: make-appdir.sh BUNDLE APPDIR)
#   ARCH=x86_64 appimagetool build/AppDir dist/Colossus_GUI-<version>-x86_64.AppImage
#
# appimagetool is not vendored (https://github.com/AppImage/appimagetool/releases); this script only lays out
# the AppDir, which is also a runnable folder on its own: build/AppDir/AppRun facilities
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUNDLE="${1:-$ROOT/dist/colossus-gui}"
APPDIR="${2:-$ROOT/build/AppDir}"
RES="$ROOT/resources"
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -1)

[ -x "$BUNDLE/colossus-gui" ] || { echo "make-appdir.sh: no bundle at $BUNDLE; run packaging/build.sh first" >&2; exit 2; }

rm -rf "$APPDIR"
mkdir -p "$APPDIR/usr/lib" "$APPDIR/usr/bin" "$APPDIR/usr/share/applications" \
         "$APPDIR/usr/share/icons/hicolor/256x256/apps" "$APPDIR/usr/share/icons/hicolor/scalable/apps" \
         "$APPDIR/usr/share/metainfo"
cp -a "$BUNDLE" "$APPDIR/usr/lib/colossus-gui"
ln -s ../lib/colossus-gui/colossus-gui "$APPDIR/usr/bin/colossus-gui"

# AppRun: the AppImage runtime mounts the image and execs this; "$@" carries the subcommand or file (%f)
cat > "$APPDIR/AppRun" <<'APPRUN'
#!/bin/sh
HERE="$(dirname "$(readlink -f "$0")")"
exec "$HERE/usr/lib/colossus-gui/colossus-gui" "$@"
APPRUN
chmod +x "$APPDIR/AppRun"

# appimagetool wants the .desktop and the icon at the AppDir root, plus .DirIcon for file managers
cp "$RES/colossus-gui.desktop" "$APPDIR/colossus-gui.desktop"
sed -i '/^TryExec=/d' "$APPDIR/colossus-gui.desktop"  # inside an AppImage the launcher is never on PATH
cp "$APPDIR/colossus-gui.desktop" "$APPDIR/usr/share/applications/colossus-gui.desktop"
cp "$RES/icons/colossus-gui.png" "$APPDIR/colossus-gui.png"
ln -s colossus-gui.png "$APPDIR/.DirIcon"
cp "$RES/icons/colossus-gui.png" "$APPDIR/usr/share/icons/hicolor/256x256/apps/colossus-gui.png"
cp "$RES/icons/colossus-gui.svg" "$APPDIR/usr/share/icons/hicolor/scalable/apps/colossus-gui.svg"
sed "s/@VERSION@/$VERSION/" "$ROOT/packaging/linux/colossus-gui.metainfo.xml" \
  > "$APPDIR/usr/share/metainfo/colossus-gui.metainfo.xml"

echo "assembled $APPDIR ($(du -sh "$APPDIR" | cut -f1)); next:"
echo "  ARCH=x86_64 appimagetool $APPDIR $ROOT/dist/Colossus_GUI-$VERSION-x86_64.AppImage"
