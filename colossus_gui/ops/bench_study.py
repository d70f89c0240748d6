"""Figures for `colossus-gui bench`: a headless run with its outputs against the bare engine, and the study
runner on a local Dask cluster (parallel efficiency, scheduling and transfer overhead, worker memory)."""

from __future__ import annotations

import pickle
import tempfile
import time
from pathlib import Path

import numpy as np


def run_output_figures(hours: float) -> dict:
    """`colossus-gui run` of the default facility (engine + operations layer + timeseries/events/summary files)
    against the bare engine, same seed and length, in this process."""
    from ..io.loader import load_facility
    from ..io.ops_loader import load_ops_config
    from ..io.run_output import write_run
    from ..sim.engine import Engine
    from .workflow import OpsManager
    fac = load_facility("colossus")
    seconds = hours * 3600.0
    eng = Engine(fac, seed=1)
    t0 = time.perf_counter()
    eng.run(seconds)
    bare = time.perf_counter() - t0
    eng = Engine(fac, seed=1, telemetry_capacity=int(seconds) + 2)
    ops = OpsManager(eng, load_ops_config(None), seed=1)
    with tempfile.TemporaryDirectory(prefix="colossus-bench-") as d:
        t0 = time.perf_counter()
        write_run(eng, seconds, 1.0, Path(d), after_step=ops.step,
                  extra_summary=lambda: {"maintenance": ops.figures()})
        full = time.perf_counter() - t0
    return {"hours": hours, "bare_s": bare, "with_outputs_s": full, "per_24h_s": full * 24 / hours,
            "bare_per_24h_s": bare * 24 / hours}


def _tiny_task(duration_s: float, seed: int) -> dict:
    from ..io.study_file import run_key
    from ..testing import small_facility
    fac = small_facility(halls=1, rows=2, racks_per_row=4, failures=True).model_dump(mode="json")
    point = {"facility": fac, "scenario": None, "ops": None}
    return {"key": run_key(point, seed, duration_s, 1.0), "point": 0, "seed_index": seed, "seed": seed,
            "facility": fac, "scenario": None, "ops": None, "duration_s": duration_s, "dt": 1.0}


def cluster_figures(runs: int = 8, run_s: float = 600.0) -> dict:
    """Runs per hour on a 1- and a 2-worker LocalCluster (same runs), the scheduling and transfer time per run
    (client-side latency less the run's own time on the worker), and the workers' peak RSS."""
    from distributed import Client, wait

    from .study import DEFAULT_MEMORY_LIMIT, make_cluster, run_task
    tasks = [_tiny_task(run_s, s) for s in range(runs)]
    out: dict = {"runs": runs, "run_simulated_s": run_s, "memory_limit": DEFAULT_MEMORY_LIMIT}
    rss = []
    for n in (1, 2):
        cluster = make_cluster(n)
        try:
            with Client(cluster) as c:
                # warm every worker with a run of the same size (imports, first allocations), untimed
                warm = [c.submit(run_task, dict(_tiny_task(run_s, 90 + k), key=f"warm-{k}"), pure=False)
                        for k in range(n)]
                wait(warm)
                walls = []
                for _rep in range(2):  # the better of two passes: a shared machine stalls one now and then
                    t0 = time.perf_counter()
                    futs = [c.submit(run_task, dict(t, key=f"{t['key']}-{_rep}"), pure=False) for t in tasks]
                    wait(futs)
                    walls.append(time.perf_counter() - t0)
                wall = min(walls)
                rows = [f.result() for f in futs]
                out[f"workers_{n}_wall_s"] = wall
                out[f"workers_{n}_runs_per_h"] = runs / wall * 3600
                rss += [r["rss_mb"] for r in rows]
                if n == 2:
                    lat = []
                    for t in tasks[:4]:
                        t1 = time.perf_counter()
                        r = c.submit(run_task, dict(t, key=t["key"] + "-lat"), pure=False).result()
                        lat.append(time.perf_counter() - t1 - r["wall_s"])
                    out["overhead_s_median"] = float(np.median(lat))
                    out["result_bytes"] = len(pickle.dumps(rows[0]))
                    out["run_wall_s_median"] = float(np.median([r["wall_s"] for r in rows]))
        finally:
            cluster.close()
    out["parallel_efficiency"] = out["workers_2_runs_per_h"] / out["workers_1_runs_per_h"] / 2.0
    out["overhead_of_10min_run"] = out["overhead_s_median"] / 600.0
    out["worker_rss_mb_max"] = float(np.nanmax(rss)) if rss else float("nan")
    return out


def study_bench_lines(quick: bool = False) -> list[str]:
    lines = []
    r = run_output_figures(0.25 if quick else 24.0)
    ext = f" (extrapolated from {r['hours']:.2f} h)" if r["hours"] < 24 else ""
    lines.append(f"colossus-gui run, 24 h of the default facility with operations and its output files: "
                 f"{r['per_24h_s']:.1f} s wall{ext} (target <= 120 s); bare engine in the same run "
                 f"{r['bare_per_24h_s']:.1f} s (outputs and operations +{(r['with_outputs_s'] / r['bare_s'] - 1):.0%})")
    try:
        c = cluster_figures(runs=4 if quick else 16, run_s=1200.0 if quick else 3600.0)
    except ImportError as e:
        lines.append(f"study figures unavailable: {e}")
        return lines
    lines.append(f"study on a local cluster, {c['runs']} runs of {c['run_simulated_s'] / 60:g} simulated min "
                 f"(~{c['run_wall_s_median']:.1f} s each): 1 worker {c['workers_1_runs_per_h']:.0f} runs/h, "
                 f"2 workers {c['workers_2_runs_per_h']:.0f} runs/h -> parallel efficiency "
                 f"{c['parallel_efficiency']:.0%} (target >= 85 %)")
    lines.append(f"study scheduling and result transfer: {c['overhead_s_median'] * 1e3:.0f} ms per run "
                 f"({c['result_bytes']:,} B result) = {c['overhead_of_10min_run']:.3%} of a 10-min run "
                 f"(target <= 5 %); worker peak RSS {c['worker_rss_mb_max']:.0f} MB (limit {c['memory_limit']} "
                 f"per worker)")
    return lines
