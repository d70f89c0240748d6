"""Snapshot bundles: one folder (or .zip) holding the engine state, CSVs, PNGs and a JSON manifest, so that
`open_bundle` resumes the simulation exactly where it was (same seed -> same future).

Data only: arrays in ``state.npz`` (loaded with allow_pickle=False), everything else JSON. The bundle is
written to a temporary sibling folder and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from .. import __version__
from ..model.facility import Facility
from ..model.scenario import Scenario
from ..sim.engine import Engine, SimError
from ..sim.events import event_fields, event_from_row
from .atomic import (
    clean_stale_temps,
    make_parents,
    remove_empty,
    swap_dir_into_place,
    temp_dir_beside,
    temp_file_beside,
)
from .loader import LoadError, _show, format_validation_error, one_line, parse_text, read_regular_file
from .network_tables import write_fabric_csv, write_storage_csv
from .tables import write_chart_csv, write_events_csv, write_gpu_csv, write_rack_csv

FORMAT = "colossus-gui-snapshot"
FORMAT_VERSION = 1
TELEMETRY_KEEP = 6 * 3600  # rows of facility telemetry carried in the bundle (charts continue after reopening)
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_MANIFEST_BYTES = 1024**2

# (file name, description) written for every bundle; PNG writers add their own.
FILES = {
    "manifest.json": "what this bundle is: facility, seed, simulated time, app version, the files",
    "facility.json": "the facility description the engine ran (validated on reopening)",
    "scenario.json": "the scenario with its timed faults (when one was loaded)",
    "state.npz": "the engine's arrays (numpy .npz, no pickles) and recent telemetry",
    "state.json": "the engine's scalars, random-generator state, accounting and event log",
    "timeseries.csv": "facility telemetry, one row per step (units in the headers)",
    "racks.csv": "per-rack state at the snapshot time",
    "gpus.csv": "per-GPU state at the snapshot time",
    "events.csv": "every event so far (faults, repairs, throttling, job interruptions)",
    "fabric.csv": "network fabric telemetry: throughput, bisection, links and switches down, power",
    "storage.csv": "storage telemetry: write, rebuild and checkpoint bandwidth, checkpoint stall",
}


class BundleError(Exception):
    """A bundle that cannot be written or opened; the message names the file and the problem."""


@dataclass
class Progress:
    """Report (fraction, label) and ask whether to stop; both optional."""

    report: Callable[[float, str], None] | None = None
    cancelled: Callable[[], bool] | None = None

    def __call__(self, frac: float, label: str) -> None:
        if self.cancelled is not None and self.cancelled():
            raise InterruptedError("cancelled")
        if self.report is not None:
            self.report(frac, label)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON: {type(o).__name__}")


def engine_state_files(engine: Engine, folder: Path) -> None:
    snap = engine.snapshot()
    arrays = {k: v for k, v in snap.items() if isinstance(v, np.ndarray)}
    scalars = {k: v for k, v in snap.items() if not isinstance(v, np.ndarray)}
    tel = engine.telemetry
    arrays["telemetry_facility"] = tel.facility.view()[-TELEMETRY_KEEP:]
    arrays["telemetry_rack_t"] = tel.rack_t.view()
    arrays["telemetry_racks"] = tel.racks.view()
    scalars["events"] = [[e.t_s, str(e.kind), e.address, e.detail, event_fields(e)] for e in engine.events]
    with open(folder / "state.npz", "wb") as fh:
        np.savez(fh, **arrays)
    (folder / "state.json").write_text(json.dumps(scalars, default=_json_default))


OPS_FILE = "ops.json"


def write_bundle(engine: Engine, out: str | Path, png_writers: dict[str, tuple[str, Callable[[Path], None]]] | None
                 = None, progress: Progress | None = None, include_gpu_csv: bool = True,
                 ops_state: dict | None = None) -> Path:
    """Write a bundle to ``out`` (a folder, or a .zip file). ``png_writers`` maps file name ->
    (description, writer(path)) for the GUI's images and tables. ``ops_state``: the operations of the run at
    this moment (OpsManager.state_dict(): run id, work orders with technician progress, stock), written as
    ops.json so that reopening the bundle restores exactly those orders. Returns the final path."""
    out = Path(out)
    progress = progress or Progress()
    as_zip = out.suffix.lower() == ".zip"
    check_replaceable(out)
    try:
        made = make_parents(out)
        clean_stale_temps(out)
        tmp = temp_dir_beside(out)
    except OSError as e:
        raise BundleError(f"{out}: cannot write here ({e.strerror or e})") from None
    files = dict(FILES)
    try:
        progress(0.0, "engine state")
        (tmp / "facility.json").write_text(engine.facility.model_dump_json(indent=1))
        if engine.scenario is not None:
            (tmp / "scenario.json").write_text(engine.scenario.model_dump_json(indent=1))
        else:
            files.pop("scenario.json")
        engine_state_files(engine, tmp)
        if ops_state is not None:
            (tmp / OPS_FILE).write_text(json.dumps(ops_state, default=_json_default))
            files[OPS_FILE] = "the run's operations at this moment: run id, work orders, technicians, stock"
        progress(0.15, "telemetry CSV")
        from ..sim.telemetry import FACILITY_CHANNELS
        write_chart_csv(engine, tmp / "timeseries.csv", [c for c in FACILITY_CHANNELS if c != "t_s"])
        progress(0.3, "rack and event CSV")
        write_rack_csv(engine, tmp / "racks.csv")
        write_events_csv(engine, tmp / "events.csv")
        write_fabric_csv(engine, tmp / "fabric.csv")  # network and storage
        write_storage_csv(engine, tmp / "storage.csv")
        if include_gpu_csv:
            progress(0.4, "per-GPU CSV")
            write_gpu_csv(engine, tmp / "gpus.csv", cancel=progress.cancelled)
        else:
            files.pop("gpus.csv")
        for i, (name, (desc, writer)) in enumerate((png_writers or {}).items()):
            progress(0.6 + 0.35 * i / max(1, len(png_writers)), f"image {name}")
            writer(tmp / name)
            files[name] = desc
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "app": "colossus-gui", "app_version": __version__,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "facility": engine.facility.name, "gpus": engine.n_gpus, "seed": engine.seed,
            "sim_time_s": engine.t, "scenario": engine.scenario.title if engine.scenario else None,
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        progress(0.97, "finishing")
        if as_zip:
            fd, ztmp = temp_file_beside(out)
            os.close(fd)
            try:
                with zipfile.ZipFile(ztmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
                    for f in sorted(tmp.iterdir()):
                        z.write(f, f.name)
                with open(ztmp, "rb") as fh:
                    os.fsync(fh.fileno())
                check_replaceable(out)
                os.replace(ztmp, out)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(ztmp)
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            check_replaceable(out)  # again: the folder may have changed while we wrote
            swap_dir_into_place(tmp, out)
        progress(1.0, "done")
        return out
    except InterruptedError:  # cancelled (an OSError subclass: it must not become "could not write")
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(made)
        raise
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(made)
        raise BundleError(f"{out}: could not write the bundle ({e.strerror or e}); nothing was written") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(made)
        raise


def _our_manifest(data: bytes, where: str) -> dict:
    try:
        m = json.loads(data)
    except (ValueError, RecursionError):
        m = None
    if not isinstance(m, dict) or m.get("format") != FORMAT or not isinstance(m.get("format_version"), int) \
            or not isinstance(m.get("files"), dict):
        raise BundleError(f"{where}: exists and is not a Colossus GUI snapshot bundle (its manifest.json is not "
                          f"ours); nothing was replaced: choose another name")
    if m["format_version"] > FORMAT_VERSION:
        raise BundleError(f"{where}: a bundle of a newer format (version {m['format_version']}); nothing was "
                          "replaced: choose another name")
    return m


def check_replaceable(out: Path) -> None:
    """Raise BundleError unless writing a bundle to ``out`` replaces nothing but one of our own bundles: a
    folder (or .zip) whose manifest says format colossus-gui-snapshot, a version we know, and which holds no
    file its manifest does not list. Anything else is the user's and is never deleted."""
    if out.is_symlink():
        raise BundleError(f"{out}: is a symbolic link; nothing was replaced: choose another name")
    if not out.exists():
        return
    if out.suffix.lower() == ".zip":
        if not out.is_file():
            raise BundleError(f"{out}: exists and is not a file; nothing was replaced: choose another name")
        try:
            with zipfile.ZipFile(out) as z:
                info = z.getinfo("manifest.json")
                if info.file_size > MAX_MANIFEST_BYTES:
                    raise KeyError
                _our_manifest(z.read(info), str(out))
        except (zipfile.BadZipFile, KeyError, OSError, ValueError):
            raise BundleError(f"{out}: exists and is not a Colossus GUI snapshot bundle; nothing was replaced: "
                              "choose another name") from None
        return
    if not out.is_dir():
        raise BundleError(f"{out}: exists and is not a folder; nothing was replaced: choose another name")
    if not any(os.scandir(out)):
        return  # an empty folder: nothing of anyone's is lost
    mpath = out / "manifest.json"
    if mpath.is_symlink() or not mpath.is_file():
        raise BundleError(f"{out}: exists and is not a snapshot bundle (no manifest.json); nothing was replaced: "
                          "choose another name or an empty folder")
    if mpath.stat().st_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{out}: exists and is not a Colossus GUI snapshot bundle; nothing was replaced")
    m = _our_manifest(mpath.read_bytes(), str(out))
    extra = sorted(e.name for e in os.scandir(out) if e.name not in m["files"] or not e.is_file(follow_symlinks=False))
    if extra:
        raise BundleError(f"{out}: holds {extra[0]!r}, which is not part of the snapshot bundle; nothing was "
                          "replaced: move it away or choose another name")


