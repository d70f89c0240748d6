"""Scenario files: timed faults (the training issue extends this with triggers and scoring)."""

from __future__ import annotations

from pydantic import Field, model_validator

from .facility import FaultKind, Spec

# Which address kinds each fault accepts.
FAULT_TARGETS: dict[str, tuple[str, ...]] = {
    "gpu_failure": ("gpu",),
    "hbm_failure": ("gpu",),
    "nic_failure": ("nic", "tray"),
    "psu_failure": ("psu",),
    "fan_failure": ("fan",),
    "pump_failure": ("pump",),
    "coolant_leak": ("rack", "cdu"),
    "chiller_trip": ("chiller",),
    "grid_sag": ("grid",),
    "grid_outage": ("grid",),
    "turbine_trip": ("turbine",),
    "heat_wave": ("grid", "site"),
    # network and storage (model/network.py)
    "switch_failure": ("leaf", "spine", "superspine"),
    "link_failure": ("port",),
    "link_flap": ("port",),
    "storage_node_failure": ("storage_node",),
    "drive_failure": ("drive",),
}


class FaultSpec(Spec):
    at: float = Field(ge=0, description="simulated seconds from the start")
    kind: FaultKind
    target: str = Field(min_length=1)
    depth: float | None = Field(None, gt=0, le=1, description="grid_sag: fraction of grid power lost")
    duration: float | None = Field(None, gt=0, description="seconds (grid_sag, grid_outage, heat_wave)")
    delta_c: float | None = Field(None, description="heat_wave: degrees added to ambient at its peak")
    ramp_s: float | None = Field(None, ge=0, description="heat_wave: seconds to build up")

    @model_validator(mode="after")
    def _params(self) -> FaultSpec:
        if self.kind == "grid_sag" and (self.depth is None or self.duration is None):
            raise ValueError("grid_sag needs depth (0-1) and duration (s)")
        if self.kind == "grid_outage" and self.duration is None:
            raise ValueError("grid_outage needs duration (s)")
        if self.kind == "heat_wave" and self.delta_c is None:
            raise ValueError("heat_wave needs delta_c")
        return self


class Scenario(Spec):
    title: str = "untitled"
    description: str = ""
    facility: str | None = Field(None, description="built-in facility name or a path; default: colossus")
    seed: int | None = None
    faults: list[FaultSpec] = Field(default_factory=list)
