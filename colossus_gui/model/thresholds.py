"""One definition of every limit and every unit an operator reads.

The alarm rules (``ops_config.AlarmRules``) hold the warning and critical limits in the rule's own unit (°C,
a fraction, a count). This module says how each rule's value is *shown* -- label, unit, scale, decimals --
and turns a rule's limits into a :class:`Threshold` that everything reads: the alarm list (value, limit,
detail), the colours of the hall, rack, tray and all-GPU views, their legends and tooltips, and the lines on
the charts. So a hall legend, a rack frame and an alarm can never disagree about where "warning" starts.

Pure Python (no numpy arrays kept, no Qt): ``ops`` and ``ui`` both import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .ops_config import LOW_RULES, AlarmConfig


@dataclass(frozen=True)
class Quantity:
    """How a rule's value is shown. ``shown = value × scale``; ``flag`` quantities are 0/1 states shown as
    words (``on``/``off``)."""

    label: str
    unit: str
    scale: float = 1.0
    decimals: int = 1
    flag: tuple[str, str] | None = None  # (text when 0, text when 1)

    def shown(self, value: float) -> float:
        return float(value) * self.scale

    def fmt(self, value: float | None, unit: bool = True) -> str:
        """'89.3 °C', '45 %', '2 pumps', 'leaking'; 'n/a' for no reading."""
        if value is None or not math.isfinite(float(value)):
            return "n/a"
        if self.flag is not None:
            return self.flag[1] if float(value) >= 0.5 else self.flag[0]
        v = self.shown(value)
        s = f"{v:,.{self.decimals}f}"
        if not unit or not self.unit:
            return s
        return f"{s} {self.unit}"


# Every alarm rule's value, as the alarm list and the views show it. Keys are AlarmRules field names.
QUANTITIES: dict[str, Quantity] = {
    "gpu_temp": Quantity("Hottest GPU", "°C", 1.0, 1),
    "gpu_throttle": Quantity("GPUs throttled", "GPUs", 1.0, 0),
    "rack_return_temp": Quantity("Rack return temperature", "°C", 1.0, 1),
    "coolant_flow": Quantity("Coolant flow", "% of design", 100.0, 0),
    "pump_state": Quantity("CDU pumps failed", "pumps", 1.0, 0),
    "fan_state": Quantity("Rear-door fans failed", "fans", 1.0, 0),
    "leak": Quantity("Coolant leak", "", 1.0, 0, flag=("no leak", "leaking")),
    "equipment_fault": Quantity("Failed parts in server", "parts", 1.0, 0),
    "facility_supply_temp": Quantity("Facility water supply", "°C", 1.0, 1),
    "chiller_state": Quantity("Chiller capacity lost", "% of rating", 100.0, 0),
    "grid_import": Quantity("Grid import", "% of available", 100.0, 0),
    "megapack_soc": Quantity("Megapack state of charge", "%", 100.0, 0),
    "turbine_state": Quantity("Turbine tripped", "", 1.0, 0, flag=("running", "tripped")),
    "gpus_out_of_service": Quantity("GPUs out of service", "% of hall", 100.0, 1),
    "job_interruptions": Quantity("Job interruptions", "in window", 1.0, 0),
    # protections and the time to the limit (sim/plant.py, sim/power_protection.py, sim/time_to_limit.py)
    "supply_protection": Quantity("CDU supply protection", "level (1 capping, 2 tripping)", 1.0, 0),
    "cpu_trip": Quantity("Host CPUs shut down by heat", "", 1.0, 0, flag=("running", "shut down")),
    "hall_power": Quantity("Hall feeder", "", 1.0, 0, flag=("closed", "tripped")),
    "power_shortfall": Quantity("Power not served", "MW", 1.0, 1),
    "time_to_shutdown": Quantity("Time to the first GPU shutdown", "s", 1.0, 0),
    # network and storage (sim/fabric.py, sim/storage.py)
    "switch_state": Quantity("Fabric switch", "", 1.0, 0, flag=("up", "down")),
    "link_state": Quantity("Fabric links down or flapping", "links", 1.0, 0),
    "frontend_state": Quantity("Servers cut off from the front-end network", "servers", 1.0, 0),
    "storage_degraded": Quantity("Storage write bandwidth lost", "% of design", 100.0, 0),
}


@dataclass(frozen=True)
class Threshold:
    """The warning and critical limits of one rule, in the rule's unit, with how to show them."""

    rule: str
    warning: float | None
    critical: float | None
    hysteresis: float
    low_is_bad: bool
    quantity: Quantity

    @property
    def unit(self) -> str:
        return self.quantity.unit

    def fmt(self, value: float | None, unit: bool = True) -> str:
        return self.quantity.fmt(value, unit)

    def shown(self, value: float | None) -> float | None:
        return None if value is None else self.quantity.shown(value)

    def level(self, value: float) -> int:
        """0 fine, 1 warning, 2 critical (no hysteresis, no delay: what a colour shows)."""
        v = float(value)
        worse = (lambda a, b: a <= b) if self.low_is_bad else (lambda a, b: a >= b)
        if self.critical is not None and worse(v, self.critical):
            return 2
        if self.warning is not None and worse(v, self.warning):
            return 1
        return 0

    def limit_for(self, level: int) -> float | None:
        return self.critical if level >= 2 else self.warning

    def text(self) -> str:
        """'warning ≥ 85.0 °C, critical ≥ 89.0 °C' (≤ for limits on falling values)."""
        cmp = "≤" if self.low_is_bad else "≥"
        parts = []
        if self.warning is not None:
            parts.append(f"warning {cmp} {self.fmt(self.warning)}")
        if self.critical is not None:
            parts.append(f"critical {cmp} {self.fmt(self.critical)}")
        return ", ".join(parts) if parts else "no limits"


class Limits:
    """Every rule's :class:`Threshold` for one alarm configuration (default: the built-in rules, which are
    the same as ``resources/ops/default.yaml``)."""

    def __init__(self, config: AlarmConfig | None = None):
        self.config = config or AlarmConfig()
        self._by_rule: dict[str, Threshold] = {}
        for name in type(self.config.rules).model_fields:
            spec = getattr(self.config.rules, name)
            q = QUANTITIES.get(name) or Quantity(name.replace("_", " "), "", 1.0, 3)
            self._by_rule[name] = Threshold(name, spec.warning, spec.critical, spec.hysteresis,
                                            name in LOW_RULES, q)

    def __getitem__(self, rule: str) -> Threshold:
        return self._by_rule[rule]

    def __iter__(self):
        return iter(self._by_rule.values())

    def fmt(self, rule: str, value: float | None, unit: bool = True) -> str:
        return self._by_rule[rule].fmt(value, unit)


DEFAULT_LIMITS = Limits()
