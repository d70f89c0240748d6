"""Property-based fuzzing (hypothesis) of every file the app reads, through the real loaders and the CLI.

Valid documents (a facility, a timed-fault scenario, a training scenario, an actions file, the operations
file, a snapshot bundle, a session log) are damaged at random places with hostile values (NaN, infinities,
1e300, 400-digit integers, NUL bytes, newlines, path traversal, wrong types, deep nesting, truncation, flipped
bytes). Every case must end in success or in one clear line (LoadError/BundleError/ValueError; exit code 2 on
the CLI) within a time bound, with nothing written outside its target folder.

Budget: about a minute on a developer machine; CI=true runs a few more examples (profile ``hostile-ci``).
"""

import copy
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colossus_gui.io.bundle import BundleError, open_bundle, write_bundle
from colossus_gui.io.loader import LoadError, load_facility, load_scenario
from colossus_gui.io.ops_loader import load_ops_config
from colossus_gui.ops.training import TrainingSession
from colossus_gui.ops.training_check import load_actions, load_and_check
from colossus_gui.resources import resource as res
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_common = dict(deadline=None, database=None, derandomize=not CI, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                      HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("hostile-dev", max_examples=40, **_common)
settings.register_profile("hostile-ci", max_examples=60, **_common)
PROFILE = "hostile-ci" if CI else "hostile-dev"
SCALE = 1.5 if CI else 1.0

# ----------------------------------------------------------------------------- hostile values
HOSTILE_SCALARS = st.sampled_from([
    float("nan"), float("inf"), float("-inf"), 1e300, -1e300, 1e308, 10**400, -(10**30), 2**64, -1, 0, 0.4, True,
    None, "", "a\0b", "x\n=HYPERLINK(\"http://e\")", "../../../../tmp/pwned", "/etc/passwd", "alien_invasion",
    "H99-R999-CDU-P9", "💥" * 50, "x" * 30000, [], {}, [[[]]], {"a": {"b": {}}},
])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
VALUES = HOSTILE_SCALARS | JSONISH


def paths(doc, prefix=()):
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*prefix, i))
    return out


def mutate(data, doc):
    """One to three random damages of ``doc`` (a deep copy): replace a value, delete a key, add a key, nest."""
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3), label="damages")):
        ps = [p for p in paths(doc) if p]
        if not ps:
            break
        p = data.draw(st.sampled_from(ps), label="path")
        parent = doc
        for k in p[:-1]:
            parent = parent[k]
        how = data.draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "nest"]), label="how")
        if how == "replace":
            parent[p[-1]] = copy.deepcopy(data.draw(VALUES, label="value"))
        elif how == "delete":
            del parent[p[-1]]
        elif how == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=10), label="key")] = copy.deepcopy(data.draw(VALUES, label="value"))
        elif how == "nest":
            depth = data.draw(st.sampled_from([2, 70, DEEP]), label="depth")
            v = DEEP_MARK if depth == DEEP else parent[p[-1]]
            for _ in range(min(depth, 100)):
                v = [v]
            parent[p[-1]] = v
    return doc


DEEP = 5000
DEEP_MARK = "__deeply_nested__"  # written as 5,000 nested lists (more than any serialiser would recurse into)


def dump(doc, fmt: str) -> str:
    if fmt == "json":
        text = json.dumps(doc, default=str)
        return text.replace(json.dumps(DEEP_MARK), "[" * DEEP + "]" * DEEP)
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, width=10**9, default_flow_style=True)
    except (yaml.YAMLError, RecursionError):
        return dump(doc, "json")  # YAML is a superset of JSON
    return text.replace(DEEP_MARK, "[" * DEEP + "]" * DEEP)


def assert_one_line(exc) -> str:
    lines = exc.problems if isinstance(exc, LoadError) else [str(exc)]
    assert lines and all(line and "\n" not in line and "Traceback" not in line for line in lines), lines
    return lines[0]


# ----------------------------------------------------------------------------- valid documents
@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    base = tmp_path_factory.mktemp("docs")
    fac = small_facility(halls=1, rows=2, racks_per_row=2)
    fac_path = base / "small.json"
    fac_path.write_text(fac.model_dump_json())
    training = {
        "title": "fuzz drill", "facility": str(fac_path), "seed": 3, "time_limit_s": 120, "briefing": "two pumps",
        "faults": [{"id": "p1", "at": 10, "kind": "pump_failure", "target": "H1-R002-CDU-P1"},
                   {"id": "p2", "after": {"fault": "p1", "delay_s": 5}, "kind": "pump_failure",
                    "target": "H1-R002-CDU-P2"}],
        "objectives": [{"id": "o1", "text": "cool", "condition": "H1-R002 return_temp_c < 60", "check": "at_end"}],
        "reference": [{"at": 20, "action": "acknowledge", "alarms": "all", "repeat_s": 20},
                      {"at": 30, "action": "assign", "target": "H1-R002-CDU-P1", "technician": "nearest"}],
    }
    return {
        "base": base, "fac_path": fac_path,
        "facility": fac.model_dump(mode="json"),
        "scenario": {"title": "t", "facility": str(fac_path), "seed": 1,
                     "faults": [{"at": 5, "kind": "pump_failure", "target": "H1-R002-CDU-P1"},
                                {"at": 8, "kind": "grid_sag", "target": "GRID", "depth": 0.3, "duration": 5}]},
        "training": training,
        "actions": {"actions": [{"at": 12, "action": "acknowledge", "alarms": "all"},
                                {"at": 15, "action": "power_cap", "hall": "H1", "watts": 500}]},
        "ops": yaml.safe_load(res("ops", "default.yaml").read_text()),
    }


