"""Technicians: a roster by shift with skills, where each one is, travel times, one job at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.ops_config import OpsConfig, TechnicianSpec

# A location: None = the workshop (BASE); (hall, row, position) = at a rack or a hall's entrance (row 0,
# position 0); "SITE" = the chiller plant, turbines or substation.
Location = tuple[int, int, int] | str | None


@dataclass
class Technician:
    name: str
    shift: str
    skills: tuple[str, ...]
    home: Location
    location: Location = None
    busy_wo: int | None = None
    on_shift: bool = False
    jobs_done: int = 0
    busy_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def free(self) -> bool:
        return self.busy_wo is None

    def to_row(self) -> dict:
        return {"name": self.name, "shift": self.shift, "skills": list(self.skills), "home": _loc_out(self.home),
                "location": _loc_out(self.location), "busy_wo": self.busy_wo, "jobs_done": self.jobs_done,
                "busy_s": self.busy_s}


def _loc_out(loc: Location):
    return list(loc) if isinstance(loc, tuple) else loc


def _loc_in(v) -> Location:
    return tuple(int(x) for x in v) if isinstance(v, list) else v


class Roster:
    """Everyone on the books, with shifts and travel. Time of day comes from the facility's ambient spec
    (``start_hour`` at simulated t = 0), like the weather."""

    def __init__(self, config: OpsConfig, topo, start_hour: float):
        self.config = config
        self.topo = topo
        self.start_hour = float(start_hour)
        self.techs: list[Technician] = [self._make(s) for s in config.technicians]
        self.by_name = {t.name: t for t in self.techs}
        self._shift_state: dict[str, bool] = {}
        self.n_on_shift = 0

    def _make(self, spec: TechnicianSpec) -> Technician:
        if spec.home == "BASE":
            home: Location = None
        elif spec.home in self.topo.hall_names:
            home = (self.topo.hall_names.index(spec.home), 0, 0)
        else:
            raise ValueError(f"technicians: {spec.name}: home {spec.home!r} is not BASE or a hall of this facility "
                             f"({', '.join(self.topo.hall_names)})")
        return Technician(spec.name, spec.shift, tuple(spec.skills), home, location=home)

    def get(self, name: str) -> Technician:
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"no technician {name!r} (roster: {', '.join(self.by_name)})") from None

    def hour_of_day(self, t: float) -> float:
        return (self.start_hour + t / 3600.0) % 24.0

    def update_shifts(self, t: float) -> None:
        """Who is on shift now. Someone coming on shift starts from home; someone going off finishes the
        job in hand first (``on_shift`` only governs new dispatches)."""
        hour = self.hour_of_day(t)
        state = {name: sh.on(hour) for name, sh in self.config.shifts.items()}
        if state == self._shift_state:
            return  # nobody changed shift (the common case: checked every step)
        self._shift_state = state
        for tech in self.techs:
            on = state[tech.shift]
            if on and not tech.on_shift and tech.free:
                tech.location = tech.home
            tech.on_shift = on
        self.n_on_shift = sum(t.on_shift for t in self.techs)

    # ------------------------------------------------------------------ travel
    def travel_s(self, loc: Location, rack: int | None) -> float:
        """Walking time from ``loc`` to rack ``rack`` (None: site equipment)."""
        tv = self.config.travel
        if rack is None:
            return 0.0 if loc == "SITE" else tv.site_equipment_s
        topo = self.topo
        h, row, pos = int(topo.rack_hall[rack]), int(topo.rack_row[rack]), int(topo.rack_pos[rack])
        inside = tv.per_row_s * row + tv.per_rack_s * pos  # from the hall entrance
        if loc is None:
            return tv.base_to_hall_s + inside
        if loc == "SITE":
            return tv.site_equipment_s + inside
        lh, lrow, lpos = loc
        if lh == h:
            return tv.per_row_s * abs(row - lrow) + tv.per_rack_s * abs(pos - lpos)
        return tv.per_row_s * lrow + tv.per_rack_s * lpos + tv.hall_to_hall_s + inside

    def location_of(self, rack: int | None) -> Location:
        if rack is None:
            return "SITE"
        topo = self.topo
        return int(topo.rack_hall[rack]), int(topo.rack_row[rack]), int(topo.rack_pos[rack])

    def describe(self, loc: Location) -> str:
        if loc is None:
            return "workshop"
        if loc == "SITE":
            return "site plant"
        h, row, pos = loc
        return f"{self.topo.hall_names[h]} row {row + 1} rack {pos + 1}"

    def nearest_free(self, skill: str, rack: int | None) -> tuple[Technician, float] | None:
        """The free, on-shift technician with ``skill`` who gets to ``rack`` first (ties: roster order)."""
        best = None
        for tech in self.techs:
            if tech.free and tech.on_shift and skill in tech.skills:
                s = self.travel_s(tech.location, rack)
                if best is None or s < best[1]:
                    best = (tech, s)
        return best

    def restore(self, rows: list[dict]) -> None:
        """Take back where each technician was and what they were doing (from the store)."""
        for row in rows:
            tech = self.by_name.get(row["name"])
            if tech is None:
                continue  # no longer on the roster
            tech.location = _loc_in(row.get("location"))
            tech.busy_wo = row.get("busy_wo")
            tech.jobs_done = int(row.get("jobs_done", 0))
            tech.busy_s = float(row.get("busy_s", 0.0))
