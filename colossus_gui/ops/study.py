"""Run a study: many independent seeded runs on a Dask cluster (a LocalCluster of processes by default, or a
scheduler at ``tcp://HOST:8786``), each result stored as soon as it arrives.

``simulate`` is the one headless run (facility + scenario + seed + duration -> summary dict): the same
:class:`~colossus_gui.ops.run.Run` ``colossus-gui run`` and the GUI drive, without the files; ``run_task`` is what a worker executes. ``StudyRunner`` plans the
runs, skips those already in the results store (resume), submits the rest and writes each result as it
finishes. Results depend only on each run's inputs and seed, never on which worker ran it or when: the same
study gives the same numbers on one worker or fifty. A worker lost mid-run (killed, out of memory) has its run
rescheduled by the Dask scheduler on another worker; a run that fails for another reason is reported and left
out (rerun the study to retry it).
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..io.study_file import LoadedStudy, RunInputs
from ..io.study_results import StudyStore, aggregate
from ..model.facility import Facility
from ..model.ops_config import OpsConfig
from ..model.scenario import Scenario
from ..sim.engine import CHECKPOINTING, Engine
from .run import Run

DEFAULT_MEMORY_LIMIT = "3GiB"  # per worker; the 200k facility with operations peaks near 0.6 GB


def simulate(facility: Facility, scenario: Scenario | None, seed: int, duration_s: float, dt: float = 1.0,
             ops: OpsConfig | None = None) -> dict:
    """One headless run (what ``colossus-gui run`` computes, without writing files): the engine's summary,
    the operations figures under ``maintenance`` when ``ops`` is given, and a few figures studies ask for:
    ``throttled_hours`` (hours with any GPU throttled), ``load_shed_s`` (seconds with load shedding),
    ``jobs`` (per job: GPUs, interruptions, MTBF, checkpoint cost as charged -- time spent checkpointing per
    checkpoint -- and the Young/Daly interval sqrt(2 cost MTBF)) and, for the first job, ``job_mtbf_s`` and
    ``young_daly_s``."""
    run = StudyRun(facility, scenario, seed, dt, ops)
    run.advance(int(round(duration_s / dt)))
    return run.summary()


class StudyRun:
    """The body of :func:`simulate`, in pieces, so the GUI can re-simulate a study's run with progress and
    show the very engine it produced. It drives the project's one :class:`~colossus_gui.ops.run.Run` (no
    keyframes: a study keeps figures, not history), so a study's run steps exactly as ``colossus-gui run``
    and the GUI do; the figures only studies ask for are read after each step."""

    def __init__(self, facility: Facility, scenario: Scenario | None, seed: int, dt: float = 1.0,
                 ops: OpsConfig | None = None, telemetry_capacity: int = 64):
        # a short telemetry ring by default: studies keep figures, not time series (bounded worker memory)
        self.engine = eng = Engine(facility, seed=seed, scenario=scenario, telemetry_capacity=telemetry_capacity,
                                   rack_telemetry_capacity=4 if telemetry_capacity <= 64 else 720)
        self.dt = dt
        self.ops = None
        if ops is not None:
            from .workflow import OpsManager
            self.ops = OpsManager(eng, ops, seed=seed)
        self.run = Run(eng, ops=self.ops, dt=dt, keyframes=False)
        self.run.after_step.append(self._observe)
        self.throttled_s = self.shed_s = 0.0
        # checkpoint cost as the engine actually charged it (time in the checkpoint state per checkpoint)
        self.ckpt_s = np.zeros(eng.n_jobs)
        self.ckpts = np.zeros(eng.n_jobs, dtype=np.int64)
        self._was = eng.job_state == CHECKPOINTING

    def advance(self, steps: int) -> int:
        """Advance ``steps`` steps of the run; returns the steps taken."""
        return self.run.advance(steps * self.dt)

    def _observe(self) -> None:
        eng, dt = self.engine, self.dt
        if eng.rack_throttled.any():
            self.throttled_s += dt
        if eng.shed_frac > 0:
            self.shed_s += dt
        now = eng.job_state == CHECKPOINTING
        if now.any() or self._was.any():
            self.ckpt_s += (now & self._was) * dt  # a step that began and ended checkpointing did no work
            self.ckpts += now & ~self._was
            self._was = now

    def summary(self) -> dict:
        eng = self.engine
        s = eng.summary()
        if self.ops is not None:
            s["maintenance"] = self.ops.figures()
        s["throttled_hours"] = self.throttled_s / 3600.0
        s["load_shed_s"] = self.shed_s
        eng.tray_available()
        jobs = []
        for j, job in enumerate(eng.jobs):
            n = int(eng.job_interruptions[j])
            mtbf = eng.t / n if n else None
            cost = float(self.ckpt_s[j] / self.ckpts[j]) if self.ckpts[j] else float(job.checkpoint_stall_s)
            jobs.append({"name": job.name, "gpus": int((eng.tray_job == j).sum() * eng.topo.gpus_per_tray),
                         "interruptions": n, "mtbf_s": mtbf, "checkpoint_interval_s": job.checkpoint_interval_s,
                         "checkpoints": int(self.ckpts[j]), "checkpoint_stall_s": job.checkpoint_stall_s,
                         "checkpoint_cost_s": cost,
                         "young_daly_s": math.sqrt(2 * cost * mtbf) if mtbf else None})
        s["jobs"] = jobs
        if jobs:
            s["job_mtbf_s"] = jobs[0]["mtbf_s"]
            s["young_daly_s"] = jobs[0]["young_daly_s"]
        return _plain(s)


def run_from_task(task: dict, telemetry_capacity: int = 64) -> StudyRun:
    """A :class:`StudyRun` at t = 0 for a run's task dict (``RunInputs.task()``)."""
    fac = Facility.model_validate(task["facility"])
    sc = Scenario.model_validate(task["scenario"]) if task["scenario"] is not None else None
    ops = OpsConfig.model_validate(task["ops"]) if task["ops"] is not None else None
    return StudyRun(fac, sc, task["seed"], task["dt"], ops, telemetry_capacity)