def test_the_documents_are_valid_before_damage(docs, tmp_path):
    for kind in ("facility", "scenario", "training", "actions", "ops"):
        p = tmp_path / f"{kind}.yaml"
        p.write_text(dump(docs[kind], "yaml"))
        LOADERS[kind](p)


LOADERS = {
    "facility": load_facility,
    "scenario": load_scenario,
    "training": load_and_check,
    "actions": load_actions,
    "ops": load_ops_config,
}


@pytest.mark.parametrize("kind", list(LOADERS))
def test_fuzz_file_loaders(docs, tmp_path, kind):
    @settings(settings.get_profile(PROFILE), max_examples=int(150 * SCALE))
    @given(data=st.data(), fmt=st.sampled_from(["yaml", "json"]))
    def run(data, fmt):
        p = tmp_path / f"case.{fmt}"
        p.write_text(dump(mutate(data, docs[kind]), fmt), encoding="utf-8")
        try:
            LOADERS[kind](p)
        except LoadError as e:
            assert_one_line(e)
        assert sorted(x.name for x in tmp_path.iterdir()) == [p.name]  # a loader writes nothing
        p.unlink()

    run()


# ----------------------------------------------------------------------------- bundles
@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    eng = Engine(small_facility(halls=1, rows=2, racks_per_row=2), seed=4)
    eng.run(30)
    return write_bundle(eng, tmp_path_factory.mktemp("bundle") / "snap", include_gpu_csv=False)


def damage_npz(data, raw: bytes) -> bytes:
    z = np.load(io.BytesIO(raw))
    arrays = {k: z[k] for k in z.files}
    key = data.draw(st.sampled_from(sorted(arrays)), label="array")
    how = data.draw(st.sampled_from(["nan", "inf", "huge", "shape", "dtype", "drop", "empty"]), label="npz how")
    a = arrays[key]
    if how in ("nan", "inf", "huge") and a.dtype.kind == "f" and a.size:
        a = a.copy()
        a.flat[data.draw(st.integers(0, a.size - 1))] = {"nan": np.nan, "inf": np.inf, "huge": 1e300}[how]
    elif how == "shape":
        a = np.zeros((a.shape[0] + 1,) + a.shape[1:] if a.ndim else (3,), a.dtype)
    elif how == "dtype":
        a = a.astype(data.draw(st.sampled_from(["U4", "complex128", "int8", "bool", "float16"])))
    elif how == "drop":
        del arrays[key]
    else:
        a = np.zeros((0,), a.dtype)
    if how != "drop":
        arrays[key] = a
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def test_fuzz_bundles(bundle, tmp_path):
    names = sorted(p.name for p in bundle.iterdir())

    @settings(settings.get_profile(PROFILE), max_examples=int(50 * SCALE))
    @given(data=st.data(), as_zip=st.booleans())
    def run(data, as_zip):
        work = tmp_path / "case"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(bundle, work)
        name = data.draw(st.sampled_from(names), label="member")
        p = work / name
        how = data.draw(st.sampled_from(["json", "json", "npz", "truncate", "flip", "delete", "link"]), label="how")
        if how == "json" and name.endswith(".json"):
            p.write_text(dump(mutate(data, json.loads(p.read_text())), "json"))
        elif how == "npz" and name == "state.npz":
            p.write_bytes(damage_npz(data, p.read_bytes()))
        elif how == "truncate":
            raw = p.read_bytes()
            p.write_bytes(raw[:data.draw(st.integers(0, len(raw)))])
        elif how == "flip":
            raw = bytearray(p.read_bytes())
            if raw:
                i = data.draw(st.integers(0, len(raw) - 1))
                raw[i] ^= data.draw(st.integers(1, 255))
            p.write_bytes(bytes(raw))
        elif how == "delete":
            p.unlink()
        elif how == "link":
            p.unlink()
            p.symlink_to(data.draw(st.sampled_from(["/dev/zero", "/dev/urandom", "/etc/hostname", "../../x"])))
        target = work
        if as_zip and how != "link":
            target = tmp_path / "case.zip"
            with zipfile.ZipFile(target, "w") as z:
                for f in work.iterdir():
                    z.write(f, f.name)
        try:
            eng = open_bundle(target)
        except BundleError as e:
            assert_one_line(e)
            return
        for _ in range(3):  # what opens must also run
            eng.step(1.0)
        assert np.isfinite(eng.tj).all() and np.isfinite(eng.summary()["it_energy_mwh"])

    run()


