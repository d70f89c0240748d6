"""The storage system: bandwidth, rebuilds and checkpoint stalls, as a storage engineer would check them."""

import numpy as np
import pytest

from colossus_gui.io.loader import load_facility
from colossus_gui.model.addresses import Topology
from colossus_gui.model.facility import JobSpec
from colossus_gui.sim.engine import CHECKPOINTING, Engine
from colossus_gui.testing import small_facility


def ckpt_facility(stall_s=120.0, interval_s=600.0, **kw):
    f = small_facility(**kw)
    f.jobs = [JobSpec(name=f"job-{h.name.lower()}", halls=[h.name], checkpoint_interval_s=interval_s,
                      checkpoint_stall_s=stall_s) for h in f.halls]
    return f


def stalls(eng, seconds, dt=1.0, job=0):
    """Lengths of the job's checkpoint stalls that end within ``seconds`` (from its state, as a user sees it)."""
    out, start = [], None
    for _ in range(int(seconds / dt)):
        eng.step(dt)
        ck = eng.job_state[job] == CHECKPOINTING
        if ck and start is None:
            start = eng.t
        elif not ck and start is not None:
            out.append(eng.t - start)
            start = None
    return out


def test_colossus_storage_is_exabyte_class_and_draws_its_power():
    f = load_facility("colossus")
    net = Topology(f).net
    pools = {p.name: p for p in f.storage.pools}
    raw_pb = sum(p.n_nodes(net.n_gpus) * p.drives_per_node * p.drive_tb for p in pools.values()) / 1000
    assert raw_pb > 1000  # exabytes
    flash = pools["flash"].n_nodes(net.n_gpus) * pools["flash"].drives_per_node * pools["flash"].drive_tb
    assert flash / 1000 / raw_pb > 0.5  # mostly NVMe flash
    assert Topology(f).parse("ST001-D01").kind == "drive"


def test_storage_node_failure_lengthens_the_next_checkpoint_stall_by_the_lost_bandwidth_share():
    f = ckpt_facility()
    base, eng = Engine(f, seed=7), Engine(f, seed=7)
    for e in (base, eng):
        e.run(300)
    pool = f.storage.pools[0]
    nodes = pool.n_nodes(f.n_gpus)
    design = nodes * pool.node_write_gbs
    assert eng.storage.design_gbs == pytest.approx(design)
    eng.inject("storage_node_failure", "ST003")
    # the node's bandwidth is gone and its rebuild takes more
    left = design - pool.node_write_gbs - pool.node_rebuild_gbs
    eng.step(1.0)
    base.step(1.0)
    assert eng.storage.write_bw_gbs == pytest.approx(left)
    s0 = stalls(base, 700)
    s1 = stalls(eng, 700)
    assert s0 == [pytest.approx(120.0, abs=1.0)]
    assert s1[0] == pytest.approx(120.0 * design / left, rel=0.05)
    # the run's goodput falls by the GPU-seconds of the longer stall (over the capacity so far)
    lost = (s1[0] - s0[0]) * f.n_gpus  # both halls' jobs share the slower store
    gp_drop = base.goodput() - eng.goodput()
    assert gp_drop > 0
    assert gp_drop == pytest.approx(lost / eng.acc["capacity_gpu_s"], rel=0.1)
    assert eng.summary()["storage"]["checkpoint_stall_extra_hours"] > 0


def test_checkpoint_stall_is_checkpoint_size_over_the_bandwidth_the_job_gets():
    f = ckpt_facility()
    f.jobs[0].checkpoint_tb = 11.0  # 11 TB over half of 14 x 20 GB/s
    eng = Engine(f, seed=1)
    share = 0.5
    expected = 11_000 / (eng.storage.design_gbs * share)
    assert eng.storage.checkpoint_full_s(0) == pytest.approx(expected)
    got = stalls(eng, 900)
    assert got[0] == pytest.approx(expected, abs=1.0)


