"""Reading a training session log (``session.jsonl``) without trusting it: every record is checked before the
replay sees it, so a damaged or hostile log is one clear ValueError naming the file, the line and the problem
(never a KeyError, a RecursionError, a MemoryError or a replay that runs for ever).

The log is written by :class:`SessionLog` (one JSON object per line, flushed and synced per record: a crash
loses nothing).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ..model.facility import Facility
from ..model.limits import MAX_LOG_BYTES, MAX_NESTING
from ..model.training import TrainingScenario
from .loader import LoadError, _json_depth, _show, format_validation_error, one_line, read_regular_file

LOG_FORMAT = "colossus-gui-session/1"
MAX_RECORDS = 1_000_000
DT_RANGE = (0.01, 10.0)


class SessionLog:
    """Append-only JSON lines; every record is flushed and synced as it is written. A new session starts a
    new file (an existing file at the path is replaced)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (kept open for the session)

    def write(self, record: dict) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(record, separators=(",", ":"), default=_json_default) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _err(path, line: int | None, what: str) -> ValueError:
    return ValueError(one_line(f"{path}{f':{line}' if line else ''}: {what}"))


def _time(path, line, rec: dict, key: str, limit: float, optional: bool = False) -> None:
    v = rec.get(key)
    if v is None and optional:
        return
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= limit or not math.isfinite(v):
        raise _err(path, line, f"{key} {_show(v)} is not a time from 0 to {limit:g} s")


def _check_header(path, h) -> float:
    if not isinstance(h, dict) or h.get("type") != "header" or h.get("format") != LOG_FORMAT:
        raise _err(path, None, f"not a Colossus GUI session log (no {LOG_FORMAT} header)")
    for key, model in (("scenario", TrainingScenario), ("facility", Facility)):
        if not isinstance(h.get(key), dict):
            raise _err(path, 1, f"header: {key} is missing or not a mapping")
        try:
            obj = model.model_validate(h[key])
        except ValidationError as e:
            raise ValueError(format_validation_error(f"{path}:1: header.{key}", e)[0]) from None
        if key == "scenario":
            limit = float(obj.time_limit_s)
    seed = h.get("seed")
    if (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise _err(path, 1, f"header: seed {_show(seed)} is not a whole number from 0 to 2**63 - 1")
    dt = h.get("dt", 1.0)
    if isinstance(dt, bool) or not isinstance(dt, int | float) or not DT_RANGE[0] <= dt <= DT_RANGE[1]:
        raise _err(path, 1, f"header: dt {_show(dt)} is not a step from {DT_RANGE[0]:g} to {DT_RANGE[1]:g} s")
    for key in ("trainee", "scenario_name", "started"):
        if key in h and not isinstance(h[key], str):
            raise _err(path, 1, f"header: {key} {_show(h[key])} is not text")
    return limit * 1.1 + 600.0  # a session ends at its time limit; a little slack for the last records


def _check_record(path, line: int, rec, t_max: float) -> None:
    if not isinstance(rec, dict):
        raise _err(path, line, f"a record must be a JSON object, got {type(rec).__name__}")
    kind = rec.get("type")
    if not isinstance(kind, str):
        raise _err(path, line, f"type {_show(kind)} is not a record type")
    _time(path, line, rec, "t_s", t_max, optional=kind != "action")
    if kind == "end" and not isinstance(rec.get("reason", ""), str):
        raise _err(path, line, "end: reason is not text")
    if kind != "action":
        return
    for key, typ in (("seq", int), ("who", str), ("action", str), ("args", dict)):
        v = rec.get(key)
        if not isinstance(v, typ) or isinstance(v, bool):
            raise _err(path, line, f"action: {key} {_show(v)} is missing or not a {typ.__name__}")
    if not 0 <= rec["seq"] < 2**53:
        raise _err(path, line, f"action: seq {rec['seq']} is out of range")
    if not isinstance(rec.get("ok", True), bool) or not isinstance(rec.get("result", {}), dict):
        raise _err(path, line, "action: ok must be true/false and result a mapping")
    for key in ("error", "unnecessary", "wall"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            raise _err(path, line, f"action: {key} {_show(rec[key])} is not text")
    if rec["action"] == "restore" and rec.get("ok", True):
        res = rec.get("result", {})
        _time(path, line, res, "to_t", t_max)
        ms = res.get("marker_seq")
        if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms < 2**53:
            raise _err(path, line, f"restore: marker_seq {_show(ms)} is not a whole number")


def read_session_log(path: str | Path) -> list[dict]:
    """The records of a session log, checked; a last line cut short by a crash is skipped. Raises ValueError
    (one line: file, line, problem) for anything else."""
    path = Path(path)
    try:
        raw = read_regular_file(path, MAX_LOG_BYTES)
    except LoadError as e:
        raise ValueError(e.problems[0]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _err(path, None, "not a text file (UTF-8 expected)") from None
    if _json_depth(text) > MAX_NESTING:
        raise _err(path, None, f"nested more than {MAX_NESTING} levels deep; not a session log")
    lines = text.split("\n")
    if len(lines) > MAX_RECORDS:
        raise _err(path, None, f"more than {MAX_RECORDS:,} lines; not a session log this app writes")
    out: list[dict] = []
    t_max = math.inf
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            if i >= len(lines) - 2 and out:
                break  # torn last line
            raise _err(path, i + 1, "not a session log line (invalid JSON)") from None
        if not out:
            t_max = _check_header(path, rec)
        else:
            _check_record(path, i + 1, rec, t_max)
        out.append(rec)
    if not out:
        raise _err(path, None, f"not a Colossus GUI session log (no {LOG_FORMAT} header)")
    return out


def read_log(path: str | Path) -> list[dict]:
    """The records of a session log, each checked; a last line cut short by a crash is skipped. Raises
    ValueError naming file, line and problem."""
    return read_session_log(path)
