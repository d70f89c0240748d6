"""The keyframe cache beside a session log is data: a JSON tree plus array bytes per keyframe. A replay that
restores from it is the same as one restoring from the keyframe in memory; a damaged or hostile file is
refused with one line, and reading it never calls anything it names."""

import json
import os
import struct
import subprocess
from collections import deque
from dataclasses import dataclass

import numpy as np
import pytest

from colossus_gui import __version__
from colossus_gui.io.data_tree import MAX_DEPTH, DataTreeError, pack, unpack
from colossus_gui.io.keyframes import (
    FILE_NAME,
    FORMAT,
    MAGIC,
    KeyframeCacheError,
    PackedKeyframe,
    log_digest,
    read_keyframes,
    write_keyframes,
)
from colossus_gui.ops.training_records import Marker
from colossus_gui.sim.events import EventKind
from colossus_gui.testing import PUMP_PAIR_FAULTS, small_facility, small_pump_drill

APP = ("colossus_gui.ops.", "colossus_gui.sim.events", "colossus_gui.model.")


def _drill():
    return small_pump_drill(time_limit_s=900, hints=[], faults=[
        *PUMP_PAIR_FAULTS, {"id": "g1", "at": 200, "kind": "gpu_failure", "target": "H2-R001-T2-G3"}])


def _recorded(tmp_path):
    from colossus_gui.ops.training import TrainingSession
    sc = _drill()
    live = TrainingSession(sc, small_facility(), log_path=tmp_path / "session.jsonl")
    live.play(sc.reference)
    live.close()
    return live, tmp_path / "session.jsonl"


def _state(s):
    """Everything a user could check of a session at one moment."""
    eng, ops = s.engine, s.raw_ops
    snap = eng.snapshot()
    arrays = {k: v for k, v in snap.items() if isinstance(v, np.ndarray)}
    rest = {k: v for k, v in snap.items() if not isinstance(v, np.ndarray)}
    wos = sorted((w.id, w.target, w.state, w.technician, w.phase, w.phase_end_t, [st.done for st in w.steps],
                  dict(w.held)) for w in ops.work_orders.values())
    alarms = [(a.id, a.rule, a.component, a.severity, a.active, a.acked) for a in ops.alarms.alarms(True)]
    techs = [(x.name, x.busy_wo, x.location, x.busy_s) for x in ops.roster.techs]
    events = [(e.seq, e.t_s, e.kind, e.address, e.detail) for e in eng.events]
    return arrays, rest, wos, alarms, techs, events, ops.figures(), [(f.id, f.state) for f in s.faults], \
        s.score().total, eng.telemetry.facility.view().copy()


def _assert_same(a, b):
    (arr_a, *rest_a), (arr_b, *rest_b) = a, b
    assert arr_a.keys() == arr_b.keys()
    for k in arr_a:  # bit-identical: same dtype, same bytes
        assert arr_a[k].dtype == arr_b[k].dtype and arr_a[k].tobytes() == arr_b[k].tobytes(), k
    for x, y in zip(rest_a[:-1], rest_b[:-1], strict=True):
        assert repr(x) == repr(y)  # repr: NaN ("none yet") compares equal to itself
    np.testing.assert_array_equal(rest_a[-1], rest_b[-1])


