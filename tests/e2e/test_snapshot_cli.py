"""`colossus-gui snapshot` from cron or CI: no display, no Qt platform chosen, and still a bundle with images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ("site.png", "hall.png", "gpus.png", "rack.png", "tray.png", "charts.png")


def test_headless_snapshot_writes_bundle_with_images(tmp_path):
    fac = tmp_path / "small.json"
    fac.write_text(json.dumps(small_facility().model_dump(mode="json")))
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "bundle"
    r = subprocess.run([sys.executable, "-m", "colossus_gui", "snapshot", "--facility", str(fac), "--at", "2m",
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "images skipped" not in r.stderr and "propagateSizeHints" not in r.stderr  # quiet for cron mail
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sim_time_s"] == 120.0 and manifest["facility"] == "small"
    for name in IMAGES:
        assert name in manifest["files"] and manifest["files"][name], name
        img = QImage(str(out / name))
        assert not img.isNull(), name
        assert (img.width(), img.height()) == (1920, 1080), name
    # no temporaries left beside the bundle
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "small.json"]
