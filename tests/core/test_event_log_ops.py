"""Alarms and work-order changes in the run's one event log: a pump failure's alarm follows its fault, an
acknowledgement names who, a repair clears it, a restore gives the same events again, training's time to
acknowledge is read from the log, and a work order's priority and notes are part of its history."""

import pytest

from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.model.training import TrainingScenario
from colossus_gui.ops.run import Run
from colossus_gui.ops.training import TrainingSession
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.sim.events import ALARM, EventKind, kind_text
from colossus_gui.testing import small_facility

PUMP = "H1-R002-CDU-P1"


def make(dispatch="manual"):
    eng = Engine(small_facility(), seed=3)
    ops = OpsManager(eng, OpsConfig(dispatch=dispatch), seed=5)
    return Run(eng, ops, keyframe_every_s=60.0)


def alarm_events(run, kind=None):
    return [e for e in run.events if e.component == ALARM and (kind is None or e.kind == kind)]


def pump_fails(run, at=300.0):
    run.advance(at - run.t)
    run.engine.inject("pump_failure", PUMP)
    run.advance(20)
    return run.ops.alarms.find("H1-R002-CDU", "pump_state")


def test_a_pump_failure_raises_an_alarm_logged_after_its_fault_with_the_component():
    run = make()
    alarm = pump_fails(run)
    assert alarm is not None
    fault = next(e for e in run.events if e.kind == EventKind.FAULT_STARTED and e.address == PUMP)
    raised = alarm_events(run, EventKind.ALARM_RAISED)
    assert [e.address for e in raised] == ["H1-R002-CDU"]  # one alarm per CDU, not one per pump
    ev = raised[0]
    assert ev.seq > fault.seq and ev.t_s >= fault.t_s
    rack = run.engine.parse(PUMP).index
    assert (ev.index, ev.rack, ev.sub, ev.cause, ev.severity) == (alarm.id, rack, rack, "pump_state", alarm.severity)
    assert ev.t_s == alarm.raised_t and PUMP in ev.detail  # the detail names the failed pump
    assert kind_text(ev.kind) == "alarm raised"


def test_acknowledge_logs_who_and_the_repair_logs_the_clear():
    run = make("auto")  # a technician is sent to the pump at once
    alarm = pump_fails(run)
    run.ops.acknowledge([alarm.id], who="dana")
    acked = alarm_events(run, EventKind.ALARM_ACKED)
    assert [(e.index, e.who, e.t_s) for e in acked] == [(alarm.id, "dana", alarm.acked_t)]
    assert run.ops.acknowledge([alarm.id], who="dana") == [] and len(alarm_events(run, EventKind.ALARM_ACKED)) == 1
    # a technician repairs the pump: the condition goes away and the clear is logged, after the repair
    for _ in range(40):
        run.advance(300)
        if alarm_events(run, EventKind.ALARM_CLEARED):
            break
    cleared = alarm_events(run, EventKind.ALARM_CLEARED)
    repaired = next(e for e in run.events if e.kind == EventKind.FAULT_CLEARED and e.address == PUMP)
    assert [e.index for e in cleared] == [alarm.id] and cleared[0].seq > repaired.seq
    assert alarm.archived and cleared[0].t_s == alarm.cleared_t


def test_shelving_is_logged_with_who_and_the_expiry():
    run = make()
    alarm = pump_fails(run)
    run.ops.shelve(alarm.id, 60, who="sam")
    run.advance(120)
    kinds = [(e.kind, e.who) for e in alarm_events(run) if e.kind in (EventKind.ALARM_SHELVED,
                                                                     EventKind.ALARM_UNSHELVED)]
    assert kinds == [(EventKind.ALARM_SHELVED, "sam"), (EventKind.ALARM_UNSHELVED, None)]


def test_restore_to_before_the_raise_and_advance_again_gives_the_same_events_once():
    run = make()
    run.advance(290)
    snap = run.snapshot()
    pump_fails(run, at=300.0)
    run.ops.acknowledge(run.ops.alarms.alarms(), who="dana")
    run.advance(60)
    first = [(e.seq, e.t_s, e.kind, e.address, e.index, e.who) for e in run.events]
    assert any(k == EventKind.ALARM_RAISED for _, _, k, *_ in first)
    run.restore(snap)
    assert not alarm_events(run) and not run.ops.alarms.alarms()
    pump_fails(run, at=300.0)
    run.ops.acknowledge(run.ops.alarms.alarms(), who="dana")
    run.advance(60)
    again = [(e.seq, e.t_s, e.kind, e.address, e.index, e.who) for e in run.events]
    assert again == first  # the same alarm ids at the same moments, nothing twice
    assert len(alarm_events(run, EventKind.ALARM_RAISED)) == 1
    run.seek(295)  # and a seek back over the raise takes it out of the log
    assert not alarm_events(run) and not run.ops.alarms.alarms()