def test_a_restore_from_the_file_is_the_restore_from_memory_and_both_go_on_identically(tmp_path):
    from colossus_gui.ops.training import TrainingSession
    live, log = _recorded(tmp_path)
    assert (tmp_path / FILE_NAME).read_bytes().startswith(MAGIC)
    replay = TrainingSession.from_log(log, until_t=0, use_keyframes=False)  # a fresh session of that log
    frames, tel = read_keyframes(tmp_path, replay.run.persistent_objects(), log)
    assert [k.t for k in frames] == [k.t for k in live.run.keyframes]
    assert set(tel) and all(isinstance(rows, np.ndarray) for _, rows in tel.values())
    i = next(j for j, k in enumerate(live.run.keyframes) if k.t >= 240)  # faults, work orders, alarms open
    replay.run.adopt_telemetry(tel)  # as a replay does: the charts' rows written with the keyframes
    live.run.restore(live.run.keyframes[i])
    replay.run.restore(frames[i])
    assert replay.t == live.t == frames[i].t
    before = _state(live)
    assert before[2] and before[3] and before[5]  # work orders, alarms and events to compare
    _assert_same(before, _state(replay))
    live.run.advance(150)
    replay.run.advance(150)
    _assert_same(_state(live), _state(replay))


def test_shared_references_cycles_and_the_app_types_come_back_as_they_were():
    marker = Marker("before", 700.0, 3)
    shared = [1.5, "x"]
    cyc = []
    cyc.append(cyc)
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    fort = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    rng = np.random.default_rng(7)
    obj = {"a": shared, "b": shared, "pair": (shared, marker), "m": marker, "cyc": cyc, "arr": arr, "arr2": arr,
           "fort": fort, "tuple_keys": {(1, "H1"): {2, 3}, 5: frozenset({"p"})}, "dq": deque([1, 2], maxlen=3),
           "kind": EventKind.FAULT_STARTED, "np": np.float64(0.1), "i": np.int32(-4), "rng": rng,
           "nan": float("nan"), "big": 2**100, "none": None, "bytes": b"\x00\x01", "text": np.array(["ab", "c"]),
           "empty": np.zeros((0, 3)), "bools": np.array([True, False])}
    back = unpack(b"".join(bytes(p) for p in pack(obj, [], APP)), [], APP)
    assert back["a"] is back["b"] is back["pair"][0] and back["a"] == [1.5, "x"]
    assert back["m"] is back["pair"][1] and isinstance(back["m"], Marker) and back["m"] == marker
    assert back["cyc"][0] is back["cyc"]
    assert back["arr"] is back["arr2"] and back["arr"].dtype == np.float32 and np.array_equal(back["arr"], arr)
    assert back["arr"].flags.writeable
    assert back["fort"].flags.f_contiguous and np.array_equal(back["fort"], fort)
    assert back["tuple_keys"] == {(1, "H1"): {2, 3}, 5: frozenset({"p"})}
    assert back["dq"] == deque([1, 2]) and back["dq"].maxlen == 3
    assert back["kind"] is EventKind.FAULT_STARTED
    assert type(back["np"]) is np.float64 and back["np"] == 0.1 and type(back["i"]) is np.int32 and back["i"] == -4
    assert back["rng"].random(5).tolist() == rng.random(5).tolist()  # the same draws from here on
    assert back["nan"] != back["nan"] and back["big"] == 2**100 and back["none"] is None
    assert back["bytes"] == b"\x00\x01" and back["text"].tolist() == ["ab", "c"]
    assert back["empty"].shape == (0, 3) and back["bools"].dtype == np.bool_


@dataclass(slots=True)
class _Slotted:  # a state class keeping its fields in slots (the app's classes may)
    a: object
    b: object = None


@dataclass
class _Plain:
    a: object
    b: object = None


@pytest.mark.parametrize("cls", [_Slotted, _Plain])
def test_a_list_of_objects_of_one_class_keeps_its_shared_objects_and_cycles(cls):
    allowed = (*APP, __name__)
    shared = {"x": 1}
    items = [cls(i, shared if i % 2 else np.int64(i)) for i in range(6)]
    items.append(items[2])  # the same object twice
    items[0].b = items[5]  # a field naming a later item
    items[1].a = items  # and the list itself
    back = unpack(b"".join(bytes(p) for p in pack({"l": items, "s": shared}, [], allowed)), [], allowed)
    out = back["l"]
    assert [type(o) for o in out] == [cls] * 7 and out[6] is out[2] and out[0].b is out[5] and out[1].a is out
    assert out[3].b is out[1].b is back["s"] and [o.a for o in out[2:6]] == [2, 3, 4, 5]
    assert type(out[2].b) is np.int64 and out[2].b == 2


