"""Hostile and damaged files (issue: nothing lost, nothing escapes its folder, never a traceback).

Each test is one probe from the reliability report, run through the real loaders and writers: the bad input
is refused with one line naming file, field and value, and nothing of the user's is touched.
"""

import copy
import io
import json
import os
import sqlite3
import tracemalloc
import zipfile
from contextlib import contextmanager

import numpy as np
import pytest
import yaml

from colossus_gui.io.atomic import clean_stale_temps
from colossus_gui.io.bundle import BundleError, open_bundle, write_bundle
from colossus_gui.io.json_safe import dumps as json_dumps
from colossus_gui.io.loader import LoadError, _read_mapping, load_facility, load_scenario, validate_data
from colossus_gui.io.run_output import OutputError, write_run
from colossus_gui.io.session_log import read_session_log
from colossus_gui.io.session_store import SessionStore
from colossus_gui.io.store import Store
from colossus_gui.io.tables import _preamble, comment_text, write_gpu_csv
from colossus_gui.model.facility import Facility
from colossus_gui.model.limits import MAX_GPUS, safe_file_stem
from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.model.training import ScriptedAction, TrainingScenario
from colossus_gui.ops.training import LOG_FORMAT, TrainingSession
from colossus_gui.ops.work_orders import WorkOrder
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.resources import builtin_facilities
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


@contextmanager
def peak_memory():
    """Python-heap and numpy peak allocation inside the block, in bytes (numpy reports to tracemalloc)."""
    peak = [0]
    tracemalloc.start()
    try:
        yield lambda: peak[0]
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def one_line_problems(exc) -> list[str]:
    lines = exc.problems if isinstance(exc, LoadError) else [str(exc)]
    for line in lines:
        assert "\n" not in line and "\r" not in line and "Traceback" not in line, line
    return lines


def facility_data() -> dict:
    return small_facility().model_dump(mode="json")


def refused(tmp_path, data: dict, name="f.yaml") -> str:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if name.endswith(".yaml") else json.dumps(data))
    with pytest.raises(LoadError) as ei:
        load_facility(p)
    return " | ".join(one_line_problems(ei.value))


# ----------------------------------------------------------------------------- 1. snapshot --out
def test_snapshot_never_replaces_a_folder_that_is_not_our_bundle(tmp_path):
    eng = Engine(small_facility(), seed=1)
    web = tmp_path / "w"
    (web / "src").mkdir(parents=True)
    (web / "manifest.json").write_text('{"name": "web app"}')
    (web / "src" / "main.js").write_text("x")
    with pytest.raises(BundleError, match="not a Colossus GUI snapshot bundle"):
        write_bundle(eng, web, include_gpu_csv=False)
    assert (web / "src" / "main.js").read_text() == "x"
    assert json.loads((web / "manifest.json").read_text()) == {"name": "web app"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]  # no temporaries left behind

    # our own bundle is replaced whole; a file the user put into it makes it theirs
    snap = tmp_path / "snap"
    write_bundle(eng, snap, include_gpu_csv=False)
    eng.run(5)
    write_bundle(eng, snap, include_gpu_csv=False)
    assert json.loads((snap / "manifest.json").read_text())["sim_time_s"] == 5.0
    (snap / "my-notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="my-notes.txt"):
        write_bundle(eng, snap, include_gpu_csv=False)
    assert (snap / "my-notes.txt").read_text() == "keep me"
    # a manifest of a newer format version is not ours to replace either
    m = json.loads((snap / "manifest.json").read_text())
    (snap / "my-notes.txt").unlink()
    (snap / "manifest.json").write_text(json.dumps(dict(m, format_version=99)))
    with pytest.raises(BundleError, match="newer format"):
        write_bundle(eng, snap, include_gpu_csv=False)
    # a foreign .zip is not replaced
    z = tmp_path / "photos.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.jpg", b"jpeg")
    with pytest.raises(BundleError):
        write_bundle(eng, z, include_gpu_csv=False)
    assert zipfile.ZipFile(z).namelist() == ["a.jpg"]


