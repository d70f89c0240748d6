"""Training scenarios: a superset of the timed-fault scenario file.

A training scenario adds a briefing, initial conditions, faults with triggers (at a time, a delay after an
event or another fault, when a condition holds, at random by rate within a window), ramps (a pump or chiller
wearing out over ``ramp_s``, a heat wave building), objectives, a time limit, scoring rules, hints and a
reference solution (the actions an expert takes, and by when).

Every simple scenario file (``at``/``kind``/``target`` faults only) is also a valid training scenario, so
``colossus-gui train`` plays the simple files with default scoring.

Structural checks live here (pydantic); checks that need the facility or the condition language (addresses,
metrics, event kinds, references between faults, cycles) are in ``ops/training_check.py``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .facility import AmbientSpec, JobSpec, Spec
from .faults import RAMPABLE as _RAMPABLE
from .ops_config import PART_NAMES, TechnicianSpec
from .scenario import FaultSpec, Scenario

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*$"

# Engine event kinds a trigger may wait for (see sim/engine.py), and the operations events.
ENGINE_EVENT_KINDS: tuple[str, ...] = (
    "fault_started", "fault_cleared", "job_interrupted", "job_restarted", "throttle_began", "throttle_ended",
    "gpu_shutdown", "gpu_reset", "tray_drained", "tray_returned", "tray_slid_out", "tray_slid_in",
    "rack_isolated", "rack_restored", "power_cap", "turbine_starting", "turbine_online", "turbine_stopped",
    "load_shed_began", "load_shed_ended",
    "link_flapped", "collective_timeout", "rebuild_started", "rebuild_finished",  # network and storage
)
OPS_EVENT_KINDS: tuple[str, ...] = ("alarm_raised", "alarm_acknowledged", "alarm_cleared", "alarm_shelved", "wo_created",
                                    "wo_assigned", "tech_arrived", "wo_closed")
EVENT_KINDS: tuple[str, ...] = ENGINE_EVENT_KINDS + OPS_EVENT_KINDS

# Faults that can degrade gradually before they fail (engine.degrade): from the fault registry.
RAMPABLE = _RAMPABLE

# What a trainee can do (the ordinary views, alarms and work orders) and what an instructor can do.
TRAINEE_ACTIONS: dict[str, str] = {
    "acknowledge": "acknowledge alarms (alarms: all | [ids]; or component / rule)",
    "shelve": "shelve an alarm (alarm, seconds)",
    "create_work_order": "open a work order by hand (target, note, priority)",
    "assign": "dispatch a technician (work_order or target; technician: a name or 'nearest')",
    "unassign": "take the technician off a work order (work_order or target)",
    "advance_work_order": "move a work order on now (work_order or target)",
    "cancel_work_order": "cancel a work order (work_order or target, text: reason)",
    "power_cap": "cap GPU power in a hall or everywhere (hall, watts; no watts removes the cap)",
    "shed_load": "shed load in a hall or everywhere (hall, fraction 0-1 of the TDP-to-minimum range)",
    "set_setpoint": "change the facility water supply setpoint (supply_c)",
    "isolate_rack": "power a rack down and close its valves remotely (target)",
    "restore_rack": "bring an isolated rack back (target)",
    "checkpoint_now": "make a job checkpoint now (job; none: every job)",
    "set_checkpoint_interval": "change a job's checkpoint interval (job, interval_s)",
    "set_dispatch_mode": "auto or manual dispatch (training sessions stay manual)",
    "note": "write a note into the session log (text)",
}
INSTRUCTOR_ACTIONS: dict[str, str] = {
    "hint": "send the trainee a hint (hint: an id from the scenario, or text and cost)",
    "note": "write a note into the session log (text)",
    "inject": "inject a fault now (kind, target, depth, duration, delta_c, ramp_s)",
    "fire": "fire a pending scenario fault now (fault)",
    "freeze": "freeze the simulation",
    "run": "run the simulation",
    "speed": "set the simulation speed (speed)",
    "snapshot": "take a manual snapshot (name)",
    "restore": "go back to a snapshot or backtrack point (name, or to_t)",
    "end": "end the session (text: reason)",
}
ACTION_KINDS: tuple[str, ...] = tuple(dict.fromkeys([*TRAINEE_ACTIONS, *INSTRUCTOR_ACTIONS]))
# Actions that change the plant: outside the reference solution and allowed_actions they count as unnecessary.
CONTROL_ACTIONS = ("power_cap", "shed_load", "set_setpoint", "isolate_rack", "restore_rack", "checkpoint_now",
                   "set_checkpoint_interval")

ActionKind = Literal[
    "acknowledge", "shelve", "create_work_order", "assign", "unassign", "advance_work_order", "cancel_work_order",
    "power_cap", "shed_load", "set_setpoint", "isolate_rack", "restore_rack", "checkpoint_now",
    "set_checkpoint_interval", "set_dispatch_mode", "note", "hint", "inject", "fire", "freeze", "run", "speed",
    "snapshot", "restore", "end",
]


# --------------------------------------------------------------------------- triggers and faults
class AfterTrigger(Spec):
    """Fire ``delay_s`` after another fault of this scenario fired, or after an event (engine or operations)
    on an address (the address or anything below it: ``H2-R014`` matches ``H2-R014-CDU-P1``)."""

    fault: str | None = Field(None, description="id of another fault of this scenario")
    event: str | None = Field(None, description="an event kind: " + ", ".join(EVENT_KINDS))
    address: str | None = Field(None, description="with event: only events on this address (or below it)")
    delay_s: float = Field(0.0, ge=0, description="seconds after the fault or event")

    @model_validator(mode="after")
    def _one(self) -> AfterTrigger:
        if (self.fault is None) == (self.event is None):
            raise ValueError("give either fault (another fault's id) or event (an event kind)")
        if self.address is not None and self.event is None:
            raise ValueError("address goes with event, not with fault")
        return self


class RandomTrigger(Spec):
    """Poisson arrivals at ``rate_per_h`` between ``start_s`` and ``end_s`` (default: the time limit); each
    occurrence picks a component of the fault's kind inside the target(s). Drawn from the scenario seed."""

    rate_per_h: float = Field(gt=0, le=3600)
    start_s: float = Field(0.0, ge=0)
    end_s: float | None = Field(None, gt=0)
    max_count: int | None = Field(None, ge=1, le=10000)

    @model_validator(mode="after")
    def _window(self) -> RandomTrigger:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self