class _Finalized:
    def __del__(self):  # would run on an object a file made, once dropped
        _Finalized.ran = True


def test_a_class_with_a_finalizer_is_never_made_from_a_file():
    allowed = (*APP, __name__)
    with pytest.raises(DataTreeError, match="not one of the app's state classes"):
        pack([_Finalized()], [], allowed)
    _Finalized.ran = False
    text = json.dumps(["O", f"{__name__}:_Finalized", {}, None]).encode()
    with pytest.raises(DataTreeError, match="has a finalizer"):
        unpack(struct.pack("<Q", len(text)) + text, [], allowed)
    assert _Finalized.ran is False


def test_externals_and_their_methods_are_references_not_copies():
    class Holder:
        def on_change(self, *a):
            pass
    ext = Marker("ext", 0.0, 0)
    with pytest.raises(DataTreeError, match="not one of the app's state classes"):
        pack({"h": Holder()}, [], APP)  # a class of this test module: not the app's state
    with pytest.raises(DataTreeError, match="cannot write"):
        pack({"f": lambda: None}, [], APP)
    with pytest.raises(DataTreeError, match="cannot write an array of dtype object"):
        pack(np.array([None, 1], dtype=object), [], APP)
    data = b"".join(bytes(p) for p in pack({"e": ext, "again": [ext]}, [ext], APP))
    other = Marker("the reader's", 1.0, 1)
    back = unpack(data, [other], APP)
    assert back["e"] is other and back["again"][0] is other


def test_a_keyframe_that_holds_what_cannot_be_data_is_not_cached_and_the_replay_re_simulates(tmp_path):
    from colossus_gui.ops.training import TrainingSession
    sc = _drill()
    live = TrainingSession(sc, small_facility(), log_path=tmp_path / "session.jsonl")
    live.raw_ops.alarms.listeners.append(lambda alarm, what: None)  # a listener of no app class
    live.run_until(200)
    with pytest.raises(KeyframeCacheError, match="keyframe at t=60 s: cannot write an object of builtins.function"):
        write_keyframes(tmp_path, live.run.keyframes, live.run.persistent_objects(), tmp_path / "session.jsonl")
    live.close()  # no cache, no error
    assert not (tmp_path / FILE_NAME).exists()
    again = TrainingSession.from_log(tmp_path / "session.jsonl", until_t=150)
    assert again.run.steps_simulated == 150


# ---------------------------------------------------------------------------------------------- hostile files
def _tree_part(tree, blob=b"") -> bytes:
    text = json.dumps(tree).encode()
    head = struct.pack("<Q", len(text)) + text
    return head + b"\0" * (-len(head) % 16) + blob


def _write(folder, parts, log, head=None, times=None):
    head = head or {"format": FORMAT, "version": __version__, "log_sha256": log_digest(log),
                    "sizes": [len(p) for p in parts], "times": times or [0.0] * len(parts),
                    "nbytes": [0] * len(parts), "telemetry_sizes": []}
    text = json.dumps(head).encode()
    (folder / FILE_NAME).write_bytes(MAGIC + struct.pack("<Q", len(text)) + text + b"".join(parts))


def _refused(folder, log, match=None, externals=()):
    with pytest.raises(KeyframeCacheError, match=match) as e:
        read_keyframes(folder, list(externals), log)
    assert "\n" not in str(e.value) and str(folder / FILE_NAME) in str(e.value)
    return str(e.value)


@pytest.fixture
def log(tmp_path):
    p = tmp_path / "session.jsonl"
    p.write_text('{"type":"head"}\n')
    return p


