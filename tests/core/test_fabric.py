"""The network fabric: what a network engineer would check (layout, faults and their effect on the jobs)."""

import numpy as np
import pytest

from colossus_gui.io.loader import load_facility
from colossus_gui.model.addresses import AddressError, Topology
from colossus_gui.model.facility import JobSpec
from colossus_gui.model.network import SWITCH_CABLE_PER_GPU_DAY
from colossus_gui.sim.engine import RUNNING, Engine
from colossus_gui.testing import small_facility


def steady(f):
    """No checkpoints in the window: the iteration rhythm is all there is."""
    f.jobs = [JobSpec(name=f"job-{h.name.lower()}", halls=[h.name], checkpoint_interval_s=1e6) for h in f.halls]
    return f


# --------------------------------------------------------------------------- layout and addresses
def test_colossus_fabric_is_rail_optimised_three_tiers_and_every_gpu_has_one_leaf_port():
    topo = Topology(load_facility("colossus"))
    net = topo.net
    # a hall of 3,136 servers in groups of 64: 49 groups (arrays) x 8 rails = 392 leaves; non-blocking spines
    assert net.n_leaves == 4 * 49 * 8
    assert net.n_spines == net.n_leaves  # 32 up per leaf, 32 down per spine
    assert net.n_superspines * (64 - 2) >= net.n_spines * 32
    leaf = net.leaf_of_gpu(np.arange(net.n_gpus))
    counts = np.bincount(leaf, minlength=net.n_leaves)
    assert counts.max() == 64 and counts.min() == 64  # every leaf's 64 down ports used, none twice
    # GPU n of every server in a group sits on leaf n of that group (rail n)
    tray = np.arange(net.n_gpus) // 8
    rail = np.arange(net.n_gpus) % 8
    assert (leaf % 8 == rail).all()
    assert len(np.unique(leaf[tray < 64])) == 8
    # addresses: format and parse agree, for every tier
    for link in (0, 7, 8, 511, 512, net.n_gpus - 1, net.ls0, net.sl0 - 1, net.sl0, net.n_links - 1):
        text = net.link_address(link)
        a = topo.parse(text)
        assert a.kind == "port" and a.index == link, text
    assert topo.parse("H1-LF001-P01").index == 0  # H1-R001-T1-G1's link
    assert topo.parse("H1-LF002-P01").index == 1  # H1-R001-T1-G2: rail 2
    assert topo.parse("H1-LF001-P02").index == 8  # H1-R001-T2-G1
    assert net.gpus_of_leaf(topo.parse("H1-LF001").index).tolist() == list(range(0, 64 * 8, 8))
    assert topo.parse("H1-SP01").kind == "spine" and topo.parse("SS01").kind == "superspine"
    # the same link from both ends: a spine's down port is a leaf's up port
    sp = topo.parse("H2-SP05-P03")
    assert net.link_address(sp.index).startswith("H2-LF")
    assert topo.parse(net.link_address(sp.index)).index == sp.index
    assert topo.parse("H1-R001-T1-N1").kind == "nic"  # a GPU's NIC keeps its tray address
    for bad, words in (("H1-LF999", "leaf numbers run 1-392"), ("H9-LF001", "no hall H9"),
                       ("H1-LF001-P99", "port numbers run 1-96"), ("SS999", "super-spine numbers")):
        with pytest.raises(AddressError, match=words):
            topo.parse(bad)


