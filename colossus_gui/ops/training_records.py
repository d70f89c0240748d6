"""The plain records of a training session (faults on its timeline, actions, markers), its error type and
small helpers shared by the session and its action handlers."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from pydantic import ValidationError

from ..model.training import RAMPABLE, TrainingFault
from .work_orders import FAULT_RECIPES


class TrainingError(ValueError):
    """An action that cannot be carried out; the message says why (shown to the user, logged)."""


# --------------------------------------------------------------------------- plain records
@dataclass
class FaultState:
    """One fault occurrence on the timeline: pending -> (ramping) -> active -> cleared, or skipped."""

    id: str
    kind: str
    target: str
    origin: str  # scenario | instructor
    trigger: str
    params: dict = field(default_factory=dict)
    label: str = ""
    state: str = "pending"
    due_t: float | None = None
    fired_t: float | None = None
    cleared_t: float | None = None
    address: str | None = None
    note: str = ""
    spec_index: int | None = None
    hold_since: float | None = None
    cond: object = None

    @property
    def repairable(self) -> bool:
        return self.kind in FAULT_RECIPES or (self.kind in RAMPABLE and bool(self.params.get("ramp_s")))

    def to_row(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("cond", "hold_since", "spec_index")}
        return d


@dataclass
class ActionRecord:
    seq: int
    t_s: float
    who: str
    action: str
    args: dict
    ok: bool = True
    error: str | None = None
    result: dict = field(default_factory=dict)
    unnecessary: str | None = None
    wall: str = ""

    def to_row(self) -> dict:
        return {"type": "action", **asdict(self)}

    @classmethod
    def from_row(cls, row: dict) -> ActionRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in row.items() if k in known})


@dataclass
class Marker:
    name: str
    t_s: float
    seq: int  # actions at t_s with a smaller seq are kept on restore (0 for automatic backtrack points)
    auto: bool = False





# --------------------------------------------------------------------------- small helpers
def _who_of(who: str) -> str:
    return "instructor" if who == "instructor" else "trainee"


def _who_text(who: str) -> str:
    return "instructor" if who == "instructor" else "trainee"


def _plain(args: dict) -> dict:
    out = {}
    for k, v in args.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, (list, tuple)):
            v = [x.item() if isinstance(x, np.generic) else x for x in v]
        out[k] = v
    return out


def _message(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return e.errors()[0]["msg"]
    return str(e.args[0]) if e.args else str(e)


def _clock(t: float) -> str:
    t = max(0, int(round(t)))
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def _describe_trigger(f: TrainingFault) -> str:
    if f.at is not None:
        return f"at {_clock(f.at)}"
    if f.after is not None:
        what = f"fault {f.after.fault}" if f.after.fault else f"{f.after.event}" + (
            f" on {f.after.address}" if f.after.address else "")
        return f"{f.after.delay_s:g} s after {what}"
    if f.when is not None:
        return f"when {f.when}" + (f" for {f.hold_s:g} s" if f.hold_s else "")
    return "random"


def _wall() -> str:
    # when a person did something (for the record); the simulation never reads it
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
