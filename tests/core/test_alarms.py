"""Alarm rules as an operator checks them: one alarm per rack, limits with hysteresis and on-delay,
acknowledge/shelve states, and the ops file validated like every other file."""

import numpy as np
import pytest

from colossus_gui.io.loader import LoadError
from colossus_gui.io.ops_loader import load_ops_config
from colossus_gui.model.ops_config import AlarmConfig, OpsConfig
from colossus_gui.ops.alarms import (
    ACTIVE_ACKED,
    ACTIVE_UNACKED,
    CLEARED_UNACKED,
    CRITICAL,
    WARNING,
    AlarmError,
    AlarmManager,
)
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


@pytest.fixture
def engine():
    e = Engine(small_facility(), seed=3)
    e.facility.failures.auto_repair = False  # nobody repairs behind the alarms' back
    e.run(30)
    return e


def tick(engine, seconds=1.0):
    """Advance the clock without physics, so a test can set one input by hand."""
    engine.t += seconds


def test_a_healthy_facility_raises_no_alarm(engine):
    am = AlarmManager(engine)
    for _ in range(120):
        engine.step()
        assert am.evaluate(engine) == []
    assert am.counts()["total"] == 0
    assert not am.rack_severity().any()


def test_an_overheating_rack_raises_one_rack_alarm_listing_its_hot_gpus(engine):
    am = AlarmManager(engine)
    rack = engine.parse("H1-R003").index
    engine.inject("pump_failure", "H1-R003-CDU-P1")
    engine.inject("pump_failure", "H1-R003-CDU-P2")
    for _ in range(90):
        engine.step()
        am.evaluate(engine)
    temp = [a for a in am.alarms() if a.rule == "gpu_temp"]
    assert len(temp) == 1, "one alarm for the rack, not one per GPU"
    a = temp[0]
    assert a.component == "H1-R003" and a.rack == rack and a.severity == CRITICAL
    hot = int((engine.tj[rack] >= 85.0).sum())
    assert hot > 8
    assert a.detail.startswith(f"{hot} GPU(s)")
    assert "H1-R003-T" in a.detail and "-G" in a.detail
    # every rack alarm sits in that rack; no other rack is coloured (the GPUs shut down by heat within the
    # 90 s also raise hall-level alarms: GPUs out of service, job interruptions)
    assert {x.rack for x in am.alarms() if x.rack >= 0} == {rack}
    assert {x.rule for x in am.alarms() if x.rack < 0} <= {"gpus_out_of_service", "job_interruptions"}
    sev = am.rack_severity()
    assert sev[rack] == CRITICAL and np.count_nonzero(sev) == 1
    flow = am.find("H1-R003-CDU", "coolant_flow")
    assert flow is not None and flow.severity == CRITICAL and "2 pump(s) down" in flow.detail
    pumps = am.find("H1-R003-CDU", "pump_state")
    assert pumps.severity == CRITICAL and "H1-R003-CDU-P2" in pumps.detail


def test_on_delay_and_hysteresis_on_facility_water(engine):
    am = AlarmManager(engine)  # facility_supply_temp: warning 33, critical 36, hysteresis 0.5, on-delay 30 s
    spec = am.limits("facility_supply_temp")
    assert (spec.warning, spec.hysteresis, spec.on_delay_s) == (33.0, 0.5, 30.0)
    engine.t_fs = 33.4
    am.evaluate(engine)  # seen first now: the on-delay counts from here
    for _ in range(29):
        tick(engine)
        am.evaluate(engine)
    assert am.find("SITE", "facility_supply_temp") is None, "raised before the on-delay ran out"
    tick(engine)
    am.evaluate(engine)
    a = am.find("SITE", "facility_supply_temp")
    assert a is not None and a.severity == WARNING and a.state == ACTIVE_UNACKED
    engine.t_fs = 32.7  # back under the limit but inside the hysteresis band: stays
    tick(engine)
    am.evaluate(engine)
    assert a.active
    engine.t_fs = 32.4  # more than 0.5 K under the limit: clears
    tick(engine)
    am.evaluate(engine)
    assert not a.active and a.state == CLEARED_UNACKED
    # a blip shorter than the on-delay never alarms
    engine.t_fs = 40.0
    tick(engine, 10)
    am.evaluate(engine)
    engine.t_fs = 30.0
    tick(engine, 10)
    am.evaluate(engine)
    assert a.state == CLEARED_UNACKED and a.severity == WARNING


