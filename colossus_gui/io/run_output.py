"""Headless run output: timeseries.csv (one row per simulated second), events.csv, summary.json.

The time series is streamed from the engine's telemetry ring to a temp file in chunks, so a week-long run
needs no week-long buffer. The three files are written into a temporary sibling folder and swapped in whole
when the run completes: ``out`` holds the complete old set or the complete new set, never a mix, and a failed
run leaves no empty ``out`` behind.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..sim.engine import Engine
from ..sim.telemetry import FACILITY_CHANNELS
from . import json_safe
from .atomic import (
    atomic_open,
    clean_stale_temps,
    make_parents,
    remove_empty,
    swap_dir_into_place,
    temp_dir_beside,
)
from .csv_safe import safe_cell

RUN_FILES = ("timeseries.csv", "events.csv", "summary.json")


class OutputError(Exception):
    """``out`` cannot take a run's files without losing something of the user's; the message says why."""


def check_run_out(out: Path) -> None:
    """Raise OutputError unless ``out`` is missing, an empty folder, or a folder holding only a run's files."""
    if out.is_symlink():
        raise OutputError(f"--out {out}: is a symbolic link; give a folder")
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    try:
        extra = sorted(e.name for e in os.scandir(out)
                       if e.name not in RUN_FILES or not e.is_file(follow_symlinks=False))
    except OSError as e:
        raise OutputError(f"--out {out}: cannot read the folder ({e.strerror})") from None
    if extra:
        raise OutputError(f"--out {out}: holds {extra[0]!r}, which is not a run output file; the folder is replaced "
                          "as a whole, so give a new or empty folder (or one with only a run's files)")


SIM_EPOCH = np.datetime64("2024-07-15T00:00:00")  # a Memphis summer day; time of day from the ambient spec


def iso_times(engine: Engine, t_s: np.ndarray) -> np.ndarray:
    start = SIM_EPOCH + np.timedelta64(int(round(engine.facility.site.ambient.start_hour * 3600)), "s")
    return (start + (np.asarray(t_s) * 1000).astype("timedelta64[ms]")).astype(str)


def _write_rows(fh, engine: Engine, rows: np.ndarray) -> None:
    # One %-format per row and one write per chunk: byte-identical to formatting each cell with
    # np.char.mod("%.17g") and joining, but ~5x faster (that was ~12 s of a 24-hour run's output)
    if not rows.shape[0]:
        return
    iso = iso_times(engine, rows[:, 0]).tolist()
    fmt = "%.17g,%s," + ",".join(["%.17g"] * (rows.shape[1] - 1))
    fh.write("\n".join(fmt % (r[0], it, *r[1:]) for r, it in zip(rows.tolist(), iso, strict=True)) + "\n")


def write_events_csv(engine: Engine, path: Path) -> None:
    with atomic_open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time_s", "iso_time", "kind", "address", "detail"])
        ts = np.array([e.t_s for e in engine.events])
        iso = iso_times(engine, ts) if len(ts) else []
        for e, it in zip(engine.events, iso, strict=True):
            w.writerow([repr(float(e.t_s)), it, e.kind, safe_cell(e.address), safe_cell(e.detail)])


def write_run(engine: Engine, duration_s: float, dt: float, out: Path,
              progress: Callable[[float], None] | None = None, progress_every_s: float = 3600.0,
              after_step: Callable[[float], None] | None = None,
              extra_summary: Callable[[], dict] | None = None,
              step: Callable[[], None] | None = None) -> list[Path]:
    """Run ``duration_s`` and write the three files. ``step()``: one step of everything (a Run's step;
    default: the engine's step, then ``after_step(dt)``); ``extra_summary()`` adds sections to summary.json."""
    out = Path(out)
    check_run_out(out)
    made = make_parents(out)
    clean_stale_temps(out)
    try:
        tmp = temp_dir_beside(out)
    except OSError:
        remove_empty(made)
        raise
    try:
        _write_set(engine, duration_s, dt, tmp, progress, progress_every_s, after_step, extra_summary, step)
        check_run_out(out)  # again: the folder may have changed during the run
        swap_dir_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(made)
        raise
    return [out / n for n in RUN_FILES]


def _write_set(engine, duration_s, dt, out, progress, progress_every_s, after_step, extra_summary, step) -> None:
    ts_path, ev_path, sum_path = (out / n for n in RUN_FILES)
    steps = int(round(duration_s / dt))
    per_row = max(1, int(round(1.0 / dt)))  # one row per simulated second
    chunk = min(engine.telemetry.facility.capacity - 1, 3600 * per_row)
    chunk -= chunk % per_row
    every = max(1, int(progress_every_s / dt))
    tel = engine.telemetry.facility
    header = ["time_s", "iso_time", *[c for c in FACILITY_CHANNELS if c != "t_s"]]
    with atomic_open(ts_path, "w", newline="") as fh:
        fh.write(",".join(header) + "\n")
        done = 0
        # the state before the first step is row 0
        while done < steps:
            n = min(chunk, steps - done)
            start_count = tel.count
            for i in range(n):
                if step is not None:
                    step()
                else:
                    engine.step(dt)
                    if after_step is not None:
                        after_step(dt)
                if progress is not None and (done + i + 1) % every == 0:
                    progress((done + i + 1) / steps)
            idx = np.arange(start_count, tel.count) % tel.capacity
            rows = tel.data[idx]
            first = (per_row - 1 - done) % per_row
            _write_rows(fh, engine, rows[first::per_row])
            done += n
    write_events_csv(engine, ev_path)
    with atomic_open(sum_path, "w") as fh:
        summary = engine.summary()
        if extra_summary is not None:
            summary.update(extra_summary())
        fh.write(json_safe.dumps(summary, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        fh.write("\n")
