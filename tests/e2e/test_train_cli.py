"""`colossus-gui train` and `colossus-gui sessions` as a user runs them, bad input included."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "colossus_gui", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def _drill(tmp_path) -> Path:
    fac = tmp_path / "small.json"
    fac.write_text(json.dumps(small_facility().model_dump(mode="json")))
    p = tmp_path / "drill.yaml"
    p.write_text(yaml.safe_dump({
        "title": "small pump pair", "facility": "small.json", "seed": 3, "time_limit_s": 1200,
        "briefing": "Two pumps, one CDU.",
        "faults": [{"id": "p1", "at": 120, "kind": "pump_failure", "target": "H1-R002-CDU-P1"},
                   {"id": "p2", "after": {"fault": "p1", "delay_s": 60}, "kind": "pump_failure",
                    "target": "H1-R002-CDU-P2"}],
        "reference": [{"at": 125, "action": "acknowledge", "alarms": "all", "repeat_s": 20},
                      {"at": 130, "action": "assign", "target": "H1-R002-CDU-P1", "technician": "nearest"},
                      {"at": 185, "action": "isolate_rack", "target": "H1-R002"},
                      {"at": 190, "action": "assign", "target": "H1-R002-CDU-P2", "technician": "nearest"}]}))
    return p


def test_train_writes_score_log_and_report_and_stores_the_session(tmp_path):
    drill = _drill(tmp_path)
    db = tmp_path / "ws.sqlite"
    scores = {}
    for mode in ("reference", None):
        out = tmp_path / f"out-{mode}"
        args = ["train", drill, "--out", out, "--trainee", "ann", "--db", db, "--no-png"]
        if mode:
            args += ["--actions", mode]
        r = cli(*args)
        assert r.returncode == 0, r.stderr
        assert "score" in r.stdout and "stored as session" in r.stdout
        for name in ("session.jsonl", "report.html", "score.json", "actions.csv", "timeline.csv", "score_terms.csv"):
            assert (out / name).is_file(), name
        score = json.loads((out / "score.json").read_text())
        scores[mode] = score["total"]
        assert score["trainee"] == "ann" and score["terms"]
        lines = [json.loads(x) for x in (out / "session.jsonl").read_text().splitlines()]
        assert lines[0]["type"] == "header" and lines[-1]["type"] == "end"
        assert "Two pumps, one CDU." in (out / "report.html").read_text()
    assert scores["reference"] > scores[None] + 30
    r = cli("sessions", "--db", db, "--trainee", "ann")
    assert r.returncode == 0 and "drill:" in r.stdout and r.stdout.count("\n") >= 3


def test_actions_file_is_played(tmp_path):
    drill = _drill(tmp_path)
    acts = tmp_path / "acts.yaml"
    acts.write_text(yaml.safe_dump({"actions": [{"at": 200, "action": "acknowledge", "alarms": "all"},
                                                {"at": 210, "action": "note", "text": "looked at the CDU"}]}))
    r = cli("train", drill, "--actions", acts, "--out", tmp_path / "o", "--no-png")
    assert r.returncode == 0, r.stderr
    log = (tmp_path / "o" / "session.jsonl").read_text()
    assert "looked at the CDU" in log and '"action":"acknowledge"' in log


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    drill = _drill(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"faults": [{"id": "a", "after": {"fault": "b"}, "kind": "fan_failure",
                                               "target": "H1-R001-RDHX-F1"},
                                              {"id": "b", "after": {"fault": "a"}, "kind": "fan_failure",
                                               "target": "H1-R001-RDHX-F2"}]}))
    cases = [
        (["train", tmp_path / "missing.yaml", "--out", tmp_path / "o1"], "no such file"),
        (["train", bad, "--out", tmp_path / "o2"], "trigger cycle a -> b -> a"),
        (["train", drill, "--actions", tmp_path / "nope.yaml", "--out", tmp_path / "o3"], "no such file"),
    ]
    acts = tmp_path / "acts.yaml"
    acts.write_text(yaml.safe_dump({"actions": [{"at": 5, "action": "power_cap", "hall": "H7", "watts": 500}]}))
    cases.append((["train", drill, "--actions", acts, "--out", tmp_path / "o4"], "actions.0.hall"))
    for args, needle in cases:
        r = cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert needle in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
        assert not Path(args[args.index("--out") + 1]).exists()
    r = cli("validate", bad)
    assert r.returncode == 2 and "faults.0.after.fault" in r.stderr
    r = cli("validate", drill)
    assert r.returncode == 0 and "valid training scenario" in r.stdout