def test_drive_failure_costs_a_share_of_its_node_plus_the_rebuild_until_the_rebuild_finishes():
    f = ckpt_facility(interval_s=1e6)
    f.failures.auto_repair = False  # the rebuild outlasts a drive swap; watch it run to the end
    p = f.storage.pools[0]
    eng = Engine(f, seed=2)
    eng.step(1.0)
    full = eng.storage.write_bw_gbs
    eng.inject("drive_failure", "ST001-D07")
    eng.step(1.0)
    assert eng.storage.write_bw_gbs == pytest.approx(full - p.node_write_gbs / p.drives_per_node
                                                     - p.drive_rebuild_gbs)
    data_gb = p.drive_tb * p.fill * 1000
    (addr, done, left_s), = eng.storage.rebuild_progress()
    assert addr == "ST001-D07" and 0 < done < 0.01 and left_s == pytest.approx(data_gb / p.drive_rebuild_gbs - 1,
                                                                               rel=0.01)
    eng.run(data_gb / p.drive_rebuild_gbs + 20, dt=10.0)
    assert any(e.kind == "rebuild_finished" and e.address == "ST001-D07" for e in eng.events)
    assert eng.storage.rebuild_progress() == []
    assert eng.storage.write_bw_gbs == pytest.approx(full - p.node_write_gbs / p.drives_per_node)
    assert eng.repair("ST001-D07")
    eng.step(1.0)
    assert eng.storage.write_bw_gbs == pytest.approx(full)


def test_storage_uplinks_cap_the_checkpoint_bandwidth_when_super_spines_are_lost():
    f = ckpt_facility(interval_s=1e6)
    eng = Engine(f, seed=3)
    net = eng.topo.net
    per_ss = f.fabric.storage_uplinks_per_superspine * f.storage.uplink_gbps / 8
    for i in range(net.n_superspines - 1):
        eng.inject("switch_failure", net.switch_address(net.ss0 + i))
    eng.step(1.0)
    assert eng.storage.write_bw_gbs == pytest.approx(min(per_ss, eng.storage.design_gbs))
    assert eng.storage.write_bw_gbs < eng.storage.design_gbs


def test_front_end_uplinks_cap_the_storage_bandwidth_and_a_checkpoint_takes_longer_through_them():
    f = ckpt_facility(halls=1, rows=1, racks_per_row=8)  # 64 servers: two front-end leaves of 48
    for j in f.jobs:
        j.checkpoint_tb = 2.4  # a fixed size: the stall follows the bandwidth the store gets
    full = Engine(f, seed=3)
    assert full.topo.net.hall_fe_leaves.tolist() == [2]
    assert full.fabric.frontend_uplink_gbs == 2 * 8 * 400 / 8  # 800 GB/s: not the bottleneck by default
    pool = full.storage.write_bw_gbs
    assert pool < full.fabric.frontend_uplink_gbs
    thin = f.model_copy(deep=True)
    thin.fabric.frontend.leaf_uplinks = 1  # one 400G uplink per front-end leaf: 100 GB/s out of the hall
    eng = Engine(thin, seed=3)
    assert eng.fabric.storage_uplink_gbs == pytest.approx(100.0) and 100.0 < pool
    assert eng.storage.write_bw_gbs == pytest.approx(100.0)
    # the same checkpoint takes pool / 100 times as long
    assert eng.storage.checkpoint_full_s(0) / full.storage.checkpoint_full_s(0) == pytest.approx(pool / 100.0)
    # fewer uplinks, less optic power: 7 uplinks a leaf x 2 leaves x 2 optics
    fe = f.fabric.frontend
    assert full.fabric.power_w - eng.fabric.power_w == pytest.approx(2 * 7 * 2 * f.fabric.optic_w(fe.uplink_gbps))


def test_random_drive_failures_follow_the_annual_failure_rate():
    f = ckpt_facility(interval_s=1e6)
    for p in f.storage.pools:
        p.nodes = 200
        p.drive_afr = 1.0  # inflated to count them in days
    eng = Engine(f, seed=9, telemetry_capacity=100)
    days = 8
    eng.run(days * 86400, dt=60.0)
    net = eng.topo.net
    expected = 1.0 / 365.25 * net.n_drives * days
    got = eng.summary()["storage"]["failures_by_kind"]["drive"]
    assert got == pytest.approx(expected, rel=0.3)
    assert np.isfinite(eng.storage.series("write_bw_gbs")).all()