def test_fabric_power_counts_switches_and_optics_and_is_in_the_it_load():
    f = small_facility()
    eng = Engine(f, seed=1)
    eng.run(30)
    fab, net = f.fabric, eng.topo.net
    optics = 2 * (net.n_gpus * fab.optic_400g_w + (net.n_ls_links + net.n_ss_links) * fab.optic_800g_w)
    switches = net.n_leaves * fab.leaf.power_w + net.n_spines * fab.spine.power_w + net.n_superspines * \
        fab.superspine.power_w
    # the front-end network beside it: a leaf per 48 servers in each hall, optics on the servers' and uplinks' links
    fe = fab.frontend
    fe_leaves = sum(-(-h.racks * f.rack.trays // fe.servers_per_leaf) for h in f.halls)
    assert net.n_fe_leaves == fe_leaves
    frontend = fe_leaves * fe.leaf.power_w + 2 * fab.optic_400g_w * (net.n_gpus // 8 + fe_leaves * fe.leaf_uplinks)
    assert eng.fabric.frontend_w == pytest.approx(frontend)
    switches += frontend
    assert eng.fabric.power_w == pytest.approx(optics + switches)
    assert eng.it_w == pytest.approx(float(eng.rack_power_w.sum()) + eng.fabric.power_w + eng.storage.power_w)
    eng.inject("switch_failure", "H1-SP02")
    eng.step(1.0)
    assert eng.fabric.power_w == pytest.approx(optics + switches - fab.spine.power_w)
    # at 100k GPUs the fabric draws some MW (switches 1.5-2.5 kW, optics 10-17 W each); the front-end network
    # 264 leaves (66 a hall) and ~0.6 MW
    big = Topology(load_facility("colossus")).net
    assert big.hall_fe_leaves.tolist() == [66] * 4
    assert 0.4 < Engine(load_facility("colossus"), seed=1).fabric.frontend_w / 1e6 < 1.0
    assert 5.0 < (big.n_switches * 1800 + 2 * (big.n_gpus * 11 + (big.n_ls_links + big.n_ss_links) * 16)) / 1e6 < 20


# --------------------------------------------------------------------------- faults and their effects
def test_leaf_failure_interrupts_exactly_the_jobs_on_it_and_takes_exactly_its_gpus():
    f = steady(small_facility(halls=2, rows=2, racks_per_row=8))  # 16 racks a hall: two leaf groups
    eng = Engine(f, seed=3)
    eng.run(60)
    gpus0 = eng.job_gpus.copy()
    up0 = int(eng.rack_gpus_up.sum())
    before = eng.job_interruptions.copy()
    leaf = eng.parse("H1-LF011")  # group 2, rail 3
    eng.inject("switch_failure", "H1-LF011")
    assert eng.job_interruptions.tolist() == [before[0] + 1, before[1]]
    assert eng.interruptions_by_cause == {"network": 1}
    eng.run(f.jobs[0].restart_s + 10)
    assert eng.job_state[0] == RUNNING
    mine = eng.topo.net.gpus_of_leaf(leaf.index)
    assert mine.size == 64
    assert set(np.flatnonzero(~eng.fabric.gpu_up)) == set(mine.tolist())
    assert all(eng.topo.gpu_address(int(g)).endswith("-G3") for g in mine)
    assert all(eng.topo.gpu_address(int(g)).split("-")[1] >= "R009" for g in mine)  # the second group
    assert eng.job_gpus.tolist() == [gpus0[0] - 64, gpus0[1]]
    assert int(eng.rack_gpus_up.sum()) == up0 - 64
    # nothing else changed: no other job interrupted, no spine lost, bisection intact
    assert eng.job_interruptions[1] == before[1]
    assert eng.fabric.job_bw.tolist() == [1.0, 1.0]
    assert eng.repair("H1-LF011")
    eng.step(1.0)
    assert eng.fabric.gpu_up.all() and int(eng.rack_gpus_up.sum()) == up0


def _iteration_stats(eng, hall_racks, seconds=400.0, dt=0.2):
    """Iteration period and low-power fraction of a job, from its GPUs' power (what a power meter sees)."""
    lo, hi = hall_racks
    p = []
    for _ in range(int(seconds / dt)):
        eng.step(dt)
        p.append(float(eng.gpu_power_w[lo:hi].mean()))
    p = np.array(p)
    high = p > 0.5 * (p.max() + p.min())
    rises = np.flatnonzero(high[1:] & ~high[:-1]) + 1
    period = (rises[-1] - rises[0]) * dt / (len(rises) - 1)
    return period, 1.0 - high[rises[0]:rises[-1]].mean()


def test_spine_failure_slows_the_jobs_iterations_by_the_lost_bisection_share_and_shows_in_the_power_swing():
    f = steady(small_facility(halls=2))  # 8 racks a hall: 8 leaves, 8 spines
    job = f.jobs[0]
    base, eng = Engine(f, seed=5), Engine(f, seed=5)
    for e in (base, eng):
        e.run(60)
    assert eng.topo.net.hall_spines.tolist() == [8, 8]
    eng.inject("switch_failure", "H1-SP03")
    a = 7 / 8  # one spine of eight: the hall's bisection left
    assert eng.fabric.hall_bisection.tolist() == pytest.approx([a, 1.0])
    interrupted = eng.job_interruptions.copy()
    p0, low0 = _iteration_stats(base, (0, 8))
    p1, low1 = _iteration_stats(eng, (0, 8))
    c, t = job.compute_fraction, job.iteration_s
    assert p0 == pytest.approx(t, rel=0.01)
    expected = t * (c + (1 - c) / a)  # the communication phase takes 1/a as long
    assert (p1 - p0) == pytest.approx(expected - t, rel=0.05)
    # the swing changes shape: the low-power (communication) phase is longer, the high one is not
    assert low0 == pytest.approx(1 - c, abs=0.02)
    assert low1 == pytest.approx((1 - c) / a / (c + (1 - c) / a), abs=0.02)
    assert (eng.job_interruptions == interrupted).all()  # nothing was interrupted
    # the slowed job makes less progress: the iterations it finished, in the same time
    w0 = base.job_useful_gpu_s[0] - 60 * 512
    w1 = eng.job_useful_gpu_s[0] - 60 * 512
    assert w1 / w0 == pytest.approx(t / expected, rel=0.01)
    # the other hall's job runs as before
    _, low_other = _iteration_stats(eng, (8, 16), seconds=40)
    assert low_other == pytest.approx(1 - c, abs=0.05)
    assert eng.summary()["fabric"]["comm_slowdown_gpu_hours"] > 0


def test_superspine_loss_slows_only_jobs_that_span_halls():
    f = small_facility(halls=3)
    f.jobs = [JobSpec(name="wide", halls=["H1", "H2"]), JobSpec(name="narrow", halls=["H3"])]
    eng = Engine(f, seed=1)
    n_ss = eng.topo.net.n_superspines
    eng.inject("switch_failure", "SS02")
    eng.step(1.0)
    assert eng.fabric.job_bw[0] == pytest.approx(1 - 1 / n_ss, rel=0.02)
    assert eng.fabric.job_bw[1] == 1.0
    assert eng.job_interruptions.sum() == 0


def test_gpu_link_failure_interrupts_its_job_and_takes_that_one_gpu_until_the_optic_is_replaced():
    f = steady(small_facility())
    eng = Engine(f, seed=2)
    eng.run(30)
    g0 = eng.job_gpus.copy()
    eng.inject("link_failure", "H1-LF002-P05")  # H1-R001-T5-G2
    assert eng.job_interruptions.tolist() == [1, 0]
    assert eng.events[-1].kind == "fault_started" and eng.events[-1].address == "H1-LF002-P05"
    gpu = eng.parse("H1-R001-T5-G2").index
    assert np.flatnonzero(~eng.fabric.gpu_up).tolist() == [gpu]
    eng.run(f.jobs[0].restart_s + 5)
    assert eng.job_gpus.tolist() == [g0[0] - 1, g0[1]]
    # an uplink lost interrupts nothing (ECMP) and costs 1/256 of the hall's bisection
    eng.inject("link_failure", "H1-LF001-P70")
    eng.step(1.0)
    assert eng.job_interruptions.tolist() == [1, 0]
    assert eng.fabric.hall_bisection[0] == pytest.approx(1 - 1 / 256)
    assert eng.repair("H1-LF002-P05") and eng.repair("H1-LF001-P70")
    eng.step(1.0)
    assert eng.job_gpus.tolist() == g0.tolist() and eng.fabric.hall_bisection[0] == 1.0


def test_flapping_link_times_out_the_collectives_after_the_configured_number_of_flaps():
    f = steady(small_facility())
    f.fabric.flaps_to_timeout = 4
    f.fabric.flap_interval_s = 20.0
    eng = Engine(f, seed=4)
    eng.run(30)
    eng.inject("link_flap", "H2-LF003-P10")
    flaps = []
    for _ in range(2000):
        eng.step(1.0)
        new = [e for e in eng.drain_events() if e.address == "H2-LF003-P10"]
        flaps += [e.kind for e in new if e.kind in ("link_flapped", "collective_timeout")]
        if "collective_timeout" in flaps:
            break
    assert flaps == ["link_flapped"] * 4 + ["collective_timeout"]
    assert eng.job_interruptions.tolist() == [0, 1]  # H2's job, once
    assert not eng.fabric.gpu_up[eng.parse("H2-R002-T2-G3").index]  # server 10 of H2, rail 3
    eng.run(100)
    assert eng.job_interruptions.tolist() == [0, 1]  # out of service: it flaps no more


def test_network_interruptions_over_a_long_run_match_the_configured_rates_and_cause_shares():
    f = small_facility(failures=True)
    scale = 2000.0  # 1,024 GPUs standing in for two million: enough interruptions to count in two days
    fl = f.failures
    for name in ("gpu_per_gpu_day", "hbm_per_gpu_day", "psu_per_gpu_day", "software_per_gpu_day",
                 "pump_per_pump_year", "leak_per_rack_year", "chiller_per_chiller_year"):
        setattr(fl, name, 0.0)
    fl.nic_per_gpu_day *= scale
    ff = f.fabric.failures
    ff.gpu_link_per_link_day *= scale
    ff.uplink_per_link_day *= scale
    ff.switch_per_switch_year *= scale
    for p in f.storage.pools:
        p.drive_afr = p.node_per_node_year = 0.0
    days = 2
    eng = Engine(f, seed=11, telemetry_capacity=100)
    eng.run(days * 86400, dt=10.0)
    s = eng.summary()
    net = eng.topo.net
    # every GPU-link fault interrupts its job (at once, or after the flaps); a leaf fault interrupts its job
    network = (ff.gpu_link_per_link_day * net.n_gpus + ff.switch_per_switch_year / 365.25 * net.n_leaves) * days
    nic = fl.nic_per_gpu_day * net.n_gpus * days
    by = s["interruptions_by_cause"]
    assert by.get("network", 0) == pytest.approx(network, rel=0.2)
    assert by.get("nic", 0) == pytest.approx(nic, rel=0.35)
    share = by["network"] / (by["network"] + by["nic"])
    assert share == pytest.approx(35 / 42, abs=0.06)  # Llama 3: switch/cable 8.4 %, NIC 1.7 %
    # and the configured rate is Llama 3's switch/cable rate per GPU-day
    per_gpu_day = (f.fabric.failures.gpu_link_per_link_day + f.fabric.failures.switch_per_switch_year / 365.25 / 64)
    assert per_gpu_day / scale == pytest.approx(SWITCH_CABLE_PER_GPU_DAY, rel=1e-9)
    kinds = s["fabric"]["failures_by_kind"]
    assert kinds["flap"] > 0 and kinds["gpu_link"] > 0 and kinds["uplink"] > 0
    assert kinds["flap"] / (kinds["flap"] + kinds["gpu_link"] + kinds["uplink"]) == pytest.approx(
        f.fabric.failures.flap_share, abs=0.1)


def test_correlated_leaf_power_feed_takes_a_groups_leaves_together():
    f = small_facility()
    f.fabric.failures.leaf_power_feed_per_year = 365.25 * 24  # about one an hour
    eng = Engine(f, seed=8)
    eng.run(4 * 3600, dt=5.0)
    kinds = eng.summary()["fabric"]["failures_by_kind"]
    assert kinds["power_feed"] >= 8 * 2  # whole feeds: 8 leaves at a time
    assert kinds["power_feed"] % 8 == 0 or eng.fabric.n_switches_down > 0


def test_fabric_state_snapshots_and_restores_exactly():
    f = small_facility()
    eng = Engine(f, seed=6)
    eng.run(20)
    eng.inject("link_flap", "H1-LF001-P03")
    eng.inject("switch_failure", "H2-SP01")
    eng.inject("drive_failure", "ST002-D05")
    snap = eng.snapshot()
    eng.run(300)
    after = (eng.fabric.link_ok.copy(), eng.fabric.link_flaps.copy(), eng.storage.drive_rebuild_gb.copy(),
             eng.goodput(), [(e.kind, e.address) for e in eng.events])
    eng.restore(snap)
    assert eng.fabric.link_flapping[eng.parse("H1-LF001-P03").index]
    eng.run(300)
    assert (eng.fabric.link_ok == after[0]).all() and (eng.fabric.link_flaps == after[1]).all()
    np.testing.assert_array_equal(eng.storage.drive_rebuild_gb, after[2])
    assert eng.goodput() == after[3]
    assert [(e.kind, e.address) for e in eng.events] == after[4]


def test_a_gpu_off_the_fabric_idles_and_the_it_power_falls_by_what_it_no_longer_draws():
    f = steady(small_facility())
    gpu_w = next(m for m in f.gpu_models if m.name == f.halls[0].gpu_model)  # the H100: idle 70 W, 140 W with memory allocated (the job's restart level)
    off, kept = Engine(f, seed=2), Engine(f, seed=2)
    for e in (off, kept):
        e.run(30)
    gpu = off.parse("H1-R001-T5-G2").index
    mate = off.parse("H1-R001-T5-G3").index
    off.inject("link_failure", "H1-LF002-P05")  # H1-R001-T5-G2's link
    kept._interrupt_job(0, "network", "H1-LF002-P05")  # the same interruption, the link kept
    for e in (off, kept):
        e.step(1.0)
    assert off.job_interruptions.tolist() == kept.job_interruptions.tolist() == [1, 0]
    pa, pb = off.gpu_power_w.ravel(), kept.gpu_power_w.ravel()
    # within the step: the GPU off the fabric draws idle power, its tray-mates (and everything else) do not change
    assert pa[gpu] / pb[gpu] == pytest.approx(gpu_w.idle_w / gpu_w.idle_mem_w, rel=1e-5)
    others = np.arange(pa.size) != gpu
    assert (pa[others] == pb[others]).all() and pa[mate] == pb[mate]
    # the facility's IT power falls by exactly that GPU's drop
    drop = float(pb[gpu] - pa[gpu])
    assert drop > 50.0
    assert kept.it_w - off.it_w == pytest.approx(drop, rel=1e-4)
    # the job restarts without it: the tray-mates swing with the iterations, the lost GPU stays at idle
    off.run(f.jobs[0].restart_s + 5)
    seen_gpu, seen_mate = [], []
    for _ in range(int(f.jobs[0].iteration_s) + 2):
        off.step(1.0)
        seen_gpu.append(float(off.gpu_power_w.ravel()[gpu]))
        seen_mate.append(float(off.gpu_power_w.ravel()[mate]))
    assert max(seen_mate) - min(seen_mate) > 100.0
    assert max(seen_gpu) == pytest.approx(min(seen_gpu)) and max(seen_gpu) == pytest.approx(pa[gpu])
    # repaired: back in the job's swing
    assert off.repair("H1-LF002-P05")
    off.step(1.0)
    p = off.gpu_power_w.ravel()
    assert p[gpu] > 2 * pa[gpu] and p[gpu] / p[mate] == pytest.approx(1.0, abs=0.1)
