"""Limits every input file is held to (documented in README.md, "Limits").

They keep a damaged or hostile file from turning into a hang, a MemoryError or a NaN deep inside a run: a file
beyond them is refused by validation, with the value and the limit in the message.
"""

from __future__ import annotations

import math

# The largest facility a run accepts: five times the 200k expansion target. The engine holds about
# ENGINE_BYTES_PER_GPU per GPU (state, per-rack telemetry rings; measured on colossus-200k), so the limit
# keeps a run under about 0.4 GB.
MAX_GPUS = 1_000_000
MAX_RACKS = 20_000
ENGINE_BYTES_PER_GPU = 360
# No number in any file may be larger than this in magnitude (fields have tighter physical ranges of their own).
MAX_ABS_NUMBER = 1e10
# File-level caps (YAML/JSON facility, scenario, training, ops, actions files; session logs; bundles).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_YAML_NODES = 50_000  # PyYAML builds ~30,000 nodes a second: this bounds a load to about 2 s
MAX_LOG_BYTES = 64 * 1024 * 1024
MAX_NESTING = 64
MAX_TEXT_CHARS = 20_000
MAX_NAME_CHARS = 100


def estimated_memory_bytes(n_gpus: int) -> int:
    return int(n_gpus) * ENGINE_BYTES_PER_GPU


def check_number(value, where: str = "") -> None:
    """Raise ValueError for a non-finite or implausibly large number (walks lists, tuples and dicts)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, bool) or v is None or isinstance(v, str):
            continue
        if isinstance(v, int | float):
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{v!r} is not a finite number")
            if abs(v) > MAX_ABS_NUMBER:
                raise ValueError(f"{_short(v)} is out of range (no number may exceed {MAX_ABS_NUMBER:g} in magnitude)")
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())


def _short(v) -> str:
    if isinstance(v, int) and abs(v) > 10**15:
        return f"{float(v):.3g}" if abs(v) < 10**300 else f"an integer of {v.bit_length()} bits"
    return repr(v)


def check_text(value: str) -> None:
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"text of {len(value):,} characters is too long (at most {MAX_TEXT_CHARS:,})")
    if "\x00" in value:
        raise ValueError("text contains a NUL character")


def check_safe_name(value: str) -> str:
    """A name that is also used as a file name (the facility's workspace database): printable, no path
    separators, not '.' or '..', not starting with a dot or a dash, at most MAX_NAME_CHARS characters."""
    if not value or not value.strip():
        raise ValueError("name is empty")
    if len(value) > MAX_NAME_CHARS:
        raise ValueError(f"name of {len(value)} characters is too long (at most {MAX_NAME_CHARS})")
    bad = [c for c in value if c in '/\\:*?"<>|' or not c.isprintable()]
    if bad:
        raise ValueError(f"name {value[:40]!r} contains {bad[0]!r}; names are also file names: use letters, "
                         "digits, spaces, '-', '_' and '.'")
    if value.startswith((".", "-")) or value != value.strip():
        raise ValueError(f"name {value!r} may not start with '.' or '-' or have leading or trailing spaces")
    return value


def safe_file_stem(name: str, fallback: str = "facility") -> str:
    """``name`` made into a file name that stays in its folder (for names from older files or bundles)."""
    out = "".join(c if (c.isalnum() or c in "-_. ") else "_" for c in name)[:MAX_NAME_CHARS].strip(" .-")
    return out or fallback
