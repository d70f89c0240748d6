"""Run ids on everything stored: a reopened snapshot shows exactly its own orders at its moment, a relaunch
or a drill starts with an empty board, and nothing of one run leaks into another (the issue's breakages)."""

from colossus_gui.io.bundle import open_bundle, read_ops_state, write_bundle
from colossus_gui.io.store import Store
from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.run import Run
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


def _free_run(store):
    eng = Engine(small_facility(), seed=6)
    ops = OpsManager(eng, OpsConfig(), store=store, seed=3)
    run = Run(eng, ops)
    run.advance(60)
    eng.inject("nic_failure", "H1-R003-T2-N1")
    eng.inject("pump_failure", "H2-R001-CDU-P2")
    run.advance(400)  # technicians dispatched, travelling or at work
    return eng, ops, run


def test_a_reopened_snapshot_shows_exactly_its_orders_with_their_technician_progress(tmp_path):
    store = Store(tmp_path / "ws.sqlite")
    eng, ops, run = _free_run(store)
    bundle = write_bundle(eng, tmp_path / "snap", include_gpu_csv=False, ops_state=ops.state_dict())
    at_snapshot = {w.id: w.to_row() for w in ops.work_orders.values()}
    techs = {x.name: (x.location, x.busy_wo, x.busy_s) for x in ops.roster.techs}
    assert at_snapshot and any(b for _, b, _ in techs.values())
    t_snap = eng.t
    # more running: more faults, more orders, the old ones move on
    run.advance(1)
    eng.inject("gpu_failure", "H1-R004-T1-G1")
    eng.inject("fan_failure", "H2-R003-RDHX-F2")
    run.advance(3000)
    assert len(ops.work_orders) > len(at_snapshot)
    # reopen (same workspace database)
    eng2 = open_bundle(bundle)
    state = read_ops_state(bundle)
    ops2 = OpsManager(eng2, OpsConfig(), store=store, seed=3, run_id=state["run_id"], state=state)
    assert eng2.t == t_snap and ops2.run_id == ops.run_id
    assert {w.id: w.to_row() for w in ops2.work_orders.values()} == at_snapshot
    assert {x.name: (x.location, x.busy_wo, x.busy_s) for x in ops2.roster.techs} == techs
    # what the board reads from the database: this run up to this moment, nothing from its future
    hist = store.work_order_summaries(run_id=ops2.run_id, until_t=ops2.t)
    assert {r["id"] for r in hist} <= set(at_snapshot)
    # and it goes on as the original went on from there
    run2 = Run(eng2, ops2)
    run2.advance(100)
    store.close()


def test_a_relaunch_on_the_same_workspace_starts_with_an_empty_board(tmp_path):
    store = Store(tmp_path / "ws.sqlite")
    eng, ops, run = _free_run(store)
    assert any(w.open for w in ops.work_orders.values())
    store.close()
    store = Store(tmp_path / "ws.sqlite")
    eng2 = Engine(small_facility(), seed=6)  # a relaunch: t = 0, nothing failed yet
    ops2 = OpsManager(eng2, OpsConfig(), store=store, seed=3)
    assert ops2.run_id != ops.run_id
    assert not ops2.work_orders
    assert all(x.busy_wo is None and x.location == x.home for x in ops2.roster.techs)
    assert store.work_order_summaries(run_id=ops2.run_id) == []
    ops2.create_work_order("H1-R001")  # ids stay unique in the workspace
    assert min(w.id for w in ops2.work_orders.values()) > max(ops.work_orders)
    store.close()


def test_a_drill_is_a_run_of_its_own(tmp_path):
    from colossus_gui.model.training import TrainingScenario
    from colossus_gui.ops.training import TrainingSession

    store = Store(tmp_path / "ws.sqlite")
    eng, ops, run = _free_run(store)
    sc = TrainingScenario.model_validate({"title": "t", "time_limit_s": 600, "faults": [
        {"id": "p1", "at": 60, "kind": "pump_failure", "target": "H1-R002-CDU-P1"}]})
    s = TrainingSession(sc, small_facility())
    assert s.run.run_id != run.run_id and s.raw_ops.run_id == s.run.run_id
    assert not s.raw_ops.work_orders and s.engine.t == 0.0
    assert s.engine.telemetry.facility.count == 0
    store.close()
