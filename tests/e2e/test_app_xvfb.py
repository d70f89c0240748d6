"""The real application as a user starts it, on a virtual X display: it runs, paints and can be grabbed.

Needs Xvfb (skipped without it, except in CI where it must be there).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

XVFB = shutil.which("Xvfb")


@pytest.fixture
def xdisplay():
    if XVFB is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Xvfb is required in CI (apt-get install xvfb)")
        pytest.skip("Xvfb not installed")
    # -displayfd: Xvfb picks a free display number itself and writes it to us (no race with other runs)
    r, w = os.pipe()
    proc = subprocess.Popen([XVFB, "-displayfd", str(w), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        with os.fdopen(r) as f:
            num = f.readline().strip()
        assert num.isdigit(), "Xvfb did not report a display"
        yield f":{num}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _load_rgb(path) -> np.ndarray:
    from PySide6.QtGui import QImage
    img = QImage(str(path))
    assert not img.isNull(), f"{path} is not a readable PNG"
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    arr = np.frombuffer(img.constBits(), dtype=np.uint32, count=img.bytesPerLine() // 4 * img.height())
    return arr.reshape(img.height(), img.bytesPerLine() // 4)[:, :img.width()] & 0xFFFFFF


def test_application_runs_and_paints_under_xvfb(xdisplay, tmp_path):
    shot = tmp_path / "window.png"
    env = dict(os.environ, DISPLAY=xdisplay, QT_QPA_PLATFORM="xcb", COLOSSUS_GUI_NO_SETTINGS="1",
               COLOSSUS_GUI_SCREENSHOT=str(shot), COLOSSUS_GUI_QUIT_AFTER="5", COLOSSUS_GUI_REPORT_FIRST_PAINT="1")
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([sys.executable, "-m", "colossus_gui", "--speed", "30"], env=env, capture_output=True,
                          text=True, timeout=90)
    report = f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-2000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, report
    assert "Traceback" not in proc.stderr, report
    m = re.search(r"first_paint_s=([\d.]+)", proc.stdout)
    assert m, report
    print(f"window first painted {float(m[1]):.2f} s after main()")
    m = re.search(r"size=(\d+)x(\d+)", proc.stdout)
    assert m and shot.exists(), report
    rgb = _load_rgb(shot)
    # the window filled the 1920x1080 virtual screen (no window manager: the geometry is what the app asked)
    assert (rgb.shape[1], rgb.shape[0]) == (int(m[1]), int(m[2])) == (1920, 1080)
    colours = np.unique(rgb[::2, ::2])
    assert colours.size > 200, f"only {colours.size} distinct colours: the window looks blank"
    # every quarter of the window has content (views, docks, charts), not one filled rectangle
    h, w = rgb.shape
    for quad in (rgb[: h // 2, : w // 2], rgb[: h // 2, w // 2:], rgb[h // 2:, : w // 2], rgb[h // 2:, w // 2:]):
        assert np.unique(quad[::2, ::2]).size > 20
