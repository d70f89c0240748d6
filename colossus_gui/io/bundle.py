"""Snapshot bundles: one folder (or .zip) holding the engine state, CSVs, PNGs and a JSON manifest, so that
`open_bundle` resumes the simulation exactly where it was (same seed -> same future).

Data only: arrays in ``state.npz`` (loaded with allow_pickle=False), everything else JSON. The bundle is
written to a temporary sibling folder and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
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
from ..sim.engine import Engine, Event, SimError
from .atomic import temp_dir_beside, temp_file_beside
from .loader import format_validation_error
from .network_tables import write_fabric_csv, write_storage_csv
from .tables import write_chart_csv, write_events_csv, write_gpu_csv, write_rack_csv

FORMAT = "colossus-gui-snapshot"
FORMAT_VERSION = 1
TELEMETRY_KEEP = 6 * 3600  # rows of facility telemetry carried in the bundle (charts continue after reopening)
MAX_MEMBER_BYTES = 2 * 1024**3

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
    scalars["events"] = [[e.t_s, e.kind, e.address, e.detail] for e in engine.events]
    with open(folder / "state.npz", "wb") as fh:
        np.savez(fh, **arrays)
    (folder / "state.json").write_text(json.dumps(scalars, default=_json_default))


def write_bundle(engine: Engine, out: str | Path, png_writers: dict[str, tuple[str, Callable[[Path], None]]] | None
                 = None, progress: Progress | None = None, include_gpu_csv: bool = True) -> Path:
    """Write a bundle to ``out`` (a folder, or a .zip file). ``png_writers`` maps file name ->
    (description, writer(path)) for the GUI's images. Returns the final path."""
    out = Path(out)
    progress = progress or Progress()
    as_zip = out.suffix.lower() == ".zip"
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
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
                os.replace(ztmp, out)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(ztmp)
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            if out.exists():
                if not (out / "manifest.json").exists():
                    raise BundleError(f"{out}: exists and is not a snapshot bundle; choose another name")
                old = out.with_name(f".{out.name}.old-{os.getpid()}")
                os.replace(out, old)
                os.replace(tmp, out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, out)
        progress(1.0, "done")
        return out
    except InterruptedError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BundleError(f"{out}: could not write the bundle ({e.strerror or e}); nothing was written") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self.zip = None
        if path.is_file():
            try:
                self.zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                raise BundleError(f"{path}: not a snapshot bundle (neither a folder nor a zip file)") from None
        elif not path.is_dir():
            raise BundleError(f"{path}: no such file or folder")

    def read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                info = self.zip.getinfo(name)
                if info.file_size > MAX_MEMBER_BYTES:
                    raise BundleError(f"{self.path}: {name} is implausibly large")
                return self.zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise BundleError(f"{self.path}: {name} is missing; not a complete snapshot bundle") from None
        except (OSError, zipfile.BadZipFile) as e:
            raise BundleError(f"{self.path}: cannot read {name} ({e})") from None

    def has(self, name: str) -> bool:
        if self.zip is not None:
            return name in self.zip.namelist()
        return (self.path / name).is_file()

    def close(self):
        if self.zip is not None:
            self.zip.close()


def _json(reader: _Reader, name: str):
    try:
        return json.loads(reader.read(name))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{reader.path}: {name}: not valid JSON ({e})") from None


def open_bundle(path: str | Path) -> Engine:
    """Rebuild the engine from a bundle. Raises BundleError naming the file and problem; nothing global changes."""
    import io as _io

    path = Path(path)
    r = _Reader(path)
    try:
        manifest = _json(r, "manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleError(f"{path}: manifest.json: not a Colossus GUI snapshot (format {manifest.get('format')!r})"
                              if isinstance(manifest, dict) else f"{path}: manifest.json: not a snapshot manifest")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise BundleError(f"{path}: manifest.json: format_version {manifest.get('format_version')!r} is not "
                              f"supported (this app reads {FORMAT_VERSION})")
        try:
            facility = Facility.model_validate(_json(r, "facility.json"))
            scenario = Scenario.model_validate(_json(r, "scenario.json")) if r.has("scenario.json") else None
        except ValidationError as e:
            raise BundleError("; ".join(format_validation_error(f"{path}: facility/scenario", e))) from None
        scalars = _json(r, "state.json")
        try:
            npz = np.load(_io.BytesIO(r.read("state.npz")), allow_pickle=False)
            arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile) as e:
            raise BundleError(f"{path}: state.npz: unreadable ({e})") from None
        seed = manifest.get("seed")
        if not isinstance(seed, int):
            raise BundleError(f"{path}: manifest.json: seed must be an integer")
        engine = Engine(facility, seed=seed, scenario=scenario)
        snap = dict(scalars)
        snap.update({k: v for k, v in arrays.items() if not k.startswith("telemetry_")})
        events = snap.pop("events", [])
        try:
            engine.events.extend(Event(float(t), str(k), str(a), str(d)) for t, k, a, d in events)
            snap["n_events"] = len(engine.events)
            engine.restore(snap)
        except (SimError, KeyError, TypeError, ValueError) as e:
            raise BundleError(f"{path}: state does not fit its facility ({e})") from None
        engine._event_cursor = len(engine.events)
        tel = engine.telemetry
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
