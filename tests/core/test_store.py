"""The workspace database: what survives a kill, what a reopen gives back, and that a foreign or damaged file
gets a clear message and is never written to."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from colossus_gui.io.store import APPLICATION_ID, SCHEMA_VERSION, Store, StoreError
from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.work_orders import CLOSED
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


def ops_with_store(path, dispatch="auto", seed=2):
    eng = Engine(small_facility(), seed=seed)
    store = Store(path)
    ops = OpsManager(eng, OpsConfig(dispatch=dispatch), store=store, seed=seed)
    return eng, ops, store


def run(eng, ops, seconds):
    for _ in range(int(seconds)):
        eng.step()
        ops.step()


def test_every_state_change_is_in_the_audit_log_with_who(tmp_path):
    eng, ops, store = ops_with_store(tmp_path / "ops.sqlite", dispatch="manual")
    wo = ops.create_work_order("H1-R003-RDHX-F2", who="alice", note="fan noisy")
    run(eng, ops, 5)
    ops.assign(wo.id, "Finley", who="bob")
    run(eng, ops, 3000)
    assert wo.state == CLOSED
    gone = ops.create_work_order("H2-R001-T1", who="alice")
    ops.cancel(gone.id, who="carol", reason="duplicate")
    trail = [(a["who"], a["from_state"], a["to_state"]) for a in store.audit(wo.id) if a["from_state"] != a["to_state"]]
    assert trail == [("alice", None, "open"), ("bob", "open", "assigned"), ("Finley", "assigned", "in_progress"),
                     ("Finley", "in_progress", "testing"), ("Finley", "testing", "closed")]
    last = store.audit(gone.id)[-1]
    assert (last["who"], last["from_state"], last["to_state"], last["note"]) == (
        "carol", "open", "cancelled", "cancelled: duplicate")
    assert all(a["wall_time"].endswith("Z") for a in store.audit())
    # the times in the audit are simulated seconds of the change
    arrived = [a for a in store.audit(wo.id) if a["to_state"] == "in_progress"][0]
    assert arrived["t_s"] == pytest.approx(wo.started_t)
    row = store.work_order(wo.id)
    assert row["state"] == "closed" and row["technician"] == "Finley" and row["notes"] == wo.notes
    assert store.count_by_state() == {"closed": 1, "cancelled": 1}
    assert store.stock()["fan"] == OpsConfig().spares.fan.stock - 1
    assert {t["name"] for t in store.technicians()} == {t.name for t in OpsConfig().technicians}
    store.close()


def test_alarm_history_follows_every_change(tmp_path):
    eng, ops, store = ops_with_store(tmp_path / "ops.sqlite", dispatch="manual")
    eng.inject("fan_failure", "H2-R006-RDHX-F4")
    run(eng, ops, 2)
    a = ops.alarms.find("H2-R006-RDHX", "fan_state")
    row = {r["id"]: r for r in store.alarms()}[a.id]
    assert (row["state"], row["component"], row["archived"]) == ("active_unacknowledged", "H2-R006-RDHX", False)
    ops.acknowledge([a.id], who="dana")
    row = {r["id"]: r for r in store.alarms()}[a.id]
    assert (row["state"], row["acked_by"], row["acked_t"]) == ("active_acknowledged", "dana", eng.t)
    wo = next(w for w in ops.work_orders.values() if w.target == "H2-R006-RDHX-F4")
    ops.assign(wo.id, "Gray", who="dana")
    run(eng, ops, 2000)
    assert wo.state == CLOSED
    row = {r["id"]: r for r in store.alarms()}[a.id]
    assert row["archived"] and row["state"] == "cleared" and row["cleared_t"] > row["acked_t"]
    store.close()


def test_reopen_restores_open_work_orders_intact(tmp_path):
    path = tmp_path / "ops.sqlite"
    eng, ops, store = ops_with_store(path)
    eng.run(10)
    ops.step()
    eng.inject("gpu_failure", "H1-R002-T5-G3")
    eng.inject("pump_failure", "H2-R001-CDU-P1")
    eng.inject("psu_failure", "H2-R004-T8-PSU1")
    run(eng, ops, 700)  # travelling done, steps under way
    manual = ops.create_work_order("H1-R008", who="alice", priority=4, note="inspect after move")
    before = {w.id: w.to_row() for w in ops.work_orders.values() if w.open}
    states = {r["state"] for r in before.values()}
    assert len(before) == 4 and "open" in states and states & {"in_progress", "testing"}
    held = {w.id: w.held for w in ops.work_orders.values() if w.open}
    assert any(h["drained"] for h in held.values())
    busy = {t.name: t.busy_wo for t in ops.roster.techs if t.busy_wo}
    stock = dict(ops.spares.on_hand)
    store.close()

    # a new session on the same workspace, the engine restored to where it was
    eng2 = Engine(small_facility(), seed=2)
    eng2.restore(eng.snapshot())
    store2 = Store(path)
    assert {r["id"]: r for r in store2.open_work_orders(run_id=ops.run_id)} == {
        k: v | {"run_id": ops.run_id} for k, v in before.items()}
    ops2 = OpsManager(eng2, OpsConfig(), store=store2, seed=2, run_id=ops.run_id)  # the same run, resumed
    after = {w.id: w.to_row() for w in ops2.work_orders.values() if w.open}
    assert after == before, "every field of every open work order, steps and notes included"
    assert {t.name: t.busy_wo for t in ops2.roster.techs if t.busy_wo} == busy
    assert not store2.alarms(include_archived=False), "last session's alarms are history now"
    assert store2.alarms(), "and the history is kept"
    assert ops2.spares.on_hand == stock
    assert len([w for w in ops2.work_orders.values() if w.open]) == len(before), "no duplicates for old faults"
    # work resumes: everything closes, and new ids continue after the old ones
    for _ in range(36):
        if all(w.state == CLOSED for w in ops2.work_orders.values()):
            break
        run(eng2, ops2, 600)
    assert all(w.state == CLOSED for w in ops2.work_orders.values())
    assert ops2.get(manual.id).priority == 4 and ops2.get(manual.id).notes[0].endswith("inspect after move")
    assert ops2.create_work_order("H1-R001").id == max(before) + 1
    assert eng2.gpu_ok.all() and eng2.pump_ok.all() and eng2.psu_ok.all()
    store2.close()


_WRITER = textwrap.dedent("""
    import sys
    from colossus_gui.io.store import Store
    from colossus_gui.model.ops_config import OpsConfig
    from colossus_gui.ops.workflow import OpsManager
    from colossus_gui.sim.engine import Engine
    from colossus_gui.testing import small_facility
    eng = Engine(small_facility(), seed=1)
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), store=Store(sys.argv[1]), seed=1)
    targets = [eng.topo.tray_address(t) for t in range(eng.n_trays)]
    i = 0
    while True:
        wo = ops.create_work_order(targets[i % len(targets)], who="writer", note="n" * 200)
        ops.add_note(wo.id, "second change", who="writer")
        print(wo.id, flush=True)  # printed only after both transactions committed
        i += 1
