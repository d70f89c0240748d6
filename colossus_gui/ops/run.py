"""A Run: one timeline of the facility. The engine, the operations layer (alarms, work orders, technicians,
spares) and optionally a training session, advanced together in one fixed order, with snapshots of all of
it and keyframes for instant seeking. Qt-free: the GUI's driver, the CLI and training all drive a Run, and
nothing else adds steps of its own.

Order inside one step: engine.step -> (training: faults due now fire) -> operations (alarms, work orders,
technicians, spares) -> (training: scoring, backtrack marks, the end) -> keyframe if one is due.

Snapshots: the engine's own (a dict of array copies plus the RNG state) and a deep copy of the plain-Python
state of the operations layer and the session's timeline. Objects that widgets hold (the OpsManager, its
AlarmManager, Roster and Spares, the session) are restored *in place*, so a view bound to them stays valid.
Telemetry rings are not copied: a restore cuts them back to the row count of the snapshot's moment (rows
still in memory after a backward seek are the same timeline's rows, so a forward seek can reuse them).

Keyframes: a snapshot every ``keyframe_every_s`` simulated seconds. Memory is bounded by ``keyframe_budget_mb``:
when the keyframes outgrow it, the oldest are thinned (the one whose removal leaves the smallest gap goes),
so recent history stays dense and old history sparser. ``seek(t)`` loads the nearest keyframe at or before
``t`` on the current timeline and simulates the rest, so a seek costs at most one keyframe interval of steps.
Any change between steps (a fault injected, a work order assigned, a training action) makes a new branch:
keyframes later than now are dropped, they belong to a future that will not happen any more.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..sim.telemetry import Ring

_EPS = 1e-6


class SeekCancelled(Exception):
    """A seek stopped by its caller (the state is a consistent moment between the start and the target)."""


@dataclass
class RunState:
    """Everything of a run at one moment (in memory)."""

    t: float
    engine: dict
    objects: list = field(default_factory=list)  # per identity object: a deep copy of its __dict__
    session: dict | None = None
    telemetry: dict = field(default_factory=dict)  # ring name -> row count at this moment
    nbytes: int = 0
    events: list = field(default_factory=list)  # the event log up to this moment (shared, immutable records)


def new_run_id() -> str:
    """A short random id naming one run (stored with its work orders, alarms and scores)."""
    return uuid.uuid4().hex[:12]


class Run:
    """One timeline: ``advance(seconds)`` / ``step()``, ``snapshot()`` / ``restore()``, ``seek(t)``.

    ``ops``: an OpsManager (or None: the engine alone); ``session``: a TrainingSession, whose engine and
    operations the run then uses. ``events`` is the one event log of the run (the engine's)."""

    def __init__(self, engine=None, ops=None, session=None, dt: float = 1.0, keyframe_every_s: float = 60.0,
                 keyframe_budget_mb: float = 256.0, run_id: str | None = None, keyframes: bool = True):
        if session is not None:
            engine, ops, dt = session.engine, session.raw_ops, session.dt
        if engine is None:
            raise ValueError("a Run needs an engine or a training session")
        self.engine = engine
        self.session = session
        self._ops = ops
        self.dt = float(dt)
        self.run_id = run_id or getattr(ops, "run_id", None) or new_run_id()
        if ops is not None and getattr(ops, "run_id", None) != self.run_id:
            ops.set_run_id(self.run_id)
        self.keyframe_every_s = float(keyframe_every_s)
        self.keyframe_budget_bytes = int(keyframe_budget_mb * 1024 * 1024)
        self.keyframes_enabled = bool(keyframes)
        self.keyframes: list[RunState] = []
        self._next_keyframe_t = float(engine.t)
        self.steps_simulated = 0  # engine steps this run has taken (seeks included): for benchmarks and tests
        self._fingerprint = None
        self._tel_valid = self._tel_counts()  # rows of each ring that belong to the current timeline
        self.listeners: list[Callable[[str, object], None]] = []  # (what, payload): "restored", "branched"
        # called after every step, before the keyframe (observers that only read: a study's per-step figures)
        self.after_step: list[Callable[[], None]] = []
        self._maybe_keyframe()

    # ------------------------------------------------------------------ what the run is made of
    @property
    def ops(self):
        return self.session.raw_ops if self.session is not None else self._ops

    @property
    def events(self):
        return self.engine.events

    @property
    def t(self) -> float:
        return float(self.engine.t)

    @property
    def revision(self) -> int:
        """Moves whenever anything a view shows may have changed (steps, actions, restores)."""
        ops = self.ops  # the operations' events are in the engine's log: each one moves the engine's revision
        return self.engine.revision + (ops.alarms.revision if ops is not None else 0)

    # ------------------------------------------------------------------ advancing
    def step(self) -> None:
        """One step of everything, in the fixed order."""
        self._check_branch()
        eng = self.engine
        if self.session is not None:
            if self.session.ended:
                return
            eng.step(self.dt)
            self.session.after_engine_step(self.dt)
        else:
            eng.step(self.dt)
            if self._ops is not None:
                self._ops.step(self.dt)
        self.steps_simulated += 1
        for fn in self.after_step:
            fn()
        self._maybe_keyframe()
        self._fingerprint = self._fp()

    def advance(self, seconds: float) -> int:
        """Advance ``seconds`` of simulated time in whole steps; returns the number of steps taken."""
        n = int(round(seconds / self.dt))
        done = 0
        for _ in range(n):
            if self.ended:
                break
            self.step()
            done += 1
        return done

    @property
    def ended(self) -> bool:
        return bool(self.session is not None and self.session.ended)

    # ------------------------------------------------------------------ branch detection
    def _fp(self):
        ops = self.ops
        s = self.session
        # an operations action (a work order created, assigned, cancelled...) logs an event: engine.revision moves
        return (self.engine.revision, ops.alarms.revision if ops is not None else 0, s._seq if s is not None else 0)

    def _check_branch(self) -> None:
        """Something changed the run between steps (an action): the keyframes after now are another future."""
        if self._fingerprint is not None and self._fp() != self._fingerprint:
            self.branch()

    def same_timeline(self) -> None:
        """What changed since the last step is this timeline's own history re-applied (a replay putting a
        recorded action back at its time): not a branch, the later keyframes stay valid."""
        self._fingerprint = self._fp()

    def branch(self) -> None:
        t = self.t
        n = len(self.keyframes)
        self.keyframes = [k for k in self.keyframes if k.t <= t + _EPS]
        self.engine.events.drop_future()
        self._tel_valid = self._tel_counts()
        self._next_keyframe_t = (self.keyframes[-1].t + self.keyframe_every_s) if self.keyframes else t
        self._fingerprint = None
        if len(self.keyframes) != n:
            self._notify("branched", t)

    # ------------------------------------------------------------------ snapshots
    def _identity_objects(self) -> list:
        ops = self.ops
        if ops is None:
            return []
        return [ops, ops.alarms, ops.roster, ops.spares]

    def _externals(self) -> list:
        """Objects a snapshot refers to but never copies (the engine and what is fixed for the run)."""
        eng = self.engine
        out = [eng, eng.facility, eng.topo, eng.telemetry, eng.events, eng.rng, getattr(eng, "scenario", None)]
        ops = self.ops
        if ops is not None:
            out += [ops.config, ops.config.alarms, ops.alarms.config, ops.spares.spec, ops.topo,
                    getattr(ops, "store", None), getattr(ops, "_parsed", None)]  # _parsed: a cache of
            # immutable parsed addresses, shared by every keyframe
        if self.session is not None:
            s = self.session
            out += [s, s.scenario, s.facility, s.base_facility, s.ops_config, s.topo, s.ops]
        return [o for o in out if o is not None]

    def persistent_objects(self) -> list:
        """The objects a keyframe refers to without copying, in a fixed order (a keyframe written to disk
        names them by position and gets them back from the run that reads it)."""
        out = self._identity_objects() + self._externals()
        ops = self.ops
        if ops is not None:  # the alarm rules' functions: fixed for the run, the same in every keyframe
            for rule in ops.alarms._rules:
                out += [getattr(rule, a) for a in ("value", "address", "rack_of", "hall_of", "detail", "quiet")]
        return [o for o in out if o is not None]

    def _memo(self) -> dict:
        return {id(o): o for o in self.persistent_objects()}

    def snapshot(self) -> RunState:
        """The whole run at this moment (engine, operations, session timeline, telemetry row counts)."""
        eng = self.engine
        snap = eng.snapshot()
        memo = self._memo()
        objs = [dict(o.__dict__) for o in self._identity_objects()]
        sess = self.session.timeline_state() if self.session is not None else None
        objs, sess = copy.deepcopy((objs, sess), memo)
        nbytes = sum(v.nbytes for v in snap.values() if isinstance(v, np.ndarray)) + 64 * 1024
        return RunState(float(eng.t), snap, objs, sess, self._tel_counts(), nbytes, list(eng.events))

    def restore(self, state: RunState) -> None:
        """Put the whole run back to ``state`` (in place: views bound to the engine and the ops stay valid).
        ``state`` may be a keyframe kept packed (read from a cache): it is unpacked for this restore."""
        if not isinstance(state, RunState):
            state = state.unpack()
        eng = self.engine
        memo = self._memo()
        objs, sess = copy.deepcopy((state.objects, state.session), memo)  # the keyframe stays reusable
        eng.restore(state.engine)
        if len(eng.events) < len(state.events):  # a log that never held them (a keyframe read from disk)
            eng.events.extend(state.events[len(eng.events):])
        for o, d in zip(self._identity_objects(), objs, strict=True):
            o.__dict__.clear()
            o.__dict__.update(d)
        if self.session is not None and sess is not None:
            self.session.restore_timeline(sess)
        # readers restored with the state hold cursors of the old epoch at the right place: adopt them
        for reader in self._cursor_holders():
            reader.event_cursor = eng.events.adopt(reader.event_cursor)
        self._restore_telemetry(state.telemetry)
        self._next_keyframe_t = min((k.t for k in self.keyframes if k.t > state.t + _EPS),
                                    default=state.t + self.keyframe_every_s)
        if not any(abs(k.t - state.t) <= _EPS for k in self.keyframes):
            self._next_keyframe_t = min(self._next_keyframe_t, self._keyframe_due_after(state.t))
        self._fingerprint = self._fp()
        self._notify("restored", state.t)

    def _cursor_holders(self) -> list:
        out = []
        ops = self.ops
        if ops is not None:
            out += [ops, ops.alarms]
        if self.session is not None:
            out.append(self.session)
        return [o for o in out if hasattr(o, "event_cursor")]

    def _keyframe_due_after(self, t: float) -> float:
        k = self.keyframe_every_s
        return (np.floor(t / k + _EPS) + 1) * k if k > 0 else np.inf

    # ------------------------------------------------------------------ telemetry rows
    def _rings(self) -> dict[str, Ring]:
        tel = self.engine.telemetry
        return {k: v for k, v in vars(tel).items() if isinstance(v, Ring)}

    def _tel_counts(self) -> dict[str, int]:
        return {k: r.count for k, r in self._rings().items()}

    def _restore_telemetry(self, counts: dict[str, int]) -> None:
        for name, ring in self._rings().items():
            n = counts.get(name)
            if n is None:
                continue
            valid = max(self._tel_valid.get(name, 0), ring.count)  # the high-water of this timeline
            if n <= ring.count:
                ring.truncate(n)
            elif n <= valid <= ring.capacity:  # a forward seek over rows still in memory (same timeline)
                ring.count = n
            else:  # rows between were never kept: the charts restart at this moment
                ring.clear()
            # rows up to ``valid`` are still this timeline's (same seed, same actions): a forward seek may use them
            self._tel_valid[name] = valid

    def telemetry_rows(self) -> dict:
        """The telemetry of this timeline so far ({ring: (count, stored rows)}), to keep with keyframes."""
        return {k: (r.count, r.data.copy()) for k, r in self._rings().items()}

    def adopt_telemetry(self, rows: dict) -> None:
        """Take the telemetry of this same timeline (kept with its keyframes) as rows a seek may reuse."""
        rings = self._rings()
        for name, (count, data) in rows.items():
            ring = rings.get(name)
            if ring is None or ring.count != 0 or getattr(data, "shape", None) != ring.data.shape:
                continue
            ring.data[...] = data
            self._tel_valid[name] = int(count)

    # ------------------------------------------------------------------ keyframes
    def _maybe_keyframe(self) -> None:
        if not self.keyframes_enabled or self.t + _EPS < self._next_keyframe_t:
            return
        t = self.t
        if not any(abs(k.t - t) <= _EPS for k in self.keyframes):
            self.keyframes.append(self.snapshot())
            self.keyframes.sort(key=lambda k: k.t)
            self._thin()
        later = [k.t for k in self.keyframes if k.t > t + _EPS]
        self._next_keyframe_t = min(later) if later else t + self.keyframe_every_s

    def keyframe_bytes(self) -> int:
        return sum(k.nbytes for k in self.keyframes)

    def _thin(self) -> None:
        """Over the memory budget: drop the keyframe whose loss leaves the smallest gap (the oldest first
        among equals); the first keyframe and the latest few stay."""
        keep_recent = 4
        while self.keyframe_bytes() > self.keyframe_budget_bytes and len(self.keyframes) > keep_recent + 2:
            ts = [k.t for k in self.keyframes]
            cands = range(1, len(ts) - keep_recent)
            i = min(cands, key=lambda j: (ts[j + 1] - ts[j - 1], ts[j]))
            del self.keyframes[i]

    def keyframe_before(self, t: float) -> RunState | None:
        best = None
        for k in self.keyframes:
            if k.t <= t + _EPS:
                best = k
        return best

    # ------------------------------------------------------------------ seeking
    def seek(self, t: float, progress: Callable[[float], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> int:
        """Go to simulated time ``t`` (either direction). Loads the nearest keyframe at or before ``t`` when
        it is closer than simulating on from now, then steps the rest. Returns the steps simulated.
        ``progress(fraction)`` is called every few steps; ``cancelled()`` returning True stops (SeekCancelled)."""
        self._check_branch()
        t = float(t)
        now = self.t
        k = self.keyframe_before(t)
        if t < now - _EPS or (k is not None and k.t > now + _EPS):
            if k is None:
                raise ValueError(f"cannot seek to t={t:g} s: no keyframe at or before it")
            self.restore(k)
        n = int(round((t - self.t) / self.dt))
        for i in range(n):
            if self.ended:
                break
            if cancelled is not None and i % 16 == 0 and cancelled():
                raise SeekCancelled(f"seek to t={t:g} s cancelled at t={self.t:g} s")
            self.step()
            if progress is not None and i % 16 == 0:
                progress((i + 1) / n)
        if progress is not None:
            progress(1.0)
        return n

    def seek_cost_steps(self, t: float) -> int:
        """Steps a seek to ``t`` would simulate (to decide whether it needs a worker thread)."""
        now = self.t
        k = self.keyframe_before(t)
        if t < now - _EPS or (k is not None and k.t > now + _EPS):
            return int(round((t - k.t) / self.dt)) if k is not None else 0
        return int(round((t - now) / self.dt))

    # ------------------------------------------------------------------ notification
    def _notify(self, what: str, payload) -> None:
        for fn in list(self.listeners):
            fn(what, payload)


__all__ = ["Run", "RunState", "SeekCancelled", "new_run_id"]