# ----------------------------------------------------------------------------- 2. damaged database rows
def test_damaged_work_order_rows_are_quarantined_and_the_rest_loads(tmp_path):
    path = tmp_path / "ws.sqlite"
    eng = Engine(small_facility(), seed=2)
    with Store(path) as store:
        ops = OpsManager(eng, OpsConfig(dispatch="manual"), store=store, seed=2)
        for target in ("H1-R001-RDHX-F1", "H1-R002-RDHX-F2", "H1-R003-RDHX-F3", "H1-R004-RDHX-F4",
                       "H1-R005-RDHX-F5"):
            ops.create_work_order(target, who="alice")
    con = sqlite3.connect(path)
    con.execute("UPDATE work_orders SET body = 'not json {' WHERE id = 1")
    con.execute("UPDATE work_orders SET body = '[1, 2]' WHERE id = 2")
    con.execute("UPDATE work_orders SET target = 'H9-R999-CDU' WHERE id = 3")
    con.execute("UPDATE work_orders SET body = json_set(body, '$.steps', json('[{\"bogus\": 1}]')) WHERE id = 4")
    part = con.execute("SELECT part FROM stock LIMIT 1").fetchone()[0]
    con.execute("UPDATE stock SET on_hand = 'lots' WHERE part = ?", (part,))
    con.commit()
    con.close()

    eng2 = Engine(small_facility(), seed=2)
    with Store(path) as store:
        bad = store.quarantine_bad_rows(eng2.topo, {"work_orders": WorkOrder.from_row})
        assert len(bad) == 5, bad
        text = "\n".join(bad)
        for needle in ("work order 1: body is not JSON", "work order 2: body is a JSON list",
                       "work order 3: target 'H9-R999-CDU'", "work order 4", f"stock of {part!r}: on_hand 'lots'"):
            assert needle in text
        ops2 = OpsManager(eng2, OpsConfig(dispatch="manual"), store=store, seed=2,
                          run_id=ops.run_id)  # the same run's orders load: no exception
        assert sorted(ops2.work_orders) == [5]
        assert [q["source"] for q in store.quarantined()].count("work_orders") == 4  # kept, not deleted
        assert store.quarantine_bad_rows(eng2.topo, {"work_orders": WorkOrder.from_row}) == []  # once only


def test_damaged_training_session_rows_are_quarantined(tmp_path):
    path = tmp_path / "ws.sqlite"
    with SessionStore(path) as ss:
        for i in range(3):
            ss.add(trainee="Sam", scenario="s", title="t", started=f"2026-01-0{i + 1}", sim_s=60, score=80, aborted=False,
                   ended="done", seed=1, log_path=None, report_path=None, terms=[])
    con = sqlite3.connect(path)
    con.execute("UPDATE training_sessions SET terms = 'nope' WHERE id = 1")
    con.execute("UPDATE training_sessions SET score = 'high' WHERE id = 2")
    con.commit()
    con.close()
    with SessionStore(path) as ss:
        assert len(ss.quarantined) == 2 and "training session 1" in ss.quarantined[0]
        assert [r["id"] for r in ss.sessions()] == [3]
        assert ss.history("Sam")["s"][0]["score"] == 80


# ----------------------------------------------------------------------------- 3. facility names
@pytest.mark.parametrize("name", ["../../../../tmp/x/pwned", "/tmp/abs", "a\0b", "evil\n=HYPERLINK(1)", "..",
                                  ".hidden", "C:\\x", "x" * 101, " pad"])
def test_facility_names_that_are_not_safe_file_names_are_refused(tmp_path, name):
    msg = refused(tmp_path, dict(facility_data(), name=name), "f.json")
    assert "name" in msg