class TrainingFault(FaultSpec):
    """A fault with a trigger: exactly one of ``at``, ``after``, ``when``, ``random``."""

    id: str | None = Field(None, pattern=ID_PATTERN, description="name for after-triggers and the timeline")
    at: float | None = Field(None, ge=0, description="simulated seconds from the start")  # type: ignore[assignment]
    after: AfterTrigger | None = None
    when: str | None = Field(None, description="a condition, e.g. 'megapack_soc < 0.3'")
    hold_s: float = Field(0.0, ge=0, description="with when: the condition must hold this long")
    random: RandomTrigger | None = None
    target: str | list[str] = Field(description="an address; random faults: one or more addresses to pick "  # type: ignore[assignment]
                                                "a component inside")
    level: float | None = Field(None, ge=0, lt=1, description="ramped pump/chiller: capacity at the end of the "
                                                              "ramp (default 0: then it fails)")
    label: str = Field("", description="what the instructor sees on the timeline")

    @model_validator(mode="after")
    def _trigger(self) -> TrainingFault:
        given = [n for n in ("at", "after", "when", "random") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("needs exactly one trigger: at, after, when or random"
                             + (f" (got {', '.join(given)})" if given else ""))
        if isinstance(self.target, list):
            if self.random is None:
                raise ValueError("a list of targets is only for random faults")
            if not self.target:
                raise ValueError("target: the list is empty")
        if self.level is not None and (self.kind not in RAMPABLE or not self.ramp_s):
            raise ValueError("level goes with a ramped pump_failure or chiller_trip (ramp_s)")
        if self.ramp_s and self.kind not in (*RAMPABLE, "heat_wave"):
            raise ValueError(f"ramp_s is for heat_wave, pump_failure and chiller_trip, not {self.kind}")
        return self

    @property
    def targets(self) -> list[str]:
        return list(self.target) if isinstance(self.target, list) else [self.target]


# --------------------------------------------------------------------------- initial conditions
class AmbientOverride(Spec):
    mean_c: float | None = None
    amplitude_c: float | None = Field(None, ge=0)
    peak_hour: float | None = Field(None, ge=0, lt=24)


class InitialFault(Spec):
    kind: Literal["gpu_failure", "hbm_failure", "nic_failure", "psu_failure", "fan_failure", "pump_failure",
                  "coolant_leak", "chiller_trip", "turbine_trip"]
    target: str = Field(min_length=1)


class Degraded(Spec):
    target: str = Field(min_length=1, description="a pump (H1-R001-CDU-P1) or a chiller (CH2)")
    level: float = Field(ge=0, lt=1, description="capacity, fraction of healthy")


class InitialConditions(Spec):
    """The plant as the trainee finds it."""

    start_hour: float | None = Field(None, ge=0, lt=24, description="time of day at t = 0")
    ambient: AmbientOverride | None = None
    supply_setpoint_c: float | None = Field(None, ge=10, le=50)
    megapack_soc: float | None = Field(None, ge=0, le=1)
    megapacks_in_service: int | None = Field(None, ge=0, le=1000)
    turbines_in_service: int | None = Field(None, ge=0, le=100, description="gas turbines available (GT1..GTn)")
    jobs: list[JobSpec] | None = Field(None, description="replaces the facility's jobs")
    failed: list[InitialFault] = Field(default_factory=list, description="already failed at t = 0")
    degraded: list[Degraded] = Field(default_factory=list)
    technicians: list[TechnicianSpec] | None = Field(None, description="the staff (replaces the roster)")
    stock: dict[str, int] = Field(default_factory=dict, description="spare parts on hand: " + ", ".join(PART_NAMES))
    random_failures: bool = Field(False, description="keep the facility's random failures and grid sags")

    @model_validator(mode="after")
    def _stock(self) -> InitialConditions:
        bad = [p for p in self.stock if p not in PART_NAMES]
        if bad:
            raise ValueError(f"stock: unknown part(s) {', '.join(bad)} (parts: {', '.join(PART_NAMES)})")
        if any(v < 0 for v in self.stock.values()):
            raise ValueError("stock: counts cannot be negative")
        return self


# --------------------------------------------------------------------------- scoring
class TermRule(Spec):
    """A weighted criterion: no points lost at or below ``target``, all of its points at ``worst``, linear
    between. Weights are relative: they are scaled so all weights together are worth 100 points."""

    weight: float = Field(ge=0)
    target: float
    worst: float

    @model_validator(mode="after")
    def _order(self) -> TermRule:
        if not self.worst > self.target:
            raise ValueError("worst must be above target")
        return self


def _term(weight: float, target: float, worst: float):
    return Field(default_factory=lambda: TermRule(weight=weight, target=target, worst=worst))


class AbortRule(Spec):
    """End the session early: when a condition holds (for ``hold_s``) or the live score falls below a mark."""

    when: str | None = None
    hold_s: float = Field(0.0, ge=0)
    score_below: float | None = Field(None, ge=0, le=100)
    penalty: float = Field(30.0, ge=0, le=100, description="points lost for an aborted session")

    @model_validator(mode="after")
    def _some(self) -> AbortRule:
        if self.when is None and self.score_below is None:
            raise ValueError("abort needs when (a condition) or score_below")
        return self


class ScoringRules(Spec):
    time_to_acknowledge: TermRule = _term(15, 60, 600)      # s, mean over alarm raises
    time_to_dispatch: TermRule = _term(15, 120, 900)        # s, mean over work orders
    time_to_resolve: TermRule = _term(10, 1800, 5400)       # s, mean over fired repairable faults
    gpu_seconds_above_limit: TermRule = _term(15, 0, 20000)  # GPU-s above gpu_limit_c
    gpu_hours_lost: TermRule = _term(10, 10, 200)           # GPU-h out of the job pool
    goodput_lost_pct: TermRule = _term(15, 6, 15)           # 100 x (1 - goodput)
    capped_gpu_hours: TermRule = _term(0, 0, 2000)          # GPU-h of throughput given up to power caps
    unnecessary_actions: TermRule = _term(10, 0, 5)         # count
    reference_actions: TermRule = _term(0, 0, 1)            # fraction of reference actions missed or late
    gpu_limit_c: float = Field(87.0, description="GPU junction limit for gpu_seconds_above_limit (H100: 87 C)")
    job_weights: dict[str, float] = Field(default_factory=dict, description="value of each job's throughput "
                                                                            "(capped_gpu_hours), default 1")
    abort: AbortRule | None = None

    TERMS: ClassVar[tuple[str, ...]] = ("time_to_acknowledge", "time_to_dispatch", "time_to_resolve", "gpu_seconds_above_limit",
             "gpu_hours_lost", "goodput_lost_pct", "capped_gpu_hours", "unnecessary_actions", "reference_actions")


class Objective(Spec):
    """A condition the trainee must achieve: ``always`` (never violated), ``at_end``, or ``by`` a time."""

    id: str = Field(pattern=ID_PATTERN)
    text: str
    condition: str
    check: Literal["always", "at_end", "by"] = "at_end"
    by_s: float | None = Field(None, gt=0)
    weight: float = Field(10.0, ge=0)

    @model_validator(mode="after")
    def _by(self) -> Objective:
        if (self.check == "by") != (self.by_s is not None):
            raise ValueError("by_s goes with check: by (and check: by needs by_s)")
        return self


class Hint(Spec):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1)
    cost: float = Field(5.0, ge=0, le=100, description="points")