def test_the_same_seed_logs_the_same_alarm_events():
    a, b = make("auto"), make("auto")
    for run in (a, b):
        pump_fails(run)
        run.engine.inject("gpu_failure", "H2-R002-T3-G4")
        run.advance(1800)
    ev = lambda r: [(e.seq, e.t_s, e.kind, e.address, e.index, e.severity, e.detail) for e in r.events]  # noqa: E731
    assert ev(a) == ev(b) and alarm_events(a, EventKind.ALARM_CLEARED)


def _drill():
    return TrainingScenario.model_validate({
        "title": "pump", "seed": 4, "time_limit_s": 600,
        "faults": [{"at": 60, "kind": "pump_failure", "target": PUMP}],
    })


@pytest.mark.parametrize("ack_at", [100.0, 400.0])
def test_time_to_acknowledge_follows_when_the_trainee_acknowledges(ack_at):
    s = TrainingSession(_drill(), small_facility())
    s.run_until(ack_at)
    raised = [e for e in s.engine.events if e.kind == EventKind.ALARM_RAISED]
    assert raised and not s.keeper.ledger[0][5]
    s.do("acknowledge", alarms="all", raise_errors=True)
    s.run_until(s.time_limit_s)
    waits = [acked - t0 for *_, t0, acked in s.keeper.ledger]
    assert waits and all(w == pytest.approx(ack_at - e.t_s) for w, e in zip(waits, raised, strict=True))
    term = next(t for t in s.score().terms if t.key == "time_to_acknowledge")
    assert term.value == pytest.approx(sum(waits) / len(waits))


def test_acknowledging_later_costs_more_and_a_restore_keeps_the_ledger_right():
    early = TrainingSession(_drill(), small_facility())
    early.run_until(100)
    early.do("acknowledge", alarms="all", raise_errors=True)
    late = TrainingSession(_drill(), small_facility())
    late.run_until(400)
    late.do("acknowledge", alarms="all", raise_errors=True)
    tta = lambda s: next(t.value for t in s.score().terms if t.key == "time_to_acknowledge")  # noqa: E731
    assert tta(late) > tta(early) + 250
    # back to before the acknowledgement: the alarm is open again, and acknowledging now counts from the raise
    late.run.seek(200)
    assert [entry[5] for entry in late.keeper.ledger] == [None] * len(late.keeper.ledger)
    late.run_until(300)
    late.do("acknowledge", alarms="all", raise_errors=True)
    assert all(entry[5] == 300.0 for entry in late.keeper.ledger)


def test_priority_and_note_changes_are_in_the_work_order_history():
    run = make()
    ops = run.ops
    wo = ops.create_work_order("H1-R001-T1", note="check the bezel", who="dana")
    ops.set_priority(wo.id, 1, who="sam")
    ops.set_priority(wo.id, 1, who="sam")  # no change: no event
    ops.add_note(wo.id, "part on the cart", who="sam")
    ops.remove_note(wo.id, ops.get(wo.id).notes[-1], who="sam")
    evs = ops.order_events(wo.id)
    assert [e.kind for e in evs] == ["wo_created", "wo_note", "wo_priority", "wo_note", "wo_note_removed"]
    assert [e.who for e in evs[1:]] == ["dana", "sam", "sam", "sam"]
    assert "check the bezel" in evs[1].detail and "part on the cart" in evs[3].detail
    assert evs[2].detail.startswith(f"priority {ops.config.repairs.priorities['tray']} -> 1")
    assert [kind_text(e.kind) for e in evs[1:]] == ["wo note added", "wo priority changed", "wo note added",
                                                   "wo note removed"]


def test_a_critical_alarm_raising_an_orders_priority_is_logged():
    run = make()
    ops = run.ops
    wo = ops.create_work_order("H1-R002-T1", priority=3)
    run.advance(300)
    run.engine.inject("pump_failure", "H1-R002-CDU-P2")
    pump_fails(run)  # both pumps: a critical alarm on the rack of an open order, which becomes urgent
    assert ops.alarms.find("H1-R002-CDU", "pump_state").severity == 2
    pri = [e for e in ops.order_events(wo.id) if e.kind == EventKind.WO_PRIORITY]
    assert len(pri) == 1 and pri[0].detail.startswith("priority 3 -> 1") and wo.priority == 1
