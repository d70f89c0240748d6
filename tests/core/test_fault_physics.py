"""Faults as a thermal and power engineer would check them: no flow, heat with nowhere to go, hall air,
power shortfalls, the workload at any dt (small facilities, fast)."""

import numpy as np
import pytest

from colossus_gui.model.facility import JobSpec
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


def steady_facility(**kw):
    f = small_facility(**kw)
    f.jobs = [JobSpec(name=f"job-{h.name}", halls=[h.name], checkpoint_interval_s=1e6) for h in f.halls]
    return f


def _both_pumps_lost(dt, seconds=240.0):
    f = steady_facility()
    f.failures.auto_repair = False  # the pumps stay failed until the test repairs them
    eng = Engine(f, seed=5)
    eng.run(600)
    r = eng.parse("H1-R006").index
    eng.inject("pump_failure", "H1-R006-CDU-P1")
    eng.inject("pump_failure", "H1-R006-CDU-P2")
    t0, first_shutdown = eng.t, None
    while eng.t - t0 < seconds - 1e-9:
        eng.step(dt)
        if first_shutdown is None and eng.gpu_tripped[r].any():
            first_shutdown = eng.t - t0
    return eng, r, first_shutdown


def test_no_flow_first_gpu_shutdown_within_two_minutes_and_the_same_at_any_dt():
    _, _, coarse = _both_pumps_lost(1.0)
    _, _, fine = _both_pumps_lost(0.1)
    # a cold plate holds ~400 J/K: with no flow the margin to 92 C goes in tens of seconds, not minutes
    assert coarse is not None and 40.0 <= coarse <= 120.0, coarse
    assert fine is not None and 40.0 <= fine <= 120.0, fine
    assert abs(coarse - fine) <= 0.2 * fine


def test_a_stagnant_loop_shows_one_temperature_and_its_cpus_trip_too():
    eng, r, _ = _both_pumps_lost(1.0)
    assert eng.flow_frac[r] < 0.01
    # no flow: no CDU delta-T to show, the sensors read the same stagnant water
    assert abs(eng.t_sup[r] - eng.t_ret[r]) < 0.5
    # the host CPUs heat up with no flow, pass THERMTRIP and take their trays down
    assert eng.rack_cpu_tripped[r]
    assert any(e.kind == "cpu_shutdown" and e.address == "H1-R006" for e in eng.events)
    assert eng.rack_power_w[r] < 1000.0  # the whole rack is dark
    others = np.arange(eng.n_racks) != r
    assert not eng.rack_cpu_tripped[others].any()


def test_a_drained_loop_holds_no_heat_and_its_gpus_shut_down_as_with_no_flow():
    eng = Engine(steady_facility(), seed=5)
    eng.run(300)
    r = eng.parse("H1-R003").index
    cdu = eng.facility.rack.cdu
    e0 = eng.stored_heat_j()
    eng.inject("coolant_leak", "H1-R003")
    eng.run(cdu.leak_drain_s + 60)
    assert eng.loop_inventory[r] == 0.0 and eng.flow_frac[r] < 0.01
    assert eng.gpu_tripped[r].any() or eng.rack_cpu_tripped[r]
    # the water that left took its heat: the rack loop now holds ~2 % of what a full one holds
    loop_heat = eng.t_ret[r] * max(eng.loop_inventory[r], 0.02) * eng.loop_c
    assert loop_heat < 0.03 * eng.t_ret[r] * eng.loop_c
    assert eng.acc["leak_j"] > 0.5 * eng.loop_c * 30.0  # at least half a loop of >30 C water drained away
    assert eng.stored_heat_j() < e0


def test_gpus_shut_down_by_heat_are_out_of_service_until_they_reset():
    eng, r, _ = _both_pumps_lost(1.0, seconds=120.0)
    tripped = int(eng.gpu_tripped[r].sum())
    assert tripped > 0
    trays_hit = eng.gpu_tripped[r].reshape(eng.topo.trays_per_rack, -1).any(axis=1).sum()
    # the rack's in-service count, the job's membership and the chart's total all say so
    assert eng.rack_gpus_up[r] <= eng.topo.gpus_per_rack - 8 * trays_hit
    full_job = 64 * eng.facility.halls[0].racks
    assert eng.job_gpus[0] <= full_job - 8 * trays_hit
    assert eng.telemetry.series("gpus_in_service")[-1] <= eng.n_gpus - 8 * trays_hit
    eng.run(1000)  # the job restarts (480 s) without the dark trays, and its goodput counts only those
    assert eng.job_state[0] == 0 and eng.job_gpus[0] <= full_job - 8 * trays_hit
    useful0 = eng.job_useful_gpu_s[0]
    eng.run(100)
    assert eng.job_useful_gpu_s[0] - useful0 <= 100 * eng.job_gpus[0] + 1e-6
    eng.repair("H1-R006-CDU")
    eng.run(900)
    assert not eng.gpu_tripped[r].any() and eng.rack_gpus_up[r] == eng.topo.gpus_per_rack


