"""Study results: the store, the statistics a reader relies on (mean, 95 % CI, pass share), the optimum of a
checkpoint curve, CSV/HTML/SVG outputs. No cluster: rows are made by running the same task function."""

import csv
import io
import math
import sqlite3

import numpy as np
import pytest

from colossus_gui.io.study_file import load_study
from colossus_gui.io.study_results import (
    StudyStore,
    StudyStoreError,
    aggregate,
    collect,
    figure_value,
    optimum,
    t95,
    write_study_outputs,
)
from colossus_gui.model.study import PassRule
from colossus_gui.ops.study import run_task, simulate
from colossus_gui.testing import small_facility, write_study_files


def _rows(values, figure="x"):
    return [{"key": f"k{i}", "seed_index": i, "summary": {figure: v}} for i, v in enumerate(values)]


def test_mean_and_95_percent_ci_use_student_t():
    a = aggregate([_rows([1.0, 2.0, 3.0, 4.0])], ["x"])[0]["figures"]["x"]
    sd = np.std([1, 2, 3, 4], ddof=1)
    assert a["n"] == 4 and a["mean"] == 2.5 and a["sd"] == pytest.approx(sd)
    assert a["ci95"] == pytest.approx(3.182 * sd / 2)  # t(0.975, 3 df) = 3.182
    assert a["lo"] == pytest.approx(2.5 - a["ci95"]) and a["hi"] == pytest.approx(2.5 + a["ci95"])
    # large samples approach the normal 1.96; one run has no interval
    assert t95(1000) == pytest.approx(1.962, abs=0.002) and t95(30) == 2.042
    one = aggregate([_rows([5.0])], ["x"])[0]["figures"]["x"]
    assert one["mean"] == 5.0 and one["ci95"] is None


def test_ci_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(400):
        a = aggregate([_rows(list(rng.normal(10.0, 3.0, 6)))], ["x"])[0]["figures"]["x"]
        hits += a["lo"] <= 10.0 <= a["hi"]
    assert 0.91 <= hits / 400 <= 0.99


def test_pass_share_and_nested_figures():
    rows = _rows([0.0, 0.0, 0.2, 0.0], "unserved_mwh")
    a = aggregate([rows], ["unserved_mwh"], PassRule(figure="unserved_mwh", max=0.0, share=0.75))[0]
    assert a["pass_share"] == 0.75 and a["passed"]
    a = aggregate([rows], ["unserved_mwh"], PassRule(figure="unserved_mwh", max=0.0, share=0.95))[0]
    assert not a["passed"]
    s = {"maintenance": {"gpu_hours_lost": 12.5}, "jobs": [{"mtbf_s": 600.0}], "flag": True, "none": None}
    assert figure_value(s, "maintenance.gpu_hours_lost") == 12.5 and figure_value(s, "jobs.0.mtbf_s") == 600.0
    assert figure_value(s, "flag") == 1.0 and figure_value(s, "none") is None and figure_value(s, "nope") is None


def test_optimum_of_a_young_daly_curve():
    c, m = 30.0, 10000.0
    xs = [200, 350, 550, 800, 1200, 1800]
    pts = [(x, 1 - c / x - x / (2 * m), 0, 0) for x in xs]
    assert optimum(pts) == pytest.approx(math.sqrt(2 * c * m), rel=0.05)
    # best at an edge: the edge (no extrapolation)
    assert optimum([(x, -x, 0, 0) for x in xs]) == 200


def test_simulate_reports_checkpoint_cost_as_charged_and_the_failure_rate():
    fac = small_facility(halls=1, rows=1, racks_per_row=2).model_copy(deep=True)
    fac.failures.software_per_gpu_day = 86400.0 / 900 / 128
    s = simulate(fac, None, seed=3, duration_s=7200, dt=5.0)
    job = s["jobs"][0]
    assert job["gpus"] == 128 and job["interruptions"] == s["interruptions"] > 0
    assert job["mtbf_s"] == pytest.approx(7200 / job["interruptions"])
    # a 30 s stall at 5 s steps: 5 steps without work (the step that starts it still worked)
    assert job["checkpoints"] > 0 and job["checkpoint_cost_s"] == pytest.approx(25.0)
    assert s["young_daly_s"] == pytest.approx(math.sqrt(2 * 25.0 * job["mtbf_s"]))


def test_store_outputs_and_a_foreign_file(tmp_path):
    loaded = load_study(write_study_files(tmp_path / "s", seeds=2, duration=300,
                                          grid={"jobs.0.checkpoint_interval_s": [60, 120, 240]}))
    store = StudyStore(tmp_path / "out" / "results.sqlite")
    for r in loaded.runs()[:5]:  # one run missing: a partial study still reports
        store.add(run_task(r.task()))
    per_point, aggs = collect(loaded, store)
    assert [len(p) for p in per_point] == [2, 2, 1]
    pngs = []
    paths = write_study_outputs(loaded, store, tmp_path / "out", png_writer=lambda svg, p: pngs.append(p),
                                status="partial")
    names = {p.name for p in paths}
    assert {"runs.csv", "aggregates.csv", "report.html"} <= names
    assert {p.name for p in pngs} >= {"curve_goodput.png", "dist_goodput.png", "curve_interruptions.png"}
    runs = list(csv.DictReader(io.StringIO((tmp_path / "out" / "runs.csv").read_text())))
    assert len(runs) == 5 and runs[0]["jobs.0.checkpoint_interval_s"] == "60"
    aggs_csv = list(csv.DictReader(io.StringIO((tmp_path / "out" / "aggregates.csv").read_text())))
    assert [a["runs"] for a in aggs_csv] == ["2", "2", "1"]
    assert float(aggs_csv[0]["goodput mean"]) == pytest.approx(aggs[0]["figures"]["goodput"]["mean"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<svg") == 6 and "5 of 6 runs stored" in html and "tiny study" in html
    store.close()
    # reopening keeps the rows; a database of something else is refused with one line
    with StudyStore(tmp_path / "out" / "results.sqlite") as again:
        assert len(again.keys()) == 5
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE alarms (id INTEGER)")
    with pytest.raises(StudyStoreError, match="not a study results file"):
        StudyStore(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StudyStoreError, match="junk.sqlite"):
        StudyStore(junk)


def test_chart_ticks_are_round_numbers_inside_the_range():
    from colossus_gui.io.study_results import nice_ticks
    assert nice_ticks(-0.0035, 0.0617) == [0.0, 0.02, 0.04, 0.06]
    assert nice_ticks(0.6727, 0.7697) == [0.675, 0.7, 0.725, 0.75]
    assert nice_ticks(280, 1900) == [500, 1000, 1500]
