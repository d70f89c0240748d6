"""The fault registry: every fault kind once, with the components it may hit, its parameters and their
defaults, its label and the context menus that offer it.

The scenario validator, the training actions, the engine's ``inject`` and the GUI's context menus all read
this table, so a default (how long a grid sag lasts) or a valid target is written in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultParam:
    name: str
    label: str
    unit: str
    default: float | None  # used when a caller leaves the parameter out; None: "until it is over"/"none"
    lo: float | None = None
    hi: float | None = None
    required_in_scenario: bool = False  # a scenario file must name it (a drill's author states the size)


@dataclass(frozen=True)
class FaultType:
    kind: str
    label: str
    targets: tuple[str, ...]  # address kinds the fault accepts
    params: tuple[FaultParam, ...] = ()
    menu: tuple[str, ...] = ()  # address kinds whose context menu offers it (besides ``targets``)
    menu_params: tuple[tuple[str, float], ...] = ()  # the what-if the context menu injects, if not the defaults
    repairable: bool = True  # a technician repairs it (False: it passes by itself)
    failure_cause: str | None = None  # the engine's failure-count key (random failures of this kind)
    rampable: bool = False  # can wear out gradually before it fails (engine.degrade), in a drill

    def param(self, name: str) -> FaultParam | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params if p.default is not None}

    def menu_values(self) -> dict[str, float]:
        return {**self.defaults(), **dict(self.menu_params)}

    def menu_label(self) -> str:
        """The label with the menu's values (\"Grid sag (30 % for 60 s)\")."""
        v = self.menu_values()
        if self.kind == "grid_sag":
            return f"{self.label} ({v['depth']:.0%} for {v['duration']:g} s)".replace("%", " %")
        if self.kind == "grid_outage":
            return f"{self.label} ({v['duration'] / 60:g} min)"
        if self.kind == "heat_wave":
            return (f"{self.label} (+{v['delta_c']:g} °C over {v.get('ramp_s', 0) / 60:g} min, "
                    f"{v['duration'] / 3600:g} h)")
        return self.label


_DEPTH = FaultParam("depth", "depth", "fraction of grid power lost", 0.3, 0.0, 1.0, required_in_scenario=True)
_SAG_S = FaultParam("duration", "duration", "s", 60.0, 0.0, None, required_in_scenario=True)
_OUTAGE_S = FaultParam("duration", "duration", "s", 300.0, 0.0, None, required_in_scenario=True)
_DELTA = FaultParam("delta_c", "added to ambient at the peak", "°C", 6.0, None, None, required_in_scenario=True)
_RAMP = FaultParam("ramp_s", "build-up", "s", 0.0, 0.0, None)
_WAVE_S = FaultParam("duration", "duration", "s", None, 0.0, None)

FAULTS: dict[str, FaultType] = {f.kind: f for f in (
    FaultType("gpu_failure", "GPU failure", ("gpu",), menu=("tray",), failure_cause="gpu"),
    FaultType("hbm_failure", "HBM failure", ("gpu",), menu=("tray",), failure_cause="hbm"),
    FaultType("nic_failure", "NIC failure", ("nic", "tray"), failure_cause="nic"),
    FaultType("psu_failure", "PSU failure", ("psu",), menu=("tray",), failure_cause="psu"),
    FaultType("fan_failure", "Door fan failure", ("fan",), menu=("rack", "rdhx"), failure_cause="fan"),
    FaultType("pump_failure", "Pump failure", ("pump",), menu=("rack", "cdu"), failure_cause="pump", rampable=True),
    FaultType("coolant_leak", "Coolant leak", ("rack", "cdu"), failure_cause="leak"),
    FaultType("chiller_trip", "Chiller trip", ("chiller",), failure_cause="chiller", rampable=True),
    FaultType("grid_sag", "Grid sag", ("grid",), (_DEPTH, _SAG_S), repairable=False),
    FaultType("grid_outage", "Grid outage", ("grid",), (_OUTAGE_S,), repairable=False),
    FaultType("turbine_trip", "Turbine trip", ("turbine",)),
    FaultType("heat_wave", "Heat wave", ("grid", "site"), (_DELTA, _RAMP, _WAVE_S),
              menu=("chiller", "turbine", "megapack"), menu_params=(("ramp_s", 1800.0), ("duration", 4 * 3600.0)),
              repairable=False),
    # network and storage (model/network.py; sim/fabric.py and sim/storage.py count their own failures)
    FaultType("switch_failure", "Switch failure", ("leaf", "spine", "superspine")),
    FaultType("link_failure", "Link failure", ("port",)),
    FaultType("link_flap", "Link flapping", ("port",)),
    # the hosts' front-end network: a server's front-end NIC (NIC, optic or cable) and a front-end leaf
    FaultType("frontend_nic_failure", "Front-end NIC failure", ("fe_nic",), menu=("tray",)),
    FaultType("frontend_leaf_failure", "Front-end leaf failure", ("fe_leaf",)),
    FaultType("storage_node_failure", "Storage node failure", ("storage_node",)),
    FaultType("drive_failure", "Drive failure", ("drive",)),
)}

# Which address kinds each fault accepts (the shape every reader used before the registry).
FAULT_TARGETS: dict[str, tuple[str, ...]] = {k: f.targets for k, f in FAULTS.items()}
FAULT_LABELS: dict[str, str] = {k: f.label for k, f in FAULTS.items()}
SELF_CLEARING: tuple[str, ...] = tuple(k for k, f in FAULTS.items() if not f.repairable)
RAMPABLE: tuple[str, ...] = tuple(k for k, f in FAULTS.items() if f.rampable)


def fault_type(kind: str) -> FaultType:
    try:
        return FAULTS[kind]
    except KeyError:
        raise ValueError(f"unknown fault kind {kind!r} (kinds: {', '.join(FAULTS)})") from None


def check_target(kind: str, address_kind: str, address_text: str) -> str | None:
    """The problem with hitting an ``address_kind`` component with ``kind`` (None: fine)."""
    ft = FAULTS.get(kind)
    if ft is None:
        return f"unknown fault kind {kind!r} (kinds: {', '.join(FAULTS)})"
    if address_kind not in ft.targets:
        return f"{kind} needs a {' or '.join(ft.targets)} address, not {address_text} ({address_kind})"
    return None


def check_params(kind: str, params: dict) -> str | None:
    """The problem with a fault's parameters as a scenario or an instructor gives them (None: fine)."""
    ft = FAULTS.get(kind)
    if ft is None:
        return f"unknown fault kind {kind!r} (kinds: {', '.join(FAULTS)})"
    missing = [p for p in ft.params if p.required_in_scenario and params.get(p.name) is None]
    if missing:
        what = " and ".join(f"{p.name} ({p.unit})" for p in missing)
        return f"{kind} needs {what}"
    for p in ft.params:
        v = params.get(p.name)
        if v is None:
            continue
        if (p.lo is not None and v < p.lo) or (p.hi is not None and v > p.hi):
            rng = f"{p.lo if p.lo is not None else '-inf'}..{p.hi if p.hi is not None else 'inf'}"
            return f"{kind}: {p.name} {v:g} is outside {rng} {p.unit}"
    return None


__all__ = ["FAULTS", "FAULT_LABELS", "FAULT_TARGETS", "RAMPABLE", "SELF_CLEARING", "FaultParam", "FaultType", "check_params",
           "check_target", "fault_type"]
