"""Engine events as typed records, and the one log they go into.

An event carries what a reader needs as fields (the component's kind and indices, the fault kind, the cause,
the job) instead of meaning packed into strings; ``detail`` stays the human sentence for tables and CSV.

The operations layer (alarms, work orders with their priority changes and notes, technicians, spares) writes
its events into the same log, with the time they happened: a technician's step may end between two engine
steps, so such an event can carry an earlier ``t_s`` than an engine event logged before it in the same step.
Readers that care only about the equipment filter by kind (or ``is_ops_event``). Alarms log changes only
(raised, lowered, acknowledged, cleared, shelved, unshelved; on-delay and hysteresis keep a value near a limit
from flapping), never a standing alarm once per evaluation.

``EventKind`` is a ``StrEnum``: a kind compares equal to its string (``ev.kind == "fault_started"``), so code
that still calls ``engine._event("some_new_kind", address, detail)`` keeps working; such a kind stays a
plain string until it is added here.

The log keeps every event of the current timeline. Each event has a running sequence number (its position
in the log); a restore that drops later events increments the log's ``epoch``. Readers hold a ``Cursor``
and ask ``since(cursor)``: they get the new events and learn whether the timeline was rewound under them,
instead of each guessing from the engine's clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from enum import StrEnum


class EventKind(StrEnum):
    FAULT_STARTED = "fault_started"
    FAULT_CLEARED = "fault_cleared"
    JOB_INTERRUPTED = "job_interrupted"
    JOB_RESTARTED = "job_restarted"
    THROTTLE_BEGAN = "throttle_began"
    THROTTLE_ENDED = "throttle_ended"
    GPU_SHUTDOWN = "gpu_shutdown"
    GPU_RESET = "gpu_reset"
    TRAY_DRAINED = "tray_drained"
    TRAY_RETURNED = "tray_returned"
    TRAY_SLID_OUT = "tray_slid_out"
    TRAY_SLID_IN = "tray_slid_in"
    RACK_ISOLATED = "rack_isolated"
    RACK_RESTORED = "rack_restored"
    POWER_CAP = "power_cap"
    TURBINE_STARTING = "turbine_starting"
    TURBINE_ONLINE = "turbine_online"
    TURBINE_STOPPED = "turbine_stopped"
    LOAD_SHED_BEGAN = "load_shed_began"
    LOAD_SHED_ENDED = "load_shed_ended"
    # the operations layer's (work orders, technicians, spares): ``component`` is one of OPS_COMPONENTS
    WO_CREATED = "wo_created"
    WO_MERGED = "wo_merged"
    WO_ASSIGNED = "wo_assigned"
    WO_UNASSIGNED = "wo_unassigned"
    TECH_ARRIVED = "tech_arrived"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    WO_CLOSED = "wo_closed"
    WO_CANCELLED = "wo_cancelled"
    WO_REOPENED = "wo_reopened"
    ACTION_FAILED = "action_failed"
    STOCK_OUT = "stock_out"
    PART_ORDERED = "part_ordered"
    PART_DELIVERED = "part_delivered"
    DISPATCH_MODE = "dispatch_mode"
    STORE_ERROR = "store_error"
    WO_PRIORITY = "wo_priority"
    WO_NOTE = "wo_note"
    WO_NOTE_REMOVED = "wo_note_removed"
    # the alarms' (ops/alarms.py): ``component`` is ALARM, ``index`` the alarm id, ``address`` the alarmed
    # component, ``cause`` the rule, ``severity`` 1 warning / 2 critical, ``who`` who acknowledged or shelved.
    # A raise that needs a (new) acknowledgement is ALARM_RAISED: a first raise, a return before archiving,
    # a rise from warning to critical.
    ALARM_RAISED = "alarm_raised"
    ALARM_LOWERED = "alarm_lowered"
    ALARM_ACKED = "alarm_acknowledged"
    ALARM_CLEARED = "alarm_cleared"
    ALARM_SHELVED = "alarm_shelved"
    ALARM_UNSHELVED = "alarm_unshelved"


# What tables show for a kind whose name alone does not read well (others: the name with spaces).
_KIND_TEXT = {EventKind.WO_PRIORITY: "wo priority changed", EventKind.WO_NOTE: "wo note added",
              EventKind.WO_NOTE_REMOVED: "wo note removed"}


def kind_text(kind: str) -> str:
    """A kind as people read it in a table ('wo note added', 'alarm raised', 'fault started')."""
    return _KIND_TEXT.get(kind) or str(kind).replace("_", " ")


# ``Event.component`` of the operations layer's events: a work order (``index`` its id, ``address`` its target,
# ``rack`` the target's rack), a spare part (``address`` the part), the operations as a whole, the workspace
# database (``address`` its path). None of them is a place in the facility.
# An alarm (``index`` its id, ``address`` the alarmed component, ``rack`` its rack, ``sub`` the component's
# index among its rule's: rack, tray, hall, chiller, turbine, switch or job).
WORK_ORDER, PART, OPS, STORE, ALARM = "work_order", "part", "ops", "store", "alarm"
OPS_COMPONENTS = frozenset((WORK_ORDER, PART, OPS, STORE, ALARM))


def is_ops_event(ev) -> bool:
    """An event of the operations layer (people and parts), not of the simulated equipment."""
    return ev.component in OPS_COMPONENTS


_KINDS = {k.value: k for k in EventKind}


def event_kind(kind: str) -> str:
    """The enum member for a known kind; an unknown string is kept as it is (a kind added elsewhere)."""
    return _KINDS.get(kind, kind)


@dataclass(frozen=True)
class Event:
    """One thing that happened at ``t_s``. ``component`` is the address kind (``pump``, ``gpu``, ``grid``...),
    ``index``/``sub`` its indices as the engine's arrays use them (``index`` the flat GPU, tray, rack, chiller
    or turbine index; ``sub`` the pump, fan, PSU or NIC within it), ``rack`` its rack (-1 off the racks),
    ``fault`` the fault kind for fault events, ``cause`` why (random, scenario, injected, instructor...),
    ``job`` the job index for job events (-1 none). Operations events: ``component`` in ``OPS_COMPONENTS``; a
    work order's carry its id in ``index``, an alarm's its id, with ``severity`` (1 warning, 2 critical; -1
    none) and ``who`` (the person who acted: acknowledged, shelved, changed a priority; None for the
    system)."""

    t_s: float
    kind: str
    address: str
    detail: str = ""
    seq: int = -1
    component: str | None = None
    index: int = -1
    sub: int = -1
    rack: int = -1
    fault: str | None = None
    cause: str | None = None
    job: int = -1
    severity: int = -1
    who: str | None = None


@dataclass(frozen=True)
class Cursor:
    epoch: int = 0
    seq: int = 0


@dataclass(frozen=True)
class Batch:
    """What ``EventLog.since`` hands a reader: the new events, the cursor to keep, and whether the log was
    rewound since the reader's cursor (then ``events`` are all the events of the current timeline after
    the rewind point, and the reader should recount whatever it derives from events)."""

    events: list
    cursor: Cursor
    rewound: bool


class EventLog(list):
    """The engine's events of the current timeline, in order. A list (old readers index and slice it), with
    sequence numbers, an epoch and cursors."""

    def __init__(self, *args):
        super().__init__(*args)
        self.epoch = 0
        self._rewind_seq: dict[int, int] = {}  # epoch -> the length the log was cut to when it began
        # events cut by a restore to an earlier moment, kept while the timeline may come back to them (a seek
        # back and forward again without any change in between); ``drop_future`` forgets them
        self._future: deque[Event] = deque()

    def append(self, ev: Event) -> None:  # type: ignore[override]
        if ev.seq != len(self):
            ev = _with_seq(ev, len(self))
        if self._future:
            self._future.popleft()  # the same event again, on the same timeline
        super().append(ev)

    def extend(self, evs) -> None:  # type: ignore[override]
        for ev in evs:
            self.append(ev)

    @property
    def next_seq(self) -> int:
        return len(self)

    def cursor(self) -> Cursor:
        """A cursor at the end of the log (a new reader that wants only what comes next)."""
        return Cursor(self.epoch, len(self))

    def adopt(self, cursor: Cursor) -> Cursor:
        """A cursor restored together with the state it was read into (a Run restore): it is right about
        the events before it, so it moves into the current epoch instead of being told of a rewind."""
        return Cursor(self.epoch, min(cursor.seq, len(self)))

    def truncate(self, n: int) -> None:
        """Make the log ``n`` events long (a restore to another moment): later events are cut (and kept
        aside for a forward seek on the same timeline); a longer ``n`` takes them back. Starts a new epoch."""
        n = max(0, int(n))
        cut = min(n, len(self))
        if n < len(self):
            self._future.extendleft(reversed(super().__getitem__(slice(n, None))))
            del self[n:]
        while len(self) < n and self._future:
            super().append(self._future.popleft())
        self.epoch += 1
        self._rewind_seq[self.epoch] = cut

    def drop_future(self) -> None:
        """The timeline branched: events cut by earlier restores will not happen any more."""
        self._future.clear()

    def clear(self) -> None:  # type: ignore[override]
        self.truncate(0)
        self._future.clear()

    def since(self, cursor: Cursor | None) -> Batch:
        if cursor is None:
            return Batch(list(self), self.cursor(), False)
        if cursor.epoch == self.epoch and cursor.seq <= len(self):
            return Batch(self[cursor.seq:], self.cursor(), False)
        # rewound: the earliest cut since the reader's epoch is where its knowledge stops being true
        cut = min([v for e, v in self._rewind_seq.items() if e > cursor.epoch] or [0])
        start = min(cursor.seq, cut, len(self))
        return Batch(self[start:], self.cursor(), True)


_TYPED = ("component", "index", "sub", "rack", "fault", "cause", "job", "severity", "who")


def event_fields(ev: Event) -> dict:
    """The typed fields that differ from their defaults (for storing an event as JSON)."""
    out = {}
    for k in _TYPED:
        v = getattr(ev, k)
        if v is not None and v != -1:
            out[k] = v
    return out


def event_from_row(row) -> Event:
    """An event from ``[t_s, kind, address, detail]`` or ``[..., {typed fields}]`` (as bundles store them)."""
    t, k, a, d = row[:4]
    extra = {k2: v for k2, v in (row[4] if len(row) > 4 and isinstance(row[4], dict) else {}).items() if k2 in _TYPED}
    return Event(float(t), event_kind(str(k)), str(a), str(d), **extra)


def _with_seq(ev: Event, seq: int) -> Event:
    return replace(ev, seq=seq)


__all__ = ["ALARM", "OPS", "OPS_COMPONENTS", "PART", "STORE", "WORK_ORDER", "Batch", "Cursor", "Event", "EventKind",
           "EventLog", "event_fields", "event_from_row", "event_kind", "is_ops_event", "kind_text"]