def test_losing_the_standby_pump_causes_no_dip_losing_the_running_one_does():
    eng = Engine(steady_facility(), seed=6)
    eng.run(300)
    r = eng.parse("H2-R001").index
    eng.inject("pump_failure", "H2-R001-CDU-P2")  # the lag pump: idle
    flows = []
    for _ in range(10):
        eng.step(1.0)
        flows.append(eng.flow_frac[r])
    assert min(flows) > 0.99
    eng.repair("H2-R001-CDU-P2")
    eng.inject("pump_failure", "H2-R001-CDU-P1")  # the lead pump: running
    eng.step(1.0)
    assert eng.flow_frac[r] < 0.5
    eng.run(30)
    assert eng.flow_frac[r] > 0.99


@pytest.mark.parametrize("dt", [1.0, 3.0, 0.25])
def test_the_compute_communication_mix_integrates_exactly_at_any_dt(dt):
    f = steady_facility()
    eng = Engine(f, seed=4)
    eng.run(120, dt=dt)
    job = f.jobs[0]
    powers = []
    for _ in range(int(round(400 / dt))):  # 100 iterations of 4 s
        eng.step(dt)
        powers.append(float(eng.gpu_power_w.mean()))
    expected = job.compute_fraction * job.compute_w + (1 - job.compute_fraction) * job.comm_w
    gain = float(eng._gain_t.mean())  # the chips' fixed power spread, ~1
    assert np.mean(powers) / gain == pytest.approx(expected, rel=0.01)


# --------------------------------------------------------------------------- facility water and chillers
def test_plant_cop_is_continuous_across_the_economiser_band_and_follows_the_lift():
    from colossus_gui.sim.plant import chiller_capacity_frac, plant_cop
    ch = small_facility().site.chillers
    ambients = np.arange(5.0, 45.0, 0.05)
    cops = np.array([plant_cop(ch, a, 30.0)[0] for a in ambients])
    assert cops[0] == pytest.approx(ch.free_cooling_cop) and cops[-1] < ch.cop_ref
    # no jump anywhere: a 0.05 K change of ambient moves the COP by well under 1
    assert np.abs(np.diff(cops)).max() < 0.5
    assert np.all(np.diff(cops) <= 1e-9)  # warmer outside, never better
    # warmer leaving water: smaller lift, more capacity and a better COP
    assert chiller_capacity_frac(ch, 38.0, 40.0) > chiller_capacity_frac(ch, 38.0, 30.0)
    assert plant_cop(ch, 38.0, 40.0)[0] > plant_cop(ch, 38.0, 30.0)[0]


def test_a_facility_water_deficit_is_capped_then_tripped_and_supply_never_passes_its_maximum():
    f = small_facility()
    eng = Engine(f, seed=7)
    eng.inject("heat_wave", "GRID", delta_c=11.0)  # ~38 C outside
    eng.run(300)
    for i in range(eng.topo.n_chillers):
        eng.inject("chiller_trip", f"CH{i + 1}")
    prot = f.site.protection
    supply, power = [], []
    for _ in range(3600):
        eng.step(1.0)
        supply.append(eng.t_fs)
        power.append(eng.it_w)
    supply = np.array(supply)
    assert supply.max() <= prot.max_facility_supply_c
    assert supply.max() > prot.cap_start_c  # it did get there
    kinds = [e.kind for e in eng.events]
    assert "supply_high_cap" in kinds and "supply_high_trip" in kinds
    assert kinds.index("supply_high_cap") < kinds.index("supply_high_trip")  # cap first, then trip
    assert eng.rack_supply_tripped.any() and eng.rack_gpus_up.sum() < eng.n_gpus
    assert eng.interruptions_by_cause.get("supply_trip", 0) >= 1
    assert min(power) < 0.5 * max(power)  # the protection took the heat away