def _plain(o):
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_plain(v) for v in o]
    if isinstance(o, np.generic):
        return o.item()
    return o


def _rss_mb() -> float:
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except ImportError:  # Windows
        return float("nan")


def run_task(task: dict) -> dict:
    """What a worker runs: rebuild the models from plain data, simulate, return a small row."""
    t0 = time.perf_counter()
    run = run_from_task(task)
    run.advance(int(round(task["duration_s"] / task["dt"])))
    summary = run.summary()
    return {"key": task["key"], "point": task["point"], "seed_index": task["seed_index"], "seed": task["seed"],
            "summary": summary, "wall_s": time.perf_counter() - t0, "rss_mb": _rss_mb(),
            "worker": f"{os.uname().nodename if hasattr(os, 'uname') else ''}:{os.getpid()}"}


# --------------------------------------------------------------------------- the runner
@dataclass
class Progress:
    done: int                 # runs finished (including those found already done)
    total: int                # runs planned so far (grows with a stop rule's extra batches)
    new: int                  # runs finished in this session
    elapsed_s: float
    eta_s: float | None
    row: dict | None = None   # the run that just finished


@dataclass
class StudyOutcome:
    finished: int = 0          # runs computed in this session
    skipped: int = 0           # found already done (resume)
    failed: list[tuple[str, str]] = field(default_factory=list)   # (run key, error)
    interrupted: bool = False
    wall_s: float = 0.0
    compute_s: float = 0.0     # sum of the runs' own wall time (on the workers)
    workers: int = 0
    rss_mb_max: float = 0.0
    memory_limit: str | None = None


def make_cluster(workers: int, memory_limit: str = DEFAULT_MEMORY_LIMIT):
    """A LocalCluster of ``workers`` single-threaded worker processes, no dashboard, quiet logs."""
    import logging
    import signal
    import threading

    from distributed import LocalCluster
    # Worker processes ignore Ctrl+C (they inherit SIG_IGN across exec): the terminal sends SIGINT to the whole
    # process group, and the parent, not each worker, decides to stop, keep what is done and close the cluster.
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                            memory_limit=memory_limit, silence_logs=logging.CRITICAL)
    finally:
        if main:
            signal.signal(signal.SIGINT, old)


