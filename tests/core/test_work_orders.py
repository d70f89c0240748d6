"""The technician workflow as a facility engineer checks it: failures open work orders, technicians walk
and repair, the simulation follows every step, stock-outs delay, and staffing shows in the figures."""

import json

import numpy as np
import pytest

from colossus_gui.model.ops_config import OpsConfig, PartSpec
from colossus_gui.ops.alarms import CLEARED_UNACKED, CRITICAL
from colossus_gui.ops.work_orders import (
    ASSIGNED,
    CANCELLED,
    CLOSED,
    IN_PROGRESS,
    OPEN,
    TESTING,
    WorkOrderError,
)
from colossus_gui.ops.workflow import OpsError, OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.sim.events import ALARM, is_ops_event
from colossus_gui.testing import small_facility


def make(seed=5, config=None, ops_seed=11, warm_s=30):
    eng = Engine(small_facility(), seed=seed)
    ops = OpsManager(eng, config or OpsConfig(), seed=ops_seed)
    for _ in range(warm_s):
        eng.step()
        ops.step()
    return eng, ops


def run_until(eng, ops, pred, max_s=20000, dt=1.0):
    for _ in range(int(max_s / dt)):
        if pred():
            return
        eng.step(dt)
        ops.step(dt)
    raise AssertionError(f"condition not reached within {max_s} s (t={eng.t})")


def only(ops, **match):
    wos = [w for w in ops.work_orders.values() if all(getattr(w, k) == v for k, v in match.items())]
    assert len(wos) == 1, wos
    return wos[0]


def test_ops_takes_over_repairs_from_the_engine():
    eng = Engine(small_facility(), seed=1)
    assert eng.facility.failures.auto_repair
    eng.inject("fan_failure", "H1-R001-RDHX-F1")
    assert eng.pending_repairs
    OpsManager(eng)
    assert not eng.facility.failures.auto_repair and not eng.pending_repairs


def test_pump_failure_from_alarm_to_closed_work_order_and_mttr_is_travel_plus_steps():
    eng, ops = make()
    rack = eng.parse("H1-R006").index  # row 2, position 2 of hall H1
    eng.inject("pump_failure", "H1-R006-CDU-P1")
    eng.step()
    ops.step()
    # alarm raised
    alarm = ops.alarms.find("H1-R006-CDU", "pump_state")
    assert alarm is not None and alarm.active and "H1-R006-CDU-P1" in alarm.detail
    # work order created from the failure and dispatched to the nearest free mechanical technician
    wo = only(ops, target="H1-R006-CDU-P1")
    assert (wo.fault, wo.recipe, wo.source) == ("pump_failure", "pump", "failure")
    assert wo.state == ASSIGNED and wo.technician is not None
    tech = ops.roster.get(wo.technician)
    assert "mechanical" in tech.skills and tech.busy_wo == wo.id
    tv = ops.config.travel
    walk = tv.base_to_hall_s + tv.per_row_s * 1 + tv.per_rack_s * 1  # workshop -> H1 entrance -> row 2, rack 2
    assert wo.travel_s == walk
    assert [s.name for s in wo.steps] == ["confirm_redundant", "pump_swap", "verify_flow"]
    assert wo.parts == ["pump"] and ops.spares.on_hand["pump"] == OpsConfig().spares.pump.stock - 1
    # the technician travels: nothing happens at the rack until they arrive
    run_until(eng, ops, lambda: eng.t >= wo.assigned_t + walk - 1)
    assert wo.state == ASSIGNED and wo.started_t is None and tech.location is None
    run_until(eng, ops, lambda: wo.state == IN_PROGRESS)
    assert wo.started_t == pytest.approx(wo.assigned_t + walk)
    assert tech.location == (0, 1, 1)
    # the redundant pump carries the flow meanwhile
    assert eng.flow_frac[rack] > 0.99 and not eng.pump_ok[rack, 0]
    run_until(eng, ops, lambda: wo.steps[1].done)
    assert eng.pump_ok[rack].all(), "pump swapped"
    run_until(eng, ops, lambda: wo.state == CLOSED)
    assert eng.flow_frac[rack] > 0.99
    assert not alarm.active and alarm.state == CLEARED_UNACKED
    assert tech.busy_wo is None and tech.jobs_done == 1
    # MTTR = dispatch -> closed = travel + the drawn step times
    drawn = [s.actual_s for s in wo.steps]
    assert drawn == [s.drawn_s for s in wo.steps] and len(set(drawn)) == 3
    f = ops.figures()
    json.dumps(f)  # goes into the run summary as it is
    assert f["mttr_s"] == pytest.approx(walk + sum(drawn), rel=1e-12)
    assert wo.finished_t - wo.assigned_t == pytest.approx(wo.travel_s + sum(drawn), rel=1e-12)
    assert f["backlog"] == 0 and f["backlog_by_state"]["closed"] == 1
    assert f["mean_time_to_dispatch_s"] == pytest.approx(wo.assigned_t - wo.created_t)
    # step times are the configured lognormals, not the medians
    assert drawn != [s.planned_s for s in wo.steps]