def test_safe_file_stem_stays_in_its_folder():
    for raw in ("../../etc/passwd", "/abs/x", "a\0b", "..", "", "\n", "C:\\x", "ok name-1.2"):
        stem = safe_file_stem(raw)
        assert stem and "/" not in stem and "\\" not in stem and stem not in (".", "..") and stem.isprintable()
    assert safe_file_stem("ok name-1.2") == "ok name-1.2"


# ----------------------------------------------------------------------------- 4. size limit
def test_a_huge_facility_is_refused_quickly_with_its_memory_estimate(tmp_path):
    data = dict(facility_data(), halls=[{"name": f"H{i}", "rows": 100, "racks_per_row": 100} for i in range(1, 100)],
                jobs=[])
    with peak_memory() as peak:
        msg = refused(tmp_path, data)
    assert peak() < 64 * 2**20  # refused from the counts: not one of its 63 M GPUs' arrays was allocated
    assert "63,360,000 GPUs" in msg and f"{MAX_GPUS:,}" in msg and "GiB" in msg
    # the largest built-in facility is well inside the limit
    assert max(load_facility(p).n_gpus for p in builtin_facilities().values()) * 2 < MAX_GPUS


# ----------------------------------------------------------------------------- 5. numbers
@pytest.mark.parametrize("path, value, needle", [
    (("site", "ambient", "mean_c"), float("nan"), "finite"),
    (("site", "ambient", "mean_c"), float("inf"), "finite"),
    (("failures", "gpu_per_gpu_day"), 1e300, "less than or equal to 1"),
    (("rack", "cdu", "pump_power_w"), 1e308, "less than or equal to 20000"),
    (("rack", "tray", "psus_needed"), 5, "psus_needed 5 cannot exceed psus 4"),
    (("site", "megapacks", "smoothing_s"), 1e300, "out of range"),
    (("halls", 0, "rows"), 10**30, "rows"),
])
def test_numbers_must_be_finite_and_physical(tmp_path, path, value, needle):
    data = facility_data()
    d = data
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    p = tmp_path / "f.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(LoadError) as ei:
        load_facility(p)
    msg = " | ".join(one_line_problems(ei.value))
    assert needle in msg and ".".join(map(str, path[:-1])) in msg and str(p) in msg
    assert path[-1] in msg and (repr(value) in msg or f"{value:.3g}" in msg or str(value) in msg)


def test_scoring_weights_must_be_finite_and_score_json_is_never_nan(tmp_path):
    sc = yaml.safe_load((builtin_dir() / "cdu-pump-pair-failure.yaml").read_text())
    sc["scoring"] = {"time_to_acknowledge": {"weight": float("inf"), "target": 60, "worst": 600}}
    with pytest.raises(Exception) as ei:
        TrainingScenario.model_validate(sc)
    assert "finite" in str(ei.value)
    assert json.loads(json_dumps({"a": float("nan"), "b": [np.float64("inf")], "c": 1.5})) == {"a": None, "b": [None],
                                                                                            "c": 1.5}


def builtin_dir():
    from colossus_gui.resources import resource
    return resource("scenarios", "training")


