"""``colossus-gui replay SESSION --at TIME --out BUNDLE`` as a user runs it, bad input included."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from colossus_gui.io.bundle import open_bundle, read_ops_state
from colossus_gui.model.training import TrainingScenario
from colossus_gui.ops.training import TrainingSession
from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "colossus_gui", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    d = tmp_path_factory.mktemp("session")
    sc = TrainingScenario.model_validate({
        "title": "pump pair", "seed": 4, "time_limit_s": 900,
        "faults": [{"id": "p1", "at": 120, "kind": "pump_failure", "target": "H1-R002-CDU-P1"}],
        "reference": [{"at": 130, "action": "assign", "target": "H1-R002-CDU-P1", "technician": "nearest"}]})
    s = TrainingSession(sc, small_facility(), log_path=d / "session.jsonl")
    s.play(sc.reference)
    s.close()
    return d


def test_replay_writes_the_bundle_of_that_moment_with_its_work_orders(recorded, tmp_path):
    r = cli("replay", recorded, "--at", "95%", "--out", tmp_path / "b95", "--no-images")
    assert r.returncode == 0, r.stderr
    assert "t = 855 s of 900 s" in r.stdout
    eng = open_bundle(tmp_path / "b95")
    ops = read_ops_state(tmp_path / "b95")
    straight = TrainingSession.from_log(recorded / "session.jsonl", until_t=855, use_keyframes=False)
    assert eng.t == 855 and (eng.pump_ok == straight.engine.pump_ok).all()
    assert [w["state"] for w in ops["work_orders"]] == [w.state for w in straight.raw_ops.work_orders.values()]
    manifest = json.loads((tmp_path / "b95" / "manifest.json").read_text())
    assert "ops.json" in manifest["files"]
    r = cli("replay", recorded / "session.jsonl", "--at", "2m", "--out", tmp_path / "b2.zip", "--no-images")
    assert r.returncode == 0, r.stderr and (tmp_path / "b2.zip").is_file()


@pytest.mark.parametrize("args, message", [
    (("--at", "2h"), "lasts 900 s"),
    (("--at", "soon"), "not a time"),
    (("--at", "120%"), "not a time"),
])
def test_replay_bad_input_is_one_line_and_exit_2(recorded, tmp_path, args, message):
    r = cli("replay", recorded, *args, "--out", tmp_path / "b", "--no-images")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "b").exists()


def test_replay_of_a_folder_without_a_session(tmp_path):
    r = cli("replay", tmp_path, "--at", "10", "--out", tmp_path / "b", "--no-images")
    assert r.returncode == 2 and "no session log" in r.stderr
