"""kill -9 at random moments of `run --out`, `snapshot --out` and work-order writes: afterwards the output is
the complete old set or the complete new set, and the workspace database opens with every committed row."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from colossus_gui.io.bundle import open_bundle
from colossus_gui.io.run_output import RUN_FILES, write_run
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("HOSTILE_KILL_ROUNDS", "6"))


def start(*args, stdout=subprocess.DEVNULL):
    return subprocess.Popen([sys.executable, "-m", "colossus_gui", *map(str, args)], cwd=ROOT, stdout=stdout,
                            stderr=subprocess.DEVNULL)


def timed_full_run(args) -> float:
    t0 = time.perf_counter()
    p = start(*args)
    assert p.wait(timeout=120) == 0
    return time.perf_counter() - t0


def kill_at(p: subprocess.Popen, delay: float) -> None:
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)


def contents(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def fac_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("fac") / "small.json"
    p.write_text(small_facility(halls=1, rows=2, racks_per_row=4).model_dump_json())
    return p


def test_kill_9_during_run_out_leaves_the_old_or_the_new_set(tmp_path, fac_file):
    from colossus_gui.io.loader import load_facility
    fac = load_facility(fac_file)
    old, new = tmp_path / "old", tmp_path / "new"
    write_run(Engine(fac, seed=1), 900, 1.0, old)
    args = ["run", "--facility", fac_file, "--duration", "900", "--seed", "2", "--no-ops", "--quiet"]
    full = timed_full_run([*args, "--out", new])
    old_set, new_set = contents(old), contents(new)
    assert set(old_set) == set(new_set) == set(RUN_FILES) and old_set != new_set
    out = tmp_path / "work" / "out"
    out.parent.mkdir()
    rng = random.Random(12)
    for _ in range(ROUNDS):
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(old, out)
        d = rng.uniform(0.5, 1.15) * full
        kill_at(start(*args, "--out", out), d)
        got = contents(out)
        assert got in (old_set, new_set), sorted(got)  # never a mix, never a half-written file
    # a completed run afterwards cleans the temporaries of the killed ones
    assert start(*args, "--out", out).wait(timeout=120) == 0
    assert contents(out) == new_set
    assert [p.name for p in out.parent.iterdir()] == ["out"]


def test_kill_9_during_snapshot_out_leaves_a_whole_bundle(tmp_path, fac_file):
    out = tmp_path / "work" / "snap"
    base = ["snapshot", "--facility", fac_file, "--no-images", "--at", "60"]
    assert start(*base, "--seed", "1", "--out", out).wait(timeout=120) == 0
    old_copy = tmp_path / "old"
    shutil.copytree(out, old_copy)
    full = timed_full_run([*base, "--seed", "2", "--out", tmp_path / "ref"])
    rng = random.Random(7)
    for _ in range(ROUNDS):
        kill_at(start(*base, "--seed", "2", "--out", out), rng.uniform(0.5, 1.15) * full)
        manifest = json.loads((out / "manifest.json").read_text())
        assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir())  # complete, nothing extra
        eng = open_bundle(out)
        assert eng.seed == manifest["seed"] in (1, 2) and eng.t == 60.0
        if manifest["seed"] == 2:  # back to the old one for the next round
            shutil.rmtree(out)
            shutil.copytree(old_copy, out)
    assert start(*base, "--seed", "2", "--out", out).wait(timeout=120) == 0
    assert [p.name for p in out.parent.iterdir()] == ["snap"]


WRITER = textwrap.dedent("""
    import sys
    from colossus_gui.io.store import Store
    from colossus_gui.model.ops_config import OpsConfig
    from colossus_gui.ops.workflow import OpsManager
    from colossus_gui.sim.engine import Engine
    from colossus_gui.testing import small_facility
    eng = Engine(small_facility(), seed=1)
    store = Store(sys.argv[1])
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), store=store, seed=1)
    print("ready", flush=True)
    i = 0
    while True:
        rack = i % 16
        i += 1
        try:
            wo = ops.create_work_order(f"H{rack // 8 + 1}-R{rack % 8 + 1:03d}-RDHX-F{i % 6 + 1}", who="bot")
        except Exception:  # a second order for the same part may be refused: try the next one
            continue
        print(wo.id, flush=True)  # committed: the store's transaction has returned
""")


def test_kill_9_during_work_order_writes_keeps_every_committed_row(tmp_path):
    from colossus_gui.io.store import Store
    db = tmp_path / "ws.sqlite"
    rng = random.Random(3)
    committed: set[int] = set()
    for _ in range(ROUNDS):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        assert p.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate(timeout=30)
        committed |= {int(x) for x in out.split() if x.isdigit()}
        with Store(db) as st:  # opens: header, schema and quick_check all fine
            ids = {r["id"] for r in st.work_order_summaries()}
            assert committed <= ids, sorted(committed - ids)
            assert st.quarantine_bad_rows() == []
    assert len(committed) > ROUNDS  # the writer did get to write