def test_low_alarm_on_megapack_state_of_charge(engine):
    am = AlarmManager(engine)  # warning below 0.3, critical below 0.15
    engine.soc = 0.25
    tick(engine)
    am.evaluate(engine)
    a = am.find("SITE", "megapack_soc")
    assert a.severity == WARNING
    engine.soc = 0.1
    tick(engine)
    am.evaluate(engine)
    assert a.severity == CRITICAL
    engine.soc = 0.8
    tick(engine)
    am.evaluate(engine)
    assert not a.active


def test_acknowledge_clear_archive_reactivate_and_escalate(engine):
    am = AlarmManager(engine)
    seen = []
    am.listeners.append(lambda a, what: seen.append((a.id, what)))
    engine.t_fs = 34.0
    tick(engine, 31)
    am.evaluate(engine)
    tick(engine, 31)
    am.evaluate(engine)
    a = am.find("SITE", "facility_supply_temp")
    am.acknowledge([a.id], "dana")
    assert a.state == ACTIVE_ACKED and a.acked_by == "dana" and a.acked_t == engine.t
    # rising to critical asks for a new acknowledgement
    engine.t_fs = 37.0
    tick(engine, 31)
    am.evaluate(engine)
    tick(engine, 31)
    am.evaluate(engine)
    assert a.severity == CRITICAL and a.state == ACTIVE_UNACKED
    am.acknowledge(a.id, "dana")
    # cleared while acknowledged: archived, off the list, in the history
    engine.t_fs = 30.0
    tick(engine)
    am.evaluate(engine)
    assert a.archived and a not in am.alarms() and am.history[-1] is a
    with pytest.raises(AlarmError, match="no alarm"):
        am.acknowledge([a.id])
    # cleared before anyone looked: stays listed as cleared-unacknowledged; a return re-activates it
    engine.t_fs = 34.0
    tick(engine, 31)
    am.evaluate(engine)
    tick(engine, 31)
    am.evaluate(engine)
    b = am.find("SITE", "facility_supply_temp")
    assert b.id != a.id
    engine.t_fs = 30.0
    tick(engine)
    am.evaluate(engine)
    assert b.state == CLEARED_UNACKED and b in am.alarms()
    engine.t_fs = 34.0
    tick(engine, 31)
    am.evaluate(engine)
    tick(engine, 31)
    am.evaluate(engine)
    assert b.state == ACTIVE_UNACKED and am.find("SITE", "facility_supply_temp") is b
    assert (a.id, "acknowledged") in seen and (b.id, "reactivated") in seen
    assert am.mean_time_to_acknowledge_s() == pytest.approx(np.mean(am.ack_times_s))


def test_shelved_alarm_is_hidden_until_its_time_runs_out(engine):
    am = AlarmManager(engine)
    engine.inject("fan_failure", "H2-R004-RDHX-F2")
    engine.step()
    am.evaluate(engine)
    a = am.find("H2-R004-RDHX", "fan_state")
    assert a is not None and "H2-R004-RDHX-F2" in a.detail
    am.shelve(a.id, 600, "dana")
    assert a not in am.alarms() and am.counts()["shelved"] == 1 and am.counts()["warning"] == 0
    assert a in am.alarms(include_shelved=True)
    for _ in range(599):
        engine.step()
        am.evaluate(engine)
    assert a.shelved_until is not None
    engine.step()
    am.evaluate(engine)
    assert a.shelved_until is None and a in am.alarms() and am.counts()["warning"] == 1
    with pytest.raises(AlarmError, match="shelve time"):
        am.shelve(a.id, -5)


def test_failed_parts_of_one_server_make_one_tray_alarm(engine):
    am = AlarmManager(engine)
    for addr in ("H2-R001-T3-G1", "H2-R001-T3-G7"):
        engine.inject("gpu_failure", addr)
    engine.inject("psu_failure", "H2-R001-T3-PSU2")
    engine.step()
    am.evaluate(engine)
    trays = [a for a in am.alarms() if a.rule == "equipment_fault"]
    assert len(trays) == 1 and trays[0].component == "H2-R001-T3" and trays[0].value == 3
    assert all(x in trays[0].detail for x in ("H2-R001-T3-G1", "H2-R001-T3-G7", "H2-R001-T3-PSU2"))
    for addr in ("H2-R001-T3-G1", "H2-R001-T3-G7", "H2-R001-T3-PSU2"):
        engine.repair(addr)
    engine.step()
    am.evaluate(engine)
    assert not trays[0].active


