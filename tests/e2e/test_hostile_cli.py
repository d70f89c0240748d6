"""Hostile input at the command line and at the app's door, as a user (or an attacker) types it: every bad
case ends in one line on stderr and exit code 2, and nothing is written or deleted."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd=None, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "colossus_gui", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout, env=env)


def assert_one_line_exit_2(r):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("fac") / "small.json"
    p.write_text(json.dumps(small_facility(halls=1, rows=1, racks_per_row=2).model_dump(mode="json")))
    return p


def test_snapshot_out_refuses_a_folder_that_is_not_a_bundle(tmp_path, small_file):
    w = tmp_path / "w"
    (w / "src").mkdir(parents=True)
    (w / "manifest.json").write_text('{"name": "web app"}')
    (w / "src" / "main.js").write_text("x")
    r = cli("snapshot", "--facility", small_file, "--no-images", "--out", w)
    assert_one_line_exit_2(r)
    assert "not a Colossus GUI snapshot bundle" in r.stderr
    assert (w / "src" / "main.js").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["w"]


@pytest.mark.parametrize("args, needle", [
    (["--duration", "0.4"], "at least 1 s"),
    (["--duration", "100000000000000000000d"], "366d"),
    (["--duration", "1e20d"], "not a duration"),
    (["--dt", "nan"], "between 0.01 and 10"),
    (["--dt", "1e-7"], "between 0.01 and 10"),
    (["--dt", "inf"], "between 0.01 and 10"),
    (["--seed", "-1"], "seed"),
    (["--seed", "1.5"], "seed"),
    (["--seed", "9" * 5000], "seed"),
    (["--out", "afile/sub"], "is a file"),
    (["--out", "/proc/x"], "system folder"),
])
def test_run_flags_out_of_range_are_one_line(tmp_path, small_file, args, needle):
    (tmp_path / "afile").write_text("mine")
    full = ["run", "--facility", small_file, "--out", tmp_path / "o", *args]
    if "--out" in args:
        full = ["run", "--facility", small_file, *args]
    r = cli(*full, cwd=tmp_path)
    assert_one_line_exit_2(r)
    assert needle in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written, no empty --out


def test_run_out_with_foreign_files_is_refused_before_running(tmp_path, small_file):
    o = tmp_path / "o"
    o.mkdir()
    (o / "thesis.tex").write_text("mine")
    r = cli("run", "--facility", small_file, "--duration", "10", "--out", o)
    assert_one_line_exit_2(r)
    assert "thesis.tex" in r.stderr and sorted(p.name for p in o.iterdir()) == ["thesis.tex"]


def test_run_scenario_honours_the_scenario_seed_like_snapshot(tmp_path, small_file):
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump({"title": "seeded", "facility": str(small_file), "seed": 5, "faults": []}))
    r = cli("run", "--scenario", sc, "--duration", "5", "--out", tmp_path / "a", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["seed"] == 5
    r = cli("run", "--scenario", sc, "--duration", "5", "--seed", "9", "--out", tmp_path / "b", "--quiet")
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["seed"] == 9
    r = cli("snapshot", "--scenario", sc, "--no-images", "--out", tmp_path / "snap")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "snap" / "manifest.json").read_text())["seed"] == 5


def test_validate_refuses_a_huge_facility_fast_with_memory_estimate(tmp_path):
    f = tmp_path / "huge.yaml"
    f.write_text(yaml.safe_dump({"name": "huge", "halls": [{"name": f"H{i}", "rows": 100, "racks_per_row": 100}
                                                          for i in range(1, 100)]}))
    r = cli("validate", f)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "GiB" in r.stderr and "1,000,000 GPUs" in r.stderr


@pytest.mark.parametrize("text, needle", [
    ("title: t\nfaults:\n  - {at: 1, kind: alien_invasion, target: GRID}\n", "'alien_invasion'"),
    ("title: t\nfaults: []\ntitle: u\n", "duplicate key 'title'"),
    ("title: 'a\0b'\n", "NUL"),
    ("facility: /dev/zero\n", "not a regular file"),
])
def test_validate_names_the_value_in_one_line(tmp_path, text, needle):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    r = cli("validate", f)
    assert_one_line_exit_2(r)
    assert needle in r.stderr and str(f) in r.stderr


def test_sessions_lists_the_good_rows_and_names_the_damaged_ones(tmp_path):
    from colossus_gui.io.session_store import SessionStore
    db = tmp_path / "ws.sqlite"
    with SessionStore(db) as ss:
        for i in range(2):
            ss.add(trainee="Sam", scenario="drill", title="t", started=f"2026-01-0{i + 1}", sim_s=60, score=70 + i,
                   aborted=False, ended="done", seed=1, log_path=None, report_path=None, terms=[])
    con = sqlite3.connect(db)
    con.execute("UPDATE training_sessions SET terms = '{broken' WHERE id = 1")
    con.commit()
    con.close()
    r = cli("sessions", "--db", db, "--trainee", "Sam")
    assert r.returncode == 0, r.stderr
    assert "71.0" in r.stdout and "training session 1" in r.stderr and "Traceback" not in r.stderr


def test_no_display_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = cli("--paused", env=env, cwd=tmp_path)
    assert_one_line_exit_2(r)
    assert "no display found" in r.stderr and "xcb" not in r.stderr


def test_gui_quarantines_damaged_rows_with_a_dialog_and_starts(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings, QStandardPaths

    from colossus_gui.io.store import Store
    from colossus_gui.model.ops_config import OpsConfig
    from colossus_gui.ops.workflow import OpsManager
    from colossus_gui.sim.engine import Engine
    from colossus_gui.ui.main_window import MainWindow

    monkeypatch.delenv("COLOSSUS_GUI_NO_SETTINGS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    assert str(folder).startswith(str(tmp_path))
    fac = small_facility()
    db = folder / f"{fac.name}.sqlite"
    with Store(db) as st:
        ops = OpsManager(Engine(fac, seed=1), OpsConfig(dispatch="manual"), store=st, seed=1)
        ops.create_work_order("H1-R001-RDHX-F1", who="a")
        ops.create_work_order("H1-R002-RDHX-F1", who="a")
    con = sqlite3.connect(db)
    con.execute("UPDATE work_orders SET body = 'not json' WHERE id = 1")
    con.commit()
    con.close()
    w = MainWindow(fac, seed=1, paused=True)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.last_error_dialog is not None, timeout=15000)
    text = w.last_error_dialog.text()
    assert "work order 1: body is not JSON" in text and str(db) in text
    assert w.ops is not None  # the app started; a new window is a new run, so the board starts empty
    w.last_error_dialog.close()
    w.shutdown()
    con = sqlite3.connect(db)
    assert [r[0] for r in con.execute("SELECT id FROM work_orders")] == [2]  # the good row stayed, loadable
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1  # the bad one kept aside, whole
    con.close()
    # a hostile name from an old file cannot put the database outside the data folder
    evil = fac.model_copy()
    object.__setattr__(evil, "name", "../../../outside")
    w2 = MainWindow(evil, seed=1, paused=True)
    qtbot.addWidget(w2)
    assert Path(w2.store.path).resolve().parent == folder.resolve()
    w2.shutdown()
