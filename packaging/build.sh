#!/usr/bin/env bash
# Build the one-folder bundle dist/colossus-gui/ with a pinned PyInstaller, then smoke-test it.
#
#   packaging/build.sh            # build + smoke test (colossus-gui --version, facilities)
#   packaging/build.sh --no-test  # build only
#
# PyInstaller runs from a throwaway overlay (`uv run --with`) on top of the project's locked environment, so
# the bundle holds exactly the pinned PySide6/pyqtgraph/numpy/pydantic and PyInstaller never enters
# pyproject.toml or uv.lock. Outputs: dist/colossus-gui/ (the bundle), build/pyinstaller/ (work files);
# both are gitignored. Set COLOSSUS_DIST / COLOSSUS_WORK to build elsewhere (tests use a temp dir).
set -euo pipefail

# 6.22.3 is the newest PyInstaller at the time of writing; it supports Python 3.8-3.14 and its PySide6 hooks
# handle Qt 6.11. Bump both pins together and rebuild; hooks-contrib carries the pydantic and pyqtgraph hooks.
PYINSTALLER_VERSION=6.22.3
HOOKS_CONTRIB_VERSION=2026.9

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${COLOSSUS_DIST:-$ROOT/dist}"
WORK="${COLOSSUS_WORK:-$ROOT/build/pyinstaller}"
run_test=1
for arg in "$@"; do
  case "$arg" in
    --no-test) run_test=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

command -v uv >/dev/null || { echo "build.sh: needs uv (https://docs.astral.sh/uv/), e.g. pipx install uv" >&2; exit 2; }
cd "$ROOT"

# Qt imports at analysis time; no display is needed for that.
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"

start=$(date +%s)
uv run --frozen \
  --with "pyinstaller==${PYINSTALLER_VERSION}" --with "pyinstaller-hooks-contrib==${HOOKS_CONTRIB_VERSION}" \
  pyinstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" \
    "$ROOT/packaging/colossus-gui.spec"
end=$(date +%s)

BUNDLE="$DIST/colossus-gui"
[ -x "$BUNDLE/colossus-gui" ] || { echo "build.sh: $BUNDLE/colossus-gui was not produced" >&2; exit 1; }
# A pyenv-built libpython carries ~18 MB of debug info; drop just that (PyInstaller's blanket strip=True
# breaks numpy's OpenBLAS, so the spec leaves it off).
if command -v strip >/dev/null; then
  for lib in "$BUNDLE"/_internal/libpython3*.so*; do
    [ -f "$lib" ] && strip --strip-debug "$lib"
  done
fi
size=$(du -sh "$BUNDLE" | cut -f1)
echo "built $BUNDLE in $((end - start)) s ($size)"

if [ "$run_test" = 1 ]; then
  # run from another folder: the bundle must find its own resources, never the checkout's
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && "$BUNDLE/colossus-gui" --version && "$BUNDLE/colossus-gui" facilities >/dev/null)
  echo "smoke test passed: --version, facilities"
fi