# --------------------------------------------------------------------------- actions (reference and scripts)
class ScriptedAction(Spec):
    """One action in a reference solution or an actions file: when (``at`` or ``when``), what, and for the
    reference solution by when it counts as on time (``by_s``). Arguments depend on the action."""

    at: float | None = Field(None, ge=0, description="simulated seconds (with when: not before then)")
    when: str | None = Field(None, description="do it the first time this condition holds")
    repeat_s: float | None = Field(None, gt=0, description="do it again every repeat_s (e.g. acknowledge)")
    until_s: float | None = Field(None, gt=0)
    by_s: float | None = Field(None, ge=0, description="reference solution: on time if done by then")
    action: ActionKind
    who: Literal["trainee", "instructor"] | None = None
    why: str = Field("", description="why an expert does this (shown in the debrief)")
    # arguments
    alarms: Literal["all"] | list[int] | None = None
    alarm: int | None = None
    component: str | None = None
    rule: str | None = None
    target: str | None = None
    work_order: int | None = None
    technician: str | None = None
    priority: int | None = Field(None, ge=1, le=4)
    hall: str | None = None
    watts: float | None = Field(None, gt=0)
    fraction: float | None = Field(None, ge=0, le=1)
    supply_c: float | None = Field(None, ge=10, le=50)
    job: str | None = None
    interval_s: float | None = Field(None, gt=0)
    seconds: float | None = Field(None, gt=0)
    mode: Literal["auto", "manual"] | None = None
    text: str | None = None
    hint: str | None = None
    cost: float | None = Field(None, ge=0, le=100)
    fault: str | None = None
    kind: str | None = None
    depth: float | None = Field(None, gt=0, le=1)
    duration: float | None = Field(None, gt=0)
    delta_c: float | None = None
    ramp_s: float | None = Field(None, ge=0)
    speed: float | None = Field(None, gt=0)
    name: str | None = None
    to_t: float | None = Field(None, ge=0)

    ARG_FIELDS: ClassVar[tuple[str, ...]] = ("alarms", "alarm", "component", "rule", "target", "work_order", "technician", "priority", "hall",
                  "watts", "fraction", "supply_c", "job", "interval_s", "seconds", "mode", "text", "hint", "cost",
                  "fault", "kind", "depth", "duration", "delta_c", "ramp_s", "speed", "name", "to_t")

    @model_validator(mode="after")
    def _args(self) -> ScriptedAction:
        if self.at is None and self.when is None:
            raise ValueError("give at (seconds), when (a condition), or both (the condition, from that time on)")
        a = self.action
        need: dict[str, tuple[str, ...]] = {
            "create_work_order": ("target",), "shelve": ("alarm", "seconds"), "set_setpoint": ("supply_c",),
            "isolate_rack": ("target",), "restore_rack": ("target",), "set_checkpoint_interval": ("job", "interval_s"),
            "set_dispatch_mode": ("mode",), "note": ("text",), "inject": ("kind", "target"), "fire": ("fault",),
            "speed": ("speed",), "shed_load": ("fraction",),
        }
        missing = [f for f in need.get(a, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"{a} needs {', '.join(missing)}")
        if a in ("assign", "unassign", "advance_work_order", "cancel_work_order") and \
                self.work_order is None and self.target is None:
            raise ValueError(f"{a} needs work_order (an id) or target (an address)")
        if a == "assign" and self.technician is None:
            raise ValueError("assign needs technician (a name, or 'nearest')")
        if a == "hint" and self.hint is None and self.text is None:
            raise ValueError("hint needs hint (an id from the scenario) or text")
        if a == "restore" and self.name is None and self.to_t is None:
            raise ValueError("restore needs name (a snapshot) or to_t (seconds)")
        if self.repeat_s is not None and (self.at is None or self.when is not None):
            raise ValueError("repeat_s goes with at (and without when)")
        if self.repeat_s is not None and a == "restore":
            raise ValueError(f"{a} cannot repeat (repeat_s {self.repeat_s:g}): going back in time every "
                             f"{self.repeat_s:g} s would never end")
        return self

    def args(self) -> dict:
        """The action's arguments as plain data (the session log's ``args``)."""
        return {f: getattr(self, f) for f in self.ARG_FIELDS if getattr(self, f) is not None}

    @property
    def actor(self) -> str:
        return self.who or ("instructor" if self.action in INSTRUCTOR_ACTIONS and self.action not in
                            ("note", "hint") else "trainee")


class ActionScript(Spec):
    """An actions file for ``colossus-gui train --actions``."""

    title: str = ""
    actions: list[ScriptedAction] = Field(default_factory=list)


# --------------------------------------------------------------------------- the scenario
class TrainingScenario(Scenario):
    """A training scenario (a superset of the timed-fault scenario)."""

    briefing: str = Field("", description="what the trainee is told before the session starts")
    time_limit_s: float = Field(3600.0, gt=0, le=7 * 86400)
    backtrack_every_s: float = Field(300.0, gt=0, description="automatic backtrack points every this often")
    initial: InitialConditions = Field(default_factory=InitialConditions)
    faults: list[TrainingFault] = Field(default_factory=list)  # type: ignore[assignment]
    objectives: list[Objective] = Field(default_factory=list)
    scoring: ScoringRules = Field(default_factory=ScoringRules)
    hints: list[Hint] = Field(default_factory=list)
    reference: list[ScriptedAction] = Field(default_factory=list, description="the reference solution")
    allowed_actions: list[Literal["power_cap", "shed_load", "set_setpoint", "isolate_rack", "restore_rack",
                                  "checkpoint_now", "set_checkpoint_interval"]] = Field(
        default_factory=list, description="control actions that are not unnecessary even if the reference "
                                          "solution does not use them")

    def fault_ids(self) -> list[str]:
        """Every fault's id (``f1``, ``f2``, ... for faults without one)."""
        return [f.id or f"f{i + 1}" for i, f in enumerate(self.faults)]


def scenario_json_schema() -> dict:
    """The JSON Schema of scenario files, generated from the models (shipped as
    ``resources/scenarios/scenario.schema.json``; regenerate with ``python -m colossus_gui.model.training``)."""
    return TrainingScenario.model_json_schema()


if __name__ == "__main__":
    import json
    import sys

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2, sort_keys=True) + "\n")


__all__ = ["ACTION_KINDS", "CONTROL_ACTIONS", "ENGINE_EVENT_KINDS", "EVENT_KINDS", "INSTRUCTOR_ACTIONS",
           "OPS_EVENT_KINDS", "RAMPABLE", "TRAINEE_ACTIONS", "AbortRule", "ActionScript", "AfterTrigger",
           "AmbientSpec", "Degraded", "Hint", "InitialConditions", "InitialFault", "Objective", "RandomTrigger",
           "ScoringRules", "ScriptedAction", "TermRule", "TrainingFault", "TrainingScenario"]
