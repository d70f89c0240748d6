"""Load and validate facility and scenario files (YAML or JSON). Files are data: yaml.safe_load only.

Every problem comes back as one line naming the file, the field path and what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from ..model.addresses import AddressError, Topology
from ..model.facility import Facility
from ..model.limits import MAX_FILE_BYTES, MAX_NESTING, MAX_YAML_NODES
from ..model.scenario import FAULT_TARGETS, Scenario
from ..resources import builtin_facilities, builtin_scenarios

M = TypeVar("M", bound=BaseModel)


class LoadError(Exception):
    """A file that cannot be used. ``problems`` holds one line per problem, each naming file and field."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.path = one_line(str(path))
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(self.problems))


def one_line(text: str, limit: int = 500) -> str:
    """A message as one printable line (YAML and SQLite errors span lines; file names may hold anything)."""
    s = " ".join(str(text).split())
    s = "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)
    return s if len(s) <= limit else s[:limit - 1] + "…"


def _show(value) -> str:
    """The offending value for a message, short."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return f"{float(value):.3g}" if abs(value) < 10**300 else f"an integer of {value.bit_length()} bits"
    r = repr(value)
    return r if len(r) <= 60 else r[:57] + "..."


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when installed: 20-50x faster
    """Safe loading (no tags that build objects) where a key given twice is an error, not "last one wins"."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {_show(key)} (first given on line {seen[key] + 1})",
                            key_node.start_mark)
                    seen[key] = key_node.start_mark.line
                except TypeError:  # an unhashable key; the base class says so
                    pass
        return super().construct_mapping(node, deep=deep)


class _TooMany(Exception):
    pass


def _yaml_depth(text: str) -> int:
    """Deepest nesting of a YAML text from the (iterative, C) event parser: no recursion, so a 100,000-deep
    file is measured, not crashed on; aliases count as leaves (they are not expanded)."""
    depth = deepest = 0
    for n, ev in enumerate(yaml.parse(text, Loader=_Loader)):
        if n > 3 * MAX_YAML_NODES:  # start/end events per collection, one per scalar
            raise _TooMany
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                break
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text (strings removed first), vectorised."""
    b = np.frombuffer(_JSON_STRING.sub("", text).encode("utf-8", "replace"), dtype=np.uint8)
    step = np.isin(b, (0x5B, 0x7B)).astype(np.int32) - np.isin(b, (0x5D, 0x7D))
    return int(np.cumsum(step).max(initial=0))


def read_regular_file(path: Path, max_bytes: int = MAX_FILE_BYTES, follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``. Devices, FIFOs, sockets and folders are refused
    without blocking (``/dev/zero``, a named pipe); the size is checked on the open file, not just its name.
    With ``follow_links=False`` a symbolic link is refused too (members of a bundle folder)."""
    name = one_line(str(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_links:
        if Path(path).is_symlink():
            raise LoadError(name, [f"{name}: is a symbolic link; refusing to follow it out of the bundle"])
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise LoadError(name, [f"{name}: no such file"]) from None
    except IsADirectoryError:
        raise LoadError(name, [f"{name}: is a folder, not a file"]) from None
    except OSError as e:
        raise LoadError(name, [f"{name}: cannot read ({e.strerror})"]) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise LoadError(name, [f"{name}: is a folder, not a file"])
        if not stat.S_ISREG(st.st_mode):
            raise LoadError(name, [f"{name}: not a regular file (a device, pipe or socket); refusing to read it"])
        if st.st_size > max_bytes:
            raise LoadError(name, [f"{name}: file of {st.st_size:,} bytes is larger than the limit of "
                                   f"{max_bytes:,} bytes"])
        chunks, total = [], 0
        while True:
            b = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not b:
                break
            chunks.append(b)
            total += len(b)
            if total > max_bytes:
                raise LoadError(name, [f"{name}: file is larger than the limit of {max_bytes:,} bytes"])
        return b"".join(chunks)
    except OSError as e:
        raise LoadError(name, [f"{name}: cannot read ({e.strerror})"]) from None
    finally:
        os.close(fd)


def parse_text(text: str, name: str, as_json: bool):
    """YAML (safe, libyaml when available, duplicate keys refused) or JSON text -> data. Every failure is one
    LoadError line: bad syntax, nesting deeper than MAX_NESTING, integers too long to convert."""
    try:
        depth = _json_depth(text) if as_json else _yaml_depth(text)
        if depth > MAX_NESTING:
            raise LoadError(name, [f"{name}: nested more than {MAX_NESTING} levels deep; not a file this app "
                                   "writes or reads"])
        if as_json:
            return json.loads(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (_Loader is a SafeLoader)
    except json.JSONDecodeError as e:
        raise LoadError(name, [f"{name}:{e.lineno}: invalid JSON: {e.msg}"]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise LoadError(name, [f"{name}{where}: invalid YAML: {getattr(e, 'problem', None) or e}"]) from None
    except RecursionError:
        raise LoadError(name, [f"{name}: nested too deeply to read"]) from None
    except _TooMany:
        raise LoadError(name, [f"{name}: more than {MAX_YAML_NODES:,} values; too large for a file of this "
                               "app (write it as JSON, or split it)"]) from None
    except ValueError as e:  # an integer of more than 4,300 digits (Python's int conversion limit)
        why = "a number has more than 4,300 digits" if "digits" in str(e) else str(e)
        raise LoadError(name, [f"{name}: unreadable value: {why}"]) from None


def _read_mapping(path: Path, max_bytes: int = MAX_FILE_BYTES) -> dict:
    name = one_line(str(path))
    raw = read_regular_file(path, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LoadError(name, [f"{name}: not a text file (UTF-8 expected)"]) from None
    if "\x00" in text:
        raise LoadError(name, [f"{name}: contains a NUL byte; not a text file"])
    data = parse_text(text, name, path.suffix.lower() == ".json")
    if not isinstance(data, dict):
        raise LoadError(name, [f"{name}: expected a mapping of fields at the top level, got {type(data).__name__}"])
    return data


def format_validation_error(name: str, err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbid" or e["type"] == "extra_forbidden":
            msg = "unknown field"
        msg = msg.removeprefix("Value error, ")
        inp = e.get("input")
        if e["type"] != "extra_forbidden" and isinstance(inp, str | int | float) and _show(inp) not in msg:
            msg += f" (got {_show(inp)})"
        if e["type"] == "value_error" and loc == "(top level)":
            out.extend(f"{name}: {part}" for part in msg.split("; "))
            continue
        out.append(f"{name}: {loc}: {msg}")
    return out


def validate_data(model: type[M], data: dict, name: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise LoadError(name, format_validation_error(name, e)) from None
    except RecursionError:
        raise LoadError(name, [f"{name}: nested too deeply to read"]) from None


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


def load_scenario_facility(sc: Scenario, scenario_path: str | Path) -> Facility:
    """The facility a scenario names; a problem with it is reported as the scenario's (its ``facility`` field)."""
    try:
        return load_facility(sc.facility)
    except LoadError as e:
        name = one_line(str(scenario_path))
        raise LoadError(name, [f"{name}: facility: {p}" for p in e.problems]) from None


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
