"""A Run: one timeline of engine + operations (+ training), snapshots, keyframes and seeking."""

import numpy as np
import pytest

from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.run import Run
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.sim.events import EventKind, is_ops_event
from colossus_gui.testing import small_facility, small_pump_drill


def make(keyframe_every_s=60.0, budget_mb=256.0):
    eng = Engine(small_facility(), seed=3)
    ops = OpsManager(eng, OpsConfig(), seed=5)
    return Run(eng, ops, keyframe_every_s=keyframe_every_s, keyframe_budget_mb=budget_mb)


def script(run, until):
    """The same operator story on every run: a pump and a GPU fail at 700 s (between steps)."""
    if run.t < 700:
        run.advance(700 - run.t)
        run.engine.inject("pump_failure", "H1-R001-CDU-P1")
        run.engine.inject("gpu_failure", "H2-R002-T3-G4")
    run.advance(until - run.t)


def assert_same(a: Run, b: Run):
    sa, sb = a.engine.snapshot(), b.engine.snapshot()
    assert sa.keys() == sb.keys()
    for k in sa:
        if isinstance(sa[k], np.ndarray):
            assert np.array_equal(sa[k], sb[k], equal_nan=sa[k].dtype.kind == "f"), k  # NaN: "none yet"
        else:
            assert sa[k] == sb[k] or (sa[k] != sa[k] and sb[k] != sb[k]), (k, sa[k], sb[k])
    assert a.ops.figures() == b.ops.figures()
    rows = lambda r: [(w.id, w.state, w.technician, w.phase_end_t, [s.done for s in w.steps])  # noqa: E731
                      for w in r.ops.work_orders.values()]
    assert rows(a) == rows(b)
    assert [(x.name, x.busy_wo, x.location, x.busy_s) for x in a.ops.roster.techs] == \
        [(x.name, x.busy_wo, x.location, x.busy_s) for x in b.ops.roster.techs]
    assert [(al.id, al.rule, al.severity, al.active) for al in a.ops.alarms.alarms()] == \
        [(al.id, al.rule, al.severity, al.active) for al in b.ops.alarms.alarms()]
    assert [(e.t_s, e.kind, e.address) for e in a.events] == [(e.t_s, e.kind, e.address) for e in b.events]
    np.testing.assert_array_equal(a.engine.telemetry.facility.view(), b.engine.telemetry.facility.view())
    np.testing.assert_array_equal(a.engine.telemetry.racks.view(), b.engine.telemetry.racks.view())


def test_seek_back_and_forth_is_bit_identical_to_a_straight_run():
    straight = make()
    script(straight, 1030)
    seeker = make()
    script(seeker, 1500)
    steps0 = seeker.steps_simulated
    seeker.seek(1030)  # back: the keyframe at 1020 and 10 steps
    assert seeker.steps_simulated - steps0 <= 60
    assert_same(straight, seeker)
    script(straight, 1390)
    steps0 = seeker.steps_simulated
    seeker.seek(1390)  # forward over keyframes of the same timeline: from 1380
    assert seeker.steps_simulated - steps0 <= 60
    assert_same(straight, seeker)
    seeker.seek(100)  # before the faults
    assert seeker.engine.pump_ok.all() and not seeker.ops.work_orders
    script(seeker, 1390)  # and the same story again from there
    assert_same(straight, seeker)


def test_an_action_after_a_seek_back_starts_a_new_branch():
    run = make()
    script(run, 1200)
    run.seek(800)
    assert any(k.t > 800 for k in run.keyframes)
    run.engine.inject("fan_failure", "H1-R002-RDHX-F1")
    run.advance(10)
    assert max(k.t for k in run.keyframes) <= 810
    run.seek(1000)  # no keyframe of this branch past 810: simulated on
    assert not run.engine.fan_ok[run.engine.parse("H1-R002").index, 0]


def _ops_log(run):
    return [(e.seq, e.t_s, e.kind, e.address, e.index, e.detail) for e in run.events if is_ops_event(e)]


def _board(run):
    return [(w.id, w.state, w.technician, w.phase, w.phase_end_t, w.assigned_t, [s.done for s in w.steps],
             list(w.notes)) for w in run.ops.work_orders.values()]


