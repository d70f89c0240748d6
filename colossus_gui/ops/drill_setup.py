"""A drill's facility and staff: the base facility with the scenario's initial conditions, and manual-dispatch
operations with the scenario's technicians and stock. Used by the session and by the scenario checker."""

from __future__ import annotations

from ..model.facility import Facility
from ..model.network import quiet_network
from ..model.ops_config import OpsConfig
from ..model.training import TrainingScenario


def build_facility(sc: TrainingScenario, base: Facility) -> Facility:
    """A copy of ``base`` with the scenario's initial conditions (raises ValidationError/ValueError)."""
    f = base.model_copy(deep=True)
    ini = sc.initial
    data = f.model_dump()
    site = data["site"]
    if ini.start_hour is not None:
        site["ambient"]["start_hour"] = ini.start_hour
    if ini.ambient is not None:
        site["ambient"].update({k: v for k, v in ini.ambient.model_dump().items() if v is not None})
    if ini.supply_setpoint_c is not None:
        site["supply_setpoint_c"] = ini.supply_setpoint_c
    if ini.megapack_soc is not None:
        mp = site["megapacks"]
        mp["soc_initial"] = ini.megapack_soc
        mp["soc_min"] = min(mp["soc_min"], ini.megapack_soc)
        mp["soc_target"] = max(mp["soc_min"], min(mp["soc_target"], mp["soc_max"]))
    if ini.megapacks_in_service is not None:
        site["megapacks"]["units"] = ini.megapacks_in_service
    if ini.turbines_in_service is not None:
        site["turbines"]["count"] = ini.turbines_in_service
    if ini.jobs is not None:
        data["jobs"] = [j.model_dump() for j in ini.jobs]
    if not ini.random_failures:
        fl = data["failures"]
        for k in ("gpu_per_gpu_day", "hbm_per_gpu_day", "nic_per_gpu_day", "psu_per_gpu_day", "software_per_gpu_day",
                  "pump_per_pump_year", "leak_per_rack_year", "chiller_per_chiller_year", "turbine_trip_per_start"):
            fl[k] = 0.0
        fl["fan_due_frac"] = 0.0
        fl["tray_hardware_per_gpu_day"] = {}
        site["air"]["handler_failure_per_year"] = 0.0
        site["grid"]["fluctuation_sags_per_day"] = 0.0
        quiet_network(data)  # fabric and storage too
    return Facility.model_validate(data)


def build_ops_config(sc: TrainingScenario, facility: Facility, base: OpsConfig | None = None) -> OpsConfig:
    """Operations for a drill: manual dispatch (the trainee dispatches), the scenario's staff and stock."""
    data = (base or OpsConfig()).model_dump()
    data["dispatch"] = "manual"
    ini = sc.initial
    if ini.technicians is not None:
        data["technicians"] = [t.model_dump() for t in ini.technicians]
    for part, n in ini.stock.items():
        data["spares"][part]["stock"] = n
    cfg = OpsConfig.model_validate(data)
    halls = {h.name for h in facility.halls}
    for t in cfg.technicians:
        if t.home != "BASE" and t.home not in halls:
            raise ValueError(f"technicians: {t.name}: home {t.home!r} is not BASE or a hall of this facility")
    return cfg


__all__ = ["build_facility", "build_ops_config"]