def test_the_hot_afternoon_scenario_happens_on_a_hot_afternoon():
    from colossus_gui.io.loader import load_scenario
    from colossus_gui.resources import resource
    sc = load_scenario(resource("scenarios", "chiller-trip-hot-afternoon.yaml"))
    sc.faults = [x for x in sc.faults if x.kind == "heat_wave"]  # the small site has 3 chillers
    eng = Engine(small_facility(), seed=1, scenario=sc)
    eng.run(960)
    assert eng.ambient_c() >= 37.0
    hour = (sc.start_hour + eng.t / 3600) % 24
    assert 12.0 <= hour <= 18.0


def test_the_supply_protection_raises_alarms_an_operator_sees():
    from colossus_gui.ops.alarms import AlarmManager
    eng = Engine(small_facility(), seed=7)
    alarms = AlarmManager(eng)
    eng.inject("heat_wave", "GRID", delta_c=11.0)
    for i in range(eng.topo.n_chillers):
        eng.inject("chiller_trip", f"CH{i + 1}")
    for _ in range(1500):
        eng.step(1.0)
        alarms.evaluate(eng)
    prot = [a for a in alarms.alarms() if a.rule == "supply_protection"]
    assert prot and all(a.component in ("H1", "H2") for a in prot)
    assert any("tripped" in a.detail and a.severity_name == "critical" for a in prot)


# --------------------------------------------------------------------------- hall air and rear doors
def _air_facility():
    f = small_facility(halls=1, rows=2, racks_per_row=8)
    f.site.air.handler_capacity_kw = 16.0  # air handlers sized to this 16-rack hall (~8 kW a rack)
    f.site.air.heat_capacity_mj_per_k = 4.0
    f.failures.auto_repair = False
    return f


def test_a_rear_door_never_moves_heat_from_cooler_air_into_warmer_water():
    eng = Engine(_air_facility(), seed=1)
    eng.run(300)
    base = eng.tray_available() is not None and eng._tray_powered.reshape(eng.n_racks, -1).sum(axis=1) \
        * eng.tray_air_w
    for water in (20.0, 30.0, 40.0, 60.0):
        air_w, q_door, q_room = eng.air.racks(eng, base, np.full(eng.n_racks, water))
        t_ex = eng.rack_inlet_c + air_w / eng.air.c_air
        assert np.all(q_door >= 0.0)
        assert np.all(q_door[t_ex <= water] == 0.0)
        np.testing.assert_allclose(q_door + q_room, air_w)
        # and where it does cool, it never cools the exhaust below the water
        assert np.all(t_ex - q_door / eng.air.c_air >= np.minimum(t_ex, water) - 1e-9)


def test_a_fan_cascade_warms_its_neighbours_and_the_hall_and_the_fix_undoes_it():
    eng = Engine(_air_facility(), seed=1)
    eng.run(1800)
    r4, r5 = eng.parse("H1-R004").index, eng.parse("H1-R005").index
    before_inlet, before_hall = eng.rack_inlet_c.copy(), float(eng.hall_air_c[0])
    before_door = eng.rack_q_door_w[r4]
    for k in range(6):
        eng.inject("fan_failure", f"H1-R004-RDHX-F{k + 1}")
    for k in range(4):
        eng.inject("fan_failure", f"H1-R005-RDHX-F{k + 1}")
    eng.run(1200)
    assert eng.rack_q_door_w[r4] < 0.75 * before_door  # the door lost its fans: it takes less
    # the racks beside the failed doors breathe warmer air; the hall air warms
    assert eng.rack_inlet_c[r4 - 1] > before_inlet[r4 - 1] + 0.2
    assert eng.rack_inlet_c[r5 + 1] > before_inlet[r5 + 1] + 0.2
    assert eng.hall_air_c[0] > before_hall + 0.03  # ~4 kW more into a 130 kW-handler hall (2 K band)
    far = eng.parse("H1-R013").index  # the other row
    assert abs(eng.rack_inlet_c[far] - before_inlet[far]) < 0.5 * (eng.rack_inlet_c[r4 - 1] - before_inlet[r4 - 1])
    eng.repair("H1-R004-RDHX")
    eng.repair("H1-R005-RDHX")
    eng.run(1800)
    assert abs(eng.hall_air_c[0] - before_hall) < 0.05
    assert abs(eng.rack_inlet_c[r4 - 1] - before_inlet[r4 - 1]) < 0.05


