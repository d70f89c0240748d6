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
    eng = Engine(steady_facility(), seed=5)
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