@pytest.fixture
def calls(monkeypatch):
    """Every call of the things a hostile file would name (none may happen)."""
    seen = []
    monkeypatch.setattr(os, "system", lambda *a, **k: seen.append(("os.system", a)))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: seen.append(("Popen", a)))
    return seen


@pytest.mark.parametrize("tree", [
    ["O", "os:system", {"x": "touch pwned"}, None],
    ["O", "builtins:eval", {}, None],
    ["O", "builtins:getattr", {}, None],
    ["O", "subprocess:Popen", {"args": ["sh"]}, None],
    ["E", "os:system", "echo pwned"],
    ["O", "colossus_gui.ops.run:np", {}, None],  # a module reached through an app module
    ["O", "colossus_gui.ops.run:copy.deepcopy", {}, None],
    ["O", "colossus_gui.ops.run:Run.__init__.__globals__", {}, None],
    ["O", "colossus_gui.ops.run:new_run_id", {}, None],  # an app function, not a class
    ["M", 0, "__init__"],
    ["M", 0, "__class__"],
    ["O", "colossus_gui.ops.run:NoSuchClass", {}, None],
    ["O", "colossus_gui.ops.not_a_module:Thing", {}, None],
    ["O", "os", {}, None],
])
def test_a_file_naming_anything_but_the_app_state_classes_is_refused_and_nothing_runs(tmp_path, log, calls, tree):
    _write(tmp_path, [_tree_part(["L", tree])], log)
    _refused(tmp_path, log, externals=[Marker("x", 0.0, 0)])
    assert calls == []


@pytest.mark.parametrize(("tree", "blob", "match"), [
    (["A", "|O", [2], 0, "C"], b"\0" * 16, "not a plain array type"),
    (["A", "[('a', 'O')]", [1], 0, "C"], b"\0" * 16, "array type"),
    (["A", "<f8", [-1], 0, "C"], b"", "is not a shape"),
    (["A", "<f8", [10**12, 10**12], 0, "C"], b"\0" * 16, "outside the file's data"),
    (["A", "<f8", [4], 8, "C"], b"\0" * 32, "outside the file's data"),
    (["A", "<f8", [1] * 40, 0, "C"], b"\0" * 8, "malformed array"),
    (["b", -5, 3], b"abc", "outside the file's data"),
    (["r", 7], b"", "reference 7 out of range"),
    (["x", 0], b"", "external reference 0 out of range"),
    (["Z", 1], b"", "unknown node"),
    (["G", "PCG64", {"bit_generator": "PCG64", "state": "nonsense"}], b"", "malformed"),
    (["G", "os.urandom", {}], b"", "not one numpy has"),
    (["Q", -1], b"", "malformed deque"),
    (["E", "colossus_gui.sim.events:EventKind", "no_such_kind"], b"", "has no member"),
    (["O", "colossus_gui.sim.events:EventKind", {}, None], b"", "cannot be made from data"),
    (["O", "colossus_gui.ops.training_records:Marker", {}, {"nope": 1}], b"", "has no slot"),
    (["D", ["L"], 1], b"", "malformed data"),  # an unhashable key
    (["K", "colossus_gui.ops.training_records:Marker", "d", ["name"], [None, None], [0, "a"]], b"",
     "does not have its 2 values"),
    (["K", "colossus_gui.ops.training_records:Marker", "d", ["name"], [None, 9], [0, "a"]], b"",
     "reference 9 out of range"),
    (["K", "colossus_gui.ops.training_records:Marker", "s", ["name"], [None], [0, "a"]], b"", "has no slots"),
    (["K", "os:system", "d", [], [None]], b"", "not one of the app's state classes"),
])
def test_damaged_nodes_are_refused_with_one_line(tmp_path, log, tree, blob, match):
    _write(tmp_path, [_tree_part(tree, blob)], log)
    _refused(tmp_path, log, match=match)


