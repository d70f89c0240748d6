"""Operations configuration: alarm rules, technicians, travel, repair step times, spare parts, dispatch.

A user-editable file (``resources/ops/default.yaml`` is the default), validated like every other file: unknown
fields are errors and every problem names the file and the field. Figures marked [E] are engineering
estimates (``resources/FACILITY.md``: repair times fan 5-10 min, CDU pump 15-30 min, optic 0.5-2 h, tray swap
including drain and burn-in 1-4 h; lognormal repair times [P: CMU PDL failure studies]).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from .facility import Spec

Skill = Literal["mechanical", "electrical", "IT"]
SKILLS: tuple[str, ...] = Skill.__args__  # type: ignore[attr-defined]

# Rules whose value alarms when it falls (the others alarm when it rises).
LOW_RULES = frozenset({"coolant_flow", "megapack_soc", "time_to_shutdown"})


def _merge_defaults(cls, data: Any) -> Any:
    """Let a file give part of a sub-table (``gpu_temp: {warning: 80}``) and keep the rest of its defaults:
    each field of ``cls`` whose default is a model is merged key by key with what the file gives."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name, field in cls.model_fields.items():
        given = out.get(name)
        if isinstance(given, dict) and field.default_factory is not None:
            out[name] = {**field.default_factory().model_dump(exclude_unset=False), **given}
    return out


# --------------------------------------------------------------------------- alarms
class AlarmRuleSpec(Spec):
    """One alarm rule. ``warning``/``critical`` are limits in the rule's unit (null: that level is off);
    a level clears once the value is ``hysteresis`` back inside the limit; a level is raised only after the
    condition held for ``on_delay_s`` (filters the 1-5 s pump switchover and sensor blips)."""

    enabled: bool = True
    warning: float | None = None
    critical: float | None = None
    hysteresis: float = Field(0.0, ge=0)
    on_delay_s: float = Field(0.0, ge=0, le=86400)

    @model_validator(mode="after")
    def _some_limit(self) -> AlarmRuleSpec:
        if self.enabled and self.warning is None and self.critical is None:
            raise ValueError("an enabled rule needs a warning or a critical limit")
        return self


def _rule(warning=None, critical=None, hysteresis=0.0, on_delay_s=0.0):
    return Field(default_factory=lambda: AlarmRuleSpec(warning=warning, critical=critical, hysteresis=hysteresis,
                                                       on_delay_s=on_delay_s))


class AlarmRules(Spec):
    """Every rule the alarm manager knows. Units: C, count, fraction."""

    @model_validator(mode="before")
    @classmethod
    def _partial(cls, data: Any) -> Any:
        return _merge_defaults(cls, data)

    gpu_temp: AlarmRuleSpec = _rule(85.0, 89.0, 2.0, 5.0)            # hottest GPU of a rack, C (H100 cap 87)
    gpu_throttle: AlarmRuleSpec = _rule(1, 16, 0.0, 5.0)             # throttled GPUs in a rack
    rack_return_temp: AlarmRuleSpec = _rule(45.0, 50.0, 1.0, 10.0)   # rack loop return, C (CDU rated to 52)
    coolant_flow: AlarmRuleSpec = _rule(0.8, 0.5, 0.05, 5.0)         # fraction of design flow (low alarm)
    pump_state: AlarmRuleSpec = _rule(1, 2, 0.0, 0.0)                # failed CDU pumps in a rack
    fan_state: AlarmRuleSpec = _rule(1, 3, 0.0, 0.0)                 # failed rear-door fans in a rack
    leak: AlarmRuleSpec = _rule(None, 0.5, 0.0, 0.0)                 # 1 when the rack loop leaks
    equipment_fault: AlarmRuleSpec = _rule(1, None, 0.0, 0.0)        # failed GPUs + NICs + PSUs in a tray
    facility_supply_temp: AlarmRuleSpec = _rule(33.0, 36.0, 0.5, 30.0)  # facility water supply, C
    chiller_state: AlarmRuleSpec = _rule(0.5, None, 0.0, 0.0)        # capacity lost: 1 tripped, 0.6 at 40 %
    grid_import: AlarmRuleSpec = _rule(0.95, 0.99, 0.02, 5.0)        # grid import / what the grid can give
    megapack_soc: AlarmRuleSpec = _rule(0.3, 0.15, 0.02, 0.0)        # Megapack state of charge (low alarm)
    turbine_state: AlarmRuleSpec = _rule(0.5, None, 0.0, 0.0)        # 1 when a turbine is tripped
    gpus_out_of_service: AlarmRuleSpec = _rule(0.01, 0.05, 0.002, 60.0)  # fraction of a hall's GPUs
    job_interruptions: AlarmRuleSpec = _rule(2, 5, 0.0, 0.0)         # interruptions of a job in the window
    supply_protection: AlarmRuleSpec = _rule(1, 2, 0.0, 0.0)         # hall: 1 GPUs capped by hot supply, 2 tripped
    cpu_trip: AlarmRuleSpec = _rule(None, 0.5, 0.0, 0.0)             # 1 when a rack's hosts shut down on heat
    hall_power: AlarmRuleSpec = _rule(None, 0.5, 0.0, 0.0)           # 1 when a hall's feeder is tripped
    power_shortfall: AlarmRuleSpec = _rule(0.1, 1.0, 0.05, 0.0)      # MW of load not served
    switch_state: AlarmRuleSpec = _rule(None, 0.5, 0.0, 0.0)         # 1 when a fabric switch is down
    link_state: AlarmRuleSpec = _rule(1, 8, 0.0, 0.0)                # links down or flapping at a switch
    frontend_state: AlarmRuleSpec = _rule(1, 8, 0.0, 0.0)            # servers on a front-end leaf cut off from it
    storage_degraded: AlarmRuleSpec = _rule(0.05, 0.3, 0.01, 0.0)    # checkpoint write bandwidth lost, fraction
    time_to_shutdown: AlarmRuleSpec = _rule(600.0, 120.0, 30.0, 0.0)  # estimated s until a rack's first GPU shuts down (low)


