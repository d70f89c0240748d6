"""Session keyframes on disk: a cache beside a training session's log so that a replay opens at any moment
without re-simulating the session from its start.

The log stays the truth. The cache names the log it was made from (a SHA-256 of the log's bytes); a cache
that is missing, unreadable, made for another log (the log changed since) or of another app version is
ignored and the replay re-simulates from the log as before. Objects that belong to the session being
replayed (engine, facility, topology, configuration) are written as references and resolved against the
new session on reading. The file is read with an unpickler that only rebuilds the app's own state classes,
numpy arrays and plain containers: a file that names anything else is refused like a damaged one.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import time
from pathlib import Path

from .. import __version__
from .atomic import atomic_open

FORMAT = "colossus-gui-keyframes/2"  # 2: the operations' events are in the event log
FILE_NAME = "keyframes.bin"

# what a keyframe is made of: the app's own state classes, numpy, plain containers
_ALLOWED_MODULES = ("colossus_gui.ops.", "colossus_gui.sim.events", "colossus_gui.model.")
_ALLOWED = {
    ("builtins", n) for n in ("set", "frozenset", "dict", "list", "tuple", "int", "float", "complex", "bool",
                              "str", "bytes", "bytearray", "slice", "range", "getattr")
} | {("collections", "deque"), ("collections", "OrderedDict"), ("copyreg", "_reconstructor"),
     ("copyreg", "__newobj__"), ("builtins", "object"), ("numpy", "dtype"), ("numpy", "ndarray"),
     ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
     ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
     ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
     ("numpy.random._pickle", "__generator_ctor"), ("numpy.random._pickle", "__bit_generator_ctor"),
     ("numpy.random._generator", "Generator"), ("numpy.random._pcg64", "PCG64"),
     ("numpy.random.bit_generator", "SeedSequence"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence")}


class KeyframeCacheError(Exception):
    """The cache cannot be used (the caller re-simulates instead)."""


def log_digest(log_path: str | Path) -> str:
    return hashlib.sha256(Path(log_path).read_bytes()).hexdigest()


class _Pickler(pickle.Pickler):
    def __init__(self, fh, externals: list):
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._ext = {id(o): i for i, o in enumerate(externals)}

    def persistent_id(self, obj):  # noqa: D401 (pickle's hook)
        i = self._ext.get(id(obj))
        return None if i is None else ("ext", i)


class _Unpickler(pickle.Unpickler):
    def __init__(self, fh, externals: list):
        super().__init__(fh)
        self._externals = externals

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "ext" and isinstance(pid[1], int)
                and 0 <= pid[1] < len(self._externals)):
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return self._externals[pid[1]]

    def find_class(self, module, name):
        if (module, name) in _ALLOWED or (module.startswith(_ALLOWED_MODULES) and "." not in name):
            obj = super().find_class(module, name)
            if (module, name) in _ALLOWED or isinstance(obj, type):  # classes only from the app's modules
                return obj
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a keyframe")


def write_keyframes(folder: str | Path, keyframes: list, externals: list, log_path: str | Path,
                    telemetry: dict | None = None) -> Path:
    """Write ``keyframes`` (a Run's) to ``folder/keyframes.bin`` atomically; returns the path.
    ``telemetry``: the run's telemetry rows at its end ({ring: (count, rows)}), for the replay's charts."""
    # one pickle per keyframe and per telemetry ring: reading them back one at a time lets other threads
    # (the UI) run in between, where one big pickle would hold the interpreter for its whole load
    parts = []
    for k in keyframes:
        if isinstance(k, PackedKeyframe):  # read from a cache and never unpacked: its bytes as they were
            parts.append(k.data)
            continue
        buf = io.BytesIO()
        _Pickler(buf, externals).dump(k)
        parts.append(buf.getvalue())
    tel = []
    for name, (count, rows) in (telemetry or {}).items():
        buf = io.BytesIO()
        _Pickler(buf, externals).dump((name, int(count), rows))
        tel.append(buf.getvalue())
    head = {"format": FORMAT, "version": __version__, "log_sha256": log_digest(log_path), "n": len(parts),
            "n_telemetry": len(tel), "sizes": [len(p) for p in parts],
            "times": [float(k.t) for k in keyframes], "nbytes": [int(k.nbytes) for k in keyframes]}
    out = Path(folder) / FILE_NAME
    with atomic_open(out, "wb") as fh:
        pickle.dump(head, fh, protocol=4)  # plain dict: read before anything else
        for part in parts + tel:
            fh.write(part)
    return out


class PackedKeyframe:
    """A keyframe read from a cache, kept as its pickled bytes until a restore needs it (``unpack``).

    Unpacked, the keyframes of an hour are ~40,000 small Python objects; made on the loading thread, they
    pushed the interpreter into a full garbage collection (~50-150 ms holding the GIL, the window frozen).
    Bytes are not scanned by the collector, and a restore unpacks one keyframe (a few ms)."""

    __slots__ = ("data", "nbytes", "t", "_externals")

    def __init__(self, t: float, nbytes: int, data: bytes, externals: list):
        self.t, self.nbytes, self.data, self._externals = float(t), int(nbytes), data, externals

    def unpack(self):
        return _Unpickler(io.BytesIO(self.data), self._externals).load()

    def __deepcopy__(self, memo):  # immutable
        return self


def read_keyframes(folder: str | Path, externals: list, log_path: str | Path, check=None) -> tuple[list, dict]:
    """The keyframes cached for ``log_path`` (``PackedKeyframe``: each is unpacked once here to check it,
    with ``check(keyframe) -> bool`` if given, and again when a restore needs it) and the telemetry written
    with them; KeyframeCacheError when the cache cannot be used."""
    path = Path(folder) / FILE_NAME
    try:
        with open(path, "rb") as fh:
            head = _Unpickler(fh, []).load()
            if not isinstance(head, dict) or head.get("format") != FORMAT:
                raise KeyframeCacheError(f"{path}: not a keyframe cache")
            if head.get("version") != __version__:
                raise KeyframeCacheError(f"{path}: written by version {head.get('version')}")
            if head.get("log_sha256") != log_digest(log_path):
                raise KeyframeCacheError(f"{path}: made for another state of {log_path}")
            n, n_tel = int(head.get("n", -1)), int(head.get("n_telemetry", -1))
            sizes, times, nbytes = head.get("sizes"), head.get("times"), head.get("nbytes")
            if n < 0 or n_tel < 0 or not all(isinstance(x, list) and len(x) == n for x in (sizes, times, nbytes)):
                raise KeyframeCacheError(f"{path}: not a keyframe cache")
            frames = []
            for size, t, nb in zip(sizes, times, nbytes, strict=True):
                data = fh.read(int(size))
                if len(data) != int(size):
                    raise EOFError("the file ends inside a keyframe")
                # checked now (a damaged or foreign file is refused here, not at a seek), then dropped at once:
                # only the bytes stay (see PackedKeyframe)
                k = _Unpickler(io.BytesIO(data), externals).load()
                if getattr(k, "t", None) != t or (check is not None and not check(k)):
                    raise KeyframeCacheError(f"{path}: keyframes of another layout")
                del k
                frames.append(PackedKeyframe(t, nb, data, externals))
                time.sleep(0)  # let the UI thread run between keyframes
            telemetry = {}
            for _ in range(n_tel):
                name, count, rows = _Unpickler(fh, externals).load()
                telemetry[str(name)] = (int(count), rows)
                time.sleep(0)
    except FileNotFoundError:
        raise KeyframeCacheError(f"{path}: no keyframe cache") from None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError,
            IndexError, KeyError) as e:
        raise KeyframeCacheError(f"{path}: unreadable ({e})") from None
    return frames, telemetry


__all__ = ["FILE_NAME", "KeyframeCacheError", "PackedKeyframe", "read_keyframes", "write_keyframes"]
