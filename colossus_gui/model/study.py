"""Study files: many seeded runs of one facility across a grid of parameters (YAML or JSON).

A study names a base facility (built-in or a file), optional overrides by dotted field path, an optional
scenario, a duration, how many seeds, the grid of parameters, the figures to collect from each run's
summary and, optionally, a stop rule (stop adding seeds to a grid point once the 95 % confidence interval of a
figure is narrow enough) and a pass rule (the share of seeds that must meet a limit: "carried at 95 % of seeds").

Parameter paths are dotted field paths into the facility file (``site.megapacks.units``,
``jobs.0.checkpoint_interval_s``, ``jobs.*.checkpoint_stall_s`` for every job), into the operations
configuration when prefixed ``ops.`` (``ops.spares.gpu_baseboard.stock``), into the scenario when prefixed
``scenario.`` (``scenario.faults.0.duration``), or ``facility`` itself (a built-in name or file per point).
``ops.it_technicians_per_shift`` sets the number of IT technicians on every shift.

Per-run seeds come from ``numpy.random.SeedSequence(seed).spawn(seeds)``: seed *i* is the same at every grid
point (common random numbers: the same failure draws meet every checkpoint interval, so differences between
points are the parameter's, not the dice's), and ``spawn`` is prefix-stable, so raising ``seeds`` later adds
runs without changing the ones already done.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from .facility import Spec

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+|\*))*$")
MAX_RUNS = 1_000_000
# parameters that are not a plain field path
SPECIAL_PARAMS = ("facility", "ops.it_technicians_per_shift")


def duration_s(value: Any) -> float:
    """600, '600', '30m', '2h', '7d' -> seconds (ValueError otherwise)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (examples: 600, 30m, 2h, 7d)")
    if isinstance(value, int | float):
        sec = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (examples: 600, 30m, 2h, 7d)")
        sec = float(m[1]) * _UNITS[m[2]]
    if not sec > 0:
        raise ValueError(f"{value!r}: the duration must be positive")
    return sec


def check_path(path: str) -> str:
    if path in SPECIAL_PARAMS:
        return path
    if not _PATH_RE.match(path):
        raise ValueError(f"{path!r} is not a dotted field path (example: site.megapacks.units)")
    return path


class StopRule(Spec):
    """Stop adding seeds to a grid point once the 95 % confidence interval of ``figure`` is at most
    ``ci_width`` wide (full width, in the figure's unit). Seeds are added in batches of ``batch`` and the rule
    is checked only on whole batches, so the runs done do not depend on how many workers finish first."""

    figure: str
    ci_width: float = Field(gt=0)
    min_seeds: int = Field(4, ge=2)
    batch: int = Field(4, ge=1)


class PassRule(Spec):
    """A run passes when ``figure`` lies within [min, max]; a grid point passes when at least ``share`` of its
    seeds pass (e.g. Megapacks carry the outage with no unserved energy at 95 % of seeds)."""

    figure: str
    min: float | None = None
    max: float | None = None
    share: float = Field(0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _a_limit(self) -> PassRule:
        if self.min is None and self.max is None:
            raise ValueError("a pass rule needs min or max")
        return self


class Study(Spec):
    """A whole study file."""

    title: str = "untitled study"
    question: str = Field("", description="the question the study answers (shown in the report)")
    facility: str = Field("colossus", description="built-in facility name or a path (relative to the study)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path -> value, every run")
    scenario: str | None = Field(None, description="built-in scenario name or a path (relative to the study)")
    ops: bool = Field(False, description="run the operations layer (alarms, technicians, spares)")
    ops_config: str | None = Field(None, description="operations file (default: the built-in one)")
    duration: float = Field(3600.0, description="simulated time per run (600, 30m, 2h, 7d)")
    dt: float = Field(1.0, gt=0, le=10, description="engine step, s")
    seed: int = Field(0, ge=0, description="study seed: per-run seeds are SeedSequence(seed).spawn(seeds)")
    seeds: int = Field(8, ge=1, le=100_000)
    cases: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                             description="named sets of overrides, crossed with the grid")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted path -> values")
    figures: list[str] = Field(default_factory=lambda: ["goodput"], min_length=1)
    stop: StopRule | None = None
    pass_rule: PassRule | None = Field(None, alias="pass")

    model_config = Spec.model_config | {"populate_by_name": True}

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return duration_s(v)

    @field_validator("overrides")
    @classmethod
    def _override_paths(cls, v: dict[str, Any]) -> dict[str, Any]:
        for p in v:
            check_path(p)
        return v

    @field_validator("cases")
    @classmethod
    def _case_paths(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, ov in v.items():
            for p in ov:
                try:
                    check_path(p)
                except ValueError as e:
                    raise ValueError(f"case {name!r}: {e}") from None
        return v

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for p, values in v.items():
            check_path(p)
            if not values:
                raise ValueError(f"{p}: needs at least one value")
        return v

    @field_validator("figures")
    @classmethod
    def _figures(cls, v: list[str]) -> list[str]:
        for f in v:
            if not _PATH_RE.match(f):
                raise ValueError(f"{f!r} is not a summary field (example: goodput, maintenance.gpu_hours_lost)")
        if len(set(v)) != len(v):
            raise ValueError("a figure is listed twice")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Study:
        problems = []
        if self.duration / self.dt > 100 * 86400:
            problems.append(f"duration: {self.duration:g} s is more than 8,640,000 steps of {self.dt:g} s")
        n = self.n_points * self.seeds
        if n > MAX_RUNS:
            problems.append(f"grid: {self.n_points:,} points x {self.seeds:,} seeds = {n:,} runs (at most {MAX_RUNS:,})")
        for rule, name in ((self.stop, "stop"), (self.pass_rule, "pass")):
            if rule is not None and rule.figure not in self.figures:
                problems.append(f"{name}.figure: {rule.figure!r} is not one of the figures {self.figures}")
        if self.stop is not None and self.stop.min_seeds > self.seeds:
            problems.append(f"stop.min_seeds: {self.stop.min_seeds} is more than seeds ({self.seeds})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ------------------------------------------------------------------ the points of the study
    @property
    def n_points(self) -> int:
        n = max(1, len(self.cases))
        for values in self.grid.values():
            n *= len(values)
        return n

    def points(self) -> list[dict[str, Any]]:
        """Every grid point as {'case': name or None, 'params': {path: value}} in a fixed order: cases outer,
        then the grid's parameters in file order (the last one varies fastest)."""
        cases = list(self.cases.items()) or [(None, {})]
        keys = list(self.grid)
        out = []
        for name, ov in cases:
            for combo in itertools.product(*(self.grid[k] for k in keys)):
                out.append({"case": name, "params": {**ov, **dict(zip(keys, combo, strict=True))}})
        return out

    def point_label(self, point: dict[str, Any]) -> str:
        parts = [point["case"]] if point["case"] is not None else []
        parts += [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in point["params"].items() if k in self.grid]
        return ", ".join(parts) or "base"