class AlarmConfig(Spec):
    evaluate_every_s: float = Field(1.0, gt=0, le=3600, description="evaluate the rules at most this often")
    job_window_s: float = Field(3600.0, gt=0, description="sliding window for job_interruptions")
    rules: AlarmRules = Field(default_factory=AlarmRules)
    work_order_rules: list[str] = Field(
        default_factory=lambda: ["gpu_temp", "rack_return_temp", "coolant_flow", "pump_state", "fan_state",
                                 "leak", "chiller_state", "turbine_state"],
        description="critical alarms of these rules create a work order (one per rack or component)")
    max_open_alarm_work_orders: int = Field(20, ge=0, description="cap: a plant-wide upset must not flood "
                                                                  "the board with one inspection per rack")
    history_size: int = Field(10000, ge=0, description="archived alarms kept in memory (the store keeps all)")

    @model_validator(mode="after")
    def _known_rules(self) -> AlarmConfig:
        rules = self.rules
        problems = []
        for name in type(rules).model_fields:
            r: AlarmRuleSpec = getattr(rules, name)
            if r.warning is None or r.critical is None:
                continue
            if name in LOW_RULES and not r.critical < r.warning:
                problems.append(f"rules.{name}: a low alarm needs critical < warning")
            if name not in LOW_RULES and not r.critical > r.warning:
                problems.append(f"rules.{name}: critical must be above warning")
        for i, name in enumerate(self.work_order_rules):
            if name not in type(rules).model_fields:
                problems.append(f"work_order_rules.{i}: unknown rule {name!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --------------------------------------------------------------------------- people and travel
class ShiftSpec(Spec):
    start_hour: float = Field(ge=0, lt=24, description="local time the shift starts")
    hours: float = Field(gt=0, le=24)

    def on(self, hour_of_day: float) -> bool:
        return (hour_of_day - self.start_hour) % 24.0 < self.hours


class TechnicianSpec(Spec):
    name: str = Field(min_length=1, max_length=60)
    shift: str
    skills: list[Skill] = Field(min_length=1)
    home: str = Field("BASE", description="BASE (the workshop) or a hall name: where the shift starts")


class TravelSpec(Spec):
    """Walking times [E]: racks are ~0.6 m apart in a row, rows ~3 m apart, halls a few minutes apart."""

    base_to_hall_s: float = Field(300.0, ge=0, description="workshop and stores to a hall's entrance")
    hall_to_hall_s: float = Field(240.0, ge=0)
    per_row_s: float = Field(8.0, ge=0, description="from one row to the next")
    per_rack_s: float = Field(2.0, ge=0, description="from one rack to the next along a row")
    site_equipment_s: float = Field(600.0, ge=0, description="to the chiller plant, turbines or substation")


# --------------------------------------------------------------------------- repairs
class StepTime(Spec):
    """Lognormal step duration: ``median_s * exp(sigma * N(0, 1))``."""

    median_s: float = Field(gt=0, le=30 * 86400)
    sigma: float = Field(0.3, ge=0, le=2)


def _st(median_s: float, sigma: float = 0.3):
    return Field(default_factory=lambda: StepTime(median_s=median_s, sigma=sigma))


class StepTimes(Spec):
    """Durations of every repair step [E]. Sums of the medians: tray swap 2.1 h (1-4 h), fan 8 min (5-10),
    pump 26 min (15-30), optic 1 h (0.5-2 h), PSU 12 min, leak 1.7 h, chiller 2.2 h."""

    @model_validator(mode="before")
    @classmethod
    def _partial(cls, data: Any) -> Any:
        return _merge_defaults(cls, data)

    # GPU / HBM: the tray (server) comes out and the baseboard is swapped
    drain: StepTime = _st(300, 0.3)
    power_down: StepTime = _st(120, 0.3)
    slide_out: StepTime = _st(300, 0.3)
    swap_baseboard: StepTime = _st(2400, 0.35)
    slide_in: StepTime = _st(300, 0.3)
    burn_in: StepTime = _st(3600, 0.3)
    return_to_pool: StepTime = _st(120, 0.3)
    # rear-door fan: hot swap, no downtime
    fan_swap: StepTime = _st(420, 0.25)
    check_airflow: StepTime = _st(60, 0.3)
    # CDU pump: the redundant pump carries the flow meanwhile
    confirm_redundant: StepTime = _st(180, 0.3)
    pump_swap: StepTime = _st(1200, 0.25)
    verify_flow: StepTime = _st(180, 0.3)
    # PSU: hot swap
    psu_swap: StepTime = _st(600, 0.3)
    verify_power: StepTime = _st(120, 0.3)
    # NIC / optic
    optic_swap: StepTime = _st(2700, 0.4)
    link_test: StepTime = _st(900, 0.4)
    # coolant leak
    isolate_rack: StepTime = _st(300, 0.3)
    dry: StepTime = _st(1200, 0.4)
    fix_leak: StepTime = _st(1800, 0.4)
    refill: StepTime = _st(900, 0.3)
    pressure_test: StepTime = _st(900, 0.3)
    restore_rack: StepTime = _st(300, 0.3)
    # chiller and turbine
    diagnose: StepTime = _st(1800, 0.4)
    chiller_repair: StepTime = _st(5400, 0.4)
    restart_check: StepTime = _st(600, 0.3)
    turbine_reset: StepTime = _st(900, 0.4)
    # inspection (critical alarm with no failed part, or a work order by hand)
    inspect: StepTime = _st(900, 0.4)
    report: StepTime = _st(300, 0.3)
    # network and storage: switch swap ~4 h, drive hot-swap ~20 min, storage node ~3 h [E]
    switch_swap: StepTime = _st(10800, 0.35)
    drive_swap: StepTime = _st(900, 0.3)
    verify_rebuild: StepTime = _st(300, 0.3)
    node_repair: StepTime = _st(7200, 0.4)
    verify_node: StepTime = _st(600, 0.3)


RECIPE_NAMES = ("gpu", "tray", "fan", "pump", "psu", "nic", "leak", "chiller", "turbine", "inspect",
                "link", "switch", "drive", "storage_node")


class RepairSpec(Spec):
    steps: StepTimes = Field(default_factory=StepTimes)
    skills: dict[str, Skill] = Field(
        default_factory=lambda: {"gpu": "IT", "tray": "IT", "nic": "IT", "psu": "electrical", "fan": "mechanical",
                                 "pump": "mechanical", "leak": "mechanical", "chiller": "mechanical",
                                 "turbine": "electrical", "inspect": "mechanical",
                                 "link": "IT", "switch": "IT", "drive": "IT", "storage_node": "IT"},
        description="skill each repair recipe needs")
    priorities: dict[str, int] = Field(
        default_factory=lambda: {"gpu": 2, "tray": 2, "nic": 2, "psu": 3, "fan": 3, "pump": 2, "leak": 1,
                                 "chiller": 1, "turbine": 2, "inspect": 2,
                                 "link": 2, "switch": 1, "drive": 3, "storage_node": 2},
        description="1 urgent .. 4 low; critical alarms raise their work order to 1")

    @model_validator(mode="after")
    def _known(self) -> RepairSpec:
        problems = []
        for field in ("skills", "priorities"):
            d = getattr(self, field)
            for k in d:
                if k not in RECIPE_NAMES:
                    problems.append(f"{field}.{k}: unknown repair recipe (known: {', '.join(RECIPE_NAMES)})")
            for k in RECIPE_NAMES:
                if k not in d:
                    problems.append(f"{field}: recipe {k!r} missing")
        for k, p in self.priorities.items():
            if not 1 <= p <= 4:
                problems.append(f"priorities.{k}: must be 1 (urgent) to 4 (low)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --------------------------------------------------------------------------- spare parts
PART_NAMES = ("gpu_baseboard", "fan", "pump", "psu", "optic", "switch", "drive")


class PartSpec(Spec):
    stock: int = Field(ge=0, description="on hand at the start")
    reorder_point: int = Field(ge=0, description="order when on hand + on order falls to this")
    reorder_qty: int = Field(ge=1)
    lead_time_s: float = Field(ge=0, le=365 * 86400)


def _part(stock, rp, qty, lead_s):
    return Field(default_factory=lambda: PartSpec(stock=stock, reorder_point=rp, reorder_qty=qty, lead_time_s=lead_s))


class SparesSpec(Spec):
    """Stock sized for ~100k GPUs [E]: ~27 GPU/HBM failures a day (Llama 3 rates), a few fans and pumps."""

    @model_validator(mode="before")
    @classmethod
    def _partial(cls, data: Any) -> Any:
        return _merge_defaults(cls, data)

    gpu_baseboard: PartSpec = _part(150, 100, 100, 2 * 86400)
    fan: PartSpec = _part(40, 15, 30, 86400)
    pump: PartSpec = _part(12, 4, 8, 3 * 86400)
    psu: PartSpec = _part(20, 8, 12, 86400)
    optic: PartSpec = _part(60, 20, 40, 86400)
    switch: PartSpec = _part(6, 2, 4, 3 * 86400)  # [E] a few spares for ~4,000 switches
    drive: PartSpec = _part(60, 20, 60, 2 * 86400)  # [E] ~1 drive failure a day at 45k drives


# --------------------------------------------------------------------------- the file
def _default_roster() -> list[TechnicianSpec]:
    names = {"day": ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray"],
             "night": ["Harper", "Indy", "Jordan", "Kai", "Logan", "Morgan", "Noel"]}
    out = []
    for shift, ns in names.items():
        skills = [["IT"], ["IT"], ["IT"], ["IT"], ["IT", "electrical"], ["mechanical"], ["mechanical", "electrical"]]
        out += [TechnicianSpec(name=n, shift=shift, skills=s) for n, s in zip(ns, skills, strict=True)]
    return out


class OpsConfig(Spec):
    """The whole operations file."""

    dispatch: Literal["auto", "manual"] = Field("auto", description="auto: nearest free qualified technician; "
                                                                     "manual: the operator assigns")
    alarms: AlarmConfig = Field(default_factory=AlarmConfig)
    shifts: dict[str, ShiftSpec] = Field(default_factory=lambda: {
        "day": ShiftSpec(start_hour=7, hours=12), "night": ShiftSpec(start_hour=19, hours=12)})
    technicians: list[TechnicianSpec] = Field(default_factory=_default_roster)
    travel: TravelSpec = Field(default_factory=TravelSpec)
    repairs: RepairSpec = Field(default_factory=RepairSpec)
    spares: SparesSpec = Field(default_factory=SparesSpec)

    @model_validator(mode="after")
    def _consistent(self) -> OpsConfig:
        problems = []
        names = [t.name for t in self.technicians]
        if len(set(names)) != len(names):
            problems.append("technicians: names must be unique")
        for i, t in enumerate(self.technicians):
            if t.shift not in self.shifts:
                problems.append(f"technicians.{i}.shift: unknown shift {t.shift!r} (shifts: {', '.join(self.shifts)})")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def default_ops_path() -> Path:
    from ..resources import resource
    return resource("ops", "default.yaml")
