"""Scenario files: timed faults (the training issue extends this with triggers and scoring)."""

from __future__ import annotations

from pydantic import Field, model_validator

from .facility import FaultKind, Spec
from .faults import FAULT_TARGETS, check_params

# Which address kinds each fault accepts: read from the fault registry (one table for every reader).
__all__ = ["FAULT_TARGETS", "FaultSpec", "Scenario"]


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
        problem = check_params(self.kind, {"depth": self.depth, "duration": self.duration,
                                           "delta_c": self.delta_c, "ramp_s": self.ramp_s})
        if problem:
            raise ValueError(problem)
        return self


class Scenario(Spec):
    title: str = "untitled"
    description: str = ""
    facility: str | None = Field(None, description="built-in facility name or a path; default: colossus")
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    start_hour: float | None = Field(None, ge=0, lt=24, description="time of day at t = 0 (default: the facility's)")
    faults: list[FaultSpec] = Field(default_factory=list)
