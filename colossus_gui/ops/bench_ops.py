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


def generated_workspace(path, n_orders: int = 10_000, n_open: int = 3_000):
    """A workspace database of ``n_orders`` work orders on the small test facility: ``n_open`` still open,
    the rest closed history with every step and note, as a long-running facility accumulates them.
    Returns the run id they belong to."""
    from ..io.store import Store
    from ..model.ops_config import OpsConfig
    from ..sim.engine import Engine
    from ..testing import small_facility
    from .work_orders import CLOSED
    from .workflow import OpsManager

    eng = Engine(small_facility(), seed=2)
    store = Store(path)
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), store=store, seed=2)
    done = ops.create_work_order("H1-R001-T1", who="alice", note="swap")
    ops.assign(done.id, "Avery")
    while done.state != CLOSED:
        ops.advance(done.id)
    fresh = ops.create_work_order("H1-R001-T2", who="alice")
    closed_row, open_row = done.to_row(), fresh.to_row()
    with store.transaction():  # set-up, not the measurement: one transaction
        for i in range(n_orders):
            row = dict(open_row if i < n_open else closed_row, id=1000 + i, priority=1 + i % 4,
                       target=eng.topo.tray_address(i % eng.n_trays), created_t=float(i), run_id=ops.run_id)
            store.save_work_order(row, who="history", from_state=None, note="created", t_s=float(i))
    store.close()
    return ops.run_id


def open_workspace(path, run_id: str):
    """What a relaunch does with a workspace: open the database and load the run's open orders."""
    from ..io.store import Store
    from ..model.ops_config import OpsConfig
    from ..sim.engine import Engine
    from ..testing import small_facility
    from .workflow import OpsManager

    store = Store(path)
    eng = Engine(small_facility(), seed=2)
    eng.t = 20_000.0  # the run has reached the moment its history was written
    return eng, store, OpsManager(eng, OpsConfig(dispatch="manual"), store=store, seed=2, run_id=run_id)


def workspace_figures(n_orders: int = 10_000, n_open: int = 3_000, repeats: int = 3) -> dict:
    """Opening a workspace of ``n_orders`` work orders (``n_open`` open): best of ``repeats``."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "workspace.sqlite"
        run_id = generated_workspace(path, n_orders, n_open)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            _, store, ops = open_workspace(path, run_id)
            best = min(best, time.perf_counter() - t0)
            n = len(ops.work_orders)
            store.close()
    return {"orders": n_orders, "open_loaded": n, "open_s": best}