MAX_JSON_BYTES = {"manifest.json": MAX_MANIFEST_BYTES, "facility.json": 4 * 1024**2, "scenario.json": 4 * 1024**2,
                  "state.json": 256 * 1024**2}
MAX_EVENTS = 5_000_000
MAX_ABS_STATE = 1e18  # joules over a year of a 300 MW site are 1e16: anything beyond is damage


class _Reader:
    """The members of a bundle folder or zip: regular files only (a link, FIFO or device in a bundle folder is
    refused, so nothing outside the bundle is ever read), each with a size cap checked before reading."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = None
        try:
            if path.is_file():
                try:
                    self.zip = zipfile.ZipFile(path)
                except (zipfile.BadZipFile, ValueError, EOFError):
                    raise BundleError(f"{path}: not a snapshot bundle (neither a folder nor a zip file)") from None
            elif not path.is_dir():
                raise BundleError(f"{path}: no such file or folder (or not a regular file)")
        except OSError as e:
            raise BundleError(f"{path}: cannot read ({e.strerror or e})") from None

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        try:
            if self.zip is not None:
                info = self.zip.getinfo(name)
                if info.file_size > limit:
                    raise BundleError(f"{self.path}: {name} is implausibly large ({info.file_size:,} bytes; at most "
                                      f"{limit:,})")
                with self.zip.open(info) as fh:  # reads at most the declared size (a lying header: bad CRC)
                    data = fh.read(limit + 1)
                if len(data) > limit:
                    raise BundleError(f"{self.path}: {name} is implausibly large")
                return data
            return read_regular_file(self.path / name, limit, follow_links=False)
        except KeyError:
            raise BundleError(f"{self.path}: {name} is missing; not a complete snapshot bundle") from None
        except LoadError as e:
            msg = e.problems[0] if e.problems else str(e)
            if "no such file" in msg:
                raise BundleError(f"{self.path}: {name} is missing; not a complete snapshot bundle") from None
            raise BundleError(f"{self.path}: {name}: {msg.split(': ', 1)[-1]}") from None
        except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError, NotImplementedError) as e:
            raise BundleError(f"{self.path}: cannot read {name} ({e})") from None

    def has(self, name: str) -> bool:
        if self.zip is not None:
            return name in self.zip.namelist()
        p = self.path / name
        return p.exists() or p.is_symlink()

    def close(self):
        if self.zip is not None:
            self.zip.close()


def _json(reader: _Reader, name: str):
    raw = reader.read(name, MAX_JSON_BYTES.get(name, MAX_MANIFEST_BYTES))
    try:
        return parse_text(raw.decode("utf-8"), f"{reader.path}: {name}", as_json=True)
    except UnicodeDecodeError:
        raise BundleError(f"{reader.path}: {name}: not valid JSON (not UTF-8 text)") from None
    except LoadError as e:
        raise BundleError(e.problems[0]) from None


def _bad(path, what: str) -> BundleError:
    return BundleError(one_line(f"{path}: {what}"))


def _check_value(path, name: str, value, like, non_negative: bool = False) -> None:
    """``value`` (from state.json) has the type of ``like`` (from a fresh engine) and is finite and plausible."""
    if isinstance(like, bool):
        ok = isinstance(value, bool)
    elif isinstance(like, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(like, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = True
    if not ok:
        raise _bad(path, f"state.json: {name} must be a {type(like).__name__}, got {_show(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(like, float) and not math.isfinite(like) and value == like:
            return  # a start value that is infinite by design (the hottest GPU so far: -inf)
        if abs(value) > MAX_ABS_STATE or not math.isfinite(value):  # (abs first: a 400-digit int has no float)
            raise _bad(path, f"state.json: {name} = {_show(value)} is not a plausible value")
        if non_negative and value < 0:
            raise _bad(path, f"state.json: {name} = {_show(value)} cannot be negative")


# State a later version added: a bundle saved before it may lack it (the engine then starts it fresh: the
# front-end network all up, its failure counts zero)
_ADDED_ARRAYS = frozenset({"fabric.fe_nic_ok", "fabric.fe_leaf_ok"})
_ADDED_KEYS = {"fabric.failures_by_kind": frozenset({"fe_nic", "fe_leaf"})}

_NON_NEGATIVE = {"t", "step_count", "_fault_cursor", "t_fs", "n_events", "deficit_s", "surplus_s", "unserved_j"}


def _check_scalars(path, scalars, fresh: dict) -> None:
    if not isinstance(scalars, dict):
        raise _bad(path, f"state.json: expected a mapping, got {type(scalars).__name__}")
    for k, like in fresh.items():
        if isinstance(like, np.ndarray) or k in ("n_events", "rng"):
            continue
        if k not in scalars:
            raise _bad(path, f"state.json: {k} is missing")
        v = scalars[k]
        if isinstance(like, dict):
            if not isinstance(v, dict) or len(v) > 10_000:
                raise _bad(path, f"state.json: {k} must be a mapping, got {_show(v)}")
            if like and set(v) != set(like) and k != "interruptions_by_cause" and not (
                    set(v) <= set(like) and set(like) - set(v) <= _ADDED_KEYS.get(k, frozenset())):
                missing = sorted(set(like) - set(v)) or sorted(set(v) - set(like))
                raise _bad(path, f"state.json: {k} must have the keys {sorted(like)}, not {_show(missing[0])}")
            proto = next(iter(like.values()), 0.0)
            for kk, vv in v.items():
                ref = like.get(kk, 0.0 if isinstance(proto, float) else proto)
                _check_value(path, f"{k}.{kk}", vv, ref, non_negative=isinstance(ref, int) or k != "acc")
        elif isinstance(like, list):
            if not isinstance(v, list) or len(v) > 1_000_000:
                raise _bad(path, f"state.json: {k} must be a list, got {_show(v)}")
            if k == "heat_wave":
                if len(v) != len(like):
                    raise _bad(path, f"state.json: heat_wave must have {len(like)} numbers")
                for i, x in enumerate(v):
                    _check_value(path, f"heat_wave.{i}", x, 0.0)
            elif k == "pending_repairs":
                for i, r in enumerate(v):
                    if not (isinstance(r, list) and len(r) == 3 and isinstance(r[1], str) and isinstance(r[2], str)):
                        raise _bad(path, f"state.json: pending_repairs.{i} must be [time, kind, address]")
                    _check_value(path, f"pending_repairs.{i}", r[0], 0.0)
        else:
            _check_value(path, k, v, like, non_negative=k in _NON_NEGATIVE)
    if not isinstance(scalars.get("rng"), dict):
        raise _bad(path, "state.json: rng must be a mapping (the random generator's state)")
    events = scalars.get("events", [])
    if not isinstance(events, list) or len(events) > MAX_EVENTS:
        raise _bad(path, f"state.json: events must be a list of at most {MAX_EVENTS:,}")
    for i, ev in enumerate(events):
        if not (isinstance(ev, list) and len(ev) in (4, 5) and all(isinstance(x, str) for x in ev[1:4])
                and isinstance(ev[0], int | float) and not isinstance(ev[0], bool) and 0 <= ev[0] <= MAX_ABS_STATE
                and math.isfinite(ev[0])):
            raise _bad(path, f"state.json: events.{i} must be [time_s, kind, address, detail], got {_show(ev)}")
        if len(ev) == 5 and not _event_fields_ok(ev[4]):
            raise _bad(path, f"state.json: events.{i}: typed fields {_show(ev[4])} are not event fields")


_EVENT_INT_FIELDS = ("index", "sub", "rack", "job", "severity")
_EVENT_TEXT_FIELDS = ("component", "fault", "cause", "who")


def _event_fields_ok(d) -> bool:
    """An event's typed fields as bundles store them: whole-number indices and short texts, nothing else."""
    if not isinstance(d, dict):
        return False
    for k, v in d.items():
        if k in _EVENT_INT_FIELDS:
            if isinstance(v, bool) or not isinstance(v, int) or not -1 <= v <= MAX_ABS_STATE:
                return False
        elif k in _EVENT_TEXT_FIELDS:
            if not (v is None or (isinstance(v, str) and len(v) <= 200)):
                return False
        else:
            return False
    return True


