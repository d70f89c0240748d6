"""Load and check training scenarios: every problem one line naming the file, the field path and the reason.

Structure is checked by the pydantic models (``model/training.py``); here come the checks that need the
facility or the condition language: addresses, fault kinds against their targets, metrics in conditions,
event kinds, references between faults, hints and jobs, and cycles of ``after`` triggers.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..io.loader import (
    LoadError,
    _read_mapping,
    format_validation_error,
    load_facility,
    resolve_facility_path,
    validate_data,
)
from ..model.addresses import AddressError, Topology
from ..model.facility import Facility
from ..model.ops_config import AlarmRules
from ..model.scenario import FAULT_TARGETS
from ..model.training import EVENT_KINDS, RAMPABLE, ActionScript, ScriptedAction, TrainingScenario
from ..resources import resource
from .conditions import ConditionError, parse_condition

# Containers a random fault may name: it picks a component of its kind inside.
_CONTAINERS = ("hall", "rack", "tray", "cdu", "rdhx")
_PSEUDO = ("GRID", "SITE", "ALL")


def training_scenarios() -> dict[str, Path]:
    """Bundled training scenarios by name (``resources/scenarios/training/*.yaml``)."""
    d = resource("scenarios", "training")
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def resolve_training_path(ref: str | Path) -> Path:
    p = Path(ref)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        return p
    bundled = training_scenarios()
    if str(ref) in bundled:
        return bundled[str(ref)]
    simple = resource("scenarios") / f"{ref}.yaml"
    if simple.is_file():
        return simple
    raise LoadError(str(ref), [f"{ref}: no such file or bundled training scenario (bundled: "
                               f"{', '.join(bundled) or 'none'})"])


def load_training_scenario(ref: str | Path) -> tuple[TrainingScenario, Path]:
    """Parse and validate the structure of a scenario file (a training scenario or a simple timed one)."""
    path = resolve_training_path(ref)
    return validate_data(TrainingScenario, _read_mapping(path), str(path)), path


def scenario_facility(sc: TrainingScenario, path: Path | None, override: str | Path | None = None) -> Facility:
    """The facility a scenario runs on: ``override``, else its ``facility`` field (a built-in name, or a path
    relative to the scenario file), else colossus."""
    ref = override if override is not None else sc.facility
    if ref is not None and path is not None and override is None:
        rel = path.parent / str(ref)
        if Path(str(ref)).suffix.lower() in (".yaml", ".yml", ".json") and rel.is_file():
            ref = rel
    resolve_facility_path(ref)
    return load_facility(ref)


def load_actions(path: str | Path) -> list[ScriptedAction]:
    p = Path(path)
    return validate_data(ActionScript, _read_mapping(p), str(p)).actions


def load_and_check(ref: str | Path, facility_override: str | Path | None = None
                   ) -> tuple[TrainingScenario, Facility, Path]:
    """Everything a session needs, checked; LoadError lists every problem."""
    sc, path = load_training_scenario(ref)
    fac = scenario_facility(sc, path, facility_override)
    check_training_scenario(sc, fac, str(path))
    return sc, fac, path


# --------------------------------------------------------------------------- the checks
def check_training_scenario(sc: TrainingScenario, facility: Facility, name: str) -> None:
    problems: list[str] = []
    topo = Topology(facility)
    ids = sc.fault_ids()

    def p(where: str, msg: str) -> None:
        problems.append(f"{name}: {where}: {msg}")

    def addr(where: str, text: str, pseudo: bool = False):
        if pseudo and text in _PSEUDO:
            return None
        try:
            return topo.parse(text)
        except AddressError as e:
            p(where, str(e))
            return False

    def cond(where: str, text: str) -> None:
        try:
            parse_condition(text, topo)
        except ConditionError as e:
            p(where, str(e))

    # ---- faults
    seen: dict[str, int] = {}
    for i, f in enumerate(sc.faults):
        where = f"faults.{i}"
        if f.id is not None:
            if f.id in seen:
                p(f"{where}.id", f"{f.id!r} is used by faults.{seen[f.id]} too (ids must be unique)")
            seen[f.id] = i
        if f.kind != "heat_wave":
            for k, text in enumerate(f.targets):
                tw = f"{where}.target" + (f".{k}" if isinstance(f.target, list) else "")
                a = addr(tw, text)
                if a is False:
                    continue
                allowed = FAULT_TARGETS[f.kind]
                if a.kind in allowed:
                    continue
                if f.random is not None and a.kind in _CONTAINERS:
                    if not _has_component(topo, f.kind, a):
                        p(tw, f"{text} holds no {' or '.join(allowed)} for a random {f.kind}")
                    continue
                extra = " (random faults may also name a hall, rack or tray)" if f.random is not None else ""
                p(tw, f"{f.kind} needs a {' or '.join(allowed)} address, {text!r} is a {a.kind}{extra}")
        if f.ramp_s and f.kind in RAMPABLE and f.random is not None:
            p(f"{where}.ramp_s", "a ramped fault needs a single target, not a random one")
        for field in ("at",):
            v = getattr(f, field)
            if v is not None and v > sc.time_limit_s:
                p(f"{where}.{field}", f"{v:g} s is after the time limit ({sc.time_limit_s:g} s): it would never fire")
        if f.random is not None:
            if f.random.start_s >= sc.time_limit_s:
                p(f"{where}.random.start_s", f"{f.random.start_s:g} s is after the time limit ({sc.time_limit_s:g} s)")
        if f.after is not None:
            a = f.after
            if a.fault is not None:
                if a.fault not in ids:
                    p(f"{where}.after.fault", f"no fault with id {a.fault!r} (ids: {', '.join(ids) or 'none'})")
                elif a.fault == ids[i]:
                    p(f"{where}.after.fault", f"{a.fault!r} waits for itself: it can never fire")
            if a.event is not None and a.event not in EVENT_KINDS:
                p(f"{where}.after.event", f"unknown event kind {a.event!r} (known: {', '.join(EVENT_KINDS)})")
            if a.address is not None:
                addr(f"{where}.after.address", a.address, pseudo=True)
        if f.when is not None:
            cond(f"{where}.when", f.when)
    problems += _cycles(sc, ids, name)

    # ---- initial conditions
    ini = sc.initial
    for i, f in enumerate(ini.failed):
        a = addr(f"initial.failed.{i}.target", f.target)
        if a and a.kind not in FAULT_TARGETS[f.kind]:
            p(f"initial.failed.{i}.target", f"{f.kind} needs a {' or '.join(FAULT_TARGETS[f.kind])} address, "
                                            f"{f.target!r} is a {a.kind}")
    for i, d in enumerate(ini.degraded):
        a = addr(f"initial.degraded.{i}.target", d.target)
        if a and a.kind not in ("pump", "chiller"):
            p(f"initial.degraded.{i}.target", f"only pumps and chillers degrade, {d.target!r} is a {a.kind}")
    if ini.jobs is not None:
        used: dict[str, int] = {}
        for i, j in enumerate(ini.jobs):
            for h in j.halls:
                if h not in topo.hall_names:
                    p(f"initial.jobs.{i}.halls", f"unknown hall {h!r} (halls: {', '.join(topo.hall_names)})")
                elif h in used:
                    p(f"initial.jobs.{i}.halls", f"hall {h} is already given to initial.jobs.{used[h]}")
                used[h] = i
    try:
        from .drill_setup import build_facility, build_ops_config
        fac2 = build_facility(sc, facility)
        build_ops_config(sc, facility)
    except ValidationError as e:
        problems += [line.replace(f"{name}: ", f"{name}: initial: ", 1)
                     for line in format_validation_error(name, e)]
        fac2 = facility
    except ValueError as e:
        problems.append(f"{name}: initial: {e}")
        fac2 = facility
    jobs = [j.name for j in fac2.jobs]

    # ---- objectives, scoring, hints
    for i, o in enumerate(sc.objectives):
        cond(f"objectives.{i}.condition", o.condition)
        if o.by_s is not None and o.by_s > sc.time_limit_s:
            p(f"objectives.{i}.by_s", f"{o.by_s:g} s is after the time limit ({sc.time_limit_s:g} s)")
    _unique(p, "objectives", [o.id for o in sc.objectives])
    _unique(p, "hints", [h.id for h in sc.hints])
    if sc.scoring.abort is not None and sc.scoring.abort.when is not None:
        cond("scoring.abort.when", sc.scoring.abort.when)
    for k in sc.scoring.job_weights:
        if k not in jobs:
            p(f"scoring.job_weights.{k}", f"no job {k!r} (jobs: {', '.join(jobs) or 'none'})")

    # ---- reference solution
    problems += check_actions(sc.reference, sc, topo, jobs, name, "reference")
    if problems:
        raise LoadError(name, problems)


def check_actions(actions: list[ScriptedAction], sc: TrainingScenario, topo: Topology, jobs: list[str],
                  name: str, field: str) -> list[str]:
    """Problems in a list of scripted actions (the reference solution or an actions file)."""
    out: list[str] = []
    ids = set(sc.fault_ids())
    hint_ids = {h.id for h in sc.hints}
    rules = set(AlarmRules.model_fields)
    names = {t.name for t in (sc.initial.technicians or [])} or None
    for i, a in enumerate(actions):
        where = f"{field}.{i}"

        def p(f: str, msg: str, where=where) -> None:
            out.append(f"{name}: {where}.{f}: {msg}")

        if a.when is not None:
            try:
                parse_condition(a.when, topo)
            except ConditionError as e:
                p("when", str(e))
        if a.at is not None and a.at > sc.time_limit_s:
            p("at", f"{a.at:g} s is after the time limit ({sc.time_limit_s:g} s)")
        for f in ("target", "component"):
            v = getattr(a, f)
            if v is not None and not (a.action == "inject" and a.kind == "heat_wave") and v not in _PSEUDO:
                try:
                    topo.parse(v)
                except AddressError as e:
                    p(f, str(e))
        if a.hall is not None:
            try:
                if topo.parse(a.hall).kind != "hall":
                    p("hall", f"{a.hall!r} is not a hall (halls: {', '.join(topo.hall_names)})")
            except AddressError as e:
                p("hall", str(e))
        if a.job is not None and a.job not in jobs:
            p("job", f"no job {a.job!r} (jobs: {', '.join(jobs) or 'none'})")
        if a.hint is not None and a.hint not in hint_ids:
            p("hint", f"no hint {a.hint!r} (hints: {', '.join(sorted(hint_ids)) or 'none'})")
        if a.fault is not None and a.fault not in ids:
            p("fault", f"no fault {a.fault!r} (ids: {', '.join(sorted(ids)) or 'none'})")
        if a.rule is not None and a.rule not in rules:
            p("rule", f"no alarm rule {a.rule!r} (rules: {', '.join(sorted(rules))})")
        if a.kind is not None and a.kind not in FAULT_TARGETS:
            p("kind", f"unknown fault kind {a.kind!r} (kinds: {', '.join(FAULT_TARGETS)})")
        if a.technician not in (None, "nearest") and names is not None and a.technician not in names:
            p("technician", f"no technician {a.technician!r} on the scenario's staff ({', '.join(sorted(names))})")
    return out


def _unique(p, field: str, ids: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x in seen:
            p(f"{field}.{i}.id", f"{x!r} is used by {field}.{seen[x]} too (ids must be unique)")
        seen[x] = i


def _cycles(sc: TrainingScenario, ids: list[str], name: str) -> list[str]:
    """``after: {fault: ...}`` chains that loop back on themselves: none of their faults can ever fire."""
    waits = {ids[i]: f.after.fault for i, f in enumerate(sc.faults)
             if f.after is not None and f.after.fault is not None and f.after.fault in ids and f.after.fault != ids[i]}
    index = {fid: i for i, fid in enumerate(ids)}
    out, reported = [], set()
    for start in waits:
        path, cur = [], start
        while cur in waits and cur not in path:
            path.append(cur)
            cur = waits[cur]
        if cur in path:
            cyc = path[path.index(cur):]
            key = frozenset(cyc)
            if key in reported:
                continue
            reported.add(key)
            first = min(cyc, key=lambda x: index[x])
            k = cyc.index(first)
            loop = cyc[k:] + cyc[:k] + [first]
            out.append(f"{name}: faults.{index[first]}.after.fault: trigger cycle {' -> '.join(loop)}: each waits for "
                       "the next, so none of them can fire")
    return out


def _has_component(topo: Topology, kind: str, a) -> bool:
    return len(candidates(topo, kind, a)) > 0


def candidates(topo: Topology, kind: str, a) -> list[tuple[str, int, int]]:
    """The components a random ``kind`` fault may pick inside container ``a``, as flat-index ranges
    ``(component kind, lo, hi)`` (turned into an address by ``component_address``)."""
    r0, r1 = _rack_range(topo, a)
    allowed = FAULT_TARGETS[kind]
    if "gpu" in allowed:
        if a.kind == "tray":
            return [("gpu", a.index * topo.gpus_per_tray, (a.index + 1) * topo.gpus_per_tray)]
        return [("gpu", r0 * topo.gpus_per_rack, r1 * topo.gpus_per_rack)]
    if "nic" in allowed or "psu" in allowed:
        sub = "nic" if "nic" in allowed else "psu"
        per = topo.nics_per_tray if sub == "nic" else topo.psus_per_tray
        if a.kind == "tray":
            return [(sub, a.index * per, (a.index + 1) * per)]
        return [(sub, r0 * topo.trays_per_rack * per, r1 * topo.trays_per_rack * per)]
    if "fe_nic" in allowed:  # a server's front-end link: the servers in the container
        if a.kind == "tray":
            return [("fe_nic", a.index, a.index + 1)]
        return [("fe_nic", r0 * topo.trays_per_rack, r1 * topo.trays_per_rack)]
    if "fe_leaf" in allowed and a.kind == "hall":  # a hall's front-end leaves
        net = topo.net
        return [("fe_leaf", int(net.hall_fe_start[a.index]), int(net.hall_fe_start[a.index + 1]))]
    if "fan" in allowed:
        return [("fan", r0 * topo.fans_per_door, r1 * topo.fans_per_door)] if a.kind != "tray" else []
    if "pump" in allowed:
        return [("pump", r0 * topo.pumps_per_cdu, r1 * topo.pumps_per_cdu)] if a.kind != "tray" else []
    if "rack" in allowed:
        return [("rack", r0, r1)] if a.kind != "tray" else []
    if a.kind == "hall" and ("port" in allowed or "leaf" in allowed):  # network: a hall's GPU links or leaves
        net = topo.net
        if "port" in allowed:
            g0 = int(net.hall_tray_start[a.index]) * net.gpus_per_tray
            return [("port", g0, int(net.hall_tray_start[a.index + 1]) * net.gpus_per_tray)]
        return [("leaf", int(net.hall_leaf_start[a.index]), int(net.hall_leaf_start[a.index + 1]))]
    return []


def _rack_range(topo: Topology, a) -> tuple[int, int]:
    if a.kind == "hall":
        return int(topo.hall_rack_start[a.index]), int(topo.hall_rack_start[a.index + 1])
    r = topo.rack_of(a)
    return (r, r + 1) if r is not None else (0, 0)


def component_address(topo: Topology, sub: str, flat: int) -> str:
    """The address of component ``flat`` in the flat numbering of ``candidates``."""
    if sub == "gpu":
        return topo.gpu_address(flat)
    if sub == "port":
        return topo.net.link_address(flat)
    if sub == "leaf":
        return topo.net.switch_address(flat)
    if sub == "fe_nic":
        return f"{topo.tray_address(flat)}-FE"
    if sub == "fe_leaf":
        return topo.net.fe_leaf_address(flat)
    if sub == "nic":
        tray, n = divmod(flat, topo.nics_per_tray)
        return f"{topo.tray_address(tray)}-N{n + 1}"
    if sub == "psu":
        tray, n = divmod(flat, topo.psus_per_tray)
        return f"{topo.tray_address(tray)}-PSU{n + 1}"
    if sub == "fan":
        r, n = divmod(flat, topo.fans_per_door)
        return topo.fan_address(r, n)
    if sub == "pump":
        r, n = divmod(flat, topo.pumps_per_cdu)
        return topo.pump_address(r, n)
    return topo.rack_address(flat)