def test_losing_air_handlers_warms_the_hall_air_and_every_inlet():
    eng = Engine(_air_facility(), seed=1)
    eng.run(1800)
    inlet0, hall0 = eng.rack_inlet_c.copy(), float(eng.hall_air_c[0])
    for k in range(5):
        eng.air.fail(eng, 0, k)
    eng.run(1800)
    assert eng.hall_air_c[0] > hall0 + 0.5
    assert np.all(eng.rack_inlet_c > inlet0 + 0.5)
    assert eng.telemetry.series("hall_air_c")[-1] == pytest.approx(eng.hall_air_c.max())


# --------------------------------------------------------------------------- power shortfall
def test_a_power_shortfall_trips_halls_in_order_and_is_never_silent():
    from colossus_gui.ops.alarms import AlarmManager
    f = steady_facility()
    f.site.megapacks.units = 1
    f.site.megapacks.energy_mwh_per_unit = 0.02  # a battery far too small to ride through
    f.site.megapacks.soc_initial = f.site.megapacks.soc_target = 0.2
    f.site.turbines.count = 1
    f.site.turbines.rating_mw = 0.15
    f.site.power_protection.hall_trip_order = ["H1", "H2"]  # configured: H1 goes first
    eng = Engine(f, seed=3)
    alarms = AlarmManager(eng)
    eng.run(300)
    load0 = eng.facility_w
    eng.inject("grid_outage", "GRID", duration=3600.0)
    unserved = []
    for _ in range(1800):
        eng.step(1.0)
        alarms.evaluate(eng)
        unserved.append(eng.unserved_w)
    trips = [e for e in eng.events if e.kind == "hall_tripped"]
    assert [e.address for e in trips[:2]] == ["H1", "H2"]
    assert trips[0].t_s - 300 < 120  # within the ride-through and shedding, not tens of minutes
    # once the halls are off, little is left unserved (the site plant's own pumps until a turbine runs)
    assert max(unserved[-600:]) < 0.02 * load0
    assert eng.unserved_j / 3.6e9 < load0 / 1e6 * 120 / 3600  # under two minutes of the full load
    assert eng.rack_gpus_up.sum() == 0 and eng.interruptions_by_cause.get("power", 0) >= 2
    rules = {a.rule for a in alarms.alarms()}
    assert "hall_power" in rules and "power_shortfall" in rules
    assert eng.telemetry.series("unserved_mw").max() > 0
    assert eng.summary()["unserved_mwh"] > 0
    # the CDU pumps share the hall's feed
    assert eng.flow_frac.max() < 0.05
    # the grid comes back: halls close again one at a time
    eng.run(3600 - 1800 + 900)
    back = [e for e in eng.events if e.kind == "hall_restored"]
    assert [e.address for e in back] == ["H2", "H1"]
    assert eng.rack_gpus_up.sum() > 0


# --------------------------------------------------------------------------- IT load
def test_the_default_facility_peaks_in_the_150_mw_class_with_server_overheads_and_fabric():
    from colossus_gui.io.loader import load_facility
    f = load_facility("colossus")
    tray = f.rack.tray
    server_peak_w = tray.gpus * 700 + tray.cpus * tray.cpu_w + tray.board_liquid_w + tray.air_w
    assert 8000 <= server_peak_w <= 10200  # measured 8.4 kW training peak, 10.2 kW rating
    eng = Engine(f, seed=1, telemetry_capacity=1300)
    eng.run(1200)
    facility_mw = eng.telemetry.series("facility_mw")[60:]  # the four jobs' swings line up now and then
    assert 130.0 <= facility_mw.max() <= 170.0
    assert facility_mw.max() > 0.85 * f.site.grid.import_limit_mw  # the 150 MW grid limit matters
    assert eng.network_storage_w == pytest.approx(eng.fabric.power_w + eng.storage.power_w)  # in the IT load
    assert eng.network_storage_w > 2e6  # switches, optics and storage: megawatts
    pue = eng.telemetry.series("pue")[-300:].mean()
    assert 1.1 <= pue <= 1.3
    assert 44.0 <= float(eng.tj.mean()) <= 54.0  # GPUs ~49 C on 30 C water


