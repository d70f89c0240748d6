"""CSV of alarms and work orders (io/tables.py): the file reloads to the values the operations layer holds --
times in simulated seconds at full precision with the matching ISO time, parts and notes intact -- units are in
the headers, and a cell a spreadsheet would run as a formula is made safe."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from colossus_gui.io import tables
from colossus_gui.io.run_output import iso_times
from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


@pytest.fixture(scope="module")
def sim():
    eng = Engine(small_facility(), seed=11)
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), seed=11)

    def run(n):
        for _ in range(n):
            eng.step()
            ops.step()

    run(20)
    eng.inject("fan_failure", "H1-R002-RDHX-F1")
    eng.inject("pump_failure", "H2-R001-CDU-P1")
    eng.inject("pump_failure", "H2-R001-CDU-P2")
    eng.inject("gpu_failure", "H1-R003-T2-G4")
    run(120)
    ops.acknowledge([a.id for a in ops.alarms.alarms()][:2], who="=HYPERLINK(\"x\")")
    fan = next(w for w in ops.work_orders.values() if w.target == "H1-R002-RDHX-F1")
    ops.assign(fan.id, "Finley")
    ops.add_note(fan.id, "door hinge stiff, 2 screws, replaced", who="kim")
    ops.add_note(fan.id, "=1+2 looks like a formula\nand has a second line", who="kim")
    run(1500)  # the fan swap closes; the fan alarm clears
    manual = ops.create_work_order("H2-R002-T1", note="planned check", priority=4)
    ops.cancel(manual.id, reason="not needed")
    return eng, ops, fan


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _time(text):
    return None if text == "" else float(text)


def test_alarms_csv_reloads_to_the_alarm_values(sim, tmp_path):
    eng, ops, _ = sim
    alarms = list(ops.alarms.history) + ops.alarms.alarms(include_shelved=True)
    assert any(not a.active for a in alarms) and any(a.acked for a in alarms)  # cleared and acked ones too
    assert any(a.acked_by == '=HYPERLINK("x")' for a in alarms)
    path = tmp_path / "alarms.csv"
    tables.write_alarms_csv(eng, path, [a.to_row() for a in alarms])
    header = path.read_text().splitlines()[2].split(",")
    assert header == list(tables.ALARM_COLUMNS)
    assert {"raised_time_s", "raised_iso_time", "acked_time_s", "cleared_time_s", "unit"} <= set(header)
    got = {int(r["id"]): r for r in _read(path)}
    assert sorted(got) == sorted(a.id for a in alarms)
    for a in alarms:
        r = got[a.id]
        assert (r["rule"], r["component"], int(r["severity"]), r["state"], r["unit"]) == (
            a.rule, a.component, a.severity, a.state, a.unit)
        assert r["severity_name"] == a.severity_name
        assert float(r["value"]) == float(a.value) and float(r["limit"]) == float(a.limit)  # bit-exact
        assert _time(r["raised_time_s"]) == a.raised_t
        assert _time(r["acked_time_s"]) == a.acked_t and _time(r["cleared_time_s"]) == a.cleared_t
        assert r["raised_iso_time"] == iso_times(eng, np.array([a.raised_t]))[0]
        assert (r["cleared_iso_time"] == "") == (a.cleared_t is None)
        assert r["detail"] == a.detail
        if a.acked_by is not None and a.acked_by.startswith("="):  # a name like a formula: written safe
            assert r["acked_by"] == "'" + a.acked_by


def test_work_orders_csv_reloads_to_the_work_order_values(sim, tmp_path):
    eng, ops, fan = sim
    assert fan.state == "closed"
    wos = list(ops.work_orders.values())
    path = tmp_path / "work-orders.csv"
    tables.write_work_orders_csv(eng, path, [w.to_row() for w in wos])
    header = path.read_text().splitlines()[2].split(",")
    assert header == list(tables.WORK_ORDER_COLUMNS)
    got = {int(r["id"]): r for r in _read(path)}
    assert sorted(got) == sorted(w.id for w in wos)
    for w in wos:
        r = got[w.id]
        assert (r["target"], r["fault"], r["recipe"], int(r["priority"]), r["state"]) == (
            w.target, w.fault, w.recipe, w.priority, w.state)
        for k in ("created", "assigned", "started", "finished"):
            t = getattr(w, f"{k}_t")
            assert _time(r[f"{k}_time_s"]) == t
            assert r[f"{k}_iso_time"] == ("" if t is None else iso_times(eng, np.array([t]))[0])
        assert (r["technician"] or None) == w.technician
        assert (r["parts"].split(";") if r["parts"] else []) == w.parts
        assert int(r["steps"]) == len(w.steps)
        assert float(r["travel_s"]) == w.travel_s
        assert _time(r["repair_time_s"]) == w.repair_s
    # the closed fan order: part used, notes one per line, the formula-looking note made safe
    r = got[fan.id]
    assert r["parts"] == "fan" and float(r["repair_time_s"]) == fan.finished_t - fan.assigned_t
    notes = r["notes"].split("\n")
    assert any(n.endswith("kim: door hinge stiff, 2 screws, replaced") for n in notes)
    assert any("=1+2 looks like a formula" in n for n in notes)
    # the repair time is travel plus the steps' actual times, as the MTTR figure counts it
    assert float(r["repair_time_s"]) == pytest.approx(fan.travel_s + sum(s.actual_s for s in fan.steps))
    cancelled = next(x for x in got.values() if x["state"] == "cancelled")
    assert cancelled["repair_time_s"] == "" and cancelled["finished_time_s"] != ""


def test_a_formula_in_a_first_cell_is_made_safe_and_negative_numbers_stay_numbers(tmp_path):
    eng = Engine(small_facility(), seed=1)
    row = {"id": 1, "rule": "@SUM(A1)", "component": "-H1", "severity": 2, "state": "active_unacknowledged",
           "raised_t": -0.5, "acked_t": None, "acked_by": None, "cleared_t": None, "value": -3.25,
           "limit_value": 1e-300, "unit": "+C", "detail": "=cmd|' /C calc'!A0", "shelved_until": None,
           "archived": False}
    path = tmp_path / "a.csv"
    tables.write_alarms_csv(eng, path, [row])
    r = _read(path)[0]
    assert (r["rule"], r["component"], r["unit"], r["detail"]) == ("'@SUM(A1)", "'-H1", "'+C", "'=cmd|' /C calc'!A0")
    assert float(r["value"]) == -3.25 and float(r["limit"]) == 1e-300 and float(r["raised_time_s"]) == -0.5


def test_writes_are_atomic_a_failed_write_leaves_the_old_file(tmp_path):
    eng = Engine(small_facility(), seed=1)
    path = tmp_path / "wo.csv"
    path.write_text("old\n")
    with pytest.raises(KeyError):
        tables.write_work_orders_csv(eng, path, [{"target": "H1-R001"}])  # a row without an id
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["wo.csv"]