def test_both_pumps_lost_flow_restored_by_the_first_swap_and_no_duplicate_orders():
    eng, ops = make()
    rack = eng.parse("H2-R002").index
    eng.inject("pump_failure", "H2-R002-CDU-P1")
    eng.inject("pump_failure", "H2-R002-CDU-P2")
    run_until(eng, ops, lambda: (a := ops.alarms.find("H2-R002-CDU", "coolant_flow")) is not None
              and a.severity == CRITICAL)
    assert eng.flow_frac[rack] < 0.05
    wos = [w for w in ops.work_orders.values()]
    # two failed pumps, two work orders; the critical alarms on that rack add none, but raise priority
    assert sorted(w.target for w in wos) == ["H2-R002-CDU-P1", "H2-R002-CDU-P2"]
    assert all(w.priority == 1 for w in wos)
    assert {w.technician for w in wos} == {"Finley", "Gray"}  # the two mechanical technicians on day shift
    first = min(wos, key=lambda w: w.phase_end_t)
    run_until(eng, ops, lambda: any(w.steps[1].done for w in wos))
    run_until(eng, ops, lambda: eng.flow_frac[rack] > 0.99, max_s=10)
    flow = ops.alarms.find("H2-R002-CDU", "coolant_flow")
    run_until(eng, ops, lambda: not flow.active, max_s=30)
    run_until(eng, ops, lambda: all(w.state == CLOSED for w in wos))
    assert eng.pump_ok[rack].all() and first.state == CLOSED
    assert eng.rack_hottest_c[rack] < 85.0
    assert ops.figures()["work_orders_by_source"] == {"failure": 2, "alarm": 0, "manual": 0}


def test_gpu_failure_drains_slides_out_repairs_and_returns_the_tray():
    eng, ops = make()
    gpu = "H2-R003-T4-G6"
    a = eng.parse(gpu)
    tray = a.index // 8
    r, t0 = divmod(tray, 8)
    job = eng.tray_job[tray]
    full = eng.job_gpus[job]
    n_int = int(eng.job_interruptions[job])
    eng.inject("gpu_failure", gpu)
    eng.step()
    ops.step()
    assert eng.job_interruptions[job] == n_int + 1, "its job interrupts"
    wo = only(ops, target=gpu)
    assert wo.recipe == "gpu" and wo.parts == ["gpu_baseboard"]
    assert [s.name for s in wo.steps] == ["drain", "power_down", "slide_out", "swap_baseboard", "slide_in",
                                          "burn_in", "return_to_pool"]
    run_until(eng, ops, lambda: wo.current_step is not None and wo.current_step.name == "drain")
    eng.step()
    assert eng.tray_drained[tray] and not eng.tray_slid_out[tray]
    assert eng.job_gpus[job] == full - 8, "the tray's GPUs left the job"
    run_until(eng, ops, lambda: wo.current_step.name == "swap_baseboard")
    eng.step()
    assert eng.tray_slid_out[tray]
    assert eng.gpu_power_w[r, t0 * 8:(t0 + 1) * 8].sum() == 0, "a tray slid out makes no heat"
    assert not eng.gpu_ok[r, a.index % 64]
    run_until(eng, ops, lambda: wo.current_step.name == "slide_in")
    assert eng.gpu_ok[r].all(), "baseboard swapped"
    run_until(eng, ops, lambda: wo.current_step.name == "burn_in")
    assert wo.state == TESTING
    eng.step()
    assert not eng.tray_slid_out[tray] and eng.tray_drained[tray] and not eng.tray_available()[tray]
    run_until(eng, ops, lambda: wo.state == CLOSED)
    eng.step()
    assert eng.tray_available()[tray] and eng.job_gpus[job] == full, "its GPUs are back in the pool"
    kinds = [e.kind for e in eng.events if e.address.startswith("H2-R003-T4") and not is_ops_event(e)]
    assert kinds == ["job_interrupted", "fault_started", "tray_drained", "tray_slid_out", "fault_cleared",
                     "tray_slid_in", "tray_returned"]
    # the order's own events in the same log, each step's action on the equipment right after it started
    log = [e.kind for e in eng.events if e.address.startswith("H2-R003-T4") and e.component != ALARM]
    assert log[:6] == ["job_interrupted", "fault_started", "wo_created", "wo_assigned", "tech_arrived",
                       "step_started"] and log[6] == "tray_drained"
    assert log[-1] == "wo_closed" and log.count("step_finished") == len(wo.steps) and "tray_returned" in log
    # and the server's alarm in the same log: raised after the failure, cleared after the repair
    alarm = [(e.seq, e.kind) for e in eng.events if e.address == "H2-R003-T4" and e.component == ALARM]
    fault = [e.seq for e in eng.events if e.address.startswith("H2-R003-T4") and e.kind in ("fault_started",
                                                                                              "fault_cleared")]
    assert [k for _, k in alarm] == ["alarm_raised", "alarm_cleared"]
    assert fault[0] < alarm[0][0] and fault[1] < alarm[1][0]
    f = ops.figures()
    lost = f["gpu_hours_lost_by_cause"]
    assert set(lost) == {"gpu"}
    # 8 GPUs out of the pool from the failure until the tray came back (to the engine step)
    assert lost["gpu"] == pytest.approx(8 * (wo.finished_t - wo.created_t) / 3600, abs=8 * 2 / 3600)


