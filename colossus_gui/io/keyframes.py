"""Session keyframes on disk: a cache beside a training session's log so that a replay opens at any moment
without re-simulating the session from its start.

The log stays the truth. The cache names the log it was made from (a SHA-256 of the log's bytes); a cache
that is missing, unreadable, made for another log (the log changed since) or of another app version is
ignored and the replay re-simulates from the log as before. Objects that belong to the session being
replayed (engine, facility, topology, configuration, the alarm rules' functions) are written as references
by position and resolved against the new session on reading.

The file is data (it travels with the log): each keyframe is a JSON tree plus the raw bytes of its arrays
(``data_tree``). Reading it makes plain values, numpy arrays of plain dtypes and empty objects of the app's
own state classes filled with data; it calls nothing a file could name. A file that names anything else,
or is damaged, is refused like a missing one.

Layout: the line ``colossus-gui-keyframes``; 8 bytes (little-endian) the length of a JSON header (format,
app version, the log's SHA-256, per keyframe its time, memory size and byte size, the byte size of each
telemetry part); the header; then the keyframes and the telemetry parts one after the other.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import time
from pathlib import Path

from .. import __version__
from .atomic import atomic_open
from .data_tree import ClassRegistry, DataTreeError, pack, packed_size, unpack

FORMAT = "colossus-gui-keyframes/4"  # 4: alarm and work-order events in the log; 3: data (JSON tree + array bytes), no pickle
FILE_NAME = "keyframes.bin"
MAGIC = b"colossus-gui-keyframes\n"
_MAX_HEADER = 64 * 1024 * 1024
_LEN = struct.Struct("<Q")

# what a keyframe is made of: the app's own state classes (besides numpy arrays and plain containers)
_STATE_MODULES = ("colossus_gui.ops.", "colossus_gui.sim.events", "colossus_gui.model.")
_CLASSES = ClassRegistry(_STATE_MODULES)


class KeyframeCacheError(Exception):
    """The cache cannot be used (the caller re-simulates instead), or the keyframes cannot be written."""


def log_digest(log_path: str | Path) -> str:
    return hashlib.sha256(Path(log_path).read_bytes()).hexdigest()


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:300]


def _pack(obj, externals: list, what: str) -> list:
    try:
        return pack(obj, externals, _CLASSES)
    except DataTreeError as e:
        raise KeyframeCacheError(f"cannot write {what}: {_one_line(e)}") from None


def write_keyframes(folder: str | Path, keyframes: list, externals: list, log_path: str | Path,
                    telemetry: dict | None = None) -> Path:
    """Write ``keyframes`` (a Run's) to ``folder/keyframes.bin`` atomically; returns the path.
    ``telemetry``: the run's telemetry rows at its end ({ring: (count, rows)}), for the replay's charts.
    KeyframeCacheError (nothing written) when a keyframe holds something that cannot be written as data."""
    # one part per keyframe and per telemetry ring: reading them back one at a time lets other threads
    # (the UI) run in between, where one big part would hold the interpreter for its whole load
    parts = []
    for k in keyframes:
        if isinstance(k, PackedKeyframe):  # read from a cache and never unpacked: its bytes as they were
            parts.append([k.data])
        else:
            parts.append(_pack(k, externals, f"the keyframe at t={float(k.t):g} s"))
    tel = [_pack((name, int(count), rows), externals, f"the telemetry {name}")
           for name, (count, rows) in (telemetry or {}).items()]
    head = {"format": FORMAT, "version": __version__, "log_sha256": log_digest(log_path),
            "times": [float(k.t) for k in keyframes], "nbytes": [int(k.nbytes) for k in keyframes],
            "sizes": [packed_size(p) for p in parts], "telemetry_sizes": [packed_size(p) for p in tel]}
    text = json.dumps(head, separators=(",", ":")).encode("ascii")
    out = Path(folder) / FILE_NAME
    with atomic_open(out, "wb") as fh:
        fh.write(MAGIC + _LEN.pack(len(text)) + text)
        for part in parts + tel:
            for buf in part:
                fh.write(buf)
    return out


class PackedKeyframe:
    """A keyframe read from a cache, kept as its bytes until a restore needs it (``unpack``).

    Unpacked, the keyframes of an hour are ~40,000 small Python objects; made on the loading thread, they
    pushed the interpreter into a full garbage collection (~50-150 ms holding the GIL, the window frozen).
    Bytes are not scanned by the collector, and a restore unpacks one keyframe (a few ms)."""

    __slots__ = ("data", "nbytes", "t", "_externals")

    def __init__(self, t: float, nbytes: int, data: bytes, externals: list):
        self.t, self.nbytes, self.data, self._externals = float(t), int(nbytes), data, externals

    def unpack(self):
        return unpack(self.data, self._externals, _CLASSES)

    def __deepcopy__(self, memo):  # immutable
        return self


def _int_list(v, n: int | None = None) -> bool:
    return (isinstance(v, list) and (n is None or len(v) == n)
            and all(type(x) is int and x >= 0 for x in v))


def _read_head(fh, path: Path, file_size: int) -> dict:
    magic = fh.read(len(MAGIC))
    if magic != MAGIC:
        raise KeyframeCacheError(f"{path}: not a keyframe cache (of format {FORMAT})")
    raw = fh.read(_LEN.size)
    if len(raw) != _LEN.size:
        raise KeyframeCacheError(f"{path}: the file ends inside its header")
    (size,) = _LEN.unpack(raw)
    if size > min(_MAX_HEADER, file_size - fh.tell()):
        raise KeyframeCacheError(f"{path}: header of {size:,} bytes declared, the file has "
                                 f"{max(0, file_size - fh.tell()):,} left")
    try:
        head = json.loads(fh.read(size).decode("ascii"))
    except (ValueError, RecursionError):
        raise KeyframeCacheError(f"{path}: damaged header") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise KeyframeCacheError(f"{path}: not a keyframe cache of format {FORMAT}")
    return head


def read_keyframes(folder: str | Path, externals: list, log_path: str | Path, check=None) -> tuple[list, dict]:
    """The keyframes cached for ``log_path`` (``PackedKeyframe``: each is unpacked once here to check it,
    with ``check(keyframe) -> bool`` if given, and again when a restore needs it) and the telemetry written
    with them; KeyframeCacheError (one line) when the cache cannot be used."""
    path = Path(folder) / FILE_NAME
    try:
        with open(path, "rb") as fh:
            file_size = os.fstat(fh.fileno()).st_size
            head = _read_head(fh, path, file_size)
            if head.get("version") != __version__:
                raise KeyframeCacheError(f"{path}: written by version {str(head.get('version'))[:40]}")
            if head.get("log_sha256") != log_digest(log_path):
                raise KeyframeCacheError(f"{path}: made for another state of {log_path}")
            sizes, times, nbytes = head.get("sizes"), head.get("times"), head.get("nbytes")
            tel_sizes = head.get("telemetry_sizes")
            n = len(sizes) if isinstance(sizes, list) else -1
            if not (_int_list(sizes) and _int_list(nbytes, n) and _int_list(tel_sizes) and isinstance(times, list)
                    and len(times) == n and all(type(x) in (int, float) and math.isfinite(x) for x in times)):
                raise KeyframeCacheError(f"{path}: damaged header (sizes, times and nbytes of the keyframes)")
            left = file_size - fh.tell()
            if sum(sizes) + sum(tel_sizes) != left:
                raise KeyframeCacheError(f"{path}: the header declares {sum(sizes) + sum(tel_sizes):,} bytes of "
                                         f"keyframes, the file has {left:,} (truncated or damaged)")
            frames = []
            for size, t, nb in zip(sizes, times, nbytes, strict=True):
                data = fh.read(size)
                if len(data) != size:
                    raise KeyframeCacheError(f"{path}: the file ends inside a keyframe")
                # checked now (a damaged or foreign file is refused here, not at a seek), then dropped at once:
                # only the bytes stay (see PackedKeyframe); its arrays are not copied for this
                k = unpack(data, externals, _CLASSES, copy=False)
                if getattr(k, "t", None) != t or (check is not None and not check(k)):
                    raise KeyframeCacheError(f"{path}: keyframes of another layout")
                del k
                frames.append(PackedKeyframe(t, nb, data, externals))
                time.sleep(0)  # let the UI thread run between keyframes
            telemetry = {}
            for size in tel_sizes:
                part = unpack(fh.read(size), externals, _CLASSES)
                if not (isinstance(part, tuple) and len(part) == 3 and isinstance(part[0], str)
                        and type(part[1]) is int):
                    raise KeyframeCacheError(f"{path}: damaged telemetry")
                name, count, rows = part
                telemetry[name] = (count, rows)
                time.sleep(0)
    except FileNotFoundError:
        raise KeyframeCacheError(f"{path}: no keyframe cache") from None
    except DataTreeError as e:
        raise KeyframeCacheError(f"{path}: unreadable ({_one_line(e)})") from None
    except (OSError, MemoryError, ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
        raise KeyframeCacheError(f"{path}: unreadable ({type(e).__name__}: {_one_line(e)})") from None
    return frames, telemetry


__all__ = ["FILE_NAME", "FORMAT", "KeyframeCacheError", "PackedKeyframe", "log_digest", "read_keyframes",
           "write_keyframes"]
