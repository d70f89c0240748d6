"""The network fabric in the engine: switch and link state as flat arrays, what they do to the jobs.

- A GPU whose link (or leaf) is down leaves the job pool and interrupts its job (cause ``network``).
- Spines, super-spines and uplinks lost cut the bisection bandwidth: a job's communication phase runs at
  the fraction left (``job_bw``), so its iteration stretches and its low-power phase grows.
- A flapping GPU link makes the job's collectives time out after ``flaps_to_timeout`` flaps: the job is
  interrupted and the link is taken out (down) until the optic is replaced.
- Switches and optics draw power; the heat goes to the hall air (air-cooled network racks).
- The front-end network: a server whose front-end NIC (or front-end leaf) is down cannot read data or write
  checkpoints: it leaves the pool and interrupts its job (cause ``network``) until repaired. Each hall's
  front-end uplinks in service cap the storage bandwidth of the job there (``job_fe_gbs``, sim/storage.py).

Layout and addresses: ``model/network.py`` (NetLayout). Nothing here loops over GPUs or links in Python
except over the handful that change in a step.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.addresses import Address
from .part_state import restore_part, snapshot_part
from .telemetry import Ring

FABRIC_FAULTS = ("switch_failure", "link_failure", "link_flap", "frontend_nic_failure", "frontend_leaf_failure")
FABRIC_KINDS = ("leaf", "spine", "superspine", "port", "fe_nic", "fe_leaf")
FABRIC_CHANNELS = ("t_s", "throughput_tbps", "bisection_frac", "links_down", "links_flapping", "switches_down",
                   "power_kw")
FABRIC_UNITS = {"t_s": "s", "throughput_tbps": "Tb/s", "bisection_frac": "fraction", "links_down": "count",
                "links_flapping": "count", "switches_down": "count", "power_kw": "kW"}
FAILURE_KINDS = ("leaf", "spine", "superspine", "gpu_link", "uplink", "flap", "power_feed", "fe_nic", "fe_leaf")


def advance_phase(phase: float, dt: float, iteration_s: float, compute_fraction: float, speed: float,
                  comm_rate: float) -> float:
    """Advance a job's iteration phase (nominal seconds) by ``dt`` of wall time: the compute part at
    ``speed``, the communication part at ``speed * comm_rate`` (the bandwidth left). Exact across phase
    boundaries, so the iteration period is ``T * (c + (1 - c) / comm_rate) / speed`` for any ``dt``."""
    if speed <= 0 or dt <= 0:
        return phase
    if comm_rate >= 1.0:
        return phase + dt * speed
    c_end = compute_fraction * iteration_s
    left = dt
    eps = 1e-9 * iteration_s
    for _ in range(100000):
        base = math.floor(phase / iteration_s) * iteration_s
        pos = phase - base
        if pos >= iteration_s - eps:  # rounding put us at the end of an iteration: the next one begins
            base += iteration_s
            pos = 0.0
        if pos < c_end - eps:
            rate, boundary = speed, base + c_end
        else:
            rate, boundary = speed * max(comm_rate, 1e-6), base + iteration_s
        need = (boundary - phase) / rate
        if need >= left:
            return phase + left * rate
        phase = boundary
        left -= need
    return phase


class Fabric:
    def __init__(self, engine):  # the Engine that owns this part (not imported: no cycle)
        self.e = engine
        f = engine.facility
        self.spec = fab = f.fabric
        self.net = net = engine.topo.net
        self.n_switches, self.n_links = net.n_switches, net.n_links
        n_gpus = net.n_gpus
        self.rng = np.random.default_rng([engine.seed, 14])
        # static maps
        self.gpu_leaf = (np.repeat(net.tray_leaf_base, net.gpus_per_tray).reshape(-1, net.gpus_per_tray)
                         + np.arange(net.gpus_per_tray)).astype(np.int32).ravel()
        ls_leaf = np.repeat(np.arange(net.n_leaves), net.leaf_up)
        ls_hall = np.repeat(np.arange(net.n_halls), net.hall_leaves * net.leaf_up)
        k = np.arange(net.n_ls_links) - np.repeat(net.hall_leaf_start[:-1] * net.leaf_up, net.hall_leaves * net.leaf_up)
        self.ls_leaf = ls_leaf.astype(np.int32)
        self.ls_hall = ls_hall.astype(np.int32)
        self.ls_spine = (net.spine0 + net.hall_spine_start[ls_hall] + k % net.hall_spines[ls_hall]).astype(np.int32)
        sl_spine_local = np.repeat(np.arange(net.n_spines), net.spine_up)
        self.sl_spine = (net.spine0 + sl_spine_local).astype(np.int32)
        self.sl_ss = (net.ss0 + np.arange(net.n_ss_links) % net.n_superspines).astype(np.int32)
        self.sl_hall = np.repeat(np.arange(net.n_halls), net.hall_spines * net.spine_up).astype(np.int32)
        # the switch at each link's lower end (where it is addressed): leaf for GPU and leaf-spine links
        self.link_switch = np.concatenate([self.gpu_leaf, self.ls_leaf, self.sl_spine]).astype(np.int32)
        self.hall_ls_total = np.bincount(self.ls_hall, minlength=net.n_halls).astype(np.float64)
        self.hall_sl_total = np.bincount(self.sl_hall, minlength=net.n_halls).astype(np.float64)
        self.job_halls = engine._job_halls
        # static power: optics on both ends of every link; switches when up
        self.optics_w = 2.0 * (n_gpus * fab.optic_w(fab.gpu_link_gbps)
                               + (net.n_ls_links + net.n_ss_links) * fab.optic_w(fab.spine.port_gbps))
        # front-end network: its leaves, and optics on both ends of the servers' and the uplinks' links
        fe = fab.frontend
        self.frontend_w = (net.n_fe_leaves * fe.leaf.power_w
                           + 2.0 * (net.n_fe_server_links * fab.optic_w(fe.nic_gbps)
                                    + net.n_fe_uplinks * fab.optic_w(fe.uplink_gbps)))
        self.frontend_uplink_gbs = net.n_fe_uplinks * fe.uplink_gbps / 8.0  # storage traffic's way out of the halls
        self.fe_leaf_uplink_gbs = fe.leaf_uplinks * fe.uplink_gbps / 8.0
        self.tray_fe_leaf = net.tray_fe_leaf
        # each job's share of each hall's servers (a hall's front-end uplinks carry the storage traffic of the
        # jobs on its servers, in proportion): (jobs, halls)
        nj, nh = engine.n_jobs, net.n_halls
        tray_hall = np.repeat(np.arange(nh), net.hall_servers)
        counts = np.zeros((nj + 1, nh))
        np.add.at(counts, (engine.tray_job, tray_hall), 1.0)
        self.job_hall_frac = counts[:nj] / np.maximum(net.hall_servers, 1)
        self.switch_w = np.concatenate([np.full(net.n_leaves, fab.leaf.power_w),
                                        np.full(net.n_spines, fab.spine.power_w),
                                        np.full(net.n_superspines, fab.superspine.power_w)])
        fl = fab.failures
        n_feeds = -(-net.n_leaves // fl.leaves_per_power_feed)
        year = 365.25 * 86400
        self._rates = np.array([fl.switch_per_switch_year / year * self.n_switches,
                                fl.gpu_link_per_link_day / 86400 * n_gpus,
                                fl.uplink_per_link_day / 86400 * (net.n_ls_links + net.n_ss_links),
                                fl.leaf_power_feed_per_year / year * n_feeds,
                                fl.frontend_nic_per_nic_year / year * net.n_fe_server_links,
                                fl.frontend_leaf_per_switch_year / year * net.n_fe_leaves])
        self._n_feeds = n_feeds
        cap = engine.telemetry.facility.capacity
        self.ring = Ring(cap, (len(FABRIC_CHANNELS),))
        self.index = {c: i for i, c in enumerate(FABRIC_CHANNELS)}
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        nj = self.e.n_jobs
        self.switch_ok = np.ones(self.n_switches, dtype=bool)
        self.link_ok = np.ones(self.n_links, dtype=bool)
        self.link_flapping = np.zeros(self.n_links, dtype=bool)
        self.link_flaps = np.zeros(self.n_links, dtype=np.int16)
        self.fe_nic_ok = np.ones(self.net.n_fe_server_links, dtype=bool)
        self.fe_leaf_ok = np.ones(self.net.n_fe_leaves, dtype=bool)
        self.flap_next: dict[int, float] = {}
        self.failures_by_kind = {k: 0 for k in FAILURE_KINDS}
        self.acc = {"lost_comm_gpu_s": 0.0, "timeouts": 0.0, "flaps": 0.0, "bisection_lost_s": 0.0,
                    "traffic_tb": 0.0}
        self.ring.clear()
        self.job_bw = np.ones(nj)
        self._dirty = True
        self._derive()

    _ARRAYS = ("switch_ok", "link_ok", "link_flapping", "link_flaps", "fe_nic_ok", "fe_leaf_ok")

    def snapshot(self) -> dict:
        snap = snapshot_part(self)
        snap["flap_next"] = [[int(k), float(v)] for k, v in self.flap_next.items()]
        return snap

    def restore(self, snap: dict) -> None:
        if "fe_nic_ok" not in snap:  # saved before the front-end network had state: all of it up
            snap = {**snap, "fe_nic_ok": np.ones_like(self.fe_nic_ok), "fe_leaf_ok": np.ones_like(self.fe_leaf_ok),
                    "failures_by_kind": {**dict.fromkeys(FAILURE_KINDS, 0), **snap["failures_by_kind"]}}
        restore_part(self, snap, "fabric")
        self.flap_next = {int(k): float(v) for k, v in snap["flap_next"]}
        self._dirty = True
        self._derive()

    # ------------------------------------------------------------------ derived figures
    def _derive(self) -> None:
        """Recompute what follows from switch and link state (only after a change)."""
        if not self._dirty:
            return
        net, e = self.net, self.e
        ok = self.switch_ok
        self.gpu_up = self.link_ok[:net.n_gpus] & ok[self.gpu_leaf]
        # GPUs out of the pool for the network, (trays, GPUs per tray), the engine's GPU order: a GPU here
        # leaves its job's power swing too and idles at its tray's idle level (Engine.tray_available)
        self.gpu_down = ~self.gpu_up.reshape(-1, net.gpus_per_tray)
        self.tray_gpus_down = self.gpu_down.sum(axis=1).astype(np.int32)
        # front-end network: servers cut off from it leave the pool whole (Engine.tray_available)
        self.tray_fe_down = ~self.fe_nic_ok | ~self.fe_leaf_ok[self.tray_fe_leaf]
        self.hall_fe_gbs = np.bincount(net.fe_leaf_hall, weights=self.fe_leaf_ok, minlength=net.n_halls
                                       ) * self.fe_leaf_uplink_gbs
        self.job_fe_gbs = self.job_hall_frac @ self.hall_fe_gbs  # the front-end uplinks each job writes through
        self.n_fe_nics_down = int((~self.fe_nic_ok).sum())
        self.n_fe_leaves_down = int((~self.fe_leaf_ok).sum())
        ls = slice(net.ls0, net.sl0)
        leaf_up = ok[self.ls_leaf]
        good = self.link_ok[ls] & ok[self.ls_spine] & leaf_up
        nh = net.n_halls
        denom = np.bincount(self.ls_hall, weights=leaf_up, minlength=nh)
        self.hall_bisection = np.where(denom > 0, np.bincount(self.ls_hall, weights=good, minlength=nh)
                                       / np.maximum(denom, 1), 1.0)
        sl = slice(net.sl0, net.n_links)
        good = self.link_ok[sl] & ok[self.sl_spine] & ok[self.sl_ss]
        self.hall_superspine = np.bincount(self.sl_hall, weights=good, minlength=nh) / np.maximum(self.hall_sl_total, 1)
        bw = np.ones(e.n_jobs)
        for j, halls in enumerate(self.job_halls):
            a = float(self.hall_bisection[halls].min())
            if len(halls) > 1:
                a = min(a, float(self.hall_superspine[halls].min()))
            bw[j] = max(a, 0.0)
        self.job_bw = bw
        n_ss_up = int(ok[net.ss0:].sum())
        fab = self.spec
        # the storage traffic is capped by the super-spines' storage uplinks (``storage_core_gbs``) and the
        # front-end network's uplinks: in all (``storage_uplink_gbs``) and per hall (``job_fe_gbs``)
        self.storage_core_gbs = n_ss_up * fab.storage_uplinks_per_superspine * e.facility.storage.uplink_gbps / 8.0
        self.storage_uplink_gbs = min(self.storage_core_gbs, float(self.hall_fe_gbs.sum()))
        self.storage_uplink_design_gbs = min(net.n_superspines * fab.storage_uplinks_per_superspine
                                             * e.facility.storage.uplink_gbps / 8.0, self.frontend_uplink_gbs)
        self.power_w = (float(self.switch_w @ ok) + self.optics_w + self.frontend_w
                        - self.n_fe_leaves_down * fab.frontend.leaf.power_w)
        self.n_links_down = int((~self.link_ok).sum())
        self.n_switches_down = int((~ok).sum())
        self._dirty = False
        e._tray_avail_dirty = True

    def bisection_frac(self) -> float:
        """The least bisection left in any hall (1 = all there)."""
        return float(self.hall_bisection.min()) if self.hall_bisection.size else 1.0

    # ------------------------------------------------------------------ faults and repairs
    def inject(self, kind: str, a: Address, cause: str) -> str | None:
        """Apply a fabric fault; returns the address to report, None if it changed nothing."""
        e, net = self.e, self.net
        rep = self.spec.repairs
        if kind in ("frontend_nic_failure", "frontend_leaf_failure"):
            return self._inject_frontend(kind, a, cause)
        if kind == "switch_failure":
            s = a.index
            if not self.switch_ok[s]:
                return None
            victims = self._jobs_on_gpus(net.gpus_of_leaf(s)) if a.kind == "leaf" else []
            self.switch_ok[s] = False
            self._dirty = True
            self._derive()
            addr = net.switch_address(s)
            for j in victims:
                e._interrupt_job(j, "network", addr)
            if cause in ("random", "power feed"):
                self.failures_by_kind["power_feed" if cause == "power feed" else a.kind] += 1
            self._schedule(addr, rep.switch_median_s)
            return addr
        link = a.index
        addr = net.link_address(link)
        if kind == "link_failure":
            if not self.link_ok[link]:
                return None
            victims = self._jobs_on_gpus(np.array([link])) if link < net.ls0 else []
            self.link_ok[link] = False
            self._dirty = True
            self._derive()
            for j in victims:
                e._interrupt_job(j, "network", addr)
            if cause == "random":
                self.failures_by_kind["gpu_link" if link < net.ls0 else "uplink"] += 1
        else:  # link_flap
            if self.link_flapping[link] or not self.link_ok[link]:
                return None
            self.link_flapping[link] = True
            self.link_flaps[link] = 0
            self.flap_next[link] = e.t + self._flap_gap()
            if cause == "random":
                self.failures_by_kind["flap"] += 1
        self._schedule(addr, rep.optic_median_s)
        return addr

    def _inject_frontend(self, kind: str, a: Address, cause: str) -> str | None:
        """A server's front-end NIC or a front-end leaf fails: the servers cut off leave the pool and their
        jobs are interrupted (like a back-end NIC failure) until the part is repaired."""
        e, rep = self.e, self.spec.repairs
        if kind == "frontend_nic_failure":
            if not self.fe_nic_ok[a.index]:
                return None
            trays = np.array([a.index])
            addr, key, median = self.fe_nic_address(a.index), "fe_nic", rep.frontend_nic_median_s
        else:
            if not self.fe_leaf_ok[a.index]:
                return None
            trays = self.net.trays_of_fe_leaf(a.index)
            addr, key, median = self.net.fe_leaf_address(a.index), "fe_leaf", rep.switch_median_s
        victims = self._jobs_on_trays(trays)
        if kind == "frontend_nic_failure":
            self.fe_nic_ok[a.index] = False
        else:
            self.fe_leaf_ok[a.index] = False
        self._dirty = True
        self._derive()
        for j in victims:
            e._interrupt_job(j, "network", addr)
        if cause == "random":
            self.failures_by_kind[key] += 1
        self._schedule(addr, median)
        return addr

    def fe_nic_address(self, tray: int) -> str:
        return f"{self.e.topo.tray_address(int(tray))}-FE"

    def _jobs_on_trays(self, trays: np.ndarray) -> list[int]:
        """Jobs that have any of these servers in their pool now."""
        e = self.e
        e.tray_available()
        trays = trays[e._tray_in_job[trays]]
        return [int(j) for j in np.unique(e.tray_job[trays])]

    def repair(self, a: Address) -> bool:
        if a.kind in ("fe_nic", "fe_leaf"):
            arr = self.fe_nic_ok if a.kind == "fe_nic" else self.fe_leaf_ok
            changed = not arr[a.index]
            arr[a.index] = True
            if changed:
                self._dirty = True
                self._derive()
            return changed
        if a.kind == "port":
            link = a.index
            changed = bool(not self.link_ok[link] or self.link_flapping[link])
            self.link_ok[link] = True
            self.link_flapping[link] = False
            self.link_flaps[link] = 0
            self.flap_next.pop(link, None)
        else:
            changed = not self.switch_ok[a.index]
            self.switch_ok[a.index] = True
        if changed:
            self._dirty = True
            self._derive()
        return changed

    def _jobs_on_gpus(self, gpus: np.ndarray) -> list[int]:
        """Jobs that have these GPUs in their pool now (GPUs up, tray in the job)."""
        e = self.e
        e.tray_available()
        gpus = gpus[self.gpu_up[gpus]]
        trays = gpus // self.net.gpus_per_tray
        trays = trays[e._tray_in_job[trays]]
        return [int(j) for j in np.unique(e.tray_job[trays])]

    def _flap_gap(self) -> float:
        """Seconds to a flapping link's next flap: 0.5-1.5 x the configured interval [E] (a marginal optic
        flaps irregularly, but not in bursts of several within seconds)."""
        return float(self.spec.flap_interval_s * self.rng.uniform(0.5, 1.5))

    def _schedule(self, address: str, median_s: float) -> None:
        e = self.e
        if not e.facility.failures.auto_repair:
            return
        dur = float(median_s * math.exp(self.spec.repairs.sigma * self.rng.standard_normal()))
        e.pending_repairs.append((e.t + dur, "network", address))

    # ------------------------------------------------------------------ the step
    def step(self, dt: float) -> None:
        self._random_failures(dt)
        if self.flap_next:
            self._flaps()
        self._derive()

    def _random_failures(self, dt: float) -> None:
        total = float(self._rates.sum())
        if total <= 0:
            return
        n = int(self.rng.poisson(total * dt))
        net, e, rng = self.net, self.e, self.rng
        for _ in range(n):
            which = int(rng.choice(len(self._rates), p=self._rates / total))
            if which == 0:
                s = int(rng.integers(self.n_switches))
                e.inject("switch_failure", net.switch_address(s), cause="random")
            elif which in (1, 2):
                if which == 1:
                    link = int(rng.integers(net.n_gpus))
                else:
                    link = net.ls0 + int(rng.integers(net.n_ls_links + net.n_ss_links))
                kind = "link_flap" if rng.random() < self.spec.failures.flap_share else "link_failure"
                e.inject(kind, net.link_address(link), cause="random")
            elif which == 4:
                e.inject("frontend_nic_failure", self.fe_nic_address(int(rng.integers(net.n_fe_server_links))),
                         cause="random")
            elif which == 5:
                e.inject("frontend_leaf_failure", net.fe_leaf_address(int(rng.integers(net.n_fe_leaves))),
                         cause="random")
            else:
                per = self.spec.failures.leaves_per_power_feed
                first = int(rng.integers(self._n_feeds)) * per
                for s in range(first, min(first + per, net.n_leaves)):
                    e.inject("switch_failure", net.switch_address(s), cause="power feed")

    def _flaps(self) -> None:
        e, net = self.e, self.net
        due = [k for k, t in self.flap_next.items() if t <= e.t]
        for link in due:
            self.link_flaps[link] += 1
            self.acc["flaps"] += 1
            addr = net.link_address(link)
            n = int(self.link_flaps[link])
            e._event("link_flapped", addr, f"flap {n}")
            if link < net.ls0 and n >= self.spec.flaps_to_timeout:
                # the job's collectives time out; its health check takes the link out of service
                victims = self._jobs_on_gpus(np.array([link]))
                self.link_ok[link] = False
                self._dirty = True
                self._derive()
                self.flap_next.pop(link)
                if victims:  # a drained server's link times out nothing: no job uses it
                    self.acc["timeouts"] += 1
                    e._event("collective_timeout", addr, f"after {n} flaps")
                for j in victims:
                    e._interrupt_job(j, "network", addr)
            else:
                self.flap_next[link] = e.t + self._flap_gap()

    # ------------------------------------------------------------------ after the step
    def job_traffic(self) -> np.ndarray:
        """Per job: the fraction of its GPU links' rate in use now (comm phase: the bandwidth left)."""
        e = self.e
        out = np.zeros(e.n_jobs)
        for j, job in enumerate(e.jobs):
            if e.job_state[j] != 0:  # not running
                continue
            computing = (e.job_phase_t[j] % job.iteration_s) < job.compute_fraction * job.iteration_s
            out[j] = self.spec.compute_phase_traffic if computing else self.job_bw[j]
        return out

    def record(self, dt: float) -> None:
        e = self.e
        traffic = self.job_traffic()
        tbps = float((traffic * e.job_gpus).sum()) * self.spec.gpu_link_gbps * self.spec.throughput_efficiency / 1e3
        self.acc["traffic_tb"] += tbps * dt / 8.0
        bis = self.bisection_frac()
        self.acc["bisection_lost_s"] += (1.0 - bis) * dt
        row = self.ring.next_row()
        row[:] = (e.t, tbps, bis, self.n_links_down, float(len(self.flap_next)), self.n_switches_down,
                  self.power_w / 1e3)
        self.ring.commit()

    def series(self, name: str) -> np.ndarray:
        return self.ring.view()[:, self.index[name]]

    def summary(self) -> dict:
        net = self.net
        return {
            "leaves": net.n_leaves, "spines": net.n_spines, "superspines": net.n_superspines,
            "links": net.n_links, "links_down": self.n_links_down, "links_flapping": len(self.flap_next),
            "switches_down": self.n_switches_down, "power_mw": self.power_w / 1e6,
            "frontend_leaves": net.n_fe_leaves, "frontend_power_mw": self.frontend_w / 1e6,
            "frontend_uplink_gbs": self.frontend_uplink_gbs,
            "frontend_uplink_gbs_now": float(self.hall_fe_gbs.sum()),
            "frontend_nics_down": self.n_fe_nics_down, "frontend_leaves_down": self.n_fe_leaves_down,
            "bisection_min": self.bisection_frac(),
            "bisection_lost_hours": self.acc["bisection_lost_s"] / 3600.0,
            "comm_slowdown_gpu_hours": self.acc["lost_comm_gpu_s"] / 3600.0,
            "collective_timeouts": int(self.acc["timeouts"]), "flaps": int(self.acc["flaps"]),
            "traffic_pb": self.acc["traffic_tb"] / 1e3,
            "failures_by_kind": dict(self.failures_by_kind),
        }