def test_a_second_gpu_of_the_same_tray_joins_the_open_order():
    eng, ops = make()
    eng.inject("gpu_failure", "H1-R002-T1-G1")
    eng.step()
    ops.step()
    eng.inject("gpu_failure", "H1-R002-T1-G8")
    eng.step()
    ops.step()
    wo = only(ops, target="H1-R002-T1-G1")
    assert wo.also == ["H1-R002-T1-G8"] and len(ops.work_orders) == 1
    run_until(eng, ops, lambda: wo.state == CLOSED)
    assert eng.gpu_ok.all()


def test_stock_out_delays_the_repair_by_the_lead_time():
    lead_s = 3600.0

    def pump_repair(stock):
        cfg = OpsConfig()
        cfg.spares.pump = PartSpec(stock=stock, reorder_point=0, reorder_qty=2, lead_time_s=lead_s)
        eng, ops = make(config=cfg)
        eng.inject("pump_failure", "H1-R004-CDU-P2")
        run_until(eng, ops, lambda: any(w.state == CLOSED for w in ops.work_orders.values()))
        return ops, only(ops, target="H1-R004-CDU-P2")

    ops_ok, base = pump_repair(stock=1)
    ops_out, late = pump_repair(stock=0)
    assert [s.drawn_s for s in late.steps] == [s.drawn_s for s in base.steps]  # same seeds, same draws
    assert late.created_t == base.created_t
    assert late.finished_t - base.finished_t == pytest.approx(lead_s, abs=1e-6)
    assert late.assigned_t - base.assigned_t == pytest.approx(lead_s)
    assert any("stock-out: no pump in stock" in n for n in late.notes)
    log = ops_out.engine.events  # the run's one event log
    assert [e.kind for e in log].count("stock_out") == 1
    ordered = [e for e in log if e.kind == "part_ordered"]
    assert ordered and ordered[0].address == "pump" and ordered[0].component == "part"
    assert ops_out.figures()["stock_outs"]["pump"] == 1 and ops_ok.figures()["stock_outs"]["pump"] == 0
    # the delivery of 2 arrived, one went into the repair
    assert ops_out.spares.on_hand["pump"] == 1
    # stock-out time counts to dispatch and restore, not to the hands-on repair time
    assert ops_out.figures()["mttr_s"] == pytest.approx(ops_ok.figures()["mttr_s"])


