"""Figures for ``colossus-gui bench``: what the alarms and the technician workflow add to an engine step.

Measured per iteration in one loop (step, then the extra work), so machine noise hits both alike; medians.
"""

from __future__ import annotations

import time

import numpy as np


def _paired(engine, extra, n: int) -> dict:
    st, ex = np.empty(n), np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        engine.step()
        t1 = time.perf_counter()
        extra()
        st[i], ex[i] = t1 - t0, time.perf_counter() - t1
    return {"step_ms_median": float(np.median(st) * 1e3), "extra_us_median": float(np.median(ex) * 1e6),
            "overhead_median": float(np.median(ex / st))}


def ops_overhead_figures(facility: str = "colossus-200k", repeats: int = 300) -> dict:
    """Alarm evaluation and the whole OpsManager step against a bare engine step, with a few standing
    alarms and work orders under way (the normal state of a big facility)."""
    from ..io.loader import load_facility
    from ..sim.engine import Engine
    from .alarms import AlarmManager
    from .workflow import OpsManager

    eng = Engine(load_facility(facility), seed=1)
    am = AlarmManager(eng)
    eng.run(30)
    topo = eng.topo
    for r in range(0, topo.n_racks, max(1, topo.n_racks // 10)):
        eng.inject("fan_failure", topo.fan_address(r, 1))
    for g in range(0, topo.n_gpus, max(1, topo.n_gpus // 10)):
        eng.inject("gpu_failure", topo.gpu_address(g))
    for _ in range(10):
        eng.step()
        am.evaluate(eng)
    out = {"gpus": int(eng.n_gpus), "standing_alarms": am.counts()["total"],
           "alarms": _paired(eng, lambda: am.evaluate(eng), repeats)}
    ops = OpsManager(eng, seed=1)  # takes over the failures above as work orders
    for _ in range(10):
        eng.step()
        ops.step()
    out["work_orders"] = len(ops.work_orders)
    out["ops_step"] = _paired(eng, ops.step, repeats)
    return out


if __name__ == "__main__":  # python -m colossus_gui.ops.bench_ops
    import json
    print(json.dumps(ops_overhead_figures(), indent=2))
