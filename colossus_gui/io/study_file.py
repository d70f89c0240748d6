"""Load a study file and turn each of its grid points into the plain inputs of one run.

Every problem is one line naming the file, the field (``grid.site.megapacks.units``) and the value. Each point
is checked here, before any run starts: a value the facility refuses fails the study up front, not an hour in.
The inputs of a run are plain JSON-able dicts (facility, scenario, operations) with every default filled in,
so a worker on another machine rebuilds exactly the same models, and a run's key (a hash of its inputs, seed,
duration and step) says whether a stored result belongs to it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from ..model.facility import Facility
from ..model.ops_config import OpsConfig, default_ops_path
from ..model.scenario import Scenario
from ..model.study import Study
from ..resources import resource
from .loader import (
    LoadError,
    _read_mapping,
    check_scenario_targets,
    format_validation_error,
    resolve_facility_path,
    resolve_scenario_path,
    validate_data,
)


def builtin_studies() -> dict[str, Path]:
    d = resource("studies")
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def resolve_study_path(ref: str | Path) -> Path:
    p = Path(ref)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        return p
    builtins = builtin_studies()
    if str(ref) in builtins:
        return builtins[str(ref)]
    raise LoadError(str(ref), [f"{ref}: no such file or built-in study (built-in: {', '.join(builtins) or 'none'})"])


class _PathError(ValueError):
    pass


def set_path(data: Any, path: str, value: Any) -> None:
    """Set a dotted path in nested dicts/lists; ``*`` means every element. Raises _PathError naming the part
    that does not exist."""
    parts = path.split(".")
    _set(data, parts, value, [])


def _set(node: Any, parts: list[str], value: Any, done: list[str]) -> None:
    key, rest = parts[0], parts[1:]
    where = ".".join(done) or "the top level"
    if key == "*":
        items = node if isinstance(node, list) else list(node.values()) if isinstance(node, dict) else None
        if items is None:
            raise _PathError(f"'*' needs a list at {where}")
        if not items:
            raise _PathError(f"{where} is empty: '*' matches nothing")
        if not rest:
            if isinstance(node, list):
                node[:] = [copy.deepcopy(value) for _ in node]
            else:
                for k in node:
                    node[k] = copy.deepcopy(value)
            return
        for it in items:
            _set(it, rest, value, [*done, "*"])
        return
    if isinstance(node, list):
        if not key.isdigit() or int(key) >= len(node):
            raise _PathError(f"{where} is a list of {len(node)}: no element {key!r}")
        idx = int(key)
        if rest:
            _set(node[idx], rest, value, [*done, key])
        else:
            node[idx] = copy.deepcopy(value)
        return
    if not isinstance(node, dict):
        raise _PathError(f"{where} is a value, not a section: no field {key!r}")
    if key not in node:
        known = ", ".join(sorted(node)[:12]) + (", ..." if len(node) > 12 else "")
        raise _PathError(f"no field {key!r} in {where} (fields: {known})")
    if rest:
        _set(node[key], rest, value, [*done, key])
    else:
        node[key] = copy.deepcopy(value)


def _dump(m: BaseModel) -> dict:
    return m.model_dump(mode="json", by_alias=True)


def it_technicians(ops: dict, per_shift: Any) -> dict:
    """``ops.it_technicians_per_shift``: replace the IT-only technicians of every shift by ``per_shift`` new
    ones (the mechanical and electrical staff stay as they are)."""
    if isinstance(per_shift, bool) or not isinstance(per_shift, int) or per_shift < 0:
        raise _PathError("needs a whole number of technicians (0 or more)")
    keep = [t for t in ops["technicians"] if t["skills"] != ["IT"]]
    new = [{"name": f"IT-{shift}-{k + 1}", "shift": shift, "skills": ["IT"], "home": "BASE"}
           for shift in ops["shifts"] for k in range(per_shift)]
    ops["technicians"] = keep + new
    return ops


@dataclass
class RunInputs:
    """Everything a worker needs for one run (plain data)."""

    key: str
    point: int
    seed_index: int
    seed: int
    facility: dict
    scenario: dict | None
    ops: dict | None
    duration_s: float
    dt: float
    params: dict = field(default_factory=dict)

    def task(self) -> dict:
        return {"key": self.key, "point": self.point, "seed_index": self.seed_index, "seed": self.seed,
                "facility": self.facility, "scenario": self.scenario, "ops": self.ops,
                "duration_s": self.duration_s, "dt": self.dt}


@dataclass
class LoadedStudy:
    study: Study
    path: Path
    name: str
    points: list[dict]                 # {'case', 'params', 'label', 'facility', 'scenario', 'ops'}
    duration_s: float
    seeds: int

    def seed_values(self, n: int | None = None) -> list[int]:
        children = np.random.SeedSequence(self.study.seed).spawn(n or self.seeds)
        return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]

    def runs(self) -> list[RunInputs]:
        """Every run, point-major (point 0 seed 0, point 0 seed 1, ...). Computed once (keys hash the inputs)."""
        cached = self.__dict__.get("_runs")
        if cached is not None:
            return list(cached)
        seeds = self.seed_values()
        out = []
        for i, p in enumerate(self.points):
            for k, s in enumerate(seeds):
                out.append(RunInputs(run_key(p, s, self.duration_s, self.study.dt), i, k, s, p["facility"],
                                     p["scenario"], p["ops"], self.duration_s, self.study.dt, p["params"]))
        self.__dict__["_runs"] = out
        return list(out)


def _validate_study(data: dict, name: str) -> Study:
    try:
        return Study.model_validate(data)
    except ValidationError as err:
        lines = format_validation_error(name, err)
        out = []
        for line, e in zip(lines, err.errors(), strict=False):
            given = e.get("input")
            if e["type"] != "extra_forbidden" and not isinstance(given, dict | list) and given is not None \
                    and repr(given) not in line:
                line += f" (value {given!r})"
            out.append(line)
        raise LoadError(name, out or lines) from None


def run_key(point: dict, seed: int, duration_s: float, dt: float) -> str:
    blob = json.dumps({"facility": point["facility"], "scenario": point["scenario"], "ops": point["ops"],
                       "seed": seed, "duration_s": duration_s, "dt": dt}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_study(ref: str | Path, seeds: int | None = None, duration_s: float | None = None) -> LoadedStudy:
    """Read, validate and expand a study (a file or a built-in name). ``seeds``/``duration_s`` override the
    file's. Raises LoadError whose problems each name file, field and value."""
    path = resolve_study_path(ref)
    name = str(path)
    study = _validate_study(_read_mapping(path), name)
    if seeds is not None:
        study = study.model_copy(update={"seeds": seeds})
    dur = float(duration_s) if duration_s is not None else study.duration
    base_dir = path.parent

    def rel(ref: str) -> str:
        p = Path(ref)
        if not p.is_absolute() and p.suffix.lower() in (".yaml", ".yml", ".json") and (base_dir / p).exists():
            return str(base_dir / p)
        return ref

    facilities: dict[str, dict] = {}

    def facility_data(ref: str, field_name: str) -> dict:
        if ref not in facilities:
            try:
                fpath = resolve_facility_path(rel(ref))
                facilities[ref] = _dump(validate_data(Facility, _read_mapping(fpath), str(fpath)))
            except LoadError as e:
                raise LoadError(name, [f"{name}: {field_name}: {ref!r}: {e.problems[0]}"]) from None
        return copy.deepcopy(facilities[ref])

    base_fac = facility_data(study.facility, "facility")
    sc_data = None
    sc_path = None
    if study.scenario is not None:
        try:
            sc_path = resolve_scenario_path(rel(study.scenario))
            sc_data = _dump(validate_data(Scenario, _read_mapping(sc_path), str(sc_path)))
        except LoadError as e:
            raise LoadError(name, [f"{name}: scenario: {study.scenario!r}: {e.problems[0]}"]) from None
    ops_data = None
    if study.ops:
        opath = Path(rel(study.ops_config)) if study.ops_config else default_ops_path()
        try:
            ops_data = _dump(validate_data(OpsConfig, _read_mapping(opath), str(opath)))
        except LoadError as e:
            raise LoadError(name, [f"{name}: ops_config: {study.ops_config!r}: {e.problems[0]}"]) from None

    points = []
    for p in study.points():
        params = {**study.overrides, **p["params"]}
        where = {k: ("overrides" if k in study.overrides and k not in p["params"] else
                     "grid" if k in study.grid else f"cases.{p['case']}") for k in params}
        fac = facility_data(str(params["facility"]), f"{where['facility']}.facility") if "facility" in params \
            else copy.deepcopy(base_fac)
        sc = copy.deepcopy(sc_data)
        ops = copy.deepcopy(ops_data)
        for k, v in params.items():
            if k == "facility":
                continue
            try:
                if k == "ops.it_technicians_per_shift":
                    if ops is None:
                        raise _PathError("the study runs without the operations layer (set ops: true)")
                    it_technicians(ops, v)
                elif k.startswith("ops."):
                    if ops is None:
                        raise _PathError("the study runs without the operations layer (set ops: true)")
                    set_path(ops, k[4:], v)
                elif k.startswith("scenario."):
                    if sc is None:
                        raise _PathError("the study has no scenario")
                    set_path(sc, k[9:], v)
                else:
                    set_path(fac, k, v)
            except _PathError as e:
                raise LoadError(name, [f"{name}: {where[k]}.{k}: value {v!r}: {e}"]) from None
        label = study.point_label(p)
        # validate the point's models: the first problem names the parameter values that caused it
        for model, data, what in ((Facility, fac, "facility"), (Scenario, sc, "scenario"), (OpsConfig, ops, "ops")):
            if data is None:
                continue
            try:
                m = model.model_validate(data)
            except ValidationError as e:
                prob = format_validation_error(what, e)[0].removeprefix(f"{what}: ")
                vals = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "(no parameters)"
                raise LoadError(name, [f"{name}: point {label} ({vals}): {what} {prob}"]) from None
            if model is Facility:
                fac_model = m
            if model is Scenario:
                try:
                    check_scenario_targets(m, fac_model, str(sc_path))
                except LoadError as e:
                    raise LoadError(name, [f"{name}: point {label}: {e.problems[0]}"]) from None
        points.append({"case": p["case"], "params": p["params"], "label": label, "facility": fac, "scenario": sc,
                       "ops": ops})
    return LoadedStudy(study, path, path.stem, points, dur, study.seeds)
