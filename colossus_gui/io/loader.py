"""Load and validate facility and scenario files (YAML or JSON). Files are data: yaml.safe_load only.

Every problem comes back as one line naming the file, the field path and what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..model.addresses import AddressError, Topology
from ..model.facility import Facility
from ..model.scenario import FAULT_TARGETS, Scenario
from ..resources import builtin_facilities, builtin_scenarios

M = TypeVar("M", bound=BaseModel)
MAX_FILE_BYTES = 20 * 1024 * 1024


class LoadError(Exception):
    """A file that cannot be used. ``problems`` holds one line per problem, each naming file and field."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(problems))


def _read_mapping(path: Path) -> dict:
    name = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LoadError(name, [f"{name}: file is larger than {MAX_FILE_BYTES // 2**20} MiB"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError(name, [f"{name}: no such file"]) from None
    except IsADirectoryError:
        raise LoadError(name, [f"{name}: is a folder, not a file"]) from None
    except UnicodeDecodeError:
        raise LoadError(name, [f"{name}: not a text file (UTF-8 expected)"]) from None
    except OSError as e:
        raise LoadError(name, [f"{name}: cannot read ({e.strerror})"]) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise LoadError(name, [f"{name}:{e.lineno}: invalid JSON: {e.msg}"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise LoadError(name, [f"{name}{where}: invalid YAML: {getattr(e, 'problem', None) or e}"]) from None
    if not isinstance(data, dict):
        raise LoadError(name, [f"{name}: expected a mapping of fields at the top level, got {type(data).__name__}"])
    return data


def format_validation_error(name: str, err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        msg = msg.removeprefix("Value error, ")
        if e["type"] == "value_error" and "; " in msg and loc == "(top level)":
            out.extend(f"{name}: {part}" for part in msg.split("; "))
            continue
        out.append(f"{name}: {loc}: {msg}")
    return out


def validate_data(model: type[M], data: dict, name: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise LoadError(name, format_validation_error(name, e)) from None


def resolve_facility_path(ref: str | Path | None) -> Path:
    if ref is None:
        ref = "colossus"
    p = Path(ref)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        return p
    builtins = builtin_facilities()
    if str(ref) in builtins:
        return builtins[str(ref)]
    raise LoadError(str(ref), [f"{ref}: no such file or built-in facility (built-in: {', '.join(builtins)})"])


def resolve_scenario_path(ref: str | Path) -> Path:
    p = Path(ref)
    if p.suffix.lower() in (".yaml", ".yml", ".json") or p.exists():
        return p
    builtins = builtin_scenarios()
    if str(ref) in builtins:
        return builtins[str(ref)]
    raise LoadError(str(ref), [f"{ref}: no such file or built-in scenario (built-in: {', '.join(builtins) or 'none'})"])


def load_facility(ref: str | Path | None = None) -> Facility:
    path = resolve_facility_path(ref)
    return validate_data(Facility, _read_mapping(path), str(path))


def load_scenario(ref: str | Path, facility: Facility | None = None) -> Scenario:
    """Load a scenario; with ``facility`` also check every target address against it."""
    path = resolve_scenario_path(ref)
    sc = validate_data(Scenario, _read_mapping(path), str(path))
    if facility is not None:
        check_scenario_targets(sc, facility, str(path))
    return sc


def check_scenario_targets(sc: Scenario, facility: Facility, name: str) -> None:
    topo = Topology(facility)
    problems = []
    for i, fs in enumerate(sc.faults):
        if fs.kind == "heat_wave":
            continue
        try:
            a = topo.parse(fs.target)
        except AddressError as e:
            problems.append(f"{name}: faults.{i}.target: {e}")
            continue
        if a.kind not in FAULT_TARGETS[fs.kind]:
            problems.append(f"{name}: faults.{i}.target: {fs.kind} needs a {' or '.join(FAULT_TARGETS[fs.kind])} "
                            f"address, {fs.target!r} is a {a.kind}")
    if problems:
        raise LoadError(name, problems)


def sniff_kind(path: str | Path) -> str:
    """'facility' or 'scenario', from the file's top-level fields."""
    data = _read_mapping(Path(path))
    if "halls" in data:
        return "facility"
    return "scenario"