# ----------------------------------------------------------------------------- 6. parsers
@pytest.mark.parametrize("name, text, needle", [
    ("deep.yaml", "a: " + "[" * 5000 + "]" * 5000, "nested more than"),
    ("deepmap.yaml", "".join(" " * i + f"k{i}:\n" for i in range(1500)), "nested more than"),
    ("deep.json", '{"a": ' + "[" * 100000 + "]" * 100000 + "}", "nested more than"),
    ("bigint.yaml", "name: x\nseed: " + "9" * 5000, "more than 4,300 digits"),
    ("bigint.json", '{"seed": ' + "9" * 5000 + "}", "more than 4,300 digits"),
    ("dup.yaml", "name: a\nhalls: []\nname: b\n", "duplicate key 'name'"),
    ("nul.yaml", "name: 'a\0b'\n", "NUL"),
    ("flow.yaml", "{a: [" + ", ".join(f"{{x: {i}, y: [1, 2]}}" for i in range(30000)) + "]}", "more than 50,000"),
    ("big.yaml", "a: '" + "x" * (3 * 1024 * 1024) + "'\n", "larger than the limit"),
])
def test_parsers_refuse_in_one_line_and_quickly(tmp_path, name, text, needle):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(LoadError) as ei:  # a hang would be caught by the suite's per-test timeout
        _read_mapping(p)
    msg = one_line_problems(ei.value)[0]
    assert needle in msg and str(p) in msg


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo"])
def test_devices_and_pipes_are_refused_without_blocking(tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "pipe.yaml")
        os.mkfifo(special)
    elif not os.path.exists(special):
        pytest.skip(f"{special} does not exist here")
    with pytest.raises(LoadError, match="not a regular file"):
        load_facility(special)
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump({"title": "t", "facility": special}))  # a scenario naming it: same door
    with pytest.raises(LoadError, match="not a regular file"):
        load_facility(load_scenario(sc).facility)


# ----------------------------------------------------------------------------- 7. CSV comment lines
def test_csv_comment_line_cannot_start_a_row(tmp_path):
    assert comment_text("x\n=HYPERLINK(\"http://e\")\r\n") == 'x =HYPERLINK("http://e")'
    eng = Engine(small_facility(), seed=1)
    object.__setattr__(eng.facility, "name", "evil\n=HYPERLINK(\"http://e\")")  # as an old file might hold
    assert len(_preamble(eng)) == 1 and "\n" not in _preamble(eng)[0]
    write_gpu_csv(eng, tmp_path / "gpus.csv")
    lines = (tmp_path / "gpus.csv").read_text().splitlines()
    assert lines[0].startswith("# facility evil =HYPERLINK") and lines[1].startswith("address,")


# ----------------------------------------------------------------------------- 8. bundles
@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    eng = Engine(small_facility(), seed=3)
    eng.run(20)
    return write_bundle(eng, tmp_path_factory.mktemp("b") / "snap", include_gpu_csv=False)


def damaged_copy(src, dst, **changes):
    import shutil
    shutil.copytree(src, dst)
    for name, data in changes.items():
        p = dst / name.replace("__", ".")
        if p.exists() or p.is_symlink():
            p.unlink()
        if callable(data):
            data(p)
        else:
            p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return dst


def npz_with(src_npz: bytes, **arrays) -> bytes:
    z = np.load(io.BytesIO(src_npz))
    d = {k: z[k] for k in z.files}
    d.update(arrays)
    b = io.BytesIO()
    np.savez(b, **d)
    return b.getvalue()


