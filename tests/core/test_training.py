"""Training sessions: bundled drills are winnable with their reference solution and lost without it, scores
are deterministic, restore and replay are exact, bad scenario files get clear messages, and the session log
survives a crash."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from colossus_gui.io.loader import LoadError, validate_data
from colossus_gui.io.session_report import write_report
from colossus_gui.io.session_store import SessionStore
from colossus_gui.model.scenario import Scenario
from colossus_gui.model.training import scenario_json_schema
from colossus_gui.ops.training import TrainingSession, read_log
from colossus_gui.ops.training_check import (
    check_training_scenario,
    load_and_check,
    load_training_scenario,
    training_scenarios,
)
from colossus_gui.resources import builtin_scenarios, resource
from colossus_gui.testing import small_facility, small_pump_drill

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted(training_scenarios())


small_drill = small_pump_drill  # the fast drill of these tests (colossus_gui.testing)


# --------------------------------------------------------------------------- the bundled drills
def test_at_least_six_bundled_training_scenarios_all_valid():
    assert len(BUNDLED) >= 6
    for name in BUNDLED:
        sc, fac, _ = load_and_check(name)
        assert sc.briefing and sc.reference, name
        assert len({a.action for a in sc.reference}) >= 2, name


@pytest.mark.parametrize("name", BUNDLED)
def test_reference_solution_wins_and_doing_nothing_loses(name):
    sc, fac, _ = load_and_check(name)
    ref = TrainingSession(sc, fac)
    good = ref.play(sc.reference)
    assert ref.ended and ref.t == pytest.approx(sc.time_limit_s)
    assert good.total >= 90, [(t.key, round(t.points_lost, 1)) for t in good.terms if t.points_lost]
    # an expert's play: nothing failed, nothing unnecessary, every alarm acknowledged, reference on time
    assert not [r for r in ref.records if not r.ok or r.unnecessary]
    assert all(entry[5] is not None for entry in ref.keeper.ledger)
    assert all(m["status"] == "on time" for m in ref.reference_matches() if m["by_s"] is not None)
    assert any(f.fired_t is not None for f in ref.faults)
    idle = TrainingSession(sc, fac)
    bad = idle.play([])
    assert bad.total <= good.total - 35, (good.total, bad.total)
    # every criterion is shown, and the total is what the terms say
    assert {t.key for t in bad.terms} >= set(sc.scoring.TERMS)
    assert bad.total == pytest.approx(max(0.0, 100 - sum(t.points_lost for t in bad.terms)))


def test_simple_timed_fault_files_still_load_both_ways():
    for name, path in builtin_scenarios().items():
        data = yaml.safe_load(path.read_text())
        assert validate_data(Scenario, data, str(path)).faults, name  # the run CLI's model
        sc, _ = load_training_scenario(path)  # the training model is a superset
        assert all(f.at is not None for f in sc.faults) and sc.faults


def test_shipped_json_schema_matches_the_models():
    shipped = json.loads(resource("scenarios", "scenario.schema.json").read_text())
    assert shipped == scenario_json_schema(), "regenerate: python -m colossus_gui.model.training > " \
                                              "resources/scenarios/scenario.schema.json"
    assert "faults" in shipped["properties"] and "TrainingFault" in shipped["$defs"]


# --------------------------------------------------------------------------- determinism, restore, replay
def test_same_scenario_actions_and_seed_give_the_same_score():
    sc = small_drill()
    runs = []
    for _ in range(2):
        s = TrainingSession(sc, small_facility(), seed=9)
        score = s.play(sc.reference)
        runs.append((score.to_dict(), [(r.t_s, r.action, r.result) for r in s.records],
                     s.engine.tj.copy()))
    assert runs[0][0] == runs[1][0]
    assert runs[0][1] == runs[1][1]
    assert np.array_equal(runs[0][2], runs[1][2])
    other = TrainingSession(sc, small_facility(), seed=10).play(sc.reference)
    assert other.to_dict() != runs[0][0]  # a different seed is a different session (repair times drawn)


def test_random_faults_come_from_the_scenario_seed():
    sc = small_drill(faults=[{"id": "storm", "random": {"rate_per_h": 40, "start_s": 60, "end_s": 1700},
                              "kind": "hbm_failure", "target": ["H1", "H2-R003"]}])
    a = [(f.due_t, f.target) for f in TrainingSession(sc, small_facility(), seed=1).faults]
    b = [(f.due_t, f.target) for f in TrainingSession(sc, small_facility(), seed=1).faults]
    c = [(f.due_t, f.target) for f in TrainingSession(sc, small_facility(), seed=2).faults]
    assert a == b and a != c
    assert len(a) > 5
    assert all(60 <= t <= 1700 for t, _ in a)
    assert all(x.startswith("H1-") or x.startswith("H2-R003-") for _, x in a)


def test_restore_rewinds_and_replays_exactly(tmp_path):
    sc = small_drill()
    s = TrainingSession(sc, small_facility(), log_path=tmp_path / "s.jsonl")
    s.run_until(500, script=_player(s, sc.reference))
    s.do("power_cap", who="trainee", watts=500)  # after the restore point: must be undone
    s.run_until(900)
    assert np.isfinite(s.engine.power_cap_w).all()
    point = next(m for m in s.backtracks if m.t_s == 300)
    s.do("restore", who="instructor", name=point.name)
    assert s.t == pytest.approx(300)
    assert not np.isfinite(s.engine.power_cap_w).any()
    fresh = TrainingSession(sc, small_facility())
    fresh.run_until(300, script=_player(fresh, [a for a in sc.reference if (a.at or 0) < 300]))
    assert np.array_equal(s.engine.tj, fresh.engine.tj)
    assert np.array_equal(s.engine.pump_ok, fresh.engine.pump_ok)
    assert [(w.id, w.state, w.technician) for w in s.raw_ops.work_orders.values()] == \
           [(w.id, w.state, w.technician) for w in fresh.raw_ops.work_orders.values()]
    assert s.score().to_dict() == fresh.score().to_dict()
    # the restore is in the log, and a replay of the log lands on the same timeline
    s.run_until(600)
    s.end("done")
    s.close()
    again = TrainingSession.from_log(tmp_path / "s.jsonl")
    assert again.t == pytest.approx(600)
    assert again.final_score.to_dict()["total"] == pytest.approx(s.final_score.total)


def test_a_log_replays_to_the_same_score(tmp_path):
    sc = small_drill()
    s = TrainingSession(sc, small_facility(), log_path=tmp_path / "s.jsonl", trainee="ann")
    s.do("hint", who="instructor", hint="iso")
    live = s.play(sc.reference)
    s.close()
    replay = TrainingSession.from_log(tmp_path / "s.jsonl")
    assert replay.trainee == "ann"
    assert replay.final_score.to_dict() == live.to_dict()
    mid = TrainingSession.from_log(tmp_path / "s.jsonl", until_t=400)
    assert mid.t == pytest.approx(400) and not mid.ended


# --------------------------------------------------------------------------- scoring rules
def test_hints_unnecessary_actions_and_failed_actions_cost_points():
    sc = small_drill()
    base = TrainingSession(sc, small_facility()).play(sc.reference).total
    s = TrainingSession(sc, small_facility())
    s.do("hint", who="instructor", hint="iso")
    s.run_until(50)
    r1 = s.do("power_cap", who="trainee", hall="H2", watts=600)  # not part of this drill
    r2 = s.do("create_work_order", who="trainee", target="H2-R005")  # nothing wrong there
    r3 = s.do("assign", who="trainee", target="H1-R007-CDU-P1", technician="Finley")  # no such order
    assert r1.ok and r1.unnecessary and r2.ok and r2.unnecessary and not r3.ok and r3.unnecessary
    score = s.play(sc.reference)
    assert score.term("hints").points_lost == 8
    assert score.term("unnecessary_actions").value == 3
    assert score.total < base - 8


def test_abort_threshold_ends_the_session():
    sc = small_drill(scoring={"abort": {"when": "hottest_gpu_c > 88", "hold_s": 10, "penalty": 40}})
    s = TrainingSession(sc, small_facility())
    score = s.play([])
    assert s.aborted and s.ended and s.t < sc.time_limit_s
    assert score.term("aborted").points_lost == 40


def test_triggers_event_condition_and_ramp():
    sc = small_drill(faults=[
        {"id": "wear", "at": 60, "kind": "pump_failure", "target": "H1-R003-CDU-P1", "ramp_s": 600},
        {"id": "hot", "when": "H1-R003 flow_frac < 0.6", "hold_s": 5, "kind": "fan_failure",
         "target": "H1-R003-RDHX-F1"},
        {"id": "ev", "after": {"event": "fault_started", "address": "H1-R003-RDHX", "delay_s": 30},
         "kind": "psu_failure", "target": "H2-R001-T1-PSU1"}], reference=[])
    s = TrainingSession(sc, small_facility())
    s.run_until(360)
    r = s.topo.parse("H1-R003").index
    assert 0.4 < s.engine.pump_capacity[r, 0] < 0.6  # half way down the ramp
    assert s.engine.pump_ok[r, 0]
    s.run_until(700)
    assert not s.engine.pump_ok[r, 0]  # the ramp ended in a failure
    f = {x.id: x for x in s.faults}
    assert f["wear"].state == "active"
    # the worn lead pump delivered less and less (the standby only takes over when it fails): the condition
    # fired when capacity fell under 0.6, at 60 + 0.4 x 600 s, plus the hold and the flow's spin-down
    assert 300 <= f["hot"].fired_t <= 320
    assert f["ev"].fired_t == pytest.approx(f["hot"].fired_t + 30)
    assert not s.engine.psu_ok[s.topo.parse("H2-R001-T1").index, 0]
    s.do("inject", who="instructor", kind="fan_failure", target="H1-R003-RDHX-F2")
    assert s.faults[-1].origin == "instructor" and s.faults[-1].state == "active"
    assert not s.engine.fan_ok[r, 1]


# --------------------------------------------------------------------------- bad files
def _bad(tmp_path, data: dict) -> list[str]:
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(LoadError) as e:
        sc, _ = load_training_scenario(p)
        check_training_scenario(sc, small_facility(), str(p))
    return e.value.problems


def test_bad_scenarios_name_file_field_and_problem(tmp_path):
    probs = _bad(tmp_path, {"faults": [{"at": 10, "kind": "pump_explodes", "target": "H1-R001-CDU-P1"}]})
    assert probs[0].startswith(str(tmp_path / "bad.yaml")) and "faults.0.kind" in probs[0]
    probs = _bad(tmp_path, {"faults": [
        {"id": "a", "at": 10, "kind": "pump_failure", "target": "H9-R001-CDU-P1"},
        {"id": "b", "at": 10, "kind": "pump_failure", "target": "H1-R002"},
        {"id": "c", "when": "H1-R001 frobnication > 3", "kind": "fan_failure", "target": "H1-R001-RDHX-F1"},
        {"id": "d", "after": {"fault": "nope"}, "kind": "fan_failure", "target": "H1-R001-RDHX-F1"},
        {"id": "e", "after": {"event": "kaboom"}, "kind": "fan_failure", "target": "H1-R001-RDHX-F1"},
        {"id": "f", "after": {"fault": "g"}, "kind": "fan_failure", "target": "H1-R001-RDHX-F1"},
        {"id": "g", "after": {"fault": "h"}, "kind": "fan_failure", "target": "H1-R001-RDHX-F2"},
        {"id": "h", "after": {"fault": "f", "delay_s": 5}, "kind": "fan_failure", "target": "H1-R001-RDHX-F3"},
    ], "objectives": [{"id": "o", "text": "x", "condition": "megapack_charge > 0.2"}],
        "reference": [{"at": 5, "action": "hint", "hint": "nothing"}]})
    text = "\n".join(probs)
    assert all(line.startswith(str(tmp_path / "bad.yaml") + ": ") for line in probs)
    assert "faults.0.target" in text and "no hall H9" in text
    assert "faults.1.target: pump_failure needs a pump address" in text
    assert "faults.2.when" in text and "frobnication" in text and "known:" in text
    assert "faults.3.after.fault: no fault with id 'nope'" in text
    assert "faults.4.after.event: unknown event kind 'kaboom'" in text
    assert "faults.5.after.fault: trigger cycle f -> g -> h -> f" in text
    assert "objectives.0.condition" in text and "megapack_charge" in text
    assert "reference.0.hint: no hint 'nothing'" in text
    probs = _bad(tmp_path, {"faults": [{"kind": "pump_failure", "target": "H1-R001-CDU-P1"}]})
    assert "faults.0: needs exactly one trigger" in probs[0]


# --------------------------------------------------------------------------- storage, report, crash
def test_sessions_are_stored_with_history(tmp_path):
    sc = small_drill()
    with SessionStore(tmp_path / "ws.sqlite") as st:
        for acts in ([], sc.reference):
            s = TrainingSession(sc, small_facility(), trainee="ann", scenario_name="small")
            s.play(acts)
            st.add_debrief(s.debrief())
        hist = st.history("ann")["small"]
        assert len(hist) == 2 and hist[1]["change"] > 30
        assert st.trainees() == ["ann"]
    from colossus_gui.io.store import Store
    with Store(tmp_path / "ws.sqlite") as raw:  # the maintenance store still opens the shared file
        assert raw.max_work_order_id() == 0


def test_report_has_briefing_terms_timeline_and_marked_charts(tmp_path):
    sc = small_drill(briefing="Pumps are old.")
    s = TrainingSession(sc, small_facility(), trainee="bo")
    s.play(sc.reference)
    paths = write_report(s.debrief(), tmp_path)
    names = {p.name for p in paths}
    assert {"report.html", "score.json", "actions.csv", "timeline.csv", "score_terms.csv"} <= names
    html = (tmp_path / "report.html").read_text()
    assert "Pumps are old." in html and "Time to acknowledge" in html and "<svg" in html
    assert html.count("F1</text>") >= 1 and "isolate_rack" in html
    assert json.loads((tmp_path / "score.json").read_text())["total"] == pytest.approx(s.final_score.total, abs=1e-3)
    timeline = (tmp_path / "timeline.csv").read_text()
    assert "fault" in timeline and "alarm" in timeline and "action" in timeline


def _player(session, actions):
    from colossus_gui.ops.training import ScriptPlayer
    return ScriptPlayer(session, actions)


def test_the_session_log_survives_a_crash(tmp_path):
    """Kill the train command mid-session: every action it took up to then is in the log, and the log replays."""
    acts = tmp_path / "acts.yaml"
    acts.write_text(yaml.safe_dump({"actions": [{"at": 60 + 30 * k, "action": "note", "text": f"note {k}"}
                                                for k in range(400)]}))
    scen = tmp_path / "long.yaml"
    scen.write_text(yaml.safe_dump({"title": "long", "facility": "colossus", "time_limit_s": 4 * 3600,
                                    "faults": [{"at": 100, "kind": "fan_failure", "target": "H1-R001-RDHX-F1"}]}))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "colossus_gui", "train", str(scen), "--actions", str(acts),
                             "--out", str(out), "--no-png"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    log = out / "session.jsonl"
    deadline = time.monotonic() + 120
    n = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists():
            n = sum(1 for line in log.read_text().splitlines() if '"type":"action"' in line)
            if n >= 5:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the session finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    recs = read_log(log)
    actions = [r for r in recs if r["type"] == "action"]
    assert len(actions) >= 5 and not any(r["type"] == "end" for r in recs)
    # every scripted action up to the last logged time is there, in order
    assert [r["args"]["text"] for r in actions] == [f"note {k}" for k in range(len(actions))]
    replay = TrainingSession.from_log(log)
    assert replay.t >= actions[-1]["t_s"] and len(replay.effective_actions()) == len(actions)


def test_a_fault_can_follow_an_alarm_clearing():
    """A drill's second act starts when the first problem's alarm has cleared (the pumps repaired)."""
    sc = small_drill()
    faults = [f.model_dump(exclude_none=True) for f in sc.faults] + [
        {"id": "next", "after": {"event": "alarm_cleared", "address": "H1-R002-CDU", "delay_s": 20},
         "kind": "fan_failure", "target": "H1-R001-RDHX-F1"}]
    sc = small_drill(faults=faults)
    s = TrainingSession(sc, small_facility())
    s.play(sc.reference)
    cleared = [ev for ev in s.engine.events if ev.kind == "alarm_cleared" and ev.address.startswith("H1-R002-CDU")]
    f = {x.id: x for x in s.faults}
    assert cleared, "the reference repairs the pumps, so their alarm clears"
    assert f["next"].fired_t == pytest.approx(cleared[0].t_s + 20)
    assert not s.engine.fan_ok[s.topo.parse("H1-R001").index, 0]