# ----------------------------------------------------------------------------- session logs
@pytest.fixture(scope="module")
def session_log(docs, tmp_path_factory):
    sc, fac, path = load_and_check(_write(docs["base"] / "drill.yaml", docs["training"]))
    log = tmp_path_factory.mktemp("log") / "session.jsonl"
    s = TrainingSession(sc, fac, seed=3, log_path=log, scenario_name="drill")
    try:
        s.play(list(sc.reference))
    finally:
        s.close()
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _write(p: Path, doc) -> Path:
    p.write_text(dump(doc, "yaml"))
    return p


def test_fuzz_session_logs(session_log, tmp_path):
    assert session_log[0]["type"] == "header" and len(session_log) > 2

    @settings(settings.get_profile(PROFILE), max_examples=int(30 * SCALE))
    @given(data=st.data())
    def run(data):
        recs = copy.deepcopy(session_log)
        how = data.draw(st.sampled_from(["mutate", "mutate", "insert", "truncate", "garbage"]), label="how")
        text = None
        if how == "mutate":
            i = data.draw(st.integers(0, len(recs) - 1), label="record")
            recs[i] = mutate(data, recs[i]) if isinstance(recs[i], dict) else recs[i]
        elif how == "insert":
            recs.insert(data.draw(st.integers(1, len(recs))), copy.deepcopy(data.draw(VALUES, label="record")))
        lines = [json.dumps(r, default=str) for r in recs]
        text = "\n".join(lines) + "\n"
        if how == "truncate":
            text = text[:data.draw(st.integers(0, len(text)))]
        elif how == "garbage":
            text += data.draw(st.sampled_from(["[" * 100000, "\0\0\0", "{\"type\": 1e999}", "not json"])) + "\n"
        p = tmp_path / "session.jsonl"
        p.write_text(text)
        try:
            TrainingSession.from_log(p)
        except ValueError as e:  # the only error a damaged log may raise (the replay dialog shows it)
            assert_one_line(e)

    run()


# ----------------------------------------------------------------------------- the CLI
def _limit_memory():  # a hostile file must not be able to make the CLI take the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))


def cli(args, cwd: Path):
    env = dict(os.environ, COLOSSUS_GUI_NO_SETTINGS="1", QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "colossus_gui", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, timeout=120, env=env, preexec_fn=_limit_memory)
    assert r.returncode in (0, 2), (args, r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    if r.returncode == 2:
        assert len(r.stderr.strip().splitlines()) == 1 or args[0] == "validate", r.stderr
        assert all(line.strip() for line in r.stderr.strip().splitlines())
    return r


FLAG_TEXT = st.sampled_from(["1", "10", "0", "-1", "0.4", "nan", "inf", "1e-7", "1e20", "9" * 400, "abc", "",
                             "30m", "2h", "1e20d", "0.001", "10.5", " 5 "])


def test_fuzz_cli(docs, tmp_path):
    @settings(settings.get_profile(PROFILE), max_examples=int(12 * SCALE))
    @given(data=st.data())
    def run(data):
        work = tmp_path / "w"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        kind = data.draw(st.sampled_from(["validate", "validate", "run", "snapshot"]), label="command")
        if kind == "validate":
            doc_kind = data.draw(st.sampled_from(["facility", "scenario", "training"]), label="doc")
            fmt = data.draw(st.sampled_from(["yaml", "json"]))
            f = work / f"in.{fmt}"
            f.write_text(dump(mutate(data, docs[doc_kind]), fmt), encoding="utf-8")
            cli(["validate", f.name], work)
            assert sorted(p.name for p in work.iterdir()) == [f.name]
            return
        f = work / "fac.json"
        f.write_text(dump(mutate(data, docs["facility"]) if data.draw(st.booleans(), label="damage") else
                          docs["facility"], "json"))
        args = [kind, "--facility", f.name, "--out", "out"]
        for flag in (["--duration", "--dt", "--seed"] if kind == "run" else ["--at", "--seed"]):
            if data.draw(st.booleans(), label=f"use {flag}"):
                args += [flag, data.draw(FLAG_TEXT, label=flag)]
        if kind == "run":
            args += ["--no-ops", "--quiet"] + ([] if "--duration" in args else ["--duration", "20"])
        else:
            args += ["--no-images"]
        r = cli(args, work)
        left = sorted(p.name for p in work.iterdir())
        assert left == (["fac.json", "out"] if r.returncode == 0 else ["fac.json"]), (args, left, r.stderr)

    run()