def test_job_interruptions_in_the_window_name_the_job(engine):
    am = AlarmManager(engine)  # warning at 2 interruptions per hour, critical at 5
    for i in range(2):
        engine.inject("gpu_failure", f"H1-R00{i + 1}-T1-G1")
        engine.run(600)  # restart takes 480 s: each failure is its own interruption
        am.evaluate(engine)
    a = am.find("H1", "job_interruptions")
    assert a is not None and a.severity == WARNING and "job-h1: 2 interruption(s)" in a.detail
    engine.run(3700)
    am.evaluate(engine)
    assert not a.active, "the window moved past both interruptions"


def test_alarm_limits_come_from_the_ops_file_and_bad_files_name_the_field(tmp_path):
    cfg = load_ops_config()
    assert cfg == OpsConfig(), "resources/ops/default.yaml and the model defaults must agree"
    p = tmp_path / "ops.yaml"
    p.write_text("alarms:\n  rules:\n    gpu_temp: {warning: 91}\n")  # above its critical (89)
    with pytest.raises(LoadError) as ei:
        load_ops_config(p)
    assert str(p) in ei.value.problems[0] and "rules.gpu_temp: critical must be above warning" in ei.value.problems[0]
    p.write_text("alarms:\n  rules:\n    gpu_tmp: {warning: 80}\n")
    with pytest.raises(LoadError, match=r"alarms\.rules\.gpu_tmp: unknown field"):
        load_ops_config(p)
    p.write_text("technicians:\n  - {name: Ana, shift: evening, skills: [IT]}\n")
    with pytest.raises(LoadError, match="unknown shift 'evening'"):
        load_ops_config(p)
    p.write_text("alarms: {rules: {coolant_flow: {warning: 0.4}}}\n")  # low alarm: critical 0.5 above warning
    with pytest.raises(LoadError, match="a low alarm needs critical < warning"):
        load_ops_config(p)
    p.write_text("alarms: {rules: {gpu_temp: {warning: 80}}}\n")  # a partial rule keeps its other defaults
    r = load_ops_config(p).alarms.rules.gpu_temp
    assert (r.warning, r.critical, r.on_delay_s) == (80.0, 89.0, 5.0)


def test_a_disabled_rule_never_fires(engine):
    rules = AlarmConfig().rules.model_copy(update={"fan_state": AlarmConfig().rules.fan_state.model_copy(
        update={"enabled": False})})
    am = AlarmManager(engine, AlarmConfig(rules=rules))
    engine.inject("fan_failure", "H1-R001-RDHX-F1")
    engine.step()
    am.evaluate(engine)
    assert am.find("H1-R001-RDHX", "fan_state") is None


def test_a_tripped_or_worn_chiller_raises_its_own_alarm(engine):
    am = AlarmManager(engine)
    engine.degrade("CH2", 0.4)  # a ramped fault: 60 % of the rating lost, no trip
    engine.inject("chiller_trip", "CH3")
    engine.step()
    am.evaluate(engine)
    ch = {a.component: a for a in am.alarms() if a.rule == "chiller_state"}
    assert set(ch) == {"CH2", "CH3"}
    assert ch["CH2"].value == pytest.approx(0.6) and ch["CH3"].value == 1.0
    engine.repair("CH2")
    engine.step()
    am.evaluate(engine)
    assert not ch["CH2"].active and ch["CH3"].active


def test_every_alarm_rule_says_its_unit_or_states_in_words():
    # a rule without a Quantity would show bare numbers ("1.000") in the alarm list
    from colossus_gui.model.ops_config import AlarmRules
    from colossus_gui.model.thresholds import QUANTITIES
    assert set(AlarmRules.model_fields) <= set(QUANTITIES)
    for name, q in QUANTITIES.items():
        assert q.unit or q.flag, name
