"""Small facilities for fast tests and examples (no Qt)."""

from __future__ import annotations

from pathlib import Path

from .model.facility import Facility, FailureSpec, HallSpec, JobSpec, SiteSpec
from .model.network import quiet_network


def small_facility(halls: int = 2, rows: int = 2, racks_per_row: int = 4, failures: bool = False,
                   **overrides) -> Facility:
    """A facility of ``halls x rows x racks_per_row`` racks (64 GPUs each), one training job per hall.
    Site equipment is scaled down to match; random failures are off unless ``failures``."""
    hall_specs = [HallSpec(name=f"H{i + 1}", rows=rows, racks_per_row=racks_per_row) for i in range(halls)]
    n_racks = halls * rows * racks_per_row
    it_mw = n_racks * 0.075  # ~63 kW a rack at full swing plus its share of fabric and storage
    site = SiteSpec.model_validate({
        "grid": {"import_limit_mw": it_mw * 2.0, "ramp_limit_mw_per_s": max(0.01, it_mw * 0.02)},
        "megapacks": {"units": max(1, round(it_mw / 1.5)), "power_mw_per_unit": 1.93},
        "turbines": {"count": 2, "rating_mw": max(0.5, it_mw * 0.8)},
        "chillers": {"count": 3, "capacity_mw": it_mw * 0.8, "loop_volume_m3": max(2.0, n_racks * 0.25),
                     "flow_m3_per_s": max(0.05, n_racks * 0.002), "pump_power_mw": it_mw * 0.01},
    })
    jobs = [JobSpec(name=f"job-{h.name.lower()}", halls=[h.name]) for h in hall_specs]
    fl = FailureSpec() if failures else FailureSpec(
        gpu_per_gpu_day=0, hbm_per_gpu_day=0, nic_per_gpu_day=0, psu_per_gpu_day=0, software_per_gpu_day=0,
        pump_per_pump_year=0, leak_per_rack_year=0, chiller_per_chiller_year=0, fan_due_frac=0.0,
        tray_hardware_per_gpu_day={})
    if not failures:
        site.air.handler_failure_per_year = 0.0
    data = {"name": "small", "halls": hall_specs, "site": site, "jobs": jobs, "failures": fl}
    if not failures:
        quiet_network(data)
    data.update(overrides)
    return Facility(**data)


def write_study_files(folder, grid: dict | None = None, seeds: int = 3, duration: str | float = 1200,
                      dt: float = 5.0, mtbf_s: float = 600.0, checkpoint_stall_s: float = 20.0, **study) -> Path:
    """A study on a 128-GPU facility (one job, software failures only, every ``mtbf_s`` on average) written to
    ``folder/study.yaml`` beside its facility file; returns the study path. Runs take well under a second."""
    import yaml
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    d = small_facility(halls=1, rows=1, racks_per_row=2).model_dump(mode="json")
    d["failures"]["software_per_gpu_day"] = 86400.0 / mtbf_s / 128
    d["site"]["grid"]["fluctuation_sags_per_day"] = 0.0
    d["jobs"][0].update(checkpoint_stall_s=checkpoint_stall_s, restart_s=60.0)
    (folder / "tiny-facility.yaml").write_text(yaml.safe_dump(d), encoding="utf-8")
    data = {"title": "tiny study", "question": "Does the tiny facility keep its job going?",
            "facility": "tiny-facility.yaml", "duration": duration, "dt": dt, "seeds": seeds, "seed": 7,
            "grid": grid if grid is not None else {"jobs.0.checkpoint_interval_s": [120, 300]},
            "figures": ["goodput", "interruptions", "it_energy_mwh"], **study}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def small_pump_drill(**over):
    """A fast drill on :func:`small_facility`: both pumps of H1-R002's CDU fail (at 2 min, then a minute
    later), with one hint and a reference play (acknowledge, dispatch, isolate, dispatch, restore).
    ``over`` replaces top-level fields (``time_limit_s``, ``faults``, ``hints``, ``scoring``...)."""
    from .model.training import TrainingScenario
    data = {
        "title": "small pump pair", "seed": 4, "time_limit_s": 1800, "backtrack_every_s": 300,
        "faults": [*PUMP_PAIR_FAULTS],
        "hints": [{"id": "iso", "text": "isolate the rack", "cost": 8}],
        "reference": [
            {"at": 125, "action": "acknowledge", "alarms": "all", "repeat_s": 20},
            {"at": 130, "action": "assign", "target": "H1-R002-CDU-P1", "technician": "nearest", "by_s": 300},
            {"at": 185, "action": "isolate_rack", "target": "H1-R002", "by_s": 300},
            {"at": 190, "action": "assign", "target": "H1-R002-CDU-P2", "technician": "nearest", "by_s": 400},
            {"at": 400, "when": "H1-R002 pumps_ok >= 1", "action": "restore_rack", "target": "H1-R002"}],
    }
    data.update(over)
    return TrainingScenario.model_validate(data)


PUMP_PAIR_FAULTS = (
    {"id": "p1", "at": 120, "kind": "pump_failure", "target": "H1-R002-CDU-P1"},
    {"id": "p2", "after": {"fault": "p1", "delay_s": 60}, "kind": "pump_failure", "target": "H1-R002-CDU-P2"},
)
