"""Studies on a real Dask LocalCluster (worker processes): runs stream into the store, a rerun resumes, the
results do not depend on the number of workers, a killed worker's run is redone, and the checkpoint study's
optimum agrees with Young/Daly.

One 2-worker cluster serves the module (started once, always closed); runs are a 128-GPU facility for
minutes of simulated time, so the whole file stays well under a minute of machine time.
"""

import os
import signal

import pytest

pytest.importorskip("distributed")
from distributed import Client  # noqa: E402

from colossus_gui.io.study_file import load_study  # noqa: E402
from colossus_gui.io.study_results import StudyStore, collect  # noqa: E402
from colossus_gui.ops.study import StudyRunner, make_cluster  # noqa: E402
from colossus_gui.testing import write_study_files  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = make_cluster(2, memory_limit="1GiB")
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _figures(loaded, store) -> dict:
    per_point, _ = collect(loaded, store)
    return {(r["point"], r["seed_index"]): (r["seed"], r["summary"]) for rows in per_point for r in rows}


def test_small_study_runs_resumes_and_gives_the_same_numbers_on_one_or_two_workers(tmp_path, client):
    loaded = load_study(write_study_files(tmp_path / "s", seeds=3))
    # first session: stopped by the user after three runs (the GUI's cancel, the CLI's Ctrl+C)
    store = StudyStore(tmp_path / "a" / "results.sqlite")
    runner = StudyRunner(loaded, store, client=client)
    seen = []

    def progress(p):
        if p.row is not None:
            seen.append(p.row["key"])
            if len(seen) == 3:
                runner.cancel()

    out = runner.run(progress)
    assert out.interrupted and 3 <= len(store.keys()) < 6
    kept = store.keys()
    # second session: skips what is done, runs the rest
    out2 = StudyRunner(loaded, store, client=client).run()
    assert not out2.interrupted and not out2.failed
    assert out2.skipped == len(kept) and out2.finished == 6 - len(kept)
    assert store.keys() >= kept and len(store.keys()) == 6
    two = _figures(loaded, store)
    assert len(two) == 6
    # seeds differ, so runs differ: the failure draws are the seed's
    assert len({s["goodput"] for _seed, s in two.values()}) > 1
    # one worker, fresh store: every number identical
    cluster1 = make_cluster(1, memory_limit="1GiB")
    try:
        with Client(cluster1) as c1:
            store1 = StudyStore(tmp_path / "b" / "results.sqlite")
            StudyRunner(loaded, store1, client=c1).run()
    finally:
        cluster1.close()
    assert _figures(loaded, store1) == two
    store.close()
    store1.close()


def test_a_killed_worker_has_its_run_redone(tmp_path, client):
    loaded = load_study(write_study_files(tmp_path / "s", seeds=3, duration="3h",
                                          grid={"jobs.0.checkpoint_interval_s": [300, 900]}))
    store = StudyStore(tmp_path / "out" / "results.sqlite")
    killed = []

    def progress(p):
        if p.row is not None and not killed:
            # kill -9 a worker in the middle of a run
            busy = [w for w, keys in client.processing().items() if keys]
            pids = client.run(os.getpid, workers=busy[:1])
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    out = StudyRunner(loaded, store, client=client).run(progress)
    assert killed, "no worker was busy to kill"
    assert not out.failed and len(store.keys()) == 6
    # the redone run equals a run made on its own
    from colossus_gui.ops.study import run_task
    r = loaded.runs()[-1]
    assert _figures(loaded, store)[(r.point, r.seed_index)][1] == run_task(r.task())["summary"]
    store.close()


def test_checkpoint_optimum_lies_within_25_percent_of_young_daly(tmp_path, client):
    """The checkpoint study's question at a small scale: a 128-GPU job failing every 10 min on average with a
    30 s checkpoint stall (charged ~20 s at 10 s steps). The optimum of the goodput curve must land within
    +-25 % of sqrt(2 C MTBF) computed from the same runs' checkpoint cost (as the engine charged it) and
    failure rate."""
    from colossus_gui.io.study_results import curve_series, optimum, young_daly_by_series
    loaded = load_study(write_study_files(
        tmp_path / "s", seeds=4, duration=12000, dt=10, mtbf_s=600, checkpoint_stall_s=30,
        grid={"jobs.0.checkpoint_interval_s": [60, 100, 150, 220, 320]}))
    store = StudyStore(tmp_path / "out" / "results.sqlite")
    out = StudyRunner(loaded, store, client=client).run()
    assert not out.failed
    per_point, aggs = collect(loaded, store)
    xkey, series = curve_series(loaded, aggs, "goodput")
    assert xkey == "jobs.0.checkpoint_interval_s" and len(series) == 1
    label, pts = series[0]
    yd = young_daly_by_series(loaded, per_point, xkey)[label]
    # about 20 failures per run, and the interval matters: goodput falls off on both sides of the optimum
    assert 50 <= sum(r["summary"]["interruptions"] for r in per_point[0]) <= 110
    means = [p[1] for p in pts]
    assert max(means) > means[0] + 0.01 and max(means) > means[-1] + 0.01
    opt = optimum(pts)
    assert 0.75 * yd <= opt <= 1.25 * yd, (opt, yd, pts)
    store.close()


def test_a_running_scheduler_by_address(tmp_path, client):
    """`--scheduler tcp://HOST:8786`: the runner connects to a scheduler it did not start, and leaves it up."""
    loaded = load_study(write_study_files(tmp_path / "s", seeds=1, duration=300))
    store = StudyStore(tmp_path / "out" / "results.sqlite")
    out = StudyRunner(loaded, store, scheduler=client.scheduler.address).run()
    assert out.finished == 2 and out.workers >= 1 and not out.failed
    assert client.submit(sum, [1, 2]).result() == 3  # the cluster is still there for its owner
    store.close()


def test_stop_rule_adds_seeds_in_batches_until_the_ci_is_narrow(tmp_path, client):
    """A wide target is met by the first batch; an impossible one runs every seed. Whole batches only, so the
    runs done do not depend on which worker finished first."""
    wide = load_study(write_study_files(tmp_path / "w", seeds=6, duration=300,
                                        stop={"figure": "goodput", "ci_width": 10.0, "min_seeds": 2, "batch": 2}))
    store = StudyStore(tmp_path / "w" / "out.sqlite")
    out = StudyRunner(wide, store, client=client).run()
    assert out.finished == 2 * 2 and len(store.keys()) == 4  # 2 points x min_seeds
    per_point, aggs = collect(wide, store)
    assert all(a["figures"]["goodput"]["n"] == 2 for a in aggs)
    narrow = load_study(write_study_files(tmp_path / "n", seeds=6, duration=300,
                                          stop={"figure": "it_energy_mwh", "ci_width": 1e-12, "min_seeds": 2,
                                                "batch": 2}))
    store2 = StudyStore(tmp_path / "n" / "out.sqlite")
    out2 = StudyRunner(narrow, store2, client=client).run()
    assert out2.finished == 2 * 6
    store.close()
    store2.close()
