"""Typed engine events, the event log with cursors and epochs, and the one fault registry."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from colossus_gui.model.faults import FAULTS, check_params
from colossus_gui.model.scenario import FaultSpec
from colossus_gui.ops.alarms import AlarmManager
from colossus_gui.sim.engine import Engine
from colossus_gui.sim.events import EventKind
from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2] / "colossus_gui"


def test_kinds_compare_equal_to_their_strings_and_new_string_kinds_still_log():
    eng = Engine(small_facility(), seed=1)
    assert EventKind.FAULT_STARTED == "fault_started"
    ev = eng._event("valve_stuck", "H1-R001-CDU", "a kind another module adds")
    assert ev.kind == "valve_stuck" and eng.events[-1] is ev and ev.seq == len(eng.events) - 1


def test_inject_returns_its_event_with_the_component_indices_and_cause():
    eng = Engine(small_facility(), seed=1)
    eng.run(5)
    ev = eng.inject("pump_failure", "H1-R002-CDU-P2", cause="scenario")
    r = eng.parse("H1-R002").index
    assert ev.kind == EventKind.FAULT_STARTED and ev.fault == "pump_failure" and ev.cause == "scenario"
    assert (ev.component, ev.index, ev.sub, ev.rack) == ("pump", r, 1, r)
    assert not eng.pump_ok[ev.index, ev.sub]
    assert eng.inject("pump_failure", "H1-R002-CDU-P2") is None  # already failed: nothing happened
    leak = eng.inject("coolant_leak", "H1-R003")
    assert leak.address == "H1-R003-CDU" and leak.component == "cdu" and eng.leak[leak.index]
    gpu = eng.inject("gpu_failure", "H1-R001-T2-G3")
    assert gpu.rack == 0 and not eng.gpu_ok.ravel()[gpu.index]


def test_a_job_interruption_names_its_job_by_index():
    eng = Engine(small_facility(), seed=1)
    eng.run(5)
    eng.inject("gpu_failure", "H2-R001-T1-G1")
    jobs = [e for e in eng.events if e.kind == EventKind.JOB_INTERRUPTED]
    assert jobs and eng.jobs[jobs[-1].job].name in jobs[-1].detail and jobs[-1].cause == "gpu"


def test_readers_with_cursors_see_new_events_once_and_learn_of_a_restore():
    eng = Engine(small_facility(), seed=2)
    eng.run(10)
    snap = eng.snapshot()
    cur = eng.events.cursor()
    eng.inject("fan_failure", "H1-R001-RDHX-F1")
    b = eng.events.since(cur)
    assert [e.fault for e in b.events] == ["fan_failure"] and not b.rewound
    assert eng.events.since(b.cursor).events == []
    epoch = eng.events.epoch
    eng.restore(snap)
    b2 = eng.events.since(b.cursor)
    assert b2.rewound and eng.events.epoch == epoch + 1 and b2.events == []
    assert eng.fan_ok.all()


def test_revision_moves_with_every_step_and_change():
    eng = Engine(small_facility(), seed=2)
    r0 = eng.revision
    eng.step()
    r1 = eng.revision
    eng.degrade("H1-R001-CDU-P1", 0.5)
    assert r0 < r1 < eng.revision


def test_a_grid_sag_lasts_the_registry_default_from_the_engine_the_scenario_and_the_menu():
    eng = Engine(small_facility(), seed=3)
    eng.run(3)
    ev = eng.inject("grid_sag", "GRID")
    assert eng.sag_until - eng.t == FAULTS["grid_sag"].defaults()["duration"] == 60.0
    assert ev.fault == "grid_sag"
    with pytest.raises(ValidationError, match="grid_sag needs depth"):
        FaultSpec(at=0, kind="grid_sag", target="GRID")
    assert check_params("grid_sag", {"depth": 1.5, "duration": 10}) is not None


def test_the_alarm_layer_follows_typed_events_after_a_restore():
    eng = Engine(small_facility(), seed=4)
    am = AlarmManager(eng)
    eng.run(5)
    snap = eng.snapshot()
    eng.inject("pump_failure", "H1-R001-CDU-P1")
    eng.inject("pump_failure", "H1-R001-CDU-P2")
    for _ in range(40):
        eng.step()
        am.evaluate(eng)
    assert any(a.rule == "pump_state" and a.active for a in am.alarms())
    eng.restore(snap)
    for _ in range(40):
        eng.step()
        am.evaluate(eng)
    assert not any(a.rule == "pump_state" and a.active for a in am.alarms())


def test_no_meaning_read_back_out_of_strings_or_state_codes():
    bad = []
    for p in ROOT.rglob("*.py"):
        text = p.read_text(encoding="utf-8")
        rel = p.relative_to(ROOT).as_posix()
        if rel.startswith("sim/"):
            continue
        for pat in (r"gt_state\s*==\s*3", r'"-CDU" in ', r'"-RDHX" in ', r"detail\.split\("):
            if re.search(pat, text):
                bad.append(f"{rel}: {pat}")
    assert not bad, bad