def _npy_header(fh):
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh, max_header_size=10_000)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh, max_header_size=10_000)
    raise ValueError(f"npy version {version}")


def _read_arrays(path, raw: bytes, expected: dict[str, tuple], inf_ok: set[str], nan_ok: frozenset[str] | set[str] = frozenset()) -> dict:
    """Arrays of state.npz, each checked against ``expected`` (name -> (shape, or None for up to ``max_rows``
    rows of ``row_shape``; row_shape; dtype; max_rows)) from its header before a byte of data is read."""
    import io as _io
    try:
        z = zipfile.ZipFile(_io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise _bad(path, "state.npz: not a numpy .npz archive") from None
    out = {}
    with z:
        names = {n.removesuffix(".npy"): n for n in z.namelist()}
        for key, (shape, row_shape, dtype, max_rows) in expected.items():
            member = names.get(key)
            if member is None:
                if shape is None or key in _ADDED_ARRAYS:
                    continue  # telemetry is optional; state added later starts fresh
                raise _bad(path, f"state.npz: {key} is missing")
            try:
                with z.open(member) as fh:
                    got_shape, fortran, got_dtype = _npy_header(fh)
                    if got_dtype.hasobject:
                        raise _bad(path, f"state.npz: {key}: object arrays are not data")
                    if shape is not None:
                        if tuple(got_shape) != tuple(shape):
                            raise _bad(path, f"state.npz: {key}: shape {tuple(got_shape)} does not fit the facility "
                                             f"({tuple(shape)})")
                    elif len(got_shape) != 1 + len(row_shape) or tuple(got_shape[1:]) != tuple(row_shape) \
                            or got_shape[0] > max_rows:
                        continue  # telemetry of another shape: charts start empty, the state is still good
                    if got_dtype.kind != np.dtype(dtype).kind and not (
                            got_dtype.kind in "iu" and np.dtype(dtype).kind in "iu"):
                        raise _bad(path, f"state.npz: {key}: dtype {got_dtype} where {np.dtype(dtype)} is expected")
                    n = int(np.prod(got_shape, dtype=np.int64))
                    if z.getinfo(member).file_size > n * got_dtype.itemsize + 65536:
                        raise _bad(path, f"state.npz: {key}: larger than its header says")
                with z.open(member) as fh:  # the header checked: now the data, of a known size
                    arr = np.lib.format.read_array(fh, allow_pickle=False, max_header_size=10_000)
            except BundleError:
                raise
            except (ValueError, OSError, zipfile.BadZipFile, EOFError, SyntaxError, MemoryError) as e:
                raise _bad(path, f"state.npz: {key}: unreadable ({e})") from None
            if arr.dtype.kind == "f":
                bad = ~np.isfinite(arr)
                if key.startswith("telemetry_"):
                    bad = np.isinf(arr)  # NaN marks a gap in a chart; infinity is damage
                elif key in inf_ok:
                    bad = np.isnan(arr) | (arr == -np.inf)  # +inf means "no limit" (the hall power cap)
                elif key in nan_ok:
                    bad = np.isinf(arr)  # NaN means "none yet"
                fin = arr[np.isfinite(arr)]
                if bad.any() or (fin.size and np.abs(fin).max() > MAX_ABS_STATE):
                    raise _bad(path, f"state.npz: {key}: holds non-finite or implausible numbers")
            out[key] = arr
    return out


def read_ops_state(path: str | Path) -> dict | None:
    """The operations state a bundle carries (ops.json), or None for a bundle written without one."""
    path = Path(path)
    if path.name == "manifest.json":
        path = path.parent
    r = _Reader(path)
    try:
        if not r.has(OPS_FILE):
            return None
        d = _json(r, OPS_FILE)
        if not isinstance(d, dict) or not isinstance(d.get("run_id"), str) or not isinstance(d.get("work_orders"), list):
            raise BundleError(f"{path}: {OPS_FILE}: not an operations state (run_id and work_orders are needed)")
        return d
    finally:
        r.close()


def open_bundle(path: str | Path) -> Engine:
    """Rebuild the engine from a bundle. Raises BundleError naming the file and problem; nothing global changes.

    Everything is checked before it reaches the engine: the manifest's format and version, the facility and
    scenario through their models (limits included), every array's shape, dtype, size and finiteness from its
    header before its data is read, every scalar's type and range, the event log's shape."""
    path = Path(path)
    r = _Reader(path)
    try:
        manifest = _json(r, "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _bad(path, f"manifest.json: not a Colossus GUI snapshot (format {_show(manifest.get('format'))})"
                       if isinstance(manifest, dict) else "manifest.json: not a snapshot manifest")
        if manifest.get("format_version") != FORMAT_VERSION or isinstance(manifest.get("format_version"), bool):
            raise _bad(path, f"manifest.json: format_version {_show(manifest.get('format_version'))} is not "
                             f"supported (this app reads {FORMAT_VERSION})")
        seed = manifest.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
            raise _bad(path, f"manifest.json: seed must be a whole number from 0 to 2**64 - 1, got {_show(seed)}")
        try:
            facility = Facility.model_validate(_json(r, "facility.json"))
            scenario = Scenario.model_validate(_json(r, "scenario.json")) if r.has("scenario.json") else None
        except ValidationError as e:
            raise BundleError("; ".join(format_validation_error(f"{path}: facility/scenario", e))) from None
        except RecursionError:
            raise _bad(path, "facility.json: nested too deeply") from None
        try:
            engine = Engine(facility, seed=seed, scenario=scenario)
        except (SimError, ValueError, MemoryError) as e:
            raise _bad(path, f"facility.json: cannot build the facility ({e})") from None
        fresh = engine.snapshot()
        scalars = _json(r, "state.json")
        _check_scalars(path, scalars, fresh)
        tel = engine.telemetry
        expected = {k: (v.shape, (), v.dtype, 0) for k, v in fresh.items() if isinstance(v, np.ndarray)}
        for name, ring in (("telemetry_facility", tel.facility), ("telemetry_rack_t", tel.rack_t),
                           ("telemetry_racks", tel.racks)):
            expected[name] = (None, ring.data.shape[1:], ring.data.dtype, max(ring.capacity, TELEMETRY_KEEP))
        budget = sum(v.nbytes for v in fresh.values() if isinstance(v, np.ndarray)) + sum(
            TELEMETRY_KEEP * int(np.prod(ring.data.shape[1:])) * ring.data.itemsize
            for ring in (tel.facility, tel.rack_t, tel.racks)) + 16 * 1024**2
        inf_ok = {k for k, v in fresh.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f" and np.isinf(v).any()}
        # NaN as "none yet" (a job's checkpoint start when it is not checkpointing), as a fresh engine has it
        nan_ok = {k for k, v in fresh.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f" and np.isnan(v).any()}
        arrays = _read_arrays(path, r.read("state.npz", min(MAX_MEMBER_BYTES, 2 * budget)), expected, inf_ok,
                              nan_ok)
        snap = dict(scalars)
        snap.update({k: v for k, v in arrays.items() if not k.startswith("telemetry_")})
        events = snap.pop("events", [])
        try:
            engine.events.extend(event_from_row(row) for row in events)
            snap["n_events"] = len(engine.events)
            engine.restore(snap)
        except (SimError, KeyError, TypeError, ValueError, OverflowError) as e:
            raise _bad(path, f"state does not fit its facility ({e})") from None
        if scenario is not None and not 0 <= engine._fault_cursor <= len(scenario.faults):
            raise _bad(path, f"state.json: _fault_cursor {engine._fault_cursor} is outside the scenario's faults")
        engine._event_cursor = len(engine.events)
        for name, ring in (("telemetry_facility", tel.facility), ("telemetry_rack_t", tel.rack_t),
                           ("telemetry_racks", tel.racks)):
            rows = arrays.get(name)
            if rows is not None and rows.shape[1:] == ring.data.shape[1:]:
                rows = rows[-ring.capacity:]
                ring.data[:len(rows)] = rows
                ring.count = len(rows)
        return engine
    finally:
        r.close()
