"""Network and storage faults seen by operations: alarms, work orders with their steps, spares."""

from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.alarms import CRITICAL, WARNING
from colossus_gui.ops.conditions import parse_condition
from colossus_gui.ops.work_orders import CLOSED
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


def make(seed=5, warm_s=30):
    eng = Engine(small_facility(), seed=seed)
    ops = OpsManager(eng, OpsConfig(), seed=11)
    for _ in range(warm_s):
        eng.step()
        ops.step()
    return eng, ops


def run_until(eng, ops, pred, max_s=30000, dt=1.0):
    for _ in range(int(max_s / dt)):
        if pred():
            return
        eng.step(dt)
        ops.step(dt)
    raise AssertionError(f"condition not reached within {max_s} s (t={eng.t})")


def alarms_on(ops, component):
    return [a for a in ops.alarms.alarms() if a.component == component and a.active]


def test_leaf_down_raises_a_critical_alarm_and_a_switch_work_order_that_swaps_it():
    eng, ops = make()
    stock = ops.spares.on_hand["switch"]
    eng.inject("switch_failure", "H1-LF003")
    eng.step()
    ops.step()
    (alarm,) = alarms_on(ops, "H1-LF003")
    assert alarm.rule == "switch_state" and alarm.severity == CRITICAL and "64 GPUs off the fabric" in alarm.detail
    (wo,) = [w for w in ops.work_orders.values() if w.target == "H1-LF003"]
    assert wo.recipe == "switch" and [s.name for s in wo.steps] == ["diagnose", "switch_swap", "link_test"]
    run_until(eng, ops, lambda: wo.state == CLOSED)
    assert eng.fabric.switch_ok.all() and eng.fabric.gpu_up.all()
    assert ops.spares.on_hand["switch"] == stock - 1
    assert not alarms_on(ops, "H1-LF003")
    assert any(e.kind == "fault_cleared" and e.address == "H1-LF003" for e in eng.events)


def test_flapping_gpu_link_alarms_on_its_leaf_and_its_work_order_drains_the_server_first():
    eng, ops = make()
    eng.inject("link_flap", "H2-LF004-P07")  # H2-R001-T7-G4
    eng.step()
    ops.step()
    (alarm,) = alarms_on(ops, "H2-LF004")
    assert alarm.rule == "link_state" and alarm.severity == WARNING and "H2-LF004-P07 flapping" in alarm.detail
    (wo,) = [w for w in ops.work_orders.values() if w.target == "H2-LF004-P07"]
    assert wo.recipe == "link"
    tray = eng.parse("H2-R001-T7").index
    run_until(eng, ops, lambda: eng.tray_drained[tray])  # the technician drains it before touching the optic
    assert eng.fabric.link_flapping[eng.parse("H2-LF004-P07").index]
    interruptions = int(eng.job_interruptions.sum())
    run_until(eng, ops, lambda: wo.state == CLOSED)
    assert not eng.fabric.link_flapping.any() and eng.fabric.link_ok.all()
    assert not eng.tray_drained[tray]
    # a drained server's link may still time out, but it interrupts nothing: its server is out of the job
    assert int(eng.job_interruptions.sum()) == interruptions


def test_uplink_work_order_has_no_server_to_drain_and_still_swaps_the_optic():
    eng, ops = make()
    eng.inject("link_failure", "H1-SP02-P33")
    run_until(eng, ops, lambda: eng.fabric.link_ok.all())
    (wo,) = [w for w in ops.work_orders.values() if w.target == "H1-SP02-P33"]
    assert not any("could not" in n for n in wo.notes)


def test_storage_node_failure_raises_storage_degraded_and_conditions_see_the_fabric():
    eng, ops = make()
    eng.inject("storage_node_failure", "ST002")
    eng.step()
    ops.step()
    (alarm,) = alarms_on(ops, "STORAGE")
    assert alarm.rule == "storage_degraded" and alarm.severity == CRITICAL
    assert "1 node(s)" in alarm.detail
    (wo,) = [w for w in ops.work_orders.values() if w.target == "ST002"]
    assert wo.recipe == "storage_node"
    topo = eng.topo
    assert parse_condition("storage_bw_frac < 0.7", topo).holds(eng)
    eng.inject("switch_failure", "H1-SP01")
    assert parse_condition("bisection_frac < 0.9 and switches_down == 1", topo).holds(eng)


def test_a_drill_can_flap_random_gpu_links_of_a_hall():
    from colossus_gui.model.training import TrainingScenario
    from colossus_gui.ops.training import TrainingSession

    sc = TrainingScenario.model_validate({
        "title": "random flaps", "seed": 3, "time_limit_s": 1200,
        "faults": [{"id": "flaps", "random": {"rate_per_h": 12, "start_s": 60, "end_s": 1100}, "kind": "link_flap",
                    "target": ["H2"]},
                   {"id": "leaves", "random": {"rate_per_h": 20, "start_s": 60, "end_s": 1100, "max_count": 2},
                    "kind": "switch_failure", "target": ["H1"]}],
        "reference": [{"at": 61, "action": "acknowledge", "alarms": "all", "repeat_s": 30}]})
    s = TrainingSession(sc, small_facility())
    s.play(sc.reference)
    started = [e for e in s.engine.events if e.kind == "fault_started"]
    flaps = [e.address for e in started if "link_flap" in e.detail]
    leaves = [e.address for e in started if "switch_failure" in e.detail]
    assert flaps and all(a.startswith("H2-LF") and "-P" in a for a in flaps)
    assert leaves and all(a.startswith("H1-LF") and "-P" not in a for a in leaves)