class StudyRunner:
    """Runs a loaded study into a results store. Give it a ``client`` (tests, the GUI), a ``scheduler``
    address, or a number of local ``workers`` (a LocalCluster made and closed here)."""

    def __init__(self, loaded: LoadedStudy, store: StudyStore, client=None, scheduler: str | None = None,
                 workers: int | None = None, memory_limit: str = DEFAULT_MEMORY_LIMIT):
        self.loaded = loaded
        self.store = store
        self.client = client
        self.scheduler = scheduler
        self.workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self.memory_limit = memory_limit
        self.runs = loaded.runs()
        self._cancel = False

    def cancel(self) -> None:
        """Ask a running ``run`` to stop after cancelling what is queued (thread-safe flag)."""
        self._cancel = True

    # rounds: without a stop rule one round holds every run; with one, seeds come in batches per point
    def _rounds(self) -> list[list[RunInputs]]:
        stop = self.loaded.study.stop
        n_seeds = self.loaded.seeds
        if stop is None:
            return [self.runs]
        bounds = [0, min(stop.min_seeds, n_seeds)]
        while bounds[-1] < n_seeds:
            bounds.append(min(n_seeds, bounds[-1] + stop.batch))
        return [[r for r in self.runs if lo <= r.seed_index < hi] for lo, hi in zip(bounds, bounds[1:], strict=False)]

    def _converged(self, point: int) -> bool:
        stop = self.loaded.study.stop
        keys = [r.key for r in self.runs if r.point == point]
        rows = self.store.rows_for(keys)
        agg = aggregate([rows], [stop.figure])[0]
        f = agg["figures"][stop.figure]
        return f["n"] >= stop.min_seeds and f["ci95"] is not None and 2 * f["ci95"] <= stop.ci_width

    def run(self, progress: Callable[[Progress], None] | None = None) -> StudyOutcome:
        out = StudyOutcome(memory_limit=self.memory_limit if self.client is None and self.scheduler is None
                           else None)
        t0 = time.perf_counter()
        cluster = client = None
        own = self.client is None
        try:
            if own and not (self.loaded.study.stop is None and {r.key for r in self.runs} <= self.store.keys()):
                from distributed import Client
                if self.scheduler:
                    client = Client(self.scheduler, timeout="20s")
                else:
                    cluster = make_cluster(self.workers, self.memory_limit)
                    client = Client(cluster)
            elif not own:
                client = self.client
            if client is not None:
                out.workers = len(client.scheduler_info().get("workers", {})) or self.workers
            self._run_rounds(client, out, progress, t0)  # with every run done already: no cluster needed
        except KeyboardInterrupt:
            out.interrupted = True
            raise
        finally:
            out.wall_s = time.perf_counter() - t0
            if own:
                if client is not None:
                    client.close()
                if cluster is not None:
                    cluster.close()
        return out

    def _run_rounds(self, client, out: StudyOutcome, progress, t0: float) -> None:
        from distributed import as_completed
        session = uuid.uuid4().hex[:8]
        done_keys = self.store.keys()
        stopped: set[int] = set()
        planned = 0
        done = 0
        rate_n, rate_t = 0, 0.0
        for rnd in self._rounds():
            if self._cancel:
                out.interrupted = True
                return
            todo = [r for r in rnd if r.point not in stopped]
            planned += len(todo)
            pending = [r for r in todo if r.key not in done_keys]
            already = len(todo) - len(pending)
            out.skipped += already
            done += already
            if progress is not None:
                progress(Progress(done, planned, out.finished, time.perf_counter() - t0, None))
            if pending:
                # a key per session: a cancelled session's tasks may linger on the scheduler for a moment,
                # and a new future under the same key would inherit their cancelled state
                futures = [client.submit(run_task, r.task(), key=f"colossus-run-{r.key}-{session}", pure=False)
                           for r in pending]
                ac = as_completed(futures)
                try:
                    queue: list = []
                    while queue or not ac.is_empty():
                        if self._cancel:  # checked between results, and every 50 ms while waiting
                            out.interrupted = True
                            client.cancel(futures)
                            return
                        if not queue:
                            queue = list(ac.next_batch(block=False))
                            if not queue:
                                time.sleep(0.05)
                                continue
                        fut = queue.pop(0)
                        if fut.status != "finished":
                            try:
                                fut.result()
                            except Exception as e:  # noqa: BLE001 - a run that failed: report, keep going
                                out.failed.append((fut.key, f"{type(e).__name__}: {e}"))
                            continue
                        row = fut.result()
                        fut.release()
                        self.store.add(row)
                        done_keys.add(row["key"])
                        out.finished += 1
                        out.compute_s += row["wall_s"]
                        if math.isfinite(row["rss_mb"]):
                            out.rss_mb_max = max(out.rss_mb_max, row["rss_mb"])
                        done += 1
                        rate_n += 1
                        rate_t = time.perf_counter() - t0
                        remaining = planned - done
                        eta = rate_t / rate_n * remaining if rate_n else None
                        if progress is not None:
                            progress(Progress(done, planned, out.finished, rate_t, eta, row))
                except BaseException:
                    client.cancel(futures)
                    raise
            stop = self.loaded.study.stop
            if stop is not None:
                for p in {r.point for r in todo}:
                    if self._converged(p):
                        stopped.add(p)
