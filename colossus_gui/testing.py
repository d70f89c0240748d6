"""Small facilities for fast tests and examples (no Qt)."""

from __future__ import annotations

from .model.facility import Facility, FailureSpec, HallSpec, JobSpec, SiteSpec


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
    data.update(overrides)
    return Facility(**data)
