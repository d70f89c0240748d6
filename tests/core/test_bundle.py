"""Snapshot bundles and CSV exports: reload to the same numbers, resume to the same future."""

import csv
import json
import zipfile

import numpy as np
import pytest

from colossus_gui.io.bundle import BundleError, open_bundle, write_bundle
from colossus_gui.io.tables import write_chart_csv, write_gpu_csv, write_rack_csv
from colossus_gui.model.scenario import Scenario
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


def busy_facility():
    f = small_facility(failures=True)
    f.failures.gpu_per_gpu_day *= 300  # several failures (and random repairs) in the window
    f.failures.software_per_gpu_day *= 300
    return f


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_bundle_reopened_gives_the_same_future(tmp_path, suffix):
    f = busy_facility()
    sc = Scenario(faults=[{"at": 700, "kind": "pump_failure", "target": "H1-R002-CDU-P1"}])
    straight = Engine(f, seed=21, scenario=sc)
    straight.run(1200)
    resumed_src = Engine(f, seed=21, scenario=sc)
    resumed_src.run(600)
    out = write_bundle(resumed_src, tmp_path / f"snap{suffix}")
    resumed = open_bundle(out)
    assert resumed.t == 600.0
    resumed.run(600)
    assert resumed.summary() == straight.summary()
    np.testing.assert_array_equal(resumed.tj, straight.tj)
    assert [e.kind for e in resumed.events] == [e.kind for e in straight.events]
    # charts continue: the telemetry before the snapshot came along
    assert resumed.telemetry.series("t_s")[0] == 1.0


def test_bundle_holds_manifest_and_files(tmp_path):
    eng = Engine(small_facility(), seed=1)
    eng.run(120)
    out = write_bundle(eng, tmp_path / "b")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "colossus-gui-snapshot" and manifest["seed"] == 1
    assert manifest["sim_time_s"] == 120.0 and manifest["facility"] == "small"
    for name in manifest["files"]:
        assert (out / name).is_file(), name
    assert not list(tmp_path.glob(".*tmp"))  # no temp left behind


def test_csv_reloads_to_the_engine_numbers(tmp_path):
    eng = Engine(small_facility(), seed=2)
    eng.inject("pump_failure", "H1-R003-CDU-P1")
    eng.run(200)
    write_gpu_csv(eng, tmp_path / "gpus.csv")
    write_rack_csv(eng, tmp_path / "racks.csv")
    write_chart_csv(eng, tmp_path / "chart.csv", ["it_mw", "soc", "hottest_gpu_c"])
    with open(tmp_path / "gpus.csv", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert len(rows) == eng.n_gpus
    assert rows[0]["address"] == "H1-R001-T1-G1" and rows[-1]["address"] == "H2-R008-T8-G8"
    np.testing.assert_array_equal(np.array([r["junction_c"] for r in rows], dtype=np.float32), eng.tj.ravel())
    np.testing.assert_array_equal(np.array([r["power_w"] for r in rows], dtype=np.float32),
                                  eng.gpu_power_w.ravel())
    with open(tmp_path / "racks.csv", newline="") as fh:
        racks = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    np.testing.assert_array_equal(np.array([r["return_c"] for r in racks], dtype=float), eng.t_ret)
    assert racks[2]["pumps_ok"] == "1"
    with open(tmp_path / "chart.csv", newline="") as fh:
        chart = list(csv.DictReader(fh))
    assert list(chart[0]) == ["time_s", "iso_time", "it_mw [MW]", "soc [fraction]", "hottest_gpu_c [degC]"]
    np.testing.assert_array_equal(np.array([r["it_mw [MW]"] for r in chart], dtype=float),
                                  eng.telemetry.series("it_mw"))


def test_csv_cells_that_look_like_formulas_are_made_safe(tmp_path):
    from colossus_gui.io.csv_safe import safe_cell
    assert safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-12.5") == "-12.5" and safe_cell("H1-R001") == "H1-R001"


def test_bad_or_foreign_bundles_give_clear_messages_and_change_nothing(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "manifest.json").write_text(json.dumps({"format": "grafana-dashboard"}))
    before = sorted(p.name for p in foreign.iterdir())
    with pytest.raises(BundleError, match="not a Colossus GUI snapshot"):
        open_bundle(foreign)
    assert sorted(p.name for p in foreign.iterdir()) == before
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip")
    with pytest.raises(BundleError, match="not a snapshot bundle"):
        open_bundle(junk)
    with pytest.raises(BundleError, match="no such file"):
        open_bundle(tmp_path / "missing")
    # a real bundle with a damaged state
    eng = Engine(small_facility(), seed=3)
    eng.run(30)
    good = write_bundle(eng, tmp_path / "good.zip")
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "state.npz":
                data = data[:100]
            zout.writestr(item, data)
    with pytest.raises(BundleError, match="state.npz"):
        open_bundle(bad)


def test_unwritable_folder_gives_a_clear_message(tmp_path):
    eng = Engine(small_facility(), seed=4)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        import os
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(BundleError, match="cannot write here|could not write"):
            write_bundle(eng, locked / "snap")
    finally:
        locked.chmod(0o700)


def test_full_disk_leaves_no_half_written_bundle(tmp_path, monkeypatch):
    import errno

    import colossus_gui.io.bundle as bundle

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bundle, "write_rack_csv", no_space)
    eng = Engine(small_facility(), seed=5)
    with pytest.raises(BundleError, match="No space left on device.*nothing was written"):
        write_bundle(eng, tmp_path / "snap")
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    import stat
    old = os.umask(0o022)
    try:
        eng = Engine(small_facility(), seed=6)
        eng.run(10)
        out = write_bundle(eng, tmp_path / "b")
        write_rack_csv(eng, tmp_path / "racks.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "racks.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "racks.csv").stat().st_mode) == 0o644