""")


def test_killed_while_writing_loses_nothing_committed(tmp_path):
    path = tmp_path / "ops.sqlite"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    committed = []
    try:
        deadline = time.monotonic() + 60
        while len(committed) < 150 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed.append(int(line))
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: it never stops creating orders on its own
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(committed) >= 150, "the writer did not get going"
    assert os.path.exists(str(path) + "-wal"), "killed with an un-checkpointed WAL: the hard case"
    with Store(path) as store:  # reopens (recovering the WAL) without complaint
        rows = {r["id"]: r for r in store.work_orders()}
        for wo_id in committed:
            assert wo_id in rows
            assert rows[wo_id]["notes"][-1].endswith("writer: second change")
            assert [a["to_state"] for a in store.audit(wo_id)][:1] == ["open"]
        assert store.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _unchanged(path, fn):
    before = path.read_bytes()
    with pytest.raises(StoreError) as ei:
        fn()
    assert path.read_bytes() == before, "the file must be left untouched"
    assert str(path) in str(ei.value) and "left untouched" in str(ei.value)
    return str(ei.value)


def test_foreign_and_damaged_files_get_a_clear_message_and_stay_untouched(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("my shopping list\n")
    assert "not an SQLite file" in _unchanged(text, lambda: Store(text))

    foreign = tmp_path / "other-app.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE customers (name TEXT)")
    con.execute("INSERT INTO customers VALUES ('x')")
    con.commit()
    con.close()
    msg = _unchanged(foreign, lambda: Store(foreign))
    assert "another application" in msg
    con = sqlite3.connect(foreign)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["customers"], "no tables added"
    con.close()

    ours = tmp_path / "ours.sqlite"
    eng, ops, store = ops_with_store(ours)
    for i in range(300):
        ops.create_work_order(eng.topo.tray_address(i % eng.n_trays), who="alice", note="x" * 300)
    store.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(ours.read_bytes())
    assert len(data) > 40 * 4096
    damaged = tmp_path / "damaged.sqlite"
    data[20 * 4096:24 * 4096] = b"\xab" * (4 * 4096)  # a run of garbage pages in the middle
    damaged.write_bytes(bytes(data))
    assert "damaged" in _unchanged(damaged, lambda: Store(damaged))

    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(bytes(data[:60]))
    assert "truncated" in _unchanged(truncated, lambda: Store(truncated))

    newer = tmp_path / "newer.sqlite"
    con = sqlite3.connect(newer)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.execute("CREATE TABLE meta (key TEXT)")
    con.commit()
    con.close()
    assert "newer Colossus GUI" in _unchanged(newer, lambda: Store(newer))

    folder = tmp_path / "folder.sqlite"
    folder.mkdir()
    with pytest.raises(StoreError, match="is a folder"):
        Store(folder)


def test_a_database_of_10000_work_orders_opens_with_only_its_open_orders_in_full(tmp_path):
    path = tmp_path / "big.sqlite"
    eng, ops, store = ops_with_store(path)
    first = ops.create_work_order("H1-R001-T1", who="alice", note="swap")
    while first.state != CLOSED:  # fast-forward through every step: a real order with steps and notes
        ops.advance(first.id)
    template = first.to_row()
    assert len(template["steps"]) == 7 and template["notes"]
    states = ["closed"] * 9 + ["open"]
    with store.transaction():  # bulk-load the history (one transaction: this is set-up, not the test)
        for i in range(10000):
            row = dict(template, id=100 + i, state=states[i % 10], target=eng.topo.tray_address(i % eng.n_trays),
                       run_id=ops.run_id)
            store.save_work_order(row, who="history", from_state=None, note="created", t_s=float(i))
    store.close()
    # what the board does on opening: check, counts, open orders in full, summaries (its time is a bench figure)
    with Store(path) as st:
        counts = st.count_by_state()
        open_rows = st.open_work_orders()
        board = st.work_order_summaries()
    assert counts == {"closed": 9000 + 1, "open": 1000}
    assert len(open_rows) == 1000 and len(board) == 10001
    assert all(len(r["steps"]) == 7 for r in open_rows)  # open orders come back whole
    # and a whole session on it: OpsManager holds the 1000 open orders, the history stays in the database
    with Store(path) as st:
        ops2 = OpsManager(Engine(small_facility(), seed=2), OpsConfig(), store=st, run_id=ops.run_id)
        assert len(ops2.work_orders) == 1000


def test_an_alarm_whose_reading_went_to_none_reopens_without_a_damaged_row(tmp_path):
    """A time-to-limit alarm's reading is infinite once the estimate says 'none'. It is stored as no number,
    so the next session opens the workspace without a 'damaged row' warning and the value reads as missing."""
    eng, ops, store = ops_with_store(tmp_path / "ops.sqlite", dispatch="manual")
    eng.inject("fan_failure", "H2-R006-RDHX-F4")
    run(eng, ops, 2)
    a = ops.alarms.find("H2-R006-RDHX", "fan_state")
    a.value = a.peak_value = float("inf")
    store.save_alarm(a.to_row() | {"run_id": ops.run_id})
    store.close()
    again = Store(tmp_path / "ops.sqlite")
    assert again.quarantine_bad_rows(eng.topo) == []
    row = {r["id"]: r for r in again.alarms()}[a.id]
    assert row["value"] is None
    again.close()