# --------------------------------------------------------------------------- facility water distribution
def test_facility_water_reaches_far_racks_later_warmer_and_with_less_flow():
    f = steady_facility()
    d = f.site.distribution
    eng = Engine(f, seed=2)
    eng.run(900)
    near, far = eng.parse("H1-R001").index, eng.parse("H2-R004").index  # row 1: first rack of H1, last of H2
    assert eng.rack_fw_c[far] - eng.rack_fw_c[near] == pytest.approx(d.header_rise_k, abs=0.05)
    assert eng.t_ret[far] > eng.t_ret[near]  # the gradient a real hall shows
    base_near, base_far = eng.rack_fw_c[near], eng.rack_fw_c[far]
    t0 = eng.t
    eng.t_fs += 3.0  # a plant disturbance: the supply jumps 3 K
    seen = {}
    for _ in range(120):
        eng.step(1.0)
        for r, b in ((near, base_near), (far, base_far)):
            if r not in seen and eng.rack_fw_c[r] > b + 1.0:
                seen[r] = eng.t - t0
    assert seen[near] == pytest.approx(d.hall_delay_s, abs=3.0)
    far_delay = d.hall_delay_s + d.hall_delay_step_s + d.header_delay_s
    assert seen[far] == pytest.approx(far_delay, abs=3.0)


# --------------------------------------------------------------------------- failures
def _failing_facility(**rates):
    f = small_facility(failures=True)
    fl = f.failures
    for k in ("gpu_per_gpu_day", "hbm_per_gpu_day", "nic_per_gpu_day", "psu_per_gpu_day", "software_per_gpu_day",
              "pump_per_pump_year", "leak_per_rack_year", "chiller_per_chiller_year"):
        setattr(fl, k, 0.0)
    fl.fan_due_frac = 0.0
    f.site.grid.fluctuation_sags_per_day = 0.0
    f.site.air.handler_failure_per_year = 0.0
    fl.tray_hardware_per_gpu_day = rates
    return f


def test_tray_hardware_causes_take_their_tray_out_and_interrupt_its_job():
    f = _failing_facility(gsp=0.02, thermal_interface=0.02, ssd=0.02, cpu=0.02, memory=0.02, chassis=0.02)
    f.failures.auto_repair = False
    eng = Engine(f, seed=11)
    eng.run(3 * 3600, dt=5.0)
    hw = {c: eng.failures_by_cause[c] for c in ("gsp", "thermal_interface", "ssd", "cpu", "memory", "chassis")}
    total = sum(hw.values())
    # 6 causes x 0.02 per GPU-day x 1,024 GPUs x 1/8 day ~ 15 failures (trays hit twice count once)
    assert 5 <= total <= 30, hw
    out = int(eng.tray_hw_failed.sum())
    assert 0 < out <= total
    assert eng.rack_gpus_up.sum() == eng.n_gpus - 8 * out  # each failed tray's 8 GPUs are out of service
    assert sum(eng.interruptions_by_cause.get(c, 0) for c in hw) == total
    tray = int(np.flatnonzero(eng.tray_hw_failed)[0])
    assert eng.repair(eng.topo.tray_address(tray))
    assert not eng.tray_hw_failed[tray]


def test_a_psu_loss_below_the_needed_count_interrupts_the_job():
    eng = Engine(steady_facility(), seed=1)
    eng.run(60)
    need = eng.facility.rack.tray.psus_needed
    n0 = int(eng.job_interruptions.sum())
    for k in range(eng.topo.psus_per_tray - need):  # redundant PSUs: nothing happens
        eng.inject("psu_failure", f"H1-R001-T1-PSU{k + 1}")
    assert int(eng.job_interruptions.sum()) == n0 and eng.tray_available()[0]
    eng.inject("psu_failure", f"H1-R001-T1-PSU{eng.topo.psus_per_tray - need + 1}")
    assert int(eng.job_interruptions.sum()) == n0 + 1 and not eng.tray_available()[0]
    assert eng.interruptions_by_cause["psu"] == 1


def test_a_weibull_shape_below_one_makes_failures_fall_with_age():
    def count(shape):
        f = _failing_facility(ssd=0.5)
        f.failures.fleet_age_h = 0.1  # a new fleet: infant mortality shows within the run
        if shape is not None:
            f.failures.weibull_shape = {"ssd": shape}
        eng = Engine(f, seed=5)
        eng.run(12 * 3600, dt=10.0)
        t = np.array([e.t_s for e in eng.events if e.kind == "fault_started"])
        return (t < 6 * 3600).sum(), (t >= 6 * 3600).sum()
    early, late = count(0.3)
    flat_early, flat_late = count(None)
    # hazard ~ age^-0.7: the first 6 h carry ~3x the failures of the next 6 h
    assert early > 2 * late and early + late < 0.5 * (flat_early + flat_late)
    assert abs(flat_early - flat_late) < 0.5 * (flat_early + flat_late)


