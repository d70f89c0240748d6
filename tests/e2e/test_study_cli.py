"""`colossus-gui study` as a user runs it: bad files get one line and exit 2; a study killed mid-way (the
whole process group, workers included) resumes with the same command and finishes with every output."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from colossus_gui.testing import write_study_files

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "colossus_gui", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, **kw)


@pytest.mark.parametrize("study, field, value", [
    ({"grid": {"site.megapacks.unit": [60, 90]}}, "grid.site.megapacks.unit", "60"),
    ({"duration": "forever"}, "duration", "forever"),
    ({"grid": {"site.chillers.count": [0]}}, "site.chillers.count", "count=0"),
])
def test_bad_study_file_one_line_exit_2_nothing_written(tmp_path, study, field, value):
    path = write_study_files(tmp_path / "s", **study)
    r = _cli("study", str(path), "--out", str(tmp_path / "out"), "--workers", "1")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and field in lines[0] and value in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_bad_arguments(tmp_path):
    path = write_study_files(tmp_path / "s")
    for args, words in ((["--seeds", "0"], "--seeds"), (["--scheduler", "nowhere"], "--scheduler"),
                        (["--duration", "abc"], "duration")):
        r = _cli("study", str(path), "--out", str(tmp_path / "out"), *args)
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = _cli("study", "no-such-study", "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "checkpoint-interval" in r.stderr  # lists the bundled studies


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_killed_study_resumes_and_writes_every_output(tmp_path):
    path = write_study_files(tmp_path / "s", seeds=4, duration=3600, grid={"jobs.0.checkpoint_interval_s": [120, 480]})
    out = tmp_path / "out"
    db = out / "results.sqlite"
    args = [sys.executable, "-m", "colossus_gui", "study", str(path), "--out", str(out), "--workers", "2"]
    p = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while _rows(db) < 2 and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(p.pid, signal.SIGKILL)  # the CLI, its scheduler and its worker processes
        p.communicate(timeout=30)
    kept = _rows(db)
    assert 2 <= kept < 8, kept
    r = _cli("study", str(path), "--out", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert f"{8 - kept} run(s) computed, {kept} already done, 0 failed" in r.stdout
    assert _rows(db) == 8
    with open(out / "runs.csv", newline="") as fh:
        runs = list(csv.DictReader(fh))
    assert len(runs) == 8 and {r["jobs.0.checkpoint_interval_s"] for r in runs} == {"120", "480"}
    assert all(0 < float(r["goodput"]) <= 1 for r in runs)
    with open(out / "aggregates.csv", newline="") as fh:
        aggs = list(csv.DictReader(fh))
    assert [a["runs"] for a in aggs] == ["4", "4"]
    for a in aggs:
        mean, lo, hi = float(a["goodput mean"]), float(a["goodput lo"]), float(a["goodput hi"])
        assert lo < mean < hi
    html = (out / "report.html").read_text()
    assert "Does the tiny facility keep its job going?" in html and "<svg" in html and "complete" in html
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "curve_goodput.png" in pngs and "dist_goodput.png" in pngs
    assert (out / "curve_goodput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a third time: nothing left to do
    r = _cli("study", str(path), "--out", str(out), "--workers", "1", "--no-png")
    assert r.returncode == 0 and "0 run(s) computed, 8 already done" in r.stdout