def test_illegal_moves_are_rejected_with_a_clear_message():
    cfg = OpsConfig(dispatch="manual")
    eng, ops = make(config=cfg)
    wo = ops.create_work_order("H1-R001-RDHX-F3", who="trainee")
    assert wo.state == OPEN and wo.recipe == "fan" and wo.source == "manual"
    with pytest.raises(WorkOrderError, match=r"work order 1: cannot move from open to closed \(allowed: "
                                             r"assigned, cancelled\)"):
        wo.check_move(CLOSED)
    with pytest.raises(WorkOrderError, match="open: assign a technician first"):
        ops.advance(wo.id)
    with pytest.raises(OpsError, match="Avery lacks the mechanical skill a fan repair needs"):
        ops.assign(wo.id, "Avery")
    with pytest.raises(OpsError, match="Harper is off shift"):
        ops.assign(wo.id, "Harper")
    with pytest.raises(OpsError, match="no technician 'Zed'"):
        ops.assign(wo.id, "Zed")
    with pytest.raises(OpsError, match="work order target: 'H9-R001' is not|no hall H9"):
        ops.create_work_order("H9-R001")
    ops.cancel(wo.id, who="trainee", reason="wrong door")
    assert wo.state == CANCELLED
    with pytest.raises(WorkOrderError, match="cannot move from cancelled to assigned"):
        ops.assign(wo.id, "Finley")
    with pytest.raises(WorkOrderError, match="no work order 99"):
        ops.get(99)


def test_manual_dispatch_waits_for_the_operator_and_a_fan_turns_blue():
    cfg = OpsConfig(dispatch="manual")
    eng, ops = make(config=cfg)
    r = eng.parse("H1-R005").index
    eng.fan_age0_h[r, 2] = eng.facility.rack.rdhx.fan_l10_h + 10.0  # past its life: drawn red
    assert eng.fan_due()[r, 2]
    wo = ops.create_work_order("H1-R005-RDHX-F3", who="trainee", note="red fan")
    for _ in range(600):
        eng.step()
        ops.step()
    assert wo.state == OPEN, "manual mode: nobody goes until the operator assigns"
    ops.assign(wo.id, "Finley", who="trainee")
    assert wo.state == ASSIGNED and wo.technician == "Finley"
    with pytest.raises(OpsError, match="Finley is busy with work order 1"):
        ops.assign(ops.create_work_order("H1-R006-RDHX-F1").id, "Finley")
    run_until(eng, ops, lambda: wo.state == CLOSED)
    assert not eng.fan_due()[r, 2], "a new fan: blue again"
    assert eng.fan_ok[r].all()


def test_advance_and_cancel_hand_the_tray_back():
    eng, ops = make()
    wo = ops.create_work_order("H2-R005-T2", who="instructor")  # a tray swap by hand
    tray = eng.parse("H2-R005-T2").index
    ops.advance(wo.id, who="instructor")  # dispatch now
    assert wo.state == ASSIGNED and wo.phase_end_t > eng.t
    ops.advance(wo.id, who="instructor")  # arrive now
    assert wo.state == IN_PROGRESS and wo.current_step.name == "drain"
    ops.advance(wo.id)  # drain done
    ops.advance(wo.id)  # power down done
    ops.advance(wo.id)  # slid out
    assert eng.tray_drained[tray] and eng.tray_slid_out[tray]
    assert wo.steps[2].actual_s == 0.0 and wo.steps[3].started_t == eng.t
    stock = ops.spares.on_hand["gpu_baseboard"]
    ops.cancel(wo.id, who="instructor", reason="training over")
    assert wo.state == CANCELLED and not eng.tray_drained[tray] and not eng.tray_slid_out[tray]
    assert ops.spares.on_hand["gpu_baseboard"] == stock + 1, "the unused baseboard went back to stock"
    assert ops.roster.get(wo.technician).free
    eng.step()
    assert eng.tray_available()[tray]


def test_leak_isolates_the_rack_until_it_is_fixed_and_pressure_tested():
    eng, ops = make()
    rack = eng.parse("H1-R007").index
    eng.inject("coolant_leak", "H1-R007")
    run_until(eng, ops, lambda: (w := next(iter(ops.work_orders.values()), None)) is not None
              and w.current_step is not None and w.current_step.name == "dry")
    wo = only(ops, recipe="leak")
    assert wo.target == "H1-R007-CDU" and wo.priority == 1
    eng.step()
    assert eng.rack_isolated[rack] and eng.rack_gpus_up[rack] == 0
    assert eng.rack_power_w[rack] < 1.0
    run_until(eng, ops, lambda: wo.state == CLOSED)
    eng.step()
    assert not eng.leak[rack] and not eng.rack_isolated[rack] and eng.loop_inventory[rack] == 1.0
    assert eng.rack_gpus_up[rack] == 64
    assert ops.figures()["gpu_hours_lost_by_cause"]["leak"] > 0