def test_the_summary_reports_each_jobs_mttf_at_its_size():
    f = _failing_facility(gsp=0.05)
    eng = Engine(f, seed=3)
    eng.run(4 * 3600, dt=5.0)
    s = eng.summary()
    jobs = {j["name"]: j for j in s["jobs"]}
    assert set(jobs) == {j.name for j in f.jobs}
    for j in jobs.values():
        assert j["gpus"] == 512
        if j["interruptions"]:
            assert j["mttf_h"] == pytest.approx(4.0 / j["interruptions"])
    assert any(j["interruptions"] for j in jobs.values())
    assert "unserved_mwh" in s and s["hall_air_max_c"] >= f.site.air.setpoint_c


# --------------------------------------------------------------------------- time to the limit
def test_time_to_throttle_and_shutdown_estimates_come_true_within_25_percent():
    from colossus_gui.ops.alarms import AlarmManager
    eng = Engine(steady_facility(), seed=5)
    alarms = AlarmManager(eng)
    eng.run(600)
    healthy = []
    for _ in range(120):  # training swings on healthy racks give no estimate
        eng.step(1.0)
        healthy.append(np.isfinite(eng.rack_t_shutdown_s).sum() + np.isfinite(eng.rack_t_throttle_s).sum())
    assert max(healthy) == 0
    r = eng.parse("H1-R006").index
    eng.inject("pump_failure", "H1-R006-CDU-P1")
    eng.inject("pump_failure", "H1-R006-CDU-P2")
    t0, est, throttle_at, shutdown_at, text = eng.t, {}, None, None, None
    while eng.t - t0 < 150:
        eng.step(1.0)
        alarms.evaluate(eng)
        el = eng.t - t0
        if el in (10.0, 15.0, 20.0, 30.0):
            est[el] = (float(eng.rack_t_throttle_s[r]), float(eng.rack_t_shutdown_s[r]))
        a = alarms.find("H1-R006", "time_to_shutdown")
        if text is None and a is not None:
            text = a.detail
        throttle_at = throttle_at or (el if eng.rack_throttled[r] > 0 else None)
        shutdown_at = shutdown_at or (el if eng.gpu_tripped[r].any() else None)
    for el, (thr, shut) in est.items():
        assert shut == pytest.approx(shutdown_at - el, rel=0.25), (el, shut, shutdown_at)
        if el < throttle_at - 2:  # (the step that crosses 87 C throttles on the next)
            assert thr == pytest.approx(throttle_at - el, rel=0.25), (el, thr, throttle_at)
    assert text is not None and text.startswith("H1-R006: shutdown in ~") and text.split("~")[1].split()[0].isdigit()
    others = np.arange(eng.n_racks) != r
    assert not np.isfinite(eng.rack_t_shutdown_s[others]).any()


def test_snapshot_restore_covers_the_new_fault_state():
    f = _air_facility()
    f.site.megapacks.energy_mwh_per_unit = 0.02
    eng = Engine(f, seed=9)
    eng.run(300)
    eng.inject("pump_failure", "H1-R006-CDU-P1")
    eng.inject("pump_failure", "H1-R006-CDU-P2")
    eng.inject("coolant_leak", "H1-R002")
    eng.air.fail(eng, 0, 1)
    eng.inject("grid_outage", "GRID", duration=900.0)
    eng.run(40)
    snap = eng.snapshot()
    eng.run(200)
    a = (eng.summary(), eng.tj.copy(), eng.hall_air_c.copy(), eng.rack_t_shutdown_s.copy(), eng.rack_fw_c.copy())
    eng.restore(snap)
    eng.run(200)
    b = (eng.summary(), eng.tj.copy(), eng.hall_air_c.copy(), eng.rack_t_shutdown_s.copy(), eng.rack_fw_c.copy())
    assert a[0] == b[0]
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_array_equal(x, y)
    assert eng.hall_power_tripped.any() and eng.leak.any() and not eng.ahu_ok.all()
