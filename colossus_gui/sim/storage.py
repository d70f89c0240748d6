"""The storage system in the engine: nodes and drives as flat arrays, bandwidth, rebuilds, checkpoint stalls.

The write bandwidth of a pool is the sum over its nodes in service (a node with failed drives gives the
share of its drives that work) less what rebuilds take; the checkpoint pool is further capped by the
storage uplinks on the super-spines. Each job gets a fixed share of it (its share of the GPUs in jobs), capped
by the front-end uplinks in service of the halls it runs in (its share of each hall's), so its checkpoint
stall is ``checkpoint size / the bandwidth it gets``: the engine counts a checkpoint down in "seconds at full
bandwidth" at the rate ``job_rate = bandwidth now / bandwidth at full health``. A front-end leaf down in one
hall slows the checkpoints of the job there (when its uplinks are what limits them), not of a job elsewhere.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.addresses import Address
from .part_state import restore_part, snapshot_part
from .telemetry import Ring

STORAGE_FAULTS = ("storage_node_failure", "drive_failure")
STORAGE_KINDS = ("storage_node", "drive")
STORAGE_CHANNELS = ("t_s", "write_bw_gbs", "design_bw_gbs", "rebuild_bw_gbs", "checkpoint_bw_gbs", "nodes_down",
                    "drives_down", "checkpoint_stall_s", "power_kw")
STORAGE_UNITS = {"t_s": "s", "write_bw_gbs": "GB/s", "design_bw_gbs": "GB/s", "rebuild_bw_gbs": "GB/s",
                 "checkpoint_bw_gbs": "GB/s", "nodes_down": "count", "drives_down": "count",
                 "checkpoint_stall_s": "s", "power_kw": "kW"}
CHECKPOINTING = 1  # engine job state (sim/engine.py)


class Storage:
    def __init__(self, engine):  # the Engine that owns this part (not imported: no cycle)
        self.e = engine
        f = engine.facility
        self.spec = st = f.storage
        self.net = net = engine.topo.net
        self.rng = np.random.default_rng([engine.seed, 15])
        nn, nd, npool = net.n_storage_nodes, net.n_drives, len(st.pools)
        self.n_nodes, self.n_drives, self.n_pools = nn, nd, npool
        self.node_pool = np.repeat(np.arange(npool), net.pool_nodes).astype(np.int32)
        self.drive_node = np.repeat(np.arange(nn), net.pool_dpn[self.node_pool]).astype(np.int32)

        def per_node(attr):
            return np.array([getattr(p, attr) for p in st.pools], dtype=np.float64)[self.node_pool]

        self.node_write_gbs = per_node("node_write_gbs")
        self.node_read_gbs = per_node("node_read_gbs")
        self.node_dpn = net.pool_dpn[self.node_pool].astype(np.float64)
        self.node_power_w = per_node("node_power_w")
        self.drive_power_w = per_node("drive_power_w")[self.drive_node]
        self.node_data_gb = per_node("drive_tb") * self.node_dpn * per_node("fill") * 1000.0
        self.drive_data_gb = (per_node("drive_tb") * per_node("fill") * 1000.0)[self.drive_node]
        self.node_rebuild_gbs = per_node("node_rebuild_gbs")
        self.drive_rebuild_gbs = per_node("drive_rebuild_gbs")[self.drive_node]
        year = 365.25 * 86400
        self._rates = np.array([sum(p.drive_afr * n * p.drives_per_node for p, n in zip(st.pools, net.pool_nodes,
                                                                                      strict=True)) / year,
                                sum(p.node_per_node_year * n for p, n in zip(st.pools, net.pool_nodes,
                                                                             strict=True)) / year])
        self.ckpt_pool = net.ckpt_pool
        self.capacity_pb = float((per_node("drive_tb") * self.node_dpn).sum()) / 1000.0
        # each job's share of the checkpoint bandwidth, and its checkpoint size
        nj = engine.n_jobs
        gpus = np.bincount(engine.tray_job, minlength=nj + 1)[:nj].astype(np.float64)
        self.job_share = gpus / gpus.sum() if gpus.sum() > 0 else np.zeros(nj)
        cap = engine.telemetry.facility.capacity
        self.ring = Ring(cap, (len(STORAGE_CHANNELS),))
        self.index = {c: i for i, c in enumerate(STORAGE_CHANNELS)}
        self.reset()
        self.design_gbs = self.write_bw_gbs
        self.job_design_gbs = self.job_bw_gbs.copy()
        self.job_ckpt_gb = np.array([
            (job.checkpoint_tb * 1000.0 if job.checkpoint_tb is not None
             else job.checkpoint_stall_s * self.job_design_gbs[j])
            for j, job in enumerate(engine.jobs)])

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        nj = self.e.n_jobs
        self.node_ok = np.ones(self.n_nodes, dtype=bool)
        self.drive_ok = np.ones(self.n_drives, dtype=bool)
        self.node_rebuild_gb = np.zeros(self.n_nodes)  # data of a failed node still to re-protect
        self.drive_rebuild_gb = np.zeros(self.n_drives)
        self.job_ckpt_t0 = np.full(nj, np.nan)
        self.last_stall_s = np.full(nj, np.nan)
        self.acc = {"stall_s": 0.0, "checkpoints": 0.0, "stall_extra_s": 0.0, "bw_lost_gb": 0.0,
                    "rebuilt_gb": 0.0}
        self.failures_by_kind = {"drive": 0, "node": 0}
        self.ring.clear()
        self._dirty = True
        self._derive()
        self._bandwidth()

    _ARRAYS = ("node_ok", "drive_ok", "node_rebuild_gb", "drive_rebuild_gb", "job_ckpt_t0", "last_stall_s")

    def snapshot(self) -> dict:
        return snapshot_part(self)

    def restore(self, snap: dict) -> None:
        restore_part(self, snap, "storage")
        self._dirty = True
        self._derive()
        self._bandwidth()

    # ------------------------------------------------------------------ derived
    def _derive(self) -> None:
        if not self._dirty:
            return
        drives_up = np.bincount(self.drive_node, weights=self.drive_ok, minlength=self.n_nodes)
        self.node_bw_gbs = self.node_write_gbs * self.node_ok * drives_up / self.node_dpn
        self.pool_node_gbs = np.bincount(self.node_pool, weights=self.node_bw_gbs, minlength=self.n_pools)
        self._active_nodes = np.flatnonzero(self.node_rebuild_gb > 0)
        self._active_drives = np.flatnonzero(self.drive_rebuild_gb > 0)
        self.power_w = float(self.node_power_w @ self.node_ok) + float(self.drive_power_w @ self.drive_ok)
        self.n_nodes_down = int((~self.node_ok).sum())
        self.n_drives_down = int((~self.drive_ok).sum())
        self._dirty = False

    def _bandwidth(self) -> None:
        """Rebuild traffic and what is left for checkpoints (a few scalars; every step)."""
        rb = np.zeros(self.n_pools)
        if self._active_nodes.size:
            np.add.at(rb, self.node_pool[self._active_nodes], self.node_rebuild_gbs[self._active_nodes])
        if self._active_drives.size:
            np.add.at(rb, self.node_pool[self.drive_node[self._active_drives]],
                      self.drive_rebuild_gbs[self._active_drives])
        self.pool_rebuild_gbs = rb
        self.pool_write_gbs = np.maximum(0.0, self.pool_node_gbs - rb)
        p = self.ckpt_pool
        fab = getattr(self.e, "fabric", None)
        site = float(min(self.pool_write_gbs[p], fab.storage_core_gbs if fab is not None else math.inf))
        self.write_bw_gbs = min(site, float(fab.hall_fe_gbs.sum()) if fab is not None else math.inf)
        # each job: its share of the store, capped by the front-end uplinks of its halls
        self.job_bw_gbs = (np.minimum(self.job_share * site, fab.job_fe_gbs) if fab is not None
                           else self.job_share * site)
        design = getattr(self, "job_design_gbs", None)
        self.job_rate = (np.divide(self.job_bw_gbs, design, out=np.ones(self.e.n_jobs), where=design > 0)
                         if design is not None else np.ones(self.e.n_jobs))

    def checkpoint_full_s(self, j: int) -> float:
        """Seconds job ``j``'s checkpoint takes at full storage bandwidth (what the engine counts down)."""
        bw = self.job_design_gbs[j]
        return float(self.job_ckpt_gb[j] / bw) if bw > 0 else 0.0

    # ------------------------------------------------------------------ faults and repairs
    def inject(self, kind: str, a: Address, cause: str) -> str | None:
        e, net = self.e, self.net
        st = self.spec
        if kind == "storage_node_failure":
            n = a.index
            if not self.node_ok[n]:
                return None
            self.node_ok[n] = False
            self.node_rebuild_gb[n] = self.node_data_gb[n]
            addr = net.node_address(n)
            self._schedule(addr, st.node_median_s)
            key = "node"
        else:
            d = net.drive_index(a.index, a.sub)
            if not self.drive_ok[d]:
                return None
            self.drive_ok[d] = False
            self.drive_rebuild_gb[d] = self.drive_data_gb[d]
            addr = net.drive_address(d)
            self._schedule(addr, st.drive_median_s)
            key = "drive"
        if cause == "random":
            self.failures_by_kind[key] += 1
        self._dirty = True
        self._derive()
        self._bandwidth()
        e._event("rebuild_started", addr, f"{(self.node_rebuild_gb.sum() + self.drive_rebuild_gb.sum()) / 1e3:.0f} "
                                          "TB to re-protect")
        return addr

    def repair(self, a: Address) -> bool:
        if a.kind == "storage_node":
            changed = not self.node_ok[a.index]
            self.node_ok[a.index] = True
            self.node_rebuild_gb[a.index] = 0.0  # its data is back
        else:
            d = self.net.drive_index(a.index, a.sub)
            changed = not self.drive_ok[d]
            self.drive_ok[d] = True
        if changed:
            self._dirty = True
            self._derive()
            self._bandwidth()
        return changed

    def _schedule(self, address: str, median_s: float) -> None:
        e = self.e
        if not e.facility.failures.auto_repair:
            return
        dur = float(median_s * math.exp(self.spec.sigma * self.rng.standard_normal()))
        e.pending_repairs.append((e.t + dur, "storage", address))

    # ------------------------------------------------------------------ the step
    def step(self, dt: float) -> None:
        e = self.e
        total = float(self._rates.sum())
        if total > 0:
            for _ in range(int(self.rng.poisson(total * dt))):
                if self.rng.random() < self._rates[0] / total:
                    d = int(self.rng.integers(self.n_drives))
                    e.inject("drive_failure", self.net.drive_address(d), cause="random")
                else:
                    e.inject("storage_node_failure", self.net.node_address(int(self.rng.integers(self.n_nodes))),
                             cause="random")
        if self._active_nodes.size or self._active_drives.size:
            self._rebuild(dt)
        self._derive()
        self._bandwidth()
        # checkpoint stalls as they happen (the engine sets the state; we time it)
        for j in range(e.n_jobs):
            ckpt = e.job_state[j] == CHECKPOINTING
            t0 = self.job_ckpt_t0[j]
            if ckpt and math.isnan(t0):
                self.job_ckpt_t0[j] = e.t
            elif not ckpt and not math.isnan(t0):
                stall = float(e.t - t0)
                self.last_stall_s[j] = stall
                self.job_ckpt_t0[j] = np.nan
                self.acc["stall_s"] += stall
                self.acc["checkpoints"] += 1
                self.acc["stall_extra_s"] += max(0.0, stall - self.checkpoint_full_s(j))
        self.acc["bw_lost_gb"] += max(0.0, self.design_gbs - self.write_bw_gbs) * dt

    def _rebuild(self, dt: float) -> None:
        e, net = self.e, self.net
        for arr, active, rate, kind in ((self.node_rebuild_gb, self._active_nodes, self.node_rebuild_gbs, "node"),
                                        (self.drive_rebuild_gb, self._active_drives, self.drive_rebuild_gbs,
                                         "drive")):
            if not active.size:
                continue
            r = rate[active] * dt
            done = np.minimum(arr[active], r)
            arr[active] -= done
            self.acc["rebuilt_gb"] += float(done.sum())
            for i in active[arr[active] <= 0]:
                arr[i] = 0.0
                self._dirty = True
                addr = net.node_address(int(i)) if kind == "node" else net.drive_address(int(i))
                e._event("rebuild_finished", addr, "data re-protected")

    # ------------------------------------------------------------------ after the step
    def record(self) -> None:
        e = self.e
        ckpt = e.job_state == CHECKPOINTING
        ckpt_bw = float((self.job_bw_gbs * ckpt).sum())
        if ckpt.any():
            elapsed = np.where(ckpt & np.isfinite(self.job_ckpt_t0), e.t - self.job_ckpt_t0, 0.0)
            stall = float(elapsed.max())
        else:
            done = self.last_stall_s[np.isfinite(self.last_stall_s)]
            stall = float(done.max()) if done.size else 0.0
        row = self.ring.next_row()
        row[:] = (e.t, self.write_bw_gbs, self.design_gbs, float(self.pool_rebuild_gbs.sum()), ckpt_bw,
                  self.n_nodes_down, self.n_drives_down, stall, self.power_w / 1e3)
        self.ring.commit()

    def series(self, name: str) -> np.ndarray:
        return self.ring.view()[:, self.index[name]]

    def rebuild_progress(self) -> list[tuple[str, float, float]]:
        """Rebuilds under way: (address, fraction done, seconds left at the current rate)."""
        out = []
        net = self.net
        for i in self._active_nodes:
            left, total = self.node_rebuild_gb[i], self.node_data_gb[i]
            out.append((net.node_address(int(i)), 1.0 - left / total, left / self.node_rebuild_gbs[i]))
        for d in self._active_drives:
            left, total = self.drive_rebuild_gb[d], self.drive_data_gb[d]
            out.append((net.drive_address(int(d)), 1.0 - left / total, left / self.drive_rebuild_gbs[d]))
        return out

    def summary(self) -> dict:
        n = self.acc["checkpoints"]
        return {
            "nodes": self.n_nodes, "drives": self.n_drives, "capacity_pb": self.capacity_pb,
            "nodes_down": self.n_nodes_down, "drives_down": self.n_drives_down, "power_mw": self.power_w / 1e6,
            "design_write_gbs": self.design_gbs, "write_gbs_now": self.write_bw_gbs,
            "checkpoints": int(n), "checkpoint_stall_hours": self.acc["stall_s"] / 3600.0,
            "checkpoint_stall_mean_s": self.acc["stall_s"] / n if n else None,
            "checkpoint_stall_extra_hours": self.acc["stall_extra_s"] / 3600.0,
            "write_bandwidth_lost_pb": self.acc["bw_lost_gb"] / 1e6,
            "rebuilt_tb": self.acc["rebuilt_gb"] / 1e3,
            "failures_by_kind": dict(self.failures_by_kind),
        }