def huge_header_npz(src_npz: bytes, key: str) -> bytes:
    """An npz whose member ``key`` declares 1e12 elements in its header (a few bytes of data)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src_npz)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == f"{key}.npy":
                hdr = io.BytesIO()
                np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False,
                                                           "shape": (10**12,)})
                data = b"\x93NUMPY\x01\x00" + hdr.getvalue()[8:] + b"\0" * 64
            zout.writestr(info.filename, data)
    return out.getvalue()


def state_with(bundle, **changes) -> str:
    s = json.loads((bundle / "state.json").read_text())
    s.update(changes)
    return json.dumps(s)


@pytest.mark.parametrize("case", ["deep_manifest", "huge_header", "acc_list", "huge_int", "empty_npz", "nan_array",
                                  "negative_cursor", "fifo", "symlink_out", "wrong_dtype", "events_bad",
                                  "manifest_list", "big_seed"])
def test_damaged_bundles_are_refused_with_one_line(tmp_path, bundle_dir, case):
    npz = (bundle_dir / "state.npz").read_bytes()
    changes = {
        "deep_manifest": {"manifest__json": "[" * 100000 + "]" * 100000},
        "huge_header": {"state__npz": huge_header_npz(npz, "tj")},
        "acc_list": {"state__json": state_with(bundle_dir, acc=[])},
        "huge_int": {"state__json": state_with(bundle_dir, step_count=10**400)},
        "empty_npz": {"state__npz": b""},
        "nan_array": {"state__npz": npz_with(npz, t_ret=np.full(16, np.nan))},
        "negative_cursor": {"state__json": state_with(bundle_dir, _fault_cursor=-3)},
        "fifo": {"state__npz": lambda p: os.mkfifo(p)},
        "symlink_out": {"state__npz": lambda p: p.symlink_to("/dev/urandom")},
        "wrong_dtype": {"state__npz": npz_with(npz, gpu_ok=np.zeros((16, 64), dtype="U3"))},
        "events_bad": {"state__json": state_with(bundle_dir, events=[["x", 1, 2]])},
        "manifest_list": {"manifest__json": "[]"},
        "big_seed": {"manifest__json": json.dumps(dict(json.loads((bundle_dir / "manifest.json").read_text()),
                                                       seed=-5))},
    }[case]
    bad = damaged_copy(bundle_dir, tmp_path / "bad", **changes)
    with pytest.raises(BundleError) as ei:
        open_bundle(bad)
    one_line_problems(ei.value)
    assert str(bad) in str(ei.value)


def test_zip_bomb_manifest_is_refused_before_inflating(tmp_path, bundle_dir):
    """A manifest that would inflate to 1.5 GB: refused from the zip directory, before a byte is inflated."""
    import struct
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b"\0" * (1 << 20))
        for f in bundle_dir.iterdir():
            if f.name != "manifest.json":
                zf.write(f, f.name)
    raw = bytearray(z.read_bytes())
    cd = raw.index(b"PK\x01\x02")  # the first central-directory entry: manifest.json
    assert raw[cd + 46:cd + 46 + 13] == b"manifest.json"
    struct.pack_into("<I", raw, cd + 24, 1_500_000_000)  # its declared uncompressed size
    z.write_bytes(bytes(raw))
    with peak_memory() as peak, pytest.raises(BundleError, match="implausibly large"):
        open_bundle(z)
    assert peak() < 64 * 2**20  # not inflated: a 1.5 GB manifest never reached memory


def test_a_good_bundle_still_opens(bundle_dir):
    eng = open_bundle(bundle_dir)
    assert eng.t == 20.0 and np.isfinite(eng.tj).all()


# ----------------------------------------------------------------------------- 10. output sets
def test_failed_run_leaves_no_output_and_stale_temporaries_are_cleaned(tmp_path):
    eng = Engine(small_facility(), seed=1)
    out = tmp_path / "new" / "deeper" / "out"

    def boom(dt):
        if eng.t > 3:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_run(eng, 10, 1.0, out, after_step=boom)
    assert not (tmp_path / "new").exists()  # no empty --out, nor the parents it made
    # a killed writer's temporaries (its pid is gone) are removed by the next run; others are left alone
    out.parent.mkdir(parents=True)
    dead = out.parent / ".out.999999999-abc.tmp"
    dead.mkdir()
    (dead / "timeseries.csv").write_text("half")
    mine = out.parent / f".out.{os.getpid()}-live.tmp"
    mine.mkdir()
    user = out.parent / ".out.notes"
    user.write_text("the user's")
    write_run(Engine(small_facility(), seed=1), 5, 1.0, out)
    assert not dead.exists() and mine.exists() and user.exists()
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "summary.json", "timeseries.csv"]
    assert clean_stale_temps(out) == []
    # a folder holding anything else is refused before the run
    (out / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="notes.txt"):
        write_run(Engine(small_facility(), seed=1), 5, 1.0, out)


def test_summary_json_is_strict_json(tmp_path):
    eng = Engine(small_facility(), seed=1)
    write_run(eng, 3, 1.0, tmp_path / "o")
    json.loads((tmp_path / "o" / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(c))


# ----------------------------------------------------------------------------- 11. session logs, actions
def good_log(tmp_path) -> list[dict]:
    sc = TrainingScenario.model_validate(yaml.safe_load((builtin_dir() / "cdu-pump-pair-failure.yaml").read_text()))
    fac = load_facility(sc.facility) if sc.facility in builtin_facilities() else small_facility()
    header = {"type": "header", "format": LOG_FORMAT, "version": "0", "trainee": "t", "scenario_name": "s",
              "scenario": sc.model_dump(mode="json"), "facility": fac.model_dump(mode="json"), "seed": 1, "dt": 1.0,
              "started": ""}
    return [header, {"type": "action", "seq": 1, "t_s": 5.0, "who": "trainee", "action": "note",
                     "args": {"text": "hi"}, "ok": True, "result": {}}]


@pytest.mark.parametrize("damage, needle", [
    (lambda r: r.append([1, 2]), "must be a JSON object"),
    (lambda r: r.append({"type": "action", "t_s": 3}), "seq"),
    (lambda r: r[0].__setitem__("dt", 18446744073709551616), "dt"),
    (lambda r: r[0].__setitem__("dt", 0), "dt"),
    (lambda r: r[1].__setitem__("t_s", 1e300), "t_s"),
    (lambda r: r.append({"type": "action", "seq": 2, "t_s": 6, "who": "x", "action": "restore", "args": {},
                         "ok": True, "result": {}}), "to_t"),
    (lambda r: r[0]["facility"].__setitem__("halls", [{"name": f"H{i}", "rows": 100, "racks_per_row": 100}
                                                       for i in range(1, 60)]), "exceed the limit"),
    (lambda r: r[0].__setitem__("seed", -1), "seed"),
    (lambda r: r.append({"type": "mark", "t_s": "soon"}), "t_s"),
])
def test_damaged_session_logs_are_one_clear_error(tmp_path, damage, needle):
    recs = good_log(tmp_path)
    damage(recs)
    p = tmp_path / "session.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    with pytest.raises(ValueError) as ei:
        TrainingSession.from_log(p)
    msg = str(ei.value)
    assert needle in msg and str(p) in msg and "\n" not in msg


def test_deeply_nested_session_log_line(tmp_path):
    p = tmp_path / "session.jsonl"
    recs = good_log(tmp_path)
    p.write_text(json.dumps(recs[0]) + "\n" + "[" * 100000 + "]" * 100000 + "\n" + json.dumps(recs[1]) + "\n")
    with pytest.raises(ValueError, match="nested"):
        read_session_log(p)


def test_restore_cannot_repeat():
    with pytest.raises(ValueError, match="restore cannot repeat"):
        ScriptedAction.model_validate({"action": "restore", "at": 10, "to_t": 10, "repeat_s": 1})
    ScriptedAction.model_validate({"action": "acknowledge", "at": 10, "alarms": "all", "repeat_s": 20})


# ----------------------------------------------------------------------------- 12. messages
def test_messages_name_the_offending_value(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"title": "t", "faults": [{"at": 1, "kind": "alien_invasion", "target": "GRID"}]}))
    with pytest.raises(LoadError) as ei:
        load_scenario(p)
    msg = one_line_problems(ei.value)[0]
    assert "'alien_invasion'" in msg and "faults.0.kind" in msg and str(p) in msg


def test_every_builtin_file_still_loads():
    for path in builtin_facilities().values():
        f = load_facility(path)
        assert validate_data(Facility, copy.deepcopy(f.model_dump(mode="json")), "x").n_gpus == f.n_gpus
    for p in builtin_dir().glob("*.yaml"):
        TrainingScenario.model_validate(yaml.safe_load(p.read_text()))


def test_session_log_reader_knows_the_writers_format():
    from colossus_gui.io import session_log
    assert session_log.LOG_FORMAT == LOG_FORMAT  # io cannot import ops: the two must be kept equal
