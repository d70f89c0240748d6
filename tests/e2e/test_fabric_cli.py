"""Headless runs with network and storage faults: events.csv names them, summary.json has the figures."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import yaml

from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]


def test_run_with_fabric_and_storage_faults_writes_them_and_the_summary_figures(tmp_path):
    fac = tmp_path / "small.json"
    fac.write_text(json.dumps(small_facility().model_dump(mode="json")))
    scen = tmp_path / "net.yaml"
    scen.write_text(yaml.safe_dump({"title": "fabric and storage", "faults": [
        {"at": 30, "kind": "switch_failure", "target": "H1-SP02"},
        {"at": 40, "kind": "link_failure", "target": "H2-LF003-P04"},
        {"at": 50, "kind": "link_flap", "target": "H1-LF005-P06"},
        {"at": 60, "kind": "storage_node_failure", "target": "ST002"},
        {"at": 70, "kind": "drive_failure", "target": "ST004-D11"}]}))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "colossus_gui", "run", "--duration", "40m", "--seed", "3", "--facility",
                        fac, "--scenario", scen, "--out", out], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    events = list(csv.DictReader(open(out / "events.csv", newline="")))
    started = {(e["address"], e["detail"].split(" ")[0]) for e in events if e["kind"] == "fault_started"}
    assert {("H1-SP02", "switch_failure"), ("H2-LF003-P04", "link_failure"), ("H1-LF005-P06", "link_flap"),
            ("ST002", "storage_node_failure"), ("ST004-D11", "drive_failure")} <= started
    assert any(e["kind"] == "job_interrupted" and e["address"] == "H2-LF003-P04" for e in events)
    s = json.loads((out / "summary.json").read_text())
    assert s["interruptions_by_cause"]["network"] >= 1
    fab, st = s["fabric"], s["storage"]
    assert fab["switches_down"] == 1 and fab["bisection_min"] < 1.0 and fab["bisection_lost_hours"] > 0
    assert fab["comm_slowdown_gpu_hours"] > 0 and fab["power_mw"] > 0
    assert st["checkpoints"] >= 1 and st["checkpoint_stall_hours"] > 0 and st["write_bandwidth_lost_pb"] > 0
    assert st["nodes_down"] == 1 and st["rebuilt_tb"] > 0  # the drive was swapped (30 min), its rebuild runs


def test_scenario_with_a_bad_fabric_address_is_refused_with_one_line(tmp_path):
    scen = tmp_path / "bad.yaml"
    scen.write_text(yaml.safe_dump({"faults": [{"at": 5, "kind": "switch_failure", "target": "H1-LF999"}]}))
    r = subprocess.run([sys.executable, "-m", "colossus_gui", "run", "--duration", "1m", "--scenario", scen, "--out",
                        tmp_path / "o"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 2
    assert "H1-LF999" in r.stderr and "leaf numbers run" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()
