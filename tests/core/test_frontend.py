"""The hosts' front-end network: each server's front-end NIC and the halls' front-end leaves as failure units,
as a network engineer and a training engineer would check them (who loses what, for how long, what it costs
the checkpoints)."""

import csv
import json

import numpy as np
import pytest
import yaml

from colossus_gui.cli import main as cli_main
from colossus_gui.io.loader import load_facility
from colossus_gui.model.addresses import AddressError, Topology
from colossus_gui.model.facility import JobSpec
from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.alarms import CRITICAL, WARNING
from colossus_gui.ops.work_orders import CLOSED
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import CHECKPOINTING, RUNNING, Engine
from colossus_gui.testing import small_facility


def jobs(f, interval_s=1e6, checkpoint_tb=None, restart_s=60.0):
    f.jobs = [JobSpec(name=f"job-{h.name.lower()}", halls=[h.name], checkpoint_interval_s=interval_s,
                      checkpoint_tb=checkpoint_tb, restart_s=restart_s) for h in f.halls]
    return f


# --------------------------------------------------------------------------- layout and addresses
def test_colossus_front_end_leaves_are_sized_from_the_servers_and_every_server_has_a_front_end_nic():
    f = load_facility("colossus")
    topo = Topology(f)
    net, fe = topo.net, f.fabric.frontend
    servers = f.halls[0].racks * f.rack.trays
    assert net.hall_fe_leaves[0] == -(-servers // fe.servers_per_leaf)  # 3,136 servers / 48 = 66 leaves
    assert net.n_fe_server_links == topo.n_trays
    a = topo.parse("H1-R001-T1-FE")
    assert a.kind == "fe_nic" and a.index == 0 and topo.rack_of(a) == 0
    last = topo.parse(f"H2-FL{int(net.hall_fe_leaves[1]):02d}")
    assert last.kind == "fe_leaf" and net.fe_leaf_address(last.index) == last.text
    # server k of a hall is on its leaf k // 48: the 49th server of H2 is on H2-FL02
    tray = topo.parse("H2-R007-T1").index  # rack 7, tray 1: the hall's 49th server
    assert net.fe_leaf_address(int(net.tray_fe_leaf[tray])) == "H2-FL02"
    assert tray in net.trays_of_fe_leaf(topo.parse("H2-FL02").index)


def test_bad_front_end_addresses_are_refused_with_what_is_wrong():
    topo = Topology(small_facility())
    with pytest.raises(AddressError, match="front-end leaf numbers run 1-2"):
        topo.parse("H1-FL03")
    with pytest.raises(AddressError, match="front-end NICs"):
        topo.parse("H1-FL01-P01")
    with pytest.raises(AddressError, match="no hall H9"):
        topo.parse("H9-FL01")


# --------------------------------------------------------------------------- faults and their effect on jobs
def test_front_end_nic_failure_interrupts_exactly_its_job_and_takes_exactly_its_eight_gpus_until_repaired():
    f = jobs(small_facility())
    eng = Engine(f, seed=4)
    eng.run(60)
    gpus0, up0 = eng.job_gpus.copy(), int(eng.rack_gpus_up.sum())
    before = eng.job_interruptions.copy()
    tray = eng.parse("H2-R003-T5").index
    ev = eng.inject("frontend_nic_failure", "H2-R003-T5-FE")
    assert ev.address == "H2-R003-T5-FE" and ev.component == "fe_nic" and ev.rack == eng.parse("H2-R003").index
    assert eng.job_interruptions.tolist() == [before[0], before[1] + 1]
    assert eng.interruptions_by_cause == {"network": 1}
    assert any(e.kind == "job_interrupted" and e.address == "H2-R003-T5-FE" for e in eng.events)
    eng.run(f.jobs[1].restart_s + 10)
    assert eng.job_state[1] == RUNNING  # it runs on without that server
    assert eng.job_gpus.tolist() == [gpus0[0], gpus0[1] - 8]
    assert int(eng.rack_gpus_up.sum()) == up0 - 8
    assert np.flatnonzero(~eng.tray_available()).tolist() == [tray]
    # a second failure of the same NIC changes nothing; the back-end fabric is untouched
    assert eng.inject("frontend_nic_failure", "H2-R003-T5-FE") is None
    assert eng.fabric.gpu_up.all() and eng.fabric.job_bw.tolist() == [1.0, 1.0]
    assert eng.repair("H2-R003-T5-FE")
    eng.step(1.0)
    assert eng.job_gpus.tolist() == gpus0.tolist() and int(eng.rack_gpus_up.sum()) == up0
    assert any(e.kind == "fault_cleared" and e.address == "H2-R003-T5-FE" for e in eng.events)


def test_front_end_leaf_failure_takes_exactly_its_servers_and_interrupts_only_their_job():
    f = jobs(small_facility(halls=2, rows=2, racks_per_row=8))  # 128 servers a hall: leaves of 48, 48, 32
    eng = Engine(f, seed=5)
    eng.run(60)
    gpus0, up0 = eng.job_gpus.copy(), int(eng.rack_gpus_up.sum())
    before = eng.job_interruptions.copy()
    power0 = eng.fabric.power_w
    eng.inject("frontend_leaf_failure", "H1-FL02")
    assert eng.job_interruptions.tolist() == [before[0] + 1, before[1]]
    assert power0 - eng.fabric.power_w == pytest.approx(f.fabric.frontend.leaf.power_w)  # a dark leaf draws nothing
    eng.run(f.jobs[0].restart_s + 10)
    out = np.flatnonzero(~eng.tray_available())
    # the hall's servers 49-96: racks 7 (tray 1) to 12 (tray 8)
    assert out.size == 48
    assert eng.topo.tray_address(int(out[0])) == "H1-R007-T1" and eng.topo.tray_address(int(out[-1])) == "H1-R012-T8"
    assert eng.job_gpus.tolist() == [gpus0[0] - 48 * 8, gpus0[1]]
    assert int(eng.rack_gpus_up.sum()) == up0 - 48 * 8
    assert eng.fabric.hall_fe_gbs.tolist() == [2 * eng.fabric.fe_leaf_uplink_gbs, 3 * eng.fabric.fe_leaf_uplink_gbs]
    assert eng.summary()["fabric"]["frontend_leaves_down"] == 1
    assert eng.repair("H1-FL02")
    eng.step(1.0)
    assert eng.tray_available().all() and eng.job_gpus.tolist() == gpus0.tolist()


def _first_stalls(eng, seconds):
    """Each job's first checkpoint stall that ends within ``seconds`` (from its state, as a user sees it)."""
    out, start = [None] * eng.n_jobs, [None] * eng.n_jobs
    for _ in range(int(seconds)):
        eng.step(1.0)
        for j in range(eng.n_jobs):
            ck = eng.job_state[j] == CHECKPOINTING
            if ck and start[j] is None:
                start[j] = eng.t
            elif not ck and start[j] is not None and out[j] is None:
                out[j] = eng.t - start[j]
    return out


def test_front_end_leaf_down_in_h2_lengthens_the_checkpoints_of_the_job_in_h2_by_the_lost_share_only():
    # a thin front end (one 400G uplink a leaf): the halls' front-end uplinks, not the store, limit checkpoints
    f = jobs(small_facility(halls=2, rows=2, racks_per_row=8), interval_s=600.0, checkpoint_tb=6.0)
    f.fabric.frontend.leaf_uplinks = 1
    base, eng = Engine(f, seed=7), Engine(f, seed=7)
    per_leaf = eng.fabric.fe_leaf_uplink_gbs
    assert eng.storage.job_design_gbs.tolist() == [3 * per_leaf, 3 * per_leaf]  # 150 GB/s a hall
    assert 3 * per_leaf < 0.5 * eng.storage.pool_write_gbs[eng.storage.ckpt_pool]  # < half the store
    for e in (base, eng):
        e.run(100)
    eng.inject("frontend_leaf_failure", "H2-FL03")  # one of H2's three leaves: a third of its uplinks
    lost = 1 / 3
    s_base, s_eng = _first_stalls(base, 1500), _first_stalls(eng, 1500)
    assert s_base == [pytest.approx(6000.0 / (3 * per_leaf), abs=1.0)] * 2  # 40 s
    assert s_eng[1] == pytest.approx(s_base[1] / (1 - lost), rel=0.05)  # 60 s
    assert s_eng[0] == pytest.approx(s_base[0], abs=1.0)  # H1's job writes through its own hall's uplinks
    assert eng.storage.job_rate.tolist() == pytest.approx([1.0, 1 - lost])


def test_front_end_leaf_down_costs_nothing_when_the_store_not_the_uplinks_limits_the_checkpoint():
    f = jobs(small_facility(), interval_s=600.0, checkpoint_tb=4.0)
    eng = Engine(f, seed=2)
    eng.inject("frontend_leaf_failure", "H2-FL01")
    eng.step(1.0)
    assert eng.fabric.job_fe_gbs[1] > eng.storage.job_bw_gbs[1]  # 400 GB/s left, the store gives 110
    assert eng.storage.job_rate.tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------- random failures, state, ops
def test_random_front_end_failures_follow_their_rates_and_are_deterministic_for_a_seed():
    def run(seed):
        f = small_facility()
        ff = f.fabric.failures
        ff.frontend_nic_per_nic_year = 365.25 * 4 / 128  # 128 servers: about four NICs a day
        ff.frontend_leaf_per_switch_year = 365.25 * 2 / 4  # 4 leaves: about two a day
        eng = Engine(f, seed=seed, telemetry_capacity=100)
        eng.run(4 * 86400, dt=20.0)
        return eng

    a, b = run(21), run(21)
    kinds = a.summary()["fabric"]["failures_by_kind"]
    # Poisson counts within 3 sigma of the configured rates (a part already down cannot fail again)
    assert kinds["fe_nic"] == pytest.approx(16, abs=3 * 4) and kinds["fe_leaf"] == pytest.approx(8, abs=3 * 2.9)
    assert kinds["fe_nic"] > 0 and kinds["fe_leaf"] > 0
    assert a.summary()["interruptions_by_cause"]["network"] >= 1
    started = [(e.t_s, e.address) for e in a.events if e.kind == "fault_started"]
    assert started == [(e.t_s, e.address) for e in b.events if e.kind == "fault_started"]
    assert any(addr.endswith("-FE") for _, addr in started) and any("-FL" in addr for _, addr in started)
    assert a.goodput() == b.goodput()


def test_front_end_state_snapshots_and_restores_exactly():
    eng = Engine(small_facility(), seed=6)
    eng.run(20)
    eng.inject("frontend_nic_failure", "H1-R002-T2-FE")
    eng.inject("frontend_leaf_failure", "H2-FL02")
    snap = eng.snapshot()
    eng.run(200)
    after = (eng.job_gpus.copy(), eng.goodput(), [(e.kind, e.address) for e in eng.events])
    eng.restore(snap)
    assert not eng.fabric.fe_nic_ok[eng.parse("H1-R002-T2").index] and not eng.fabric.fe_leaf_ok[3]
    eng.run(200)
    assert eng.job_gpus.tolist() == after[0].tolist() and eng.goodput() == after[1]
    assert [(e.kind, e.address) for e in eng.events] == after[2]


def test_front_end_nic_down_alarms_on_its_leaf_and_its_work_order_drains_the_server_and_swaps_the_optic():
    eng = Engine(small_facility(), seed=5)
    ops = OpsManager(eng, OpsConfig(), seed=11)
    for _ in range(30):
        eng.step()
        ops.step()
    optics = ops.spares.on_hand["optic"]
    eng.inject("frontend_nic_failure", "H1-R003-T4-FE")
    eng.step()
    ops.step()
    (alarm,) = [a for a in ops.alarms.alarms() if a.component == "H1-FL01" and a.active]
    assert alarm.rule == "frontend_state" and alarm.severity == WARNING and "H1-R003-T4-FE" in alarm.detail
    (wo,) = [w for w in ops.work_orders.values() if w.target == "H1-R003-T4-FE"]
    assert wo.recipe == "link"
    tray = eng.parse("H1-R003-T4").index
    for _ in range(30000):
        if wo.state == CLOSED:
            break
        eng.step()
        ops.step()
    assert wo.state == CLOSED and eng.fabric.fe_nic_ok.all() and not eng.tray_drained[tray]
    assert ops.spares.on_hand["optic"] == optics - 1
    assert not [a for a in ops.alarms.alarms() if a.component == "H1-FL01" and a.active]
    # a leaf down is critical: all its servers are cut off
    eng.inject("frontend_leaf_failure", "H2-FL01")
    eng.step()
    ops.step()
    (alarm,) = [a for a in ops.alarms.alarms() if a.component == "H2-FL01" and a.active]
    assert alarm.severity == CRITICAL and alarm.detail.startswith("front-end leaf down")
    (wo,) = [w for w in ops.work_orders.values() if w.target == "H2-FL01"]
    assert wo.recipe == "switch"


def test_run_with_front_end_faults_writes_them_to_events_csv(tmp_path):
    fac = tmp_path / "small.json"
    fac.write_text(json.dumps(small_facility().model_dump(mode="json")))
    scen = tmp_path / "fe.yaml"
    scen.write_text(yaml.safe_dump({"title": "front end", "faults": [
        {"at": 30, "kind": "frontend_nic_failure", "target": "H1-R002-T3-FE"},
        {"at": 40, "kind": "frontend_leaf_failure", "target": "H2-FL02"}]}))
    out = tmp_path / "out"
    assert cli_main(["run", "--duration", "3m", "--seed", "3", "--facility", str(fac), "--scenario", str(scen),
                     "--out", str(out), "--quiet"]) == 0
    events = list(csv.DictReader(open(out / "events.csv", newline="")))
    started = {(e["address"], e["detail"].split(" ")[0]) for e in events if e["kind"] == "fault_started"}
    assert {("H1-R002-T3-FE", "frontend_nic_failure"), ("H2-FL02", "frontend_leaf_failure")} <= started
    interrupted = {e["address"] for e in events if e["kind"] == "job_interrupted"}
    assert {"H1-R002-T3-FE", "H2-FL02"} <= interrupted
    s = json.loads((out / "summary.json").read_text())
    assert s["fabric"]["frontend_nics_down"] == 1 and s["fabric"]["frontend_leaves_down"] == 1


def test_a_snapshot_saved_before_the_front_end_had_state_opens_with_it_all_up(tmp_path):
    from colossus_gui.io.bundle import open_bundle, write_bundle
    eng = Engine(small_facility(), seed=3)
    eng.run(30)
    out = tmp_path / "old"
    write_bundle(eng, out)
    # what an older version wrote: no front-end arrays, no front-end failure counts
    z = dict(np.load(out / "state.npz"))
    np.savez(out / "state.npz", **{k: v for k, v in z.items() if not k.startswith("fabric.fe_")})
    state = json.loads((out / "state.json").read_text())
    for k in ("fe_nic", "fe_leaf"):
        del state["fabric.failures_by_kind"][k]
    (out / "state.json").write_text(json.dumps(state))
    again = open_bundle(out)
    assert again.t == eng.t and again.fabric.fe_nic_ok.all() and again.fabric.fe_leaf_ok.all()
    assert again.fabric.failures_by_kind["fe_nic"] == 0
    again.inject("frontend_leaf_failure", "H1-FL01")
    assert not again.tray_available()[again.parse("H1-R001-T1").index]


def test_the_failed_part_count_includes_network_and_storage_parts():
    """The status bar's 'failed N' counts each failed part once: a spine, a front-end NIC, a front-end leaf, a
    storage drive, as it counts a GPU (not the links or servers they take down with them)."""
    from colossus_gui.sim.health import failed_part_count
    eng = Engine(small_facility(), seed=1)
    eng.run(5)
    assert failed_part_count(eng) == 0
    for n, (kind, addr) in enumerate([("switch_failure", "H1-SP01"), ("frontend_nic_failure", "H1-R001-T1-FE"),
                                      ("frontend_leaf_failure", "H2-FL01"), ("drive_failure", "ST001-D01"),
                                      ("gpu_failure", "H1-R002-T1-G1")], start=1):
        assert eng.inject(kind, addr) is not None, addr
        assert failed_part_count(eng) == n, addr
