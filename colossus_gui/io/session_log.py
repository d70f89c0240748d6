"""The training session log: append-only JSON lines, every record flushed and synced as it is written (a
crash loses nothing), and reading one back (a last line cut short by a crash is skipped)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

LOG_FORMAT = "colossus-gui-session/1"


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


def read_log(path: str | Path) -> list[dict]:
    """The records of a session log; a last line cut short by a crash is skipped."""
    out = []
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i >= len(lines) - 2:
                break  # torn last line
            raise ValueError(f"{path}:{i + 1}: not a session log line") from None
    if not out or out[0].get("type") != "header" or out[0].get("format") != LOG_FORMAT:
        raise ValueError(f"{path}: not a Colossus GUI session log (no {LOG_FORMAT} header)")
    return out


__all__ = ["LOG_FORMAT", "SessionLog", "read_log"]
