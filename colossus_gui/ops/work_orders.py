"""Work orders: the record a technician follows on the floor, its states and its repair recipe.

States: open -> assigned -> in_progress -> testing -> closed, or cancelled from any state before closed
(assigned -> open when a technician is taken off). Any other move raises :class:`WorkOrderError`.

A recipe is a list of real steps (drain the tray, slide it out, swap the baseboard, ...). Each step has a
planned duration (the configured median) and an actual duration drawn when the work order is created, and
actions it applies to the simulation when it starts or ends (names, carried out by ``workflow.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..model.facility import TRAY_HARDWARE_LLAMA3

OPEN, ASSIGNED, IN_PROGRESS, TESTING, CLOSED, CANCELLED = (
    "open", "assigned", "in_progress", "testing", "closed", "cancelled")
STATES = (OPEN, ASSIGNED, IN_PROGRESS, TESTING, CLOSED, CANCELLED)
FINAL = (CLOSED, CANCELLED)
STATE_LABELS = {OPEN: "open", ASSIGNED: "assigned", IN_PROGRESS: "in progress", TESTING: "testing",
                CLOSED: "closed", CANCELLED: "cancelled"}

ALLOWED: dict[str, tuple[str, ...]] = {
    OPEN: (ASSIGNED, CANCELLED),
    ASSIGNED: (IN_PROGRESS, OPEN, CANCELLED),
    IN_PROGRESS: (TESTING, CANCELLED),
    TESTING: (CLOSED, IN_PROGRESS, CANCELLED),
    CLOSED: (),
    CANCELLED: (),
}


class WorkOrderError(ValueError):
    """An illegal request on a work order (a move its state does not allow, an unknown id, ...)."""


@dataclass(frozen=True)
class StepDef:
    """One step of a recipe. ``part``: the spare the step consumes. ``test``: the work order is in testing
    from this step on. ``start``/``end``: simulation actions (see ``workflow.ACTIONS``)."""

    name: str
    label: str
    part: str | None = None
    test: bool = False
    start: str | None = None
    end: str | None = None


# Recipes by name; ``recipe_for(kind)`` picks one from the failed component's address kind.
RECIPES: dict[str, tuple[StepDef, ...]] = {
    "gpu": (
        StepDef("drain", "Drain the tray's jobs", start="drain_tray"),
        StepDef("power_down", "Power the tray down"),
        StepDef("slide_out", "Slide the tray out", end="slide_out"),
        StepDef("swap_baseboard", "Swap the GPU baseboard", part="gpu_baseboard", end="repair_gpus"),
        StepDef("slide_in", "Slide the tray in", end="slide_in"),
        StepDef("burn_in", "Burn-in test", test=True),
        StepDef("return_to_pool", "Return the tray to the job pool", test=True, end="undrain_tray"),
    ),
    "tray": (
        StepDef("drain", "Drain the tray's jobs", start="drain_tray"),
        StepDef("power_down", "Power the tray down"),
        StepDef("slide_out", "Slide the tray out", end="slide_out"),
        StepDef("swap_baseboard", "Swap the GPU baseboard", part="gpu_baseboard", end="repair_target"),
        StepDef("slide_in", "Slide the tray in", end="slide_in"),
        StepDef("burn_in", "Burn-in test", test=True),
        StepDef("return_to_pool", "Return the tray to the job pool", test=True, end="undrain_tray"),
    ),
    "fan": (
        StepDef("fan_swap", "Hot-swap the fan at the rear door", part="fan", end="repair_target"),
        StepDef("check_airflow", "Check the door's airflow", test=True),
    ),
    "pump": (
        StepDef("confirm_redundant", "Confirm the redundant pump carries the flow", start="check_redundant"),
        StepDef("pump_swap", "Swap the pump", part="pump", end="repair_target"),
        StepDef("verify_flow", "Verify the coolant flow", test=True, end="check_flow"),
    ),
    "psu": (
        StepDef("psu_swap", "Hot-swap the power supply", part="psu", end="repair_target"),
        StepDef("verify_power", "Verify the tray's power", test=True),
    ),
    "nic": (
        StepDef("optic_swap", "Swap the NIC optic", part="optic", end="repair_target"),
        StepDef("link_test", "Link test", test=True),
    ),
    "leak": (
        StepDef("isolate_rack", "Isolate the rack", start="isolate_rack"),
        StepDef("dry", "Dry the rack"),
        StepDef("fix_leak", "Fix the leak"),
        StepDef("refill", "Refill the rack loop", end="repair_cooling"),
        StepDef("pressure_test", "Pressure test", test=True),
        StepDef("restore_rack", "Restore the rack", test=True, end="restore_rack"),
    ),
    "chiller": (
        StepDef("diagnose", "Diagnose the chiller"),
        StepDef("chiller_repair", "Repair the chiller", end="repair_target"),
        StepDef("restart_check", "Restart and check", test=True),
    ),
    "turbine": (
        StepDef("diagnose", "Inspect the turbine"),
        StepDef("turbine_reset", "Reset the turbine", test=True, end="repair_target"),
    ),
    # network and storage (sim/fabric.py, sim/storage.py)
    "link": (
        StepDef("drain", "Drain the server on this link (GPU links, front-end NICs)", start="drain_tray"),
        StepDef("optic_swap", "Swap the optic / cable", part="optic", end="repair_target"),
        StepDef("link_test", "Link test", test=True),
        StepDef("return_to_pool", "Return the server to the job pool", test=True, end="undrain_tray"),
    ),
    "switch": (
        StepDef("diagnose", "Diagnose the switch"),
        StepDef("switch_swap", "Swap the switch and re-cable", part="switch", end="repair_target"),
        StepDef("link_test", "Link test on every port", test=True),
    ),
    "drive": (
        StepDef("drive_swap", "Hot-swap the drive", part="drive", end="repair_target"),
        StepDef("verify_rebuild", "Check the rebuild runs", test=True),
    ),
    "storage_node": (
        StepDef("diagnose", "Diagnose the storage node"),
        StepDef("node_repair", "Repair or replace the node", end="repair_target"),
        StepDef("verify_node", "Verify the node serves its data", test=True),
    ),
    "inspect": (
        StepDef("inspect", "Inspect"),
        StepDef("report", "Report findings", test=True),
    ),
}

# fault kind (engine FAULT_KINDS) -> recipe
FAULT_RECIPES = {
    "gpu_failure": "gpu", "hbm_failure": "gpu", "nic_failure": "nic", "psu_failure": "psu", "fan_failure": "fan",
    "pump_failure": "pump", "coolant_leak": "leak", "chiller_trip": "chiller", "turbine_trip": "turbine",
    "switch_failure": "switch", "link_failure": "link", "link_flap": "link", "storage_node_failure": "storage_node",
    "drive_failure": "drive", "frontend_nic_failure": "link", "frontend_leaf_failure": "switch",
    # tray hardware (GSP, thermal interface, SSD, CPU, memory, chassis, IO board): the tray is swapped
    **{f"{c}_failure": "tray" for c in TRAY_HARDWARE_LLAMA3},
}
# address kind -> recipe for work orders made by hand
KIND_RECIPES = {
    "gpu": "gpu", "tray": "tray", "cpu": "tray", "psu": "psu", "nic": "nic", "fan": "fan", "rdhx": "fan",
    "pump": "pump", "cdu": "leak", "chiller": "chiller", "turbine": "turbine",
    "leaf": "switch", "spine": "switch", "superspine": "switch", "port": "link", "storage_node": "storage_node",
    "drive": "drive", "fe_nic": "link", "fe_leaf": "switch",
}


def recipe_for(kind: str) -> str:
    return KIND_RECIPES.get(kind, "inspect")


@dataclass
class Step:
    name: str
    label: str
    planned_s: float
    drawn_s: float  # what this step will take (drawn when the work order was made)
    actual_s: float | None = None
    started_t: float | None = None
    finished_t: float | None = None
    part: str | None = None
    test: bool = False

    @property
    def done(self) -> bool:
        return self.finished_t is not None

    def __deepcopy__(self, memo):  # scalars only: a flat copy (a Run keyframe copies thousands of steps)
        new = object.__new__(Step)
        new.__dict__.update(self.__dict__)
        memo[id(self)] = new
        return new


@dataclass
class WorkOrder:
    id: int
    target: str
    fault: str
    recipe: str
    priority: int
    created_t: float
    source: str = "manual"  # failure | alarm | manual
    created_by: str = "system"
    state: str = OPEN
    assigned_t: float | None = None
    started_t: float | None = None
    finished_t: float | None = None
    technician: str | None = None
    parts: list[str] = field(default_factory=list)  # parts taken from stock for this order
    notes: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    also: list[str] = field(default_factory=list)  # further failed parts merged into this order
    travel_s: float = 0.0  # travel time of the assigned technician (drawn from the walk, not random)
    waiting_part: str | None = None  # stock-out: the part this order waits for
    # simulation state this order holds (so cancel and reopen can put it right): tray/rack addresses
    held: dict[str, list[str]] = field(default_factory=lambda: {"drained": [], "slid_out": [], "isolated": []})
    phase: int = -1  # -1 not started, 0 travelling, k >= 1: step k-1 in progress
    phase_end_t: float | None = None
    alarm_id: int | None = None

    def __deepcopy__(self, memo):
        """A Run keyframe copies every work order: fields are scalars, lists of text, the steps and the held
        addresses, so this copies just those (the generic deep copy took ~1 ms per order)."""
        new = object.__new__(WorkOrder)
        new.__dict__.update(self.__dict__)
        new.parts, new.notes, new.also = list(self.parts), list(self.notes), list(self.also)
        new.steps = [s.__deepcopy__(memo) for s in self.steps]
        new.held = {k: list(v) for k, v in self.held.items()}
        memo[id(self)] = new
        return new

    @property
    def open(self) -> bool:
        return self.state not in FINAL

    @property
    def current_step(self) -> Step | None:
        return self.steps[self.phase - 1] if 1 <= self.phase <= len(self.steps) else None

    @property
    def progress(self) -> float:
        """Fraction of the drawn work done (steps completed), 0..1."""
        total = sum(s.drawn_s for s in self.steps) or 1.0
        return sum(s.drawn_s for s in self.steps if s.done) / total

    @property
    def repair_s(self) -> float | None:
        """Hands-on repair time: technician dispatched -> work order closed (travel + steps)."""
        if self.state != CLOSED or self.assigned_t is None:
            return None
        return self.finished_t - self.assigned_t

    def can_move(self, new_state: str) -> bool:
        return new_state in ALLOWED[self.state]

    def check_move(self, new_state: str) -> None:
        if new_state not in STATES:
            raise WorkOrderError(f"work order {self.id}: unknown state {new_state!r} (states: {', '.join(STATES)})")
        if new_state not in ALLOWED[self.state]:
            allowed = ", ".join(ALLOWED[self.state]) or "none: it is final"
            raise WorkOrderError(f"work order {self.id}: cannot move from {self.state} to {new_state} "
                                 f"(allowed: {allowed})")

    def to_row(self) -> dict:
        d = asdict(self)
        d["steps"] = [asdict(s) for s in self.steps]
        return d

    @classmethod
    def from_row(cls, d: dict) -> WorkOrder:
        d = dict(d)
        d["steps"] = [Step(**s) for s in d.get("steps", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})