def test_restore_puts_operations_back_in_place_for_views_holding_them():
    run = make()
    ops, alarms = run.ops, run.ops.alarms
    script(run, 760)
    snap = run.snapshot()
    n_wo = len(ops.work_orders)
    board, ops_log, n_events = _board(run), _ops_log(run), len(run.events)
    assert {"wo_created", "wo_assigned"} <= {k for _, _, k, *_ in ops_log}  # the pump's and the GPU's orders
    run.advance(3000)
    assert {e.kind for e in run.events[n_events:]} >= {"tech_arrived", "step_finished", "wo_closed"}
    run.restore(snap)
    assert run.ops is ops and ops.alarms is alarms  # the same objects, their state of t = 760
    assert len(ops.work_orders) == n_wo and ops.t == 760
    # the one event log holds exactly the snapshot's operations events, and the board agrees with it
    assert len(run.events) == n_events and _ops_log(run) == ops_log and _board(run) == board
    for w in ops.work_orders.values():
        assert [e.kind for e in ops.order_events(w.id)][0] == "wo_created"
        assert all(e.t_s <= 760 for e in ops.order_events(w.id))
    assert run.engine.telemetry.facility.view()[-1, 0] == 759.0 + 1.0  # charts end at the restored moment


def test_operations_events_are_typed_entries_of_the_one_log_at_the_time_they_happened():
    run = make()
    script(run, 2400)
    evs = run.events
    assert [e.seq for e in evs] == list(range(len(evs)))  # one sequence for engine and operations events
    created = [e for e in evs if e.kind == EventKind.WO_CREATED]
    assert created and all(e.component == "work_order" and e.index in run.ops.work_orders for e in created)
    pump = next(w for w in run.ops.work_orders.values() if w.target == "H1-R001-CDU-P1")
    kinds = [e.kind for e in run.ops.order_events(pump.id)]
    assert kinds[:3] == ["wo_created", "wo_assigned", "tech_arrived"] and kinds[-1] == "wo_closed"
    closed = run.ops.order_events(pump.id)[-1]
    assert closed.t_s == pump.finished_t and closed.address == pump.target  # a phase ends between two steps
    assert closed.rack == run.engine.parse("H1-R001").index
    # the engine's readers skip them: the fault started once, an operations event did not raise another order
    assert sum(e.kind == "fault_started" and e.address == "H1-R001-CDU-P1" for e in evs) == 1
    assert sum(w.target == "H1-R001-CDU-P1" for w in run.ops.work_orders.values()) == 1


def test_an_operator_action_between_steps_is_logged_and_starts_a_new_branch():
    run = make()
    script(run, 1200)
    run.seek(800)
    assert any(k.t > 800 for k in run.keyframes)
    gpu = next(w for w in run.ops.work_orders.values() if w.target == "H2-R002-T3-G4")
    rev = run.revision
    if gpu.state == "assigned":
        run.ops.unassign(gpu.id)
        assert run.events[-1].kind == "wo_unassigned" and run.events[-1].index == gpu.id
    else:
        run.ops.cancel(gpu.id, reason="test")
        assert run.events[-1].kind == "wo_cancelled"
    assert run.revision != rev
    run.advance(10)
    assert max(k.t for k in run.keyframes) <= 810


def test_keyframes_stay_within_their_memory_budget_older_ones_thinned():
    run = make(keyframe_every_s=10.0, budget_mb=0.0)
    per = run.keyframes[0].nbytes
    run.keyframe_budget_bytes = 12 * per
    run.advance(2000)
    ts = [k.t for k in run.keyframes]
    assert len(ts) <= 12 and ts[0] == 0.0 and ts[-1] == 2000.0
    gaps = np.diff(ts)
    assert gaps[-1] == 10.0 and gaps[0] > gaps[-1]  # recent history dense, old history sparse


def test_seek_cannot_go_before_the_first_keyframe_of_a_run_that_has_none():
    eng = Engine(small_facility(), seed=1)
    run = Run(eng, keyframes=False)
    run.advance(20)
    with pytest.raises(ValueError, match="no keyframe"):
        run.seek(5)


def _drill():
    return small_pump_drill(time_limit_s=900, hints=[])


def _moment(s):
    e = s.engine
    return (e.t, e.pump_ok.tolist(), e.rack_isolated.tolist(), float(e.t_fs), s.score().total,
            sorted((w.id, w.state, w.technician) for w in s.raw_ops.work_orders.values()),
            [(f.id, f.state) for f in s.faults], len(e.events))


