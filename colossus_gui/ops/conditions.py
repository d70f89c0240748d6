"""Conditions in scenario files: ``megapack_soc < 0.3``, ``H2-R014 return_temp_c > 50``,
``supply_temp_c > 35 and throttled_gpus >= 64``. Parsed by a small tokenizer, never eval'd.

Grammar:  expr := clause (("and" | "or") clause)*      ("and" binds tighter than "or")
          clause := [address] metric op number         op: < <= > >= == !=
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model.addresses import AddressError, Topology

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
_TOKEN = re.compile(r"\s*(?:(?P<op><=|>=|==|!=|<|>)|(?P<num>-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)|(?P<word>[A-Za-z0-9_\-]+))")

# Site-level metrics: name -> (description, getter(engine))
SITE_METRICS: dict[str, tuple[str, Callable]] = {
    "t_s": ("simulated seconds", lambda e: e.t),
    "megapack_soc": ("Megapack state of charge, 0-1", lambda e: e.soc),
    "battery_mw": ("Megapack output, MW (+ discharging)", lambda e: e.batt_w / 1e6),
    "grid_mw": ("grid import, MW", lambda e: e.grid_w / 1e6),
    "grid_available_mw": ("what the grid can give now, MW", lambda e: e.grid_avail_w / 1e6),
    "turbine_mw": ("gas turbine output, MW", lambda e: float(e.gt_w.sum()) / 1e6),
    "it_mw": ("IT load, MW", lambda e: e.it_w / 1e6),
    "facility_mw": ("facility load, MW", lambda e: e.facility_w / 1e6),
    "pue": ("power usage effectiveness", lambda e: e.facility_w / e.it_w if e.it_w else 0.0),
    "supply_temp_c": ("facility water supply, C", lambda e: e.t_fs),
    "return_temp_c": ("facility water return, C", lambda e: e.t_fr),
    "ambient_c": ("outdoor dry bulb, C", lambda e: e.ambient_c()),
    "hottest_gpu_c": ("hottest GPU junction, C", lambda e: float(e.rack_hottest_c.max())),
    "throttled_gpus": ("GPUs throttled now", lambda e: float(e.rack_throttled.sum())),
    "gpus_in_service": ("GPUs in the job pool", lambda e: float(e.rack_gpus_up.sum())),
    "goodput": ("goodput so far, 0-1", lambda e: e.goodput()),
    "shed_frac": ("load shed, 0-1", lambda e: e.shed_frac),
    "chillers_running": ("chillers in service", lambda e: float(e.chiller_ok.sum())),
    "bisection_frac": ("least bisection bandwidth left in a hall, 0-1", lambda e: e.fabric.bisection_frac()),
    "links_down": ("fabric links down", lambda e: float(e.fabric.n_links_down)),
    "links_flapping": ("fabric links flapping", lambda e: float(len(e.fabric.flap_next))),
    "switches_down": ("fabric switches down", lambda e: float(e.fabric.n_switches_down)),
    "collective_timeouts": ("jobs' collectives timed out by flapping links so far",
                            lambda e: e.fabric.acc["timeouts"]),
    "storage_bw_frac": ("checkpoint write bandwidth left, 0-1",
                        lambda e: e.storage.write_bw_gbs / e.storage.design_gbs if e.storage.design_gbs else 1.0),
}
# Rack-level metrics (after a rack, CDU or hall address): name -> (description, getter(engine, racks))
RACK_METRICS: dict[str, tuple[str, Callable]] = {
    "return_temp_c": ("rack coolant return, C", lambda e, r: float(e.t_ret[r].max())),
    "supply_temp_c": ("rack coolant supply, C", lambda e, r: float(e.t_sup[r].max())),
    "hottest_gpu_c": ("hottest GPU, C", lambda e, r: float(e.rack_hottest_c[r].max())),
    "flow_frac": ("coolant flow, fraction of design", lambda e, r: float(e.flow_frac[r].min())),
    "power_kw": ("rack power, kW", lambda e, r: float(e.rack_power_w[r].sum()) / 1e3),
    "throttled_gpus": ("GPUs throttled", lambda e, r: float(e.rack_throttled[r].sum())),
    "gpus_in_service": ("GPUs in service", lambda e, r: float(e.rack_gpus_up[r].sum())),
    "pumps_ok": ("working pumps", lambda e, r: float(e.pump_ok[r].sum())),
    "fans_ok": ("working door fans", lambda e, r: float(e.fan_ok[r].sum())),
}


class ConditionError(ValueError):
    """A condition that cannot be parsed; the message says where and what is expected."""


@dataclass(frozen=True)
class Clause:
    racks: tuple[int, ...] | None  # None: a site metric
    metric: str
    op: str
    value: float
    text: str

    def holds(self, engine) -> bool:
        if self.racks is None:
            v = SITE_METRICS[self.metric][1](engine)
        else:
            v = RACK_METRICS[self.metric][1](engine, np.asarray(self.racks))
        return _OPS[self.op](float(v), self.value)


@dataclass(frozen=True)
class Condition:
    """Disjunction of conjunctions of clauses."""

    any_of: tuple[tuple[Clause, ...], ...]
    text: str

    def holds(self, engine) -> bool:
        return any(all(c.holds(engine) for c in conj) for conj in self.any_of)

    @property
    def clauses(self) -> list[Clause]:
        return [c for conj in self.any_of for c in conj]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    s = text.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise ConditionError(f"{text!r}: unexpected {s[pos:pos + 10]!r} at character {pos + 1}")
        kind = m.lastgroup
        out.append((kind, m[kind]))
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    return out


def parse_condition(text: str, topo: Topology | None = None) -> Condition:
    """Parse ``text``; with ``topo`` also check addresses. Raises ConditionError naming the problem."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("empty condition (example: 'megapack_soc < 0.3')")
    toks = _tokens(text)
    disj: list[tuple[Clause, ...]] = []
    conj: list[Clause] = []
    i = 0
    while True:
        start = i
        racks: tuple[int, ...] | None = None
        if i < len(toks) and toks[i][0] == "word" and toks[i][1] not in SITE_METRICS and \
                toks[i][1] not in RACK_METRICS and i + 1 < len(toks) and toks[i + 1][0] == "word":
            addr = toks[i][1]
            racks = _racks_of(addr, topo, text)
            i += 1
        if i >= len(toks) or toks[i][0] != "word":
            raise ConditionError(f"{text!r}: expected a metric name (e.g. megapack_soc, H2-R014 return_temp_c)")
        metric = toks[i][1]
        known = RACK_METRICS if racks is not None else SITE_METRICS
        if metric not in known:
            where = "rack" if racks is not None else "site"
            raise ConditionError(f"{text!r}: unknown {where} metric {metric!r} (known: {', '.join(sorted(known))})")
        i += 1
        if i >= len(toks) or toks[i][0] != "op":
            raise ConditionError(f"{text!r}: expected a comparison (< <= > >= == !=) after {metric!r}")
        op = toks[i][1]
        i += 1
        if i >= len(toks) or toks[i][0] != "num":
            raise ConditionError(f"{text!r}: expected a number after {op!r}")
        value = float(toks[i][1])
        i += 1
        conj.append(Clause(racks, metric, op, value, " ".join(t[1] for t in toks[start:i])))
        if i >= len(toks):
            break
        joiner = toks[i][1].lower() if toks[i][0] == "word" else ""
        if joiner not in ("and", "or"):
            raise ConditionError(f"{text!r}: expected 'and' or 'or' before {toks[i][1]!r}")
        i += 1
        if joiner == "or":
            disj.append(tuple(conj))
            conj = []
    disj.append(tuple(conj))
    return Condition(tuple(disj), text.strip())


def _racks_of(addr: str, topo: Topology | None, text: str) -> tuple[int, ...]:
    if topo is None:
        return (-1,)  # syntax check only
    try:
        a = topo.parse(addr)
    except AddressError as e:
        raise ConditionError(f"{text!r}: {e}") from None
    if a.kind == "hall":
        lo, hi = int(topo.hall_rack_start[a.index]), int(topo.hall_rack_start[a.index + 1])
        return tuple(range(lo, hi))
    r = topo.rack_of(a)
    if r is None:
        raise ConditionError(f"{text!r}: {addr} is not in a rack or hall; use a site metric instead")
    return (r,)
