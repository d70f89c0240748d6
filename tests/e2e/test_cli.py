"""The headless CLI as a user runs it, bad files included."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "colossus_gui", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


@pytest.fixture
def small_file(tmp_path):
    p = tmp_path / "small.json"
    p.write_text(json.dumps(small_facility().model_dump(mode="json")))
    return p


def test_run_writes_timeseries_events_and_summary(tmp_path, small_file):
    scen = tmp_path / "faults.yaml"
    scen.write_text(yaml.safe_dump({"title": "pump and sag", "faults": [
        {"at": 60, "kind": "pump_failure", "target": "H1-R002-CDU-P1"},
        {"at": 90, "kind": "grid_sag", "target": "GRID", "depth": 0.3, "duration": 10}]}))
    out = tmp_path / "out"
    r = cli("run", "--duration", "5m", "--seed", "7", "--facility", small_file, "--scenario", scen, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "goodput" in r.stdout
    with open(out / "timeseries.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 300  # one row per simulated second
    assert float(rows[0]["time_s"]) == 1.0 and float(rows[-1]["time_s"]) == 300.0
    for col in ("it_mw", "grid_mw", "battery_mw", "turbine_mw", "soc", "supply_c", "return_c", "hottest_gpu_c",
                "throttled_gpus", "pue", "goodput"):
        assert col in rows[0]
    sag = [r for r in rows if 91 <= float(r["time_s"]) <= 99]
    assert all(float(r["battery_mw"]) > 0 for r in sag)  # the Megapacks carry the sag
    with open(out / "events.csv", newline="") as fh:
        events = list(csv.DictReader(fh))
    assert any(e["kind"] == "fault_started" and e["address"] == "H1-R002-CDU-P1" for e in events)
    # the run's one event log: the work order the pump failure opened, in the same file, in time
    pump = [e for e in events if e["address"] == "H1-R002-CDU-P1"]
    assert [e["kind"] for e in pump][:3] == ["fault_started", "wo_created", "wo_assigned"]
    assert float(pump[1]["time_s"]) >= float(pump[0]["time_s"])
    summary = json.loads((out / "summary.json").read_text())
    for key in ("gpus", "duration_s", "seed", "it_energy_mwh", "facility_energy_mwh", "pue_mean", "grid_peak_mw",
                "battery_soc_min", "gpu_temp_max_c", "throttled_gpu_seconds", "interruptions", "failures_by_cause",
                "goodput"):
        assert key in summary
    assert summary["gpus"] == 1024 and summary["duration_s"] == 300.0 and summary["seed"] == 7
    # the CSV holds the same energy the summary reports (full precision, 1-s rows)
    it = np.array([float(r["it_mw"]) for r in rows])
    assert it.sum() / 3600 == pytest.approx(summary["it_energy_mwh"], rel=1e-9)


def test_same_seed_same_files(tmp_path, small_file):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        assert cli("run", "--duration", "120", "--seed", "3", "--facility", small_file, "--out", d).returncode == 0
    assert (a / "timeseries.csv").read_bytes() == (b / "timeseries.csv").read_bytes()
    assert (a / "summary.json").read_text() == (b / "summary.json").read_text()


def test_bad_facility_file_gives_one_line_exit_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    data = small_facility().model_dump(mode="json")
    data["rack"]["trays"] = 12  # 12 x 4U + 4U CDU does not fit a 48U rack
    data["halls"][0]["colour"] = "blue"
    bad.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    r = cli("run", "--duration", "60", "--facility", bad, "--out", out)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert str(bad) in r.stderr
    assert not out.exists()
    v = cli("validate", bad)
    assert v.returncode == 2
    lines = v.stderr.strip().splitlines()
    assert lines == [f"{bad}: halls.0.colour: unknown field"]
    # field errors come first; once the fields are right, impossible combinations are named
    del data["halls"][0]["colour"]
    data["site"]["supply_setpoint_c"] = 45.0  # the CDU cannot carry a rack with 45 C water
    bad.write_text(yaml.safe_dump(data))
    lines = cli("validate", bad).stderr.strip().splitlines()
    assert any("exceeds the rack's 48U" in ln for ln in lines), lines
    assert any("rack.cdu: carries" in ln and "at design load" in ln for ln in lines), lines
    assert all(ln.startswith(str(bad)) for ln in lines)


@pytest.mark.parametrize("args, message", [
    (["run", "--duration", "ten", "--out", "x"], "not a duration"),
    (["run", "--duration", "60"], "--out"),
    (["run", "--facility", "nope", "--out", "x"], "no such file or built-in facility"),
    (["validate", "missing.yaml"], "no such file"),
])
def test_bad_arguments_are_one_clear_line(tmp_path, args, message):
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_scenario_with_unknown_address_is_rejected(tmp_path, small_file):
    scen = tmp_path / "s.yaml"
    scen.write_text(yaml.safe_dump({"faults": [{"at": 5, "kind": "pump_failure", "target": "H9-R001-CDU-P1"},
                                               {"at": 5, "kind": "fan_failure", "target": "H1-R001"}]}))
    r = cli("validate", scen, "--facility", small_file)
    assert r.returncode == 2
    assert "faults.0.target" in r.stderr and "no hall H9" in r.stderr
    assert "faults.1.target" in r.stderr and "fan_failure needs a fan address" in r.stderr
    ok = tmp_path / "ok.yaml"
    ok.write_text(yaml.safe_dump({"faults": [{"at": 5, "kind": "fan_failure", "target": "H1-R001-RDHX-F3"}]}))
    assert cli("validate", ok, "--facility", small_file).returncode == 0


def test_builtin_facilities_validate():
    for name in ("colossus", "colossus-200k"):
        r = cli("validate", ROOT / "resources" / "facilities" / f"{name}.yaml")
        assert r.returncode == 0, r.stderr
    r = cli("validate", ROOT / "resources" / "facilities" / "colossus.yaml")
    assert "100,352 GPUs" in r.stdout
    r = cli("validate", ROOT / "resources" / "facilities" / "colossus-200k.yaml")
    assert "200,704 GPUs" in r.stdout
