"""What the board's undo needs from OpsManager: withdraw an order just created, reopen one cancelled before
it reached the simulation, take a note off again -- and refuse all of it, in words, once work has begun."""

from __future__ import annotations

import pytest

from colossus_gui.io.store import Store
from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.work_orders import CANCELLED, OPEN, WorkOrderError
from colossus_gui.ops.workflow import CAUSES, OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


@pytest.fixture
def sim(tmp_path):
    eng = Engine(small_facility(), seed=5)
    store = Store(tmp_path / "ops.sqlite")
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), store=store, seed=5)
    yield eng, ops, store
    store.close()


def _run(eng, ops, seconds):
    for _ in range(int(seconds)):
        eng.step()
        ops.step()


def test_withdraw_takes_a_new_order_off_the_books_and_reopen_brings_it_back(sim):
    eng, ops, store = sim
    wo = ops.create_work_order("H1-R002-T3", who="dana", note="noisy fans")
    tray = eng.parse("H1-R002-T3").index
    assert CAUSES[ops._tray_cause[tray]] == "maintenance"
    ops.withdraw(wo.id, who="dana")
    assert wo.id not in ops.work_orders and ops.withdrawn[wo.id] is wo
    assert ops.backlog()[OPEN] == 0 and ops.figures()["work_orders"] == 0
    assert ops._tray_cause[tray] == 0  # nothing was done to the tray: no blame left behind
    # the database keeps the record, cancelled, with who withdrew it
    assert store.work_order(wo.id)["state"] == CANCELLED
    assert store.audit(wo.id)[-1]["note"] == "cancelled: withdrawn (undo)"
    with pytest.raises(WorkOrderError, match="no work order"):
        ops.get(wo.id)
    # reopen: the same order (same id, same drawn step times), open and dispatchable again
    drawn = [s.drawn_s for s in wo.steps]
    ops.reopen(wo.id, who="dana")
    assert ops.work_orders[wo.id] is wo and wo.state == OPEN and wo.finished_t is None
    assert [s.drawn_s for s in wo.steps] == drawn and wo.id not in ops.withdrawn
    assert store.work_order(wo.id)["state"] == OPEN
    assert (store.audit(wo.id)[-1]["from_state"], store.audit(wo.id)[-1]["to_state"]) == (CANCELLED, OPEN)
    ops.assign(wo.id, "Avery")
    _run(eng, ops, 600)
    assert wo.started_t is not None  # it really is back in the workflow


def test_reopen_after_cancelling_a_dispatched_order_before_the_walk(sim):
    eng, ops, _store = sim
    wo = ops.create_work_order("H2-R001-RDHX-F2")
    stock = ops.spares.on_hand["fan"]
    ops.assign(wo.id, "Finley")
    assert ops.spares.on_hand["fan"] == stock - 1
    ops.cancel(wo.id, reason="wrong rack")
    assert ops.spares.on_hand["fan"] == stock and ops.roster.by_name["Finley"].free
    ops.reopen(wo.id)
    assert wo.state == OPEN and wo.technician is None and wo.assigned_t is None and wo.phase == -1
    assert ops.spares.on_hand["fan"] == stock  # the fan is taken again only when someone is dispatched
    ops.assign(wo.id, "Finley")
    assert wo.state == "assigned" and ops.spares.on_hand["fan"] == stock - 1


def test_an_order_that_acted_on_the_simulation_cannot_be_reopened_or_withdrawn(sim):
    eng, ops, _store = sim
    wo = ops.create_work_order("H1-R001-T1")
    ops.assign(wo.id, "Avery")
    ops.advance(wo.id)  # arrives: the drain starts
    tray = eng.parse("H1-R001-T1").index
    assert eng.tray_drained[tray]
    with pytest.raises(WorkOrderError, match="only an open order can be withdrawn"):
        ops.withdraw(wo.id)
    ops.cancel(wo.id)
    assert not eng.tray_drained[tray]  # the cancel handed the tray back
    with pytest.raises(WorkOrderError, match="was worked on before it was cancelled"):
        ops.reopen(wo.id)
    assert wo.state == CANCELLED
    live = ops.create_work_order("H1-R001-T2")
    with pytest.raises(WorkOrderError, match="not cancelled"):
        ops.reopen(live.id)


def test_remove_note_takes_off_exactly_that_note_and_the_audit_keeps_both(sim):
    _eng, ops, store = sim
    wo = ops.create_work_order("H1-R003-T1")
    ops.add_note(wo.id, "check the rails", who="kim")
    ops.add_note(wo.id, "bring a torch", who="kim")
    torch = wo.notes[-1]
    rails = wo.notes[-2]
    ops.remove_note(wo.id, rails, who="kim")
    assert wo.notes == [torch]
    assert store.work_order(wo.id)["notes"] == [torch]
    notes = [a["note"] for a in store.audit(wo.id)]
    assert notes[-1] == f"note removed: {rails}" and "note: check the rails" in notes
    with pytest.raises(WorkOrderError, match="has no note"):
        ops.remove_note(wo.id, rails)
