"""Study files: validation with one-line errors naming file, field and value; expansion into runs."""

import numpy as np
import pytest
import yaml

from colossus_gui.io.loader import LoadError
from colossus_gui.io.study_file import builtin_studies, load_study, set_path
from colossus_gui.testing import write_study_files


def _problem(tmp_path, **study) -> str:
    path = write_study_files(tmp_path, **study)
    with pytest.raises(LoadError) as e:
        load_study(path)
    assert len(e.value.problems) >= 1
    line = e.value.problems[0]
    assert "\n" not in line and str(path) in line
    return line


@pytest.mark.parametrize("study, field, value", [
    ({"grid": {"site.megapack.units": [60, 90]}}, "grid.site.megapack.units", "megapack"),
    ({"grid": {"site.megapacks.units": ["many"]}}, "site.megapacks.units", "'many'"),
    ({"grid": {"site.megapacks.units": [-5]}}, "site.megapacks.units", "-5"),
    ({"grid": {"jobs.3.checkpoint_interval_s": [60]}}, "grid.jobs.3.checkpoint_interval_s", "'3'"),
    ({"duration": "ten minutes"}, "duration", "ten minutes"),
    ({"seeds": 0}, "seeds", "0"),
    ({"grid": {"ops.spares.fan.stock": [3]}}, "ops.spares.fan.stock", "operations layer"),
    ({"stop": {"figure": "pue_mean", "ci_width": 0.01}}, "stop.figure", "pue_mean"),
    ({"facility": "no-such-facility"}, "facility", "no-such-facility"),
    ({"grid": {"site.megapacks.units": []}}, "grid", "site.megapacks.units"),
    ({"colour": "blue"}, "colour", "unknown field"),
])
def test_bad_study_files_get_one_line_naming_file_field_and_value(tmp_path, study, field, value):
    line = _problem(tmp_path, **study)
    assert field in line and value in line, line


def test_a_value_the_facility_refuses_names_the_grid_point(tmp_path):
    line = _problem(tmp_path, grid={"site.megapacks.soc_initial": [0.5, 0.99]})
    assert "soc_initial=0.99" in line and "soc_initial" in line


def test_not_a_mapping_and_bad_yaml(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("- just\n- a list\n")
    with pytest.raises(LoadError, match="expected a mapping"):
        load_study(p)
    p.write_text("grid: {a: [1, 2}\n")
    with pytest.raises(LoadError, match=r"s.yaml:\d+: invalid YAML"):
        load_study(p)


def test_points_cross_cases_with_the_grid_and_seeds_come_from_seed_sequence(tmp_path):
    path = write_study_files(tmp_path, seeds=3, cases={"small": {"jobs.0.restart_s": 30},
                                                       "big": {"jobs.0.restart_s": 90}},
                             grid={"jobs.0.checkpoint_interval_s": [100, 200], "site.megapacks.units": [1, 2]})
    s = load_study(path)
    assert len(s.points) == 2 * 2 * 2
    assert [p["facility"]["jobs"][0]["restart_s"] for p in s.points] == [30] * 4 + [90] * 4
    assert [p["facility"]["site"]["megapacks"]["units"] for p in s.points[:4]] == [1, 2, 1, 2]
    runs = s.runs()
    assert len(runs) == 8 * 3 and len({r.key for r in runs}) == 24
    # the same seed i at every grid point (common random numbers), from SeedSequence(study seed).spawn
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
                for c in np.random.SeedSequence(7).spawn(3)]
    for p in range(8):
        assert [r.seed for r in runs if r.point == p] == expected
    # raising the seed count keeps the first runs (and their keys): a study can be extended
    more = load_study(path, seeds=5).runs()
    assert {r.key for r in runs} < {r.key for r in more}
    # a longer duration is another run
    longer = load_study(path, duration_s=2400).runs()
    assert not {r.key for r in runs} & {r.key for r in longer}


def test_paths_reach_lists_every_element_and_the_operations_layer(tmp_path):
    data = {"jobs": [{"a": 1}, {"a": 2}], "site": {"x": 1}}
    set_path(data, "jobs.*.a", 5)
    assert data["jobs"] == [{"a": 5}, {"a": 5}]
    path = write_study_files(tmp_path, ops=True, grid={"ops.it_technicians_per_shift": [2, 6],
                                                        "ops.spares.gpu_baseboard.stock": [10]})
    s = load_study(path)
    for p, n in zip(s.points, (2, 6), strict=True):
        it_only = [t for t in p["ops"]["technicians"] if t["skills"] == ["IT"]]
        assert len(it_only) == n * len(p["ops"]["shifts"])
        assert p["ops"]["spares"]["gpu_baseboard"]["stock"] == 10
        assert any(t["skills"] != ["IT"] for t in p["ops"]["technicians"])  # mechanical staff stay


def test_bundled_studies_load_and_say_what_they_answer():
    studies = builtin_studies()
    assert {"checkpoint-interval", "technicians-per-shift", "megapacks-grid-outage", "chillers-heat-wave"} <= set(
        studies)
    for name, path in studies.items():
        s = load_study(name)
        assert s.study.question.strip(), name
        header = path.read_text().splitlines()[0]
        assert header.startswith("#") and "?" in path.read_text().split("\n\n")[0], name
        assert yaml.safe_load(path.read_text())["figures"]


def test_checkpoint_study_grid_brackets_young_daly_for_both_jobs():
    """The bundled checkpoint study can answer its question: for each job the Young/Daly interval expected
    from the facility's failure rates (all causes that interrupt a job) lies well inside the grid."""
    s = load_study("checkpoint-interval")
    grid = s.study.grid["jobs.0.checkpoint_interval_s"]
    seen = set()
    for p in s.points:
        fac, job = p["facility"], p["facility"]["jobs"][0]
        gpus = sum(h["rows"] * h["racks_per_row"] for h in fac["halls"]) * 64
        fl = fac["failures"]
        per_gpu_day = sum(fl[k] for k in ("gpu_per_gpu_day", "hbm_per_gpu_day", "nic_per_gpu_day",
                                          "psu_per_gpu_day", "software_per_gpu_day"))
        mtbf_s = 86400.0 / (per_gpu_day * gpus)
        yd = (2 * job["checkpoint_stall_s"] * mtbf_s) ** 0.5
        assert min(grid) < 0.6 * yd and max(grid) > 1.6 * yd, (p["case"], yd)
        seen.add(gpus)
    assert seen == {16384, 25088}
