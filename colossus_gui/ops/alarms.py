"""Alarms: warning/critical limits with hysteresis and on-delay, evaluated on the engine's arrays.

Each rule looks at one value per component (rack, CDU, door, tray, hall, chiller, turbine, job or the site)
and keeps its level per component in a small numpy array. ``evaluate(engine)`` compares whole arrays; Python
objects are built only for components whose level changed. One alarm per (component, rule): a rack that
overheats raises one rack alarm whose detail names the hot GPUs -- never one alarm per GPU.

Alarm states (ISA-18.2 style): active-unacknowledged -> active-acknowledged -> cleared (archived), or
active-unacknowledged -> cleared-unacknowledged -> cleared (archived) when the condition goes away before
anyone acknowledged it. A condition that returns before archiving re-activates the same alarm; a rise from
warning to critical asks for a new acknowledgement. Shelved alarms keep being evaluated but are hidden from
the list and counts until the shelf time runs out.

Every change an operator would want on the run's timeline goes into the run's one event log (the engine's)
as a typed event: ``alarm_raised`` (a raise that needs an acknowledgement: first raise, return before
archiving, rise to critical), ``alarm_lowered``, ``alarm_acknowledged`` (with who), ``alarm_cleared``,
``alarm_shelved`` / ``alarm_unshelved``. Readers (training's score, triggers, the event log panel) read them
there with their cursor. Only transitions are logged, never a standing alarm per evaluation.

Pseudo-addresses: site-wide rules (facility water, Megapack state of charge) use ``SITE``; grid import uses
``GRID``; job interruptions use the job's first hall (``H1``) and name the job in the detail.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..model.ops_config import LOW_RULES, AlarmConfig, AlarmRuleSpec
from ..model.thresholds import QUANTITIES, Limits, Quantity
from ..sim.events import ALARM, EventKind
from ..sim.health import turbines_tripped
from ..sim.time_to_limit import time_to_limit_text

WARNING, CRITICAL = 1, 2
_NET_EVENTS = frozenset({"fault_started", "fault_cleared", "link_flapped", "collective_timeout", "rebuild_started",
                         "rebuild_finished"})
SEVERITY_NAMES = {WARNING: "warning", CRITICAL: "critical"}
CLEARED_PREFIX = "when raised: "  # a cleared alarm's detail describes the condition that raised it
ACTIVE_UNACKED, ACTIVE_ACKED, CLEARED_UNACKED, CLEARED = (
    "active_unacknowledged", "active_acknowledged", "cleared_unacknowledged", "cleared")


# what ``_notify`` was told -> the event it logs (kind, the start of its detail)
_LOGGED = {"raised": (EventKind.ALARM_RAISED, "{sev} raised"),
           "reactivated": (EventKind.ALARM_RAISED, "{sev} raised again before archiving"),
           "escalated": (EventKind.ALARM_RAISED, "escalated to {sev}"),
           "changed": (EventKind.ALARM_LOWERED, "lowered to {sev}"),
           "acknowledged": (EventKind.ALARM_ACKED, "acknowledged"),
           "cleared": (EventKind.ALARM_CLEARED, "cleared"),
           "shelved": (EventKind.ALARM_SHELVED, "shelved"),
           "unshelved": (EventKind.ALARM_UNSHELVED, "unshelved")}


class AlarmError(ValueError):
    """A request the alarm manager cannot carry out (unknown alarm id, bad shelve time)."""


@dataclass
class Alarm:
    id: int
    rule: str
    component: str
    severity: int
    raised_t: float
    value: float
    limit: float
    unit: str
    label: str
    detail: str = ""
    rack: int = -1  # rack index for colouring views (-1: not in a rack)
    hall: int = -1
    active: bool = True
    acked: bool = False
    acked_t: float | None = None
    acked_by: str | None = None
    cleared_t: float | None = None
    shelved_until: float | None = None
    archived: bool = False
    peak_severity: int = 0
    raised_value: float = math.nan  # the value when the alarm was (last) raised
    peak_value: float = math.nan  # the worst value while active (highest; lowest for falling limits)
    index: int = -1  # the component's index among its rule's (rack, tray, hall, chiller, turbine, switch, job)

    @property
    def quantity(self) -> Quantity:
        return QUANTITIES.get(self.rule) or Quantity(self.label, self.unit, 1.0, 3)

    def fmt(self, value: float) -> str:
        """A value of this alarm in the units an operator reads ('89.3 °C', '45 % of design')."""
        return self.quantity.fmt(value)

    @property
    def state(self) -> str:
        if self.active:
            return ACTIVE_ACKED if self.acked else ACTIVE_UNACKED
        return CLEARED if self.acked else CLEARED_UNACKED

    @property
    def severity_name(self) -> str:
        return SEVERITY_NAMES[self.severity]

    @property
    def message(self) -> str:
        return f"{self.label} {self.fmt(self.value)} (limit {self.fmt(self.limit)})"

    def to_row(self) -> dict:
        """Plain data for the store and for exports."""
        return {"id": self.id, "rule": self.rule, "component": self.component, "severity": self.severity,
                "state": self.state, "raised_t": self.raised_t, "acked_t": self.acked_t,
                "acked_by": self.acked_by, "cleared_t": self.cleared_t, "value": _finite(self.value),
                "limit_value": _finite(self.limit), "unit": self.unit, "detail": self.detail,
                "shelved_until": self.shelved_until, "archived": self.archived, "peak_severity": self.peak_severity,
                "raised_value": _finite(self.raised_value), "peak_value": _finite(self.peak_value)}


def _finite(x) -> float | None:
    """A reading as plain data: None where there is no number (a time-to-limit alarm whose estimate has
    gone to 'none' is infinite; the store and CSV keep numbers only)."""
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class _Rule:
    """One rule over ``n`` components. ``value`` reads the engine; ``quiet`` (optional) says cheaply that
    every component is certainly fine, so a healthy facility costs one call per rule. ``static`` rules read
    state that changes only with an engine event (a part failed or was repaired, a job interrupted): they
    are evaluated only when such an event came or an on-delay is running."""

    name: str
    label: str
    unit: str
    n: int
    value: Callable[[object], np.ndarray]
    address: Callable[[int], str]
    rack_of: Callable[[int], int] = lambda i: -1
    hall_of: Callable[[int], int] = lambda i: -1
    detail: Callable[[object, int], str] | None = None
    quiet: Callable[[object], bool] | None = None
    static: bool = False
    level: np.ndarray = field(init=False)
    pending: np.ndarray = field(init=False)
    tracked: np.ndarray = field(init=False)  # bool: a level or a pending raise
    n_tracked: int = 0
    n_pending: int = 0

    def __post_init__(self):
        self.level = np.zeros(self.n, dtype=np.int8)
        self.pending = np.full(self.n, np.nan)
        self.tracked = np.zeros(self.n, dtype=bool)


class AlarmManager:
    """All alarm rules of one engine. ``evaluate(engine)`` once per simulated step (or every
    ``config.evaluate_every_s``); ``acknowledge``, ``shelve``; ``alarms()`` lists what an operator sees."""

    def __init__(self, engine, config: AlarmConfig | None = None, next_id: int = 1):
        self.config = cfg = config or AlarmConfig()
        self.thresholds = Limits(cfg)  # the one definition views, charts and tooltips read too
        self.topo = topo = engine.topo
        self.n_racks = topo.n_racks
        self._next_id = int(next_id)
        self._by_key: dict[tuple[str, int], Alarm] = {}
        self._by_id: dict[int, Alarm] = {}
        self.history: deque[Alarm] = deque(maxlen=cfg.history_size or None)
        self.listeners: list[Callable[[Alarm, str], None]] = []  # (alarm, what) after every change
        self._changed: list[Alarm] = []
        self._eval_changed: list[Alarm] | None = None
        self._n_shelved = 0
        self.event_cursor = engine.events.cursor()
        self._engine = engine  # the run's event log is the engine's: alarm changes are logged there
        self._last_eval_t = -math.inf
        self.t = float(engine.t)
        self.revision = 0  # bumps on every change (views redraw only when it moved)
        self.raised_count = {WARNING: 0, CRITICAL: 0}
        self.ack_times_s: list[float] = []
        # tray-level equipment faults are event-driven: recount only trays an event named
        self._tray_faults = np.zeros(topo.n_trays, dtype=np.int16)
        self._tray_dirty: set[int] = set()
        self._rescan_trays = True
        # job interruptions in a sliding window
        self._job_names = {j.name: i for i, j in enumerate(engine.jobs)}
        self._job_times: list[deque[float]] = [deque() for _ in engine.jobs]
        self._job_hall = [topo.hall_names.index(j.halls[0]) for j in engine.jobs]
        self._rules = self._build_rules(engine)
        self._dirty: set[str] = {r.name for r in self._rules if r.static}  # first evaluation checks all
        self._specs: dict[str, AlarmRuleSpec] = {r.name: getattr(cfg.rules, r.name) for r in self._rules}
        self._thresholds = {r.name: self._flip(r.name) for r in self._rules}

    # ------------------------------------------------------------------ rule table
    def _build_rules(self, engine) -> list[_Rule]:
        topo, nr = self.topo, self.n_racks
        rack = topo.rack_address
        hall_of_rack = topo.rack_hall
        tpr, gpt = topo.trays_per_rack, topo.gpus_per_tray
        hall_start = topo.hall_rack_start[:-1]
        hall_gpus = np.diff(topo.hall_rack_start).astype(np.float64) * topo.gpus_per_rack
        rk = dict(rack_of=lambda i: i, hall_of=lambda i: int(hall_of_rack[i]))

        def hot_gpus(e, r: int) -> str:
            # every GPU past the warning limit, and the text says which limit (the Limit column may be critical)
            th = self.thresholds["gpu_temp"]
            lim = th.warning if th.warning is not None else th.critical
            idx = np.flatnonzero(e.tj[r] >= lim)
            if not idx.size:
                return ""
            order = idx[np.argsort(-e.tj[r, idx])]
            names = [f"{topo.gpu_address(r * topo.gpus_per_rack + int(g))} {float(e.tj[r, g]):.1f} °C"
                     for g in order[:16]]
            more = f" and {idx.size - 16} more" if idx.size > 16 else ""
            which = "warning" if th.warning is not None else "critical"
            return f"{idx.size} GPU(s) at or above the {which} limit {th.fmt(lim)}: " + ", ".join(names) + more

        def throttled(e, r: int) -> str:
            idx = np.flatnonzero(e.gpu_clock[r] < 0.999)
            names = [topo.gpu_address(r * topo.gpus_per_rack + int(g)) for g in idx[:16]]
            return f"{idx.size} GPU(s) throttled: " + ", ".join(names) + (" ..." if idx.size > 16 else "")

        def failed_pumps(e, r: int) -> str:
            return "failed: " + ", ".join(topo.pump_address(r, int(i)) for i in np.flatnonzero(~e.pump_ok[r]))

        def failed_fans(e, r: int) -> str:
            return "failed: " + ", ".join(topo.fan_address(r, int(i)) for i in np.flatnonzero(~e.fan_ok[r]))

        def tray_faults(e, tray: int) -> str:
            r, t0 = divmod(tray, tpr)
            parts = [topo.gpu_address(tray * gpt + int(g)) for g in np.flatnonzero(~e.gpu_ok[r, t0 * gpt:(t0 + 1) * gpt])]
            parts += [f"{topo.tray_address(tray)}-N{int(i) + 1}" for i in np.flatnonzero(~e.nic_ok[tray])]
            parts += [f"{topo.tray_address(tray)}-PSU{int(i) + 1}" for i in np.flatnonzero(~e.psu_ok[tray])]
            if e.tray_hw_failed[tray]:
                parts.append(f"{topo.tray_address(tray)} (board: GSP, thermal interface, SSD, CPU, memory, chassis)")
            return "failed: " + ", ".join(parts)

        def flow_detail(e, r: int) -> str:
            why = []
            if (~e.pump_ok[r]).any():
                why.append(f"{int((~e.pump_ok[r]).sum())} pump(s) down")
            if e.leak[r]:
                why.append(f"leak, loop at {e.loop_inventory[r]:.0%}")
            if e.rack_isolated[r]:
                why.append("rack isolated")
            return "; ".join(why)

        def failed_per_rack(ok: np.ndarray) -> np.ndarray:
            # bincount of the failed flat indices: ~8x faster than a bool sum along a short axis
            return np.bincount(np.flatnonzero(~ok.ravel()) // ok.shape[1], minlength=nr)

        def chiller_cap(e) -> np.ndarray:
            cap = getattr(e, "chiller_capacity", None)  # degraded chillers (ramped faults)
            return cap if cap is not None else np.ones(topo.n_chillers)

        def chiller_lost(e) -> np.ndarray:
            return 1.0 - e.chiller_ok * chiller_cap(e)

        def gpus_down(e) -> np.ndarray:
            e.tray_available()  # refreshes rack_gpus_up if a technician action made it stale
            return 1.0 - np.add.reduceat(e.rack_gpus_up, hall_start).astype(np.float64) / hall_gpus

        def grid_ratio(e) -> np.ndarray:
            avail = e.grid_avail_w
            g = e.grid_w if math.isfinite(e.grid_w) else 0.0
            return np.array([g / avail if avail > 0 else 1.0])

        def job_count(e) -> np.ndarray:
            return np.array([len(q) for q in self._job_times], dtype=np.float64)

        def job_detail(e, j: int) -> str:
            return f"{e.jobs[j].name}: {len(self._job_times[j])} interruption(s) in the last " \
                   f"{self.config.job_window_s / 60:g} min"

        def supply_protection_detail(e, h: int) -> str:
            in_hall = hall_of_rack == h
            n_trip = int(e.rack_supply_tripped[in_hall].sum())
            sup = float(e.rack_fw_c[in_hall].max())
            p = e.facility.site.protection
            if n_trip:
                return f"{n_trip} rack(s) tripped: CDU facility supply {sup:.1f} C (trip {p.trip_c:g} C)"
            return f"GPU power capped: CDU facility supply {sup:.1f} C (cap from {p.cap_start_c:g} C)"

        cdu = lambda i: rack(i) + "-CDU"  # noqa: E731
        net = topo.net
        fab = engine.fabric

        def switch_detail(e, s: int) -> str:
            if s < net.spine0:
                gpus = net.gpus_of_leaf(s)
                return f"{gpus.size} GPUs off the fabric: {topo.gpu_address(int(gpus[0]))} ... " \
                       f"{topo.gpu_address(int(gpus[-1]))}"
            if s < net.ss0:
                h = net.switch_hall(s)
                return f"{topo.hall_names[h]} bisection {e.fabric.hall_bisection[h]:.1%} of design"
            return f"storage uplinks {e.fabric.storage_uplink_gbs:.0f} GB/s"

        def bad_links(e) -> np.ndarray:
            f = e.fabric
            return np.flatnonzero(~f.link_ok | f.link_flapping)

        def link_detail(e, s: int) -> str:
            links = bad_links(e)
            links = links[fab.link_switch[links] == s]
            f = e.fabric
            names = [net.link_address(int(k)) + (" flapping" if f.link_flapping[k] and f.link_ok[k] else " down")
                     for k in links[:12]]
            return ", ".join(names) + (" ..." if links.size > 12 else "")

        def storage_lost(e) -> np.ndarray:
            st = e.storage
            return np.array([1.0 - st.write_bw_gbs / st.design_gbs if st.design_gbs else 0.0])

        def storage_detail(e, i: int) -> str:
            st = e.storage
            return (f"{st.write_bw_gbs:.0f} of {st.design_gbs:.0f} GB/s; {st.n_nodes_down} node(s) and "
                    f"{st.n_drives_down} drive(s) down; {len(st.rebuild_progress())} rebuild(s) running")

        rules = [
            _Rule("gpu_temp", "GPU temperature", "°C", nr, lambda e: e.rack_hottest_c, rack, detail=hot_gpus, **rk),
            _Rule("gpu_throttle", "GPUs throttled", "GPUs", nr, lambda e: e.rack_throttled, rack,
                  detail=throttled, quiet=lambda e: not e.rack_throttled.any(), **rk),
            _Rule("rack_return_temp", "Rack return temperature", "°C", nr, lambda e: e.t_ret, rack, **rk),
            _Rule("coolant_flow", "Coolant flow", "of design", nr, lambda e: e.flow_frac, cdu, detail=flow_detail,
                  **rk),
            _Rule("pump_state", "CDU pumps failed", "pumps", nr, lambda e: failed_per_rack(e.pump_ok), cdu,
                  detail=failed_pumps, quiet=lambda e: e.pump_ok.all(), static=True, **rk),
            _Rule("fan_state", "Rear-door fans failed", "fans", nr, lambda e: failed_per_rack(e.fan_ok),
                  lambda i: rack(i) + "-RDHX", detail=failed_fans, quiet=lambda e: e.fan_ok.all(), static=True, **rk),
            _Rule("leak", "Coolant leak", "", nr, lambda e: e.leak.astype(np.float64), cdu,
                  detail=lambda e, r: f"loop inventory {e.loop_inventory[r]:.0%}", quiet=lambda e: not e.leak.any(),
                  static=True, **rk),
            _Rule("equipment_fault", "Failed parts in server", "parts", topo.n_trays,
                  lambda e: self._tray_faults, topo.tray_address, rack_of=lambda i: i // tpr,
                  hall_of=lambda i: int(hall_of_rack[i // tpr]), detail=tray_faults,
                  quiet=lambda e: not self._tray_faults.any(), static=True),
            _Rule("facility_supply_temp", "Facility water supply", "°C", 1, lambda e: np.array([e.t_fs]),
                  lambda i: "SITE"),
            _Rule("chiller_state", "Chiller capacity lost", "of rating", topo.n_chillers, chiller_lost,
                  topo.chiller_address, quiet=lambda e: e.chiller_ok.all() and not (chiller_cap(e) < 1.0).any()),
            _Rule("grid_import", "Grid import / available", "", 1, grid_ratio, lambda i: "GRID",
                  detail=lambda e, i: f"{e.grid_w / 1e6:.1f} MW of {e.grid_avail_w / 1e6:.1f} MW available"),
            _Rule("megapack_soc", "Megapack state of charge", "", 1, lambda e: np.array([e.soc]), lambda i: "SITE"),
            _Rule("turbine_state", "Turbine tripped", "", topo.n_turbines, lambda e: turbines_tripped(e).astype(float),
                  topo.turbine_address, quiet=lambda e: not turbines_tripped(e).any(), static=True),
            _Rule("gpus_out_of_service", "GPUs out of service", "of hall", topo.n_halls, gpus_down,
                  topo.hall_address, hall_of=lambda i: i,
                  detail=lambda e, h: f"{int(hall_gpus[h] - e.rack_gpus_up[topo.rack_hall == h].sum())} of "
                                      f"{int(hall_gpus[h])} GPUs out of the job pool"),
            _Rule("job_interruptions", "Job interruptions", "in window", len(self._job_times), job_count,
                  lambda j: topo.hall_names[self._job_hall[j]], hall_of=lambda j: self._job_hall[j],
                  detail=job_detail, quiet=lambda e: not any(self._job_times), static=True),
            _Rule("supply_protection", "CDU supply high-temperature protection", "", topo.n_halls,
                  lambda e: e.hall_supply_state.astype(np.float64), topo.hall_address, hall_of=lambda i: i,
                  detail=lambda e, h: supply_protection_detail(e, h),
                  quiet=lambda e: not e.hall_supply_state.any()),
            _Rule("cpu_trip", "Host CPUs shut down by heat", "", nr, lambda e: e.rack_cpu_tripped.astype(np.float64),
                  rack, detail=lambda e, r: f"CPUs at {e.rack_cpu_c[r]:.0f} C: the rack's trays are off",
                  quiet=lambda e: not e.rack_cpu_tripped.any(), **rk),
            _Rule("time_to_shutdown", "Time to GPU shutdown", "s", nr, lambda e: e.rack_t_shutdown_s, rack,
                  detail=lambda e, r: f"{rack(r)}: {time_to_limit_text(e, r)}",
                  quiet=lambda e: not np.isfinite(e.rack_t_shutdown_s).any(), **rk),
            _Rule("hall_power", "Hall feeder tripped", "", topo.n_halls,
                  lambda e: e.hall_power_tripped.astype(np.float64), topo.hall_address, hall_of=lambda i: i,
                  detail=lambda e, h: "power shortfall: the hall's IT, CDU pumps, door fans and air handlers are off",
                  quiet=lambda e: not e.hall_power_tripped.any()),
            _Rule("power_shortfall", "Power not served", "MW", 1, lambda e: np.array([e.unserved_w / 1e6]),
                  lambda i: "GRID", detail=lambda e, i: f"grid {e.grid_w / 1e6:.1f} MW, Megapacks "
                  f"{e.batt_w / 1e6:.1f} MW, turbines {float(e.gt_w.sum()) / 1e6:.1f} MW; shedding {e.shed_frac:.0%}"),
            # network and storage (sim/fabric.py, sim/storage.py)
            _Rule("switch_state", "Fabric switch down", "", net.n_switches,
                  lambda e: (~e.fabric.switch_ok).astype(np.float64), net.switch_address,
                  hall_of=lambda s: net.switch_hall(s), detail=switch_detail,
                  quiet=lambda e: e.fabric.n_switches_down == 0, static=True),
            _Rule("link_state", "Fabric links down or flapping", "links", net.n_switches,
                  lambda e: np.bincount(fab.link_switch[bad_links(e)], minlength=net.n_switches).astype(np.float64),
                  net.switch_address, hall_of=lambda s: net.switch_hall(s), detail=link_detail,
                  quiet=lambda e: e.fabric.n_links_down == 0 and not e.fabric.flap_next, static=True),
            _Rule("frontend_state", "Front-end NIC or leaf down: servers cut off", "servers", net.n_fe_leaves,
                  lambda e: np.bincount(net.tray_fe_leaf, weights=e.fabric.tray_fe_down, minlength=net.n_fe_leaves),
                  net.fe_leaf_address, hall_of=lambda i: int(net.fe_leaf_hall[i]),
                  detail=lambda e, i: ("front-end leaf down: " if not e.fabric.fe_leaf_ok[i] else "front-end NICs "
                                       "down: ") + ", ".join(e.fabric.fe_nic_address(int(t)) for t in
                                                             net.trays_of_fe_leaf(i)[e.fabric.tray_fe_down[
                                                                 net.trays_of_fe_leaf(i)]][:8]),
                  quiet=lambda e: e.fabric.n_fe_nics_down == 0 and e.fabric.n_fe_leaves_down == 0, static=True),
            _Rule("storage_degraded", "Storage write bandwidth lost", "of design", 1, storage_lost,
                  lambda i: "STORAGE", detail=storage_detail,
                  quiet=lambda e: e.storage.write_bw_gbs >= e.storage.design_gbs, static=True),
        ]
        return [r for r in rules if getattr(self.config.rules, r.name).enabled and r.n > 0]

    def _flip(self, name: str) -> tuple[float, float, float, float]:
        """Limits in 'higher is worse' space: (warning, critical, hysteresis, lowest limit)."""
        spec: AlarmRuleSpec = getattr(self.config.rules, name)
        sign = -1.0 if name in LOW_RULES else 1.0
        w = sign * spec.warning if spec.warning is not None else math.inf
        c = sign * spec.critical if spec.critical is not None else math.inf
        return w, c, spec.hysteresis, min(w, c)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, engine, force: bool = False) -> list[Alarm]:
        """Check every rule against the engine's current state. Returns the alarms that changed."""
        t = float(engine.t)
        self.t = t
        self._read_events(engine)
        if not force and t - self._last_eval_t < self.config.evaluate_every_s - 1e-9:
            return []
        self._last_eval_t = t
        self._eval_changed: list[Alarm] = []
        if self._rescan_trays or self._tray_dirty:
            self._update_tray_faults(engine)
        dirty = self._dirty
        for rule in self._rules:
            if rule.static and not rule.n_pending and rule.name not in dirty:
                continue  # its inputs change only with an event, and none came
            if not rule.n_tracked and rule.quiet is not None and rule.quiet(engine):
                continue
            self._evaluate_rule(engine, rule, t)
        self._tray_dirty.clear()
        self._rescan_trays = False
        dirty.clear()
        if self._n_shelved:
            self._expire_shelves(t)
        out, self._eval_changed = self._eval_changed, None
        return out

    def _evaluate_rule(self, engine, rule: _Rule, t: float) -> None:
        w, c, h, lowest = self._thresholds[rule.name]
        values = rule.value(engine)
        sv = values if rule.name not in LOW_RULES else -values
        if rule.n_tracked:
            cand = np.flatnonzero((sv >= lowest - h) | rule.tracked)
        else:
            if not (sv >= lowest).any():
                return  # nothing near a limit and nothing in alarm: the common case
            cand = np.flatnonzero(sv >= lowest - h)
        if not cand.size:
            return
        delay = self._specs[rule.name].on_delay_s - 1e-9
        if cand.size <= 64:
            moved = self._levels_few(rule, cand.tolist(), sv, w, c, h, delay, t)
        else:
            moved = self._levels_many(rule, cand, sv, w, c, h, delay, t)
        for i, old, new in moved:
            self._transition(engine, rule, i, old, new, float(values[i]), t)
        self._track_values(rule, cand, values)

    def _track_values(self, rule: _Rule, cand: np.ndarray, values: np.ndarray) -> None:
        """Keep 'now' and 'peak' of the rule's active alarms (only components near a limit are looked at)."""
        act = cand[rule.level[cand] > 0]
        low = rule.name in LOW_RULES
        for i in act.tolist():
            alarm = self._by_key.get((rule.name, i))
            if alarm is None or not alarm.active:
                continue
            v = float(values[i])
            alarm.value = v
            p = alarm.peak_value
            if p != p or (v < p if low else v > p):
                alarm.peak_value = v

    @staticmethod
    def _levels_few(rule: _Rule, cand: list[int], sv, w, c, h, delay, t) -> list[tuple[int, int, int]]:
        """The level logic for a handful of components: plain Python beats a dozen tiny numpy calls."""
        level, pending, tracked = rule.level, rule.pending, rule.tracked
        moved = []
        for i in cand:
            v = float(sv[i])
            cur = int(level[i])
            target = CRITICAL if v >= c else (WARNING if v >= w else 0)
            if cur == CRITICAL and v > c - h:
                target = CRITICAL
            elif cur >= WARNING and v > w - h and target < WARNING:
                target = WARNING
            p = float(pending[i])
            was_pending = p == p
            if target > cur:
                if not was_pending:
                    p = t
                if t - p >= delay:
                    new, p = target, math.nan
                else:
                    new = cur
            else:
                new, p = target, math.nan
            is_pending = p == p
            if is_pending != was_pending:
                rule.n_pending += 1 if is_pending else -1
            pending[i] = p
            level[i] = new
            now = new != 0 or is_pending
            if now != tracked[i]:
                tracked[i] = now
                rule.n_tracked += 1 if now else -1
            if new != cur:
                moved.append((i, cur, new))
        return moved

    @staticmethod
    def _levels_many(rule: _Rule, cand: np.ndarray, sv, w, c, h, delay, t) -> list[tuple[int, int, int]]:
        """The same logic on arrays (a plant-wide upset: hundreds of racks at once)."""
        v = np.asarray(sv[cand], dtype=np.float64)
        cur = rule.level[cand]
        raw = np.where(v >= c, CRITICAL, np.where(v >= w, WARNING, 0))
        hold = np.where((cur == CRITICAL) & (v > c - h), CRITICAL, np.where((cur >= WARNING) & (v > w - h), WARNING, 0))
        target = np.maximum(raw, hold).astype(np.int8)
        up = target > cur
        pend = rule.pending[cand]
        pend = np.where(up & np.isnan(pend), t, np.where(up, pend, np.nan))
        ready = up & (t - pend >= delay)
        new = np.where(up & ~ready, cur, target).astype(np.int8)
        pend = np.where(ready, np.nan, pend)
        rule.pending[cand] = pend
        rule.level[cand] = new
        now = (new != 0) | ~np.isnan(pend)
        rule.n_tracked += int(now.sum()) - int(rule.tracked[cand].sum())
        rule.tracked[cand] = now
        rule.n_pending = int(np.count_nonzero(~np.isnan(rule.pending)))
        k = np.flatnonzero(new != cur)
        return list(zip(cand[k].tolist(), cur[k].tolist(), new[k].tolist(), strict=True))

    def _transition(self, engine, rule: _Rule, i: int, old: int, new: int, value: float, t: float) -> None:
        key = (rule.name, i)
        alarm = self._by_key.get(key)
        spec = self._specs[rule.name]
        limit_for = {WARNING: spec.warning, CRITICAL: spec.critical}
        detail = rule.detail(engine, i) if rule.detail is not None and new else ""
        if new:
            limit = float(limit_for[new])
            if alarm is None:
                alarm = Alarm(id=self._next_id, rule=rule.name, component=rule.address(i), severity=new, raised_t=t,
                              value=value, limit=limit, unit=rule.unit, label=rule.label, detail=detail,
                              rack=rule.rack_of(i), hall=rule.hall_of(i), peak_severity=new,
                              raised_value=value, peak_value=value, index=i)
                self._next_id += 1
                self._by_key[key] = alarm
                self._by_id[alarm.id] = alarm
                self.raised_count[new] += 1
                self._notify(alarm, "raised")
                return
            reactivated = not alarm.active
            escalated = not reactivated and new > alarm.severity
            alarm.active, alarm.cleared_t = True, None
            alarm.severity, alarm.value, alarm.limit = new, value, limit
            alarm.detail = detail or alarm.detail.removeprefix(CLEARED_PREFIX)
            if reactivated or escalated:  # a new condition: it needs a new acknowledgement
                self.raised_count[new] += 1
                alarm.acked, alarm.acked_t, alarm.acked_by = False, None, None
            if reactivated:
                alarm.raised_t = t
                alarm.raised_value = alarm.peak_value = value
            elif value == value and (value < alarm.peak_value if rule.name in LOW_RULES else value > alarm.peak_value):
                alarm.peak_value = value
            alarm.peak_severity = max(alarm.peak_severity, new)
            self._notify(alarm, "reactivated" if reactivated else ("escalated" if escalated else "changed"))
            return
        if alarm is None:
            return
        alarm.active, alarm.cleared_t, alarm.value = False, t, value
        if alarm.detail and not alarm.detail.startswith(CLEARED_PREFIX):
            alarm.detail = CLEARED_PREFIX + alarm.detail  # what it was, not what is
        if alarm.acked:
            self._archive(alarm)
        self._notify(alarm, "cleared")

    # ------------------------------------------------------------------ event-driven inputs
    def _read_events(self, engine) -> None:
        batch = engine.events.since(self.event_cursor)
        self.event_cursor = batch.cursor
        if batch.rewound or engine.t < self._last_eval_t:
            # the engine went back to a snapshot under us: recount everything event-driven
            self.mark_all_dirty()
            self._last_eval_t = -math.inf
            for q in self._job_times:
                q.clear()
        topo, dirty = self.topo, self._dirty
        for ev in batch.events:
            if ev.kind in (EventKind.FAULT_STARTED, EventKind.FAULT_CLEARED):
                comp = ev.component
                if comp == "turbine":
                    dirty.add("turbine_state")
                elif comp in ("cdu", "pump"):
                    dirty.update(("pump_state", "leak"))
                elif comp in ("rdhx", "fan"):
                    dirty.add("fan_state")
                elif comp == "gpu":
                    self._tray_dirty.add(ev.index // topo.gpus_per_tray)
                elif comp in ("tray", "nic", "psu", "cpu"):
                    self._tray_dirty.add(ev.index)
                elif comp == "rack":  # a whole-rack repair touches its cooling too
                    self._tray_dirty.update(range(ev.index * topo.trays_per_rack,
                                                  (ev.index + 1) * topo.trays_per_rack))
                    dirty.update(("pump_state", "fan_state", "leak"))
            elif ev.kind == EventKind.JOB_INTERRUPTED and 0 <= ev.job < len(self._job_times):
                self._job_times[ev.job].append(ev.t_s)
                dirty.add("job_interruptions")
            if ev.kind in _NET_EVENTS:  # network and storage: switches, links, nodes, drives
                dirty.update(("switch_state", "link_state", "storage_degraded", "frontend_state"))
        horizon = self.t - self.config.job_window_s
        for q in self._job_times:
            while q and q[0] <= horizon:
                q.popleft()
                dirty.add("job_interruptions")
        if self._tray_dirty or self._rescan_trays:
            dirty.add("equipment_fault")

    def _update_tray_faults(self, engine) -> None:
        topo = self.topo
        gpt = topo.gpus_per_tray
        if self._rescan_trays:
            idx = np.arange(topo.n_trays)
        else:
            idx = np.fromiter(self._tray_dirty, dtype=np.int64)
        g = (~engine.gpu_ok).reshape(topo.n_trays, gpt)[idx].sum(axis=1)
        self._tray_faults[idx] = (g + (~engine.nic_ok[idx]).sum(axis=1) + (~engine.psu_ok[idx]).sum(axis=1)
                                  + engine.tray_hw_failed[idx])

    def mark_all_dirty(self) -> None:
        """Recount everything event-driven on the next evaluation (after a snapshot restore, or after
        changing the engine's state arrays by hand)."""
        self._rescan_trays = True
        self._dirty.update(r.name for r in self._rules if r.static)

    # ------------------------------------------------------------------ operator actions
    def get(self, alarm_id: int) -> Alarm:
        try:
            return self._by_id[int(alarm_id)]
        except (KeyError, ValueError, TypeError):
            raise AlarmError(f"no alarm {alarm_id!r} in the active list") from None

    def acknowledge(self, ids, who: str = "operator") -> list[Alarm]:
        """Acknowledge one or many alarms (ids or Alarm objects). Cleared-unacknowledged ones are archived."""
        if isinstance(ids, (int, Alarm)):
            ids = [ids]
        alarms = [a if isinstance(a, Alarm) else self.get(a) for a in ids]
        done = []
        for a in alarms:
            if a.acked or a.archived:
                continue
            a.acked, a.acked_t, a.acked_by = True, self.t, who
            self.ack_times_s.append(self.t - a.raised_t)
            if not a.active:
                self._archive(a)
            self._notify(a, "acknowledged", who)
            done.append(a)
        return done

    def shelve(self, alarm_id, seconds: float, who: str = "operator") -> Alarm:
        if not (isinstance(seconds, (int, float)) and 0 < seconds <= 7 * 86400):
            raise AlarmError(f"shelve time must be between 0 and 7 days, not {seconds!r}")
        a = self.get(alarm_id)
        if a.shelved_until is None:
            self._n_shelved += 1
        a.shelved_until = self.t + float(seconds)
        self._notify(a, "shelved", who)
        return a

    def unshelve(self, alarm_id) -> Alarm:
        a = self.get(alarm_id)
        if a.shelved_until is not None:
            a.shelved_until = None
            self._n_shelved -= 1
            self._notify(a, "unshelved")
        return a

    def _expire_shelves(self, t: float) -> None:
        for a in [a for a in self._by_id.values() if a.shelved_until is not None and a.shelved_until <= t]:
            self.unshelve(a.id)

    def _archive(self, a: Alarm) -> None:
        a.archived = True
        if a.shelved_until is not None:
            a.shelved_until = None
            self._n_shelved -= 1
        self._by_id.pop(a.id, None)
        for key, other in list(self._by_key.items()):
            if other is a:
                del self._by_key[key]
                break
        self.history.append(a)

    def _notify(self, alarm: Alarm, what: str, who: str | None = None) -> None:
        self._log(alarm, what, who)
        self.revision += 1
        self._changed.append(alarm)
        if len(self._changed) > 20000:  # nobody drains: keep the newest
            del self._changed[:10000]
        if self._eval_changed is not None:
            self._eval_changed.append(alarm)
        if what == "shelved":
            what = f"shelved by {who}"
        for fn in self.listeners:
            fn(alarm, what)

    def _log(self, a: Alarm, what: str, who: str | None) -> None:
        """The change as a typed event in the run's event log (at the alarm layer's clock)."""
        kind, text = _LOGGED[what]
        sev = a.severity_name
        if what == "shelved":
            text = f"{text} until t={a.shelved_until:.0f} s"
        elif what in ("raised", "reactivated", "escalated", "changed"):
            text = text.format(sev=sev)
        detail = f"{text}: {a.message}" + (f"; {a.detail}" if a.detail and what != "cleared" else "")
        if who:
            detail = f"{detail} (by {who})"
        self._engine.log_event(self.t, kind, a.component, detail, component=ALARM, index=a.id, sub=a.index,
                               rack=a.rack, cause=a.rule, severity=a.severity, who=who)

    # ------------------------------------------------------------------ what views read
    def alarms(self, include_shelved: bool = False) -> list[Alarm]:
        """The alarm list: everything not archived, worst and newest first."""
        out = [a for a in self._by_id.values() if include_shelved or a.shelved_until is None]
        out.sort(key=lambda a: (not a.active, a.acked, -a.severity, -a.raised_t, a.id))
        return out

    def active(self) -> list[Alarm]:
        return [a for a in self.alarms(include_shelved=True) if a.active]

    def find(self, component: str, rule: str) -> Alarm | None:
        for a in self._by_id.values():
            if a.component == component and a.rule == rule:
                return a
        return None

    def counts(self) -> dict[str, int]:
        shown = [a for a in self._by_id.values() if a.shelved_until is None]
        return {"critical": sum(a.active and a.severity == CRITICAL for a in shown),
                "warning": sum(a.active and a.severity == WARNING for a in shown),
                "unacknowledged": sum(not a.acked for a in shown),
                "shelved": sum(a.shelved_until is not None for a in self._by_id.values()),
                "total": len(shown)}

    def rack_severity(self) -> np.ndarray:
        """Worst active severity per rack (0 none, 1 warning, 2 critical), shelved alarms included, for
        colouring the hall and rack views with one array."""
        out = np.zeros(self.n_racks, dtype=np.int8)
        for a in self._by_id.values():
            if a.active and a.rack >= 0 and a.severity > out[a.rack]:
                out[a.rack] = a.severity
        return out

    def limits(self, rule: str) -> AlarmRuleSpec:
        """The limits of a rule (for tooltips)."""
        return getattr(self.config.rules, rule)

    def drain_changes(self) -> list[Alarm]:
        out, self._changed = self._changed, []
        return out

    def mean_time_to_acknowledge_s(self) -> float | None:
        return float(np.mean(self.ack_times_s)) if self.ack_times_s else None