def test_scrubbing_a_recorded_session_uses_keyframes_and_matches_re_simulating_to_that_moment(tmp_path):
    from colossus_gui.ops.training import TrainingSession

    sc = _drill()
    live = TrainingSession(sc, small_facility(), log_path=tmp_path / "s.jsonl")
    live.play(sc.reference)
    live.close()
    replay = TrainingSession.from_log(tmp_path / "s.jsonl")
    actions = replay.effective_actions()
    for t in (650, 200, 380, 130):  # back, back, forward, back: each from the nearest keyframe
        steps0 = replay.run.steps_simulated
        replay.replay_to(actions, t, same_timeline=True)
        assert replay.run.steps_simulated - steps0 <= 60, t
        straight = TrainingSession.from_log(tmp_path / "s.jsonl", until_t=t)
        assert _moment(replay) == _moment(straight), t


def test_a_restore_in_a_drill_costs_one_keyframe_interval_not_a_re_simulation_from_zero():
    from colossus_gui.ops.training import TrainingSession

    s = TrainingSession(_drill(), small_facility())
    s.run_until(700)
    s.do("snapshot", who="instructor", name="before")  # at 700
    s.run_until(880)
    steps0 = s.run.steps_simulated
    assert s.do("restore", who="instructor", name="before").ok
    assert s.t == 700 and s.run.steps_simulated - steps0 <= 60


def test_a_closed_session_caches_its_keyframes_so_a_replay_opens_without_re_simulating(tmp_path):
    from colossus_gui.ops.training import TrainingSession

    sc = _drill()
    live = TrainingSession(sc, small_facility(), log_path=tmp_path / "session.jsonl")
    live.play(sc.reference)
    live.close()
    assert (tmp_path / "keyframes.bin").is_file()
    late = TrainingSession.from_log(tmp_path / "session.jsonl", until_t=830)
    assert late.run.steps_simulated <= 60  # from the keyframe at 780 (or later), not from t = 0
    # read keyframes stay packed (bytes the garbage collector never scans) until a restore needs one
    from colossus_gui.io.keyframes import PackedKeyframe, read_keyframes, write_keyframes
    packed = [k for k in late.run.keyframes if isinstance(k, PackedKeyframe)]
    assert packed and packed[0].t == 0.0 and all(isinstance(k.data, bytes) for k in packed)
    # and a run holding them writes them back as they were (a replay's cache kept)
    (tmp_path / "copy").mkdir()
    write_keyframes(tmp_path / "copy", late.run.keyframes, late.run.persistent_objects(), tmp_path / "session.jsonl")
    back, _ = read_keyframes(tmp_path / "copy", late.run.persistent_objects(), tmp_path / "session.jsonl")
    assert [k.t for k in back] == [k.t for k in late.run.keyframes] and back[0].data == packed[0].data
    cold = TrainingSession.from_log(tmp_path / "session.jsonl", until_t=830, use_keyframes=False)
    assert cold.run.steps_simulated == 830
    assert _moment(late) == _moment(cold)
    np.testing.assert_array_equal(late.engine.telemetry.facility.view(), cold.engine.telemetry.facility.view())
    # a log that changed since (a note appended) no longer matches its cache: re-simulated, still right
    with open(tmp_path / "session.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"type":"mark","t_s":900,"name":"x"}\n')
    again = TrainingSession.from_log(tmp_path / "session.jsonl", until_t=830)
    assert again.run.steps_simulated == 830 and _moment(again) == _moment(cold)


def test_a_keyframe_cache_naming_foreign_code_is_refused(tmp_path):
    import json
    import struct

    from colossus_gui import __version__
    from colossus_gui.io.keyframes import FILE_NAME, MAGIC, KeyframeCacheError, log_digest, read_keyframes
    from colossus_gui.io.keyframes import FORMAT as KF_FORMAT

    log = tmp_path / "session.jsonl"
    log.write_text("{}\n")
    tree = json.dumps(["O", "builtins:print", {}, None]).encode()  # anything outside the state classes
    foreign = struct.pack("<Q", len(tree)) + tree
    head = json.dumps({"format": KF_FORMAT, "version": __version__, "log_sha256": log_digest(log),
                       "sizes": [len(foreign)], "times": [0.0], "nbytes": [0], "telemetry_sizes": []}).encode()
    (tmp_path / FILE_NAME).write_bytes(MAGIC + struct.pack("<Q", len(head)) + head + foreign)
    with pytest.raises(KeyframeCacheError, match="builtins.print is not one of the app's state classes"):
        read_keyframes(tmp_path, [], log)
