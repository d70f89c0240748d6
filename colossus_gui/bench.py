"""`colossus-gui bench`: the performance figures the issues name, measured in one run on this machine.

Not a timed test: it prints figures (and ratios measured in the same run) for the README and for
before/after comparisons of hot-path work. The machine is shared and noisy; medians are reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np


def _median_ms(fn, n: int) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts) * 1e3)


def engine_step_figures(repeats: int = 300) -> dict:
    from .io.loader import load_facility
    from .sim.engine import Engine
    eng = Engine(load_facility("colossus-200k"), seed=1)
    eng.run(30)
    step_ms = _median_ms(eng.step, repeats)
    # memory-bandwidth floor: one plain copy of every state array the step touches
    arrays = [eng.tj, eng.tp, eng.gpu_power_w, eng.gpu_ok, eng.gpu_clock, eng.gpu_tripped]
    dst = [np.empty_like(a) for a in arrays]

    def copy_state():
        for a, d in zip(arrays, dst, strict=True):
            np.copyto(d, a)

    copy_ms = _median_ms(copy_state, repeats)
    return {"gpus": eng.n_gpus, "step_ms_median": step_ms, "state_copy_ms_median": copy_ms,
            "step_over_copy": step_ms / copy_ms}


def day_run_figures(hours: float) -> dict:
    from .io.loader import load_facility
    from .sim.engine import Engine
    eng = Engine(load_facility("colossus"), seed=1)
    t0 = time.perf_counter()
    eng.run(hours * 3600)
    wall = time.perf_counter() - t0
    return {"gpus": eng.n_gpus, "simulated_h": hours, "wall_s": wall, "wall_s_per_24h": wall * 24 / hours}


_RSS_CHILD = """
import json, resource
from colossus_gui.io.loader import load_facility
from colossus_gui.sim.engine import Engine
e = Engine(load_facility("colossus-200k"), seed=1, telemetry_capacity=3602)
e.run(SECONDS)
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def rss_figures(seconds: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD.replace("SECONDS", str(seconds))],
                         capture_output=True, text=True, check=True)
    return {"simulated_s": seconds, **json.loads(out.stdout.strip().splitlines()[-1])}


def run_bench(quick: bool = False, gui: bool = False) -> int:
    print("colossus-gui bench (medians; 2-core shared machine, figures vary by ~10 %)")
    s = engine_step_figures(60 if quick else 300)
    print(f"engine step, {s['gpus']:,} GPUs: {s['step_ms_median']:.2f} ms median (target <= 2 ms); "
          f"plain copy of the GPU state arrays {s['state_copy_ms_median']:.3f} ms -> "
          f"step = {s['step_over_copy']:.1f} x the memory-bandwidth floor")
    hours = 0.25 if quick else 24.0
    d = day_run_figures(hours)
    print(f"24 h of the default {d['gpus']:,}-GPU facility headless: {d['wall_s_per_24h']:.1f} s wall"
          f"{f' (extrapolated from {hours:.2f} h)' if hours < 24 else ''} (target <= 120 s)")
    r = rss_figures(600 if quick else 3600)
    print(f"peak RSS of a {r['simulated_s'] / 3600:.2f} h 200k-GPU run with telemetry: {r['rss_mb']:.0f} MB "
          "(target <= 400 MB)")
    from .ops.bench_ops import ops_overhead_figures
    o = ops_overhead_figures(repeats=60 if quick else 300)
    a, w = o["alarms"], o["ops_step"]
    print(f"alarm evaluation, {o['gpus']:,} GPUs, {o['standing_alarms']} standing alarms: "
          f"{a['extra_us_median']:.0f} us on a {a['step_ms_median']:.2f} ms step = "
          f"{100 * a['extra_us_median'] / 1e3 / a['step_ms_median']:.1f} % (target <= 20 %); whole ops step "
          f"with {o['work_orders']} work orders: {w['extra_us_median']:.0f} us")
    from .ops.bench_ops import workspace_figures
    ws = workspace_figures()
    print(f"relaunch on a workspace of {ws['orders']:,} work orders: its {ws['open_loaded']:,} open orders loaded in "
          f"{ws['open_s']:.2f} s (target <= 1 s; the closed history stays in the database)")
    from .ops.bench_study import study_bench_lines
    for line in study_bench_lines(quick=quick):
        print(line, flush=True)
    from .realdata_bench import realdata_bench_lines
    for line in realdata_bench_lines(quick=quick, gui=gui):
        print(line)
    from .ops.bench_run import timeline_bench_lines
    for line in timeline_bench_lines(quick=quick):
        print(line)
    if gui:
        try:
            from .ui.bench_timeline import ui_block_lines
            for line in ui_block_lines(quick=quick):
                print(line)
        except ImportError as e:
            print(f"UI-block figures unavailable: {e}")
        try:
            from .ui.bench import gui_bench_lines
            from .ui.export.bench_export import export_bench_lines
        except ImportError as e:
            print(f"GUI figures unavailable: {e}")
        else:
            for line in [*gui_bench_lines(quick=quick), *export_bench_lines(quick=quick)]:
                print(line)
    return 0