def test_same_seeds_same_operations():
    def run():
        eng = Engine(small_facility(failures=True), seed=9)
        for name in ("gpu_per_gpu_day", "hbm_per_gpu_day", "pump_per_pump_year"):
            setattr(eng.facility.failures, name, getattr(eng.facility.failures, name) * 200)
        ops = OpsManager(eng, seed=4)
        for _ in range(4 * 3600 // 5):
            eng.step(5.0)
            ops.step(5.0)
        return ops.figures(), [(w.target, w.state, w.finished_t) for w in ops.work_orders.values()]

    a, b = run(), run()
    assert a == b and len(a[1]) >= 5


def _day(fewer_technicians: bool):
    cfg = OpsConfig()
    if fewer_technicians:
        cfg = cfg.model_copy(update={"technicians": cfg.technicians[::2]})  # every other one: 7 of 14
    from colossus_gui.io.loader import load_facility
    eng = Engine(load_facility("colossus"), seed=7, telemetry_capacity=64)
    ops = OpsManager(eng, cfg, seed=7)
    for _ in range(int(24 * 3600 / 5.0)):
        eng.step(5.0)
        ops.step(5.0)
    return eng, ops


@pytest.mark.slow
def test_a_day_at_100k_gpus_backlog_bounded_and_half_the_technicians_lose_more():
    """24 simulated hours of the full 100,352-GPU facility with failures at the configured (Llama 3) rates,
    in 5-s engine steps (~20 s each run): failures are Poisson per step and the thermal step is implicit,
    so 5-s steps give the same failures as 1-s steps at a fifth of the cost."""
    eng, ops = _day(False)
    f = ops.figures()
    # every random failure of a part (not a grid sag, which passes by itself) opens exactly one work order
    from colossus_gui.model.faults import SELF_CLEARING
    hardware = [e for e in eng.events if e.kind == "fault_started" and e.cause == "random"
                and e.fault not in SELF_CLEARING]
    assert len(hardware) >= 15 and f["work_orders_by_source"]["failure"] == len(hardware)
    # bounded: never more orders in hand than the IT technicians of one shift could start, nothing left
    # waiting at the end, and the last six hours no worse than the first six
    assert f["backlog_max"] <= 10 and f["backlog_by_state"]["open"] <= 2
    samples = np.array([n for _, n in ops.backlog_samples])
    assert samples[-6:].mean() <= samples[:6].mean() + 2
    assert 0.1 < f["technician_utilisation"] < 0.8
    eng2, half = _day(True)
    g = half.figures()
    assert eng2.failures_by_cause == eng.failures_by_cause  # the same failures hit both
    assert g["mean_time_to_dispatch_s"] > 5 * f["mean_time_to_dispatch_s"]
    assert g["backlog_mean"] > 1.2 * f["backlog_mean"]
    assert g["waiting_mean"] > 3 * f["waiting_mean"]
    assert g["gpu_hours_lost"] > 1.2 * f["gpu_hours_lost"]
    assert g["gpus_in_service"] <= f["gpus_in_service"] + 8


def test_a_wearing_pump_is_found_by_its_flow_alarm_and_swapped():
    eng, ops = make()
    rack = eng.parse("H1-R003").index
    eng.degrade("H1-R003-CDU-P1", 0.3)  # no failure event: only the flow tells
    run_until(eng, ops, lambda: ops.work_orders)
    wo = only(ops, source="alarm")
    assert (wo.target, wo.recipe, wo.fault, wo.priority) == ("H1-R003-CDU-P1", "pump", "alarm:coolant_flow", 1)
    assert ops.alarms.get(wo.alarm_id).rule == "coolant_flow"
    run_until(eng, ops, lambda: wo.state == CLOSED)
    eng.step()
    assert eng.pump_capacity[rack, 0] == 1.0 and eng.flow_frac[rack] > 0.99