def test_deep_nesting_is_refused_not_a_crash(tmp_path, log):
    deep = 0
    for _ in range(MAX_DEPTH + 5):
        deep = ["L", deep]
    _write(tmp_path, [_tree_part(deep)], log)
    _refused(tmp_path, log, match="nested deeper")
    text = b"[" * 200_000 + b"]" * 200_000  # deeper than the JSON reader itself goes
    _write(tmp_path, [struct.pack("<Q", len(text)) + text], log)
    _refused(tmp_path, log)


def test_truncated_and_mis_sized_files_are_refused(tmp_path, log):
    from colossus_gui.ops.training import TrainingSession
    live, real_log = _recorded(tmp_path)
    good = (tmp_path / FILE_NAME).read_bytes()
    ext = TrainingSession.from_log(real_log, until_t=0, use_keyframes=False).run.persistent_objects()
    assert read_keyframes(tmp_path, ext, real_log)[0]
    for cut in (5, len(MAGIC) + 4, len(MAGIC) + 20, len(good) // 2, len(good) - 1):
        (tmp_path / FILE_NAME).write_bytes(good[:cut])
        _refused(tmp_path, real_log, externals=ext)
    (tmp_path / FILE_NAME).write_bytes(good + b"extra")
    _refused(tmp_path, real_log, match="truncated or damaged", externals=ext)
    # a header declaring more than the file holds
    (tmp_path / FILE_NAME).write_bytes(MAGIC + struct.pack("<Q", 2**62) + b"{}")
    _refused(tmp_path, real_log, match="header of")
    # a keyframe whose own tree is declared larger than the keyframe
    part = struct.pack("<Q", 2**60) + b"[]"
    _write(tmp_path, [part], real_log)
    _refused(tmp_path, real_log, match="declared in")
    # sizes that do not add up to the file, negative sizes, mismatched lists
    bad = {"format": FORMAT, "version": __version__, "log_sha256": log_digest(real_log), "sizes": [10**15],
           "times": [0.0], "nbytes": [0], "telemetry_sizes": []}
    _write(tmp_path, [_tree_part(["L"])], real_log, head=bad)
    _refused(tmp_path, real_log, match="truncated or damaged")
    for field, value in (("sizes", [-1]), ("times", [0.0, 1.0]), ("nbytes", "x"), ("times", [float("nan")]),
                         ("telemetry_sizes", None)):
        _write(tmp_path, [_tree_part(["L"])], real_log, head={**bad, "sizes": [len(_tree_part(["L"]))],
                                                                field: value})
        _refused(tmp_path, real_log, match="damaged header")
    (tmp_path / FILE_NAME).write_bytes(b"\x80\x04\x95" + good)  # something else entirely (a pickle's opening)
    _refused(tmp_path, real_log, match="not a keyframe cache")


def test_a_replay_ignores_a_hostile_cache_and_re_simulates(tmp_path, calls):
    from colossus_gui.ops.training import TrainingSession
    live, log = _recorded(tmp_path)
    _write(tmp_path, [_tree_part(["O", "os:system", {"cmd": "echo pwned"}, None])], log)
    again = TrainingSession.from_log(log, until_t=300)
    assert again.run.steps_simulated == 300 and again.t == 300 and calls == []


def test_packed_keyframes_are_bytes_until_a_restore_unpacks_them(tmp_path):
    from colossus_gui.ops.run import RunState
    from colossus_gui.ops.training import TrainingSession
    live, log = _recorded(tmp_path)
    replay = TrainingSession.from_log(log, until_t=0, use_keyframes=False)
    frames, _ = read_keyframes(tmp_path, replay.run.persistent_objects(), log)
    assert all(isinstance(k, PackedKeyframe) and isinstance(k.data, bytes) for k in frames)
    k = frames[3].unpack()
    assert isinstance(k, RunState) and k.t == frames[3].t == live.run.keyframes[3].t
    assert k.engine.keys() == live.run.keyframes[3].engine.keys()
