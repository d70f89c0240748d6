"""Packaging as a user meets it: the desktop entry and icon are sound, a wheel installed with
`uv tool install` finds its own resources from any folder, and the PyInstaller bundle runs headless and
opens its window.

The bundle test builds with packaging/build.sh (~30 s on a 2-core machine, ~200 MB); it runs when
COLOSSUS_TEST_PYINSTALLER=1 or CI=true.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from colossus_gui.io.loader import load_facility

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
DESKTOP = ROOT / "resources" / "colossus-gui.desktop"
ICON_SVG = ROOT / "resources" / "icons" / "colossus-gui.svg"
ICON_PNG = ROOT / "resources" / "icons" / "colossus-gui.png"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no trace of the test's venv or of the checkout on sys.path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "PYTHONSTARTUP")}
    env.update(QT_QPA_PLATFORM="offscreen", COLOSSUS_GUI_NO_SETTINGS="1", **extra)
    return env


def run(cmd: list, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def read_desktop(path: Path) -> dict[str, str]:
    cp = configparser.ConfigParser(interpolation=None, delimiters=("=",), comment_prefixes=("#",))
    cp.optionxform = str  # keys are case-sensitive in desktop entries
    cp.read(path, encoding="utf-8")
    return dict(cp["Desktop Entry"])


def scenario_paths(facilities_stdout: str) -> list[Path]:
    return [Path(line.split()[-1]) for line in facilities_stdout.splitlines() if line.startswith("scenario")]


# ------------------------------------------------------------------------------------------ desktop entry
def test_desktop_entry_launches_the_installed_command_with_its_icon():
    entry = read_desktop(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Colossus GUI"
    command, *codes = entry["Exec"].split()
    # the menu launches the console script the wheel installs, and passes the file the user opened
    assert command in PYPROJECT["project"]["scripts"]
    assert codes == ["%f"]
    assert entry["Terminal"] == "false"
    assert entry["Icon"] == "colossus-gui"  # a theme name, resolved from the icons install-desktop.sh copies
    assert ICON_SVG.is_file() and ICON_PNG.is_file()
    cats = entry["Categories"]
    assert cats.endswith(";") and {"Science", "Engineering", "Education"} <= set(cats.strip(";").split(";"))


def test_icon_png_is_the_svg_rendered_with_blue_supply_and_red_return(qapp):
    pytest.importorskip("PySide6.QtSvg")
    from PySide6.QtGui import QColor, QImage

    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "packaging" / "make_icons.py")
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)

    png = QImage(str(ICON_PNG)).convertToFormat(QImage.Format.Format_ARGB32)
    assert (png.width(), png.height()) == (256, 256)
    assert png.pixelColor(1, 1).alpha() == 0  # rounded tile: the corners stay transparent

    def colours(y0: int, y1: int) -> list[QColor]:
        return [png.pixelColor(x, y) for y in range(y0, y1) for x in range(40, 216, 4)]

    # the hot return header runs along the top, the cold supply along the bottom
    top, bottom = colours(40, 57), colours(200, 217)
    assert sum(c.red() > 180 and c.blue() < 120 for c in top) > 20
    assert sum(c.blue() > 180 and c.red() < 120 for c in bottom) > 20

    # the committed PNG is what the SVG renders to today (run packaging/make_icons.py after editing the SVG)
    fresh = make_icons.render(ICON_SVG, 256).convertToFormat(QImage.Format.Format_ARGB32)
    diffs = [abs(png.pixelColor(x, y).red() - fresh.pixelColor(x, y).red()) +
             abs(png.pixelColor(x, y).blue() - fresh.pixelColor(x, y).blue())
             for y in range(0, 256, 3) for x in range(0, 256, 3)]
    assert sum(diffs) / len(diffs) < 2.0


# ------------------------------------------------------------------------------------------ wheel install
@pytest.mark.slow
def test_wheel_installed_with_uv_tool_finds_its_own_resources(tmp_path):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    t0 = time.perf_counter()
    dist = tmp_path / "dist"
    run([uv, "build", "--wheel", "--out-dir", dist, "--quiet"], ROOT, clean_env(), timeout=180)
    (wheel,) = dist.glob("colossus_gui-*.whl")
    tools, bin_dir, work = tmp_path / "tools", tmp_path / "bin", tmp_path / "work"
    work.mkdir()
    env = clean_env(UV_TOOL_DIR=str(tools), UV_TOOL_BIN_DIR=str(bin_dir))
    # the interpreter the tests run on, so no Python download; dependencies come from uv's cache or PyPI
    run([uv, "tool", "install", "--python", sys._base_executable, wheel], work, env, timeout=300)
    exe = bin_dir / "colossus-gui"
    assert exe.exists()

    assert run([exe, "--version"], work, env).stdout.strip() == f"colossus-gui {VERSION}"

    # built-in facility and scenarios come from the installed package, not from this checkout
    out = run([exe, "facilities"], work, env).stdout
    gpus = load_facility("colossus").n_gpus
    assert any(line.split()[:3] == ["facility", "colossus", f"{gpus:,}"] for line in out.splitlines()), out
    scenarios = scenario_paths(out)
    assert scenarios and all(p.is_file() and tools in p.parents for p in scenarios), out

    run([exe, "run", "--duration", "60", "--out", "out", "--quiet"], work, env)
    for name in ("timeseries.csv", "events.csv", "summary.json"):
        assert (work / "out" / name).stat().st_size > 0
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert (summary["facility"], summary["gpus"], summary["duration_s"]) == ("colossus", gpus, 60.0)

    # the menu entry installs from the wheel's own copy of the .desktop and icons
    xdg = tmp_path / "xdg"
    env_path = dict(env, XDG_DATA_HOME=str(xdg), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    r = run(["bash", ROOT / "packaging" / "linux" / "install-desktop.sh"], work, env_path)
    assert str(tools) in r.stdout
    entry = read_desktop(xdg / "applications" / "colossus-gui.desktop")
    assert entry["Exec"] == "colossus-gui %f"
    assert (xdg / "icons/hicolor/scalable/apps/colossus-gui.svg").read_bytes() == ICON_SVG.read_bytes()
    assert (xdg / "icons/hicolor/256x256/apps/colossus-gui.png").is_file()
    print(f"wheel build + uv tool install + runs: {time.perf_counter() - t0:.1f} s")


# ------------------------------------------------------------------------------------------ PyInstaller
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("COLOSSUS_TEST_PYINSTALLER") != "1" and os.environ.get("CI") != "true",
                    reason="builds a ~200 MB PyInstaller bundle (~30 s); set COLOSSUS_TEST_PYINSTALLER=1")
def test_pyinstaller_bundle_runs_headless_and_opens_its_window(tmp_path, qapp):
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed")
    from PySide6.QtGui import QImage

    # build under build/ (gitignored), not dist/: a developer's own bundle is left alone
    out = ROOT / "build" / "test-pyinstaller"
    t0 = time.perf_counter()
    run(["bash", ROOT / "packaging" / "build.sh"], ROOT,
        clean_env(COLOSSUS_DIST=str(out / "dist"), COLOSSUS_WORK=str(out / "work")), timeout=900)
    build_s = time.perf_counter() - t0
    bundle = out / "dist" / "colossus-gui"
    exe = bundle / "colossus-gui"
    env = clean_env()
    work = tmp_path / "work"
    work.mkdir()

    assert run([exe, "--version"], work, env).stdout.strip() == f"colossus-gui {VERSION}"

    # a headless snapshot from the bundle: a complete bundle folder, the manifest tells what is in it
    run([exe, "snapshot", "--at", "1m", "--out", "snap", "--no-images"], work, env)
    manifest = json.loads((work / "snap" / "manifest.json").read_text())
    gpus = load_facility("colossus").n_gpus
    assert manifest["format"] == "colossus-gui-snapshot"
    assert (manifest["facility"], manifest["gpus"], manifest["sim_time_s"]) == ("colossus", gpus, 60.0)
    assert manifest["app_version"] == VERSION
    assert all((work / "snap" / name).is_file() for name in manifest["files"])

    # the frozen app computes exactly what the source does (same numpy, same seed, same summary)
    run([exe, "run", "--duration", "60", "--out", "run", "--quiet"], work, env)
    src = tmp_path / "src"
    run([sys.executable, "-m", "colossus_gui", "run", "--duration", "60", "--out", src, "--quiet"], ROOT,
        os.environ.copy())
    frozen = json.loads((work / "run" / "summary.json").read_text())
    source = json.loads((src / "summary.json").read_text())
    assert frozen["gpus"] == gpus and frozen["duration_s"] == 60.0
    assert frozen == source

    # the window opens offscreen from the bundle (Qt plugins, pyqtgraph, resources all found) and draws
    shot = tmp_path / "window.png"
    run([exe, "--paused"], work, clean_env(COLOSSUS_GUI_QUIT_AFTER="3", COLOSSUS_GUI_SCREENSHOT=str(shot)))
    img = QImage(str(shot))
    assert img.width() >= 640 and img.height() >= 480  # its size is the window's business; that it drew, ours
    sampled = {img.pixel(x, y) for y in range(0, img.height(), 23) for x in range(0, img.width(), 23)}
    assert len(sampled) > 20  # panels, text and charts, not a blank grab

    # the AppImage recipe's AppDir runs the same bundle through AppRun
    appdir = tmp_path / "AppDir"
    run(["bash", ROOT / "packaging" / "linux" / "make-appdir.sh", bundle, appdir], ROOT, env)
    assert "colossus" in run([appdir / "AppRun", "facilities"], work, env).stdout
    assert read_desktop(appdir / "colossus-gui.desktop")["Icon"] == "colossus-gui"
    assert (appdir / ".DirIcon").resolve().is_file()
    assert f'version="{VERSION}"' in (appdir / "usr/share/metainfo/colossus-gui.metainfo.xml").read_text()
    print(f"PyInstaller build {build_s:.0f} s; whole test {time.perf_counter() - t0:.0f} s")
