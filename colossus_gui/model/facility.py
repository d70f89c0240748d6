"""The facility description: pydantic models, validated, every estimate configurable.

Figures and their sources are in ``resources/FACILITY.md``; [E] marks an engineering estimate.
Units are in the field names (``_w``, ``_c``, ``_s``, ``_mw``, ``_mwh``, ``_lpm``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from .limits import MAX_GPUS, MAX_RACKS, check_number, check_safe_name, check_text, estimated_memory_bytes
from .network import FabricSpec, StorageSpec


class Spec(BaseModel):
    """Base for every file-backed model: unknown fields are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _plausible(cls, v):
        # every number finite and within model.limits.MAX_ABS_NUMBER, every text without NUL and of sane length
        if isinstance(v, str):
            check_text(v)
        elif not isinstance(v, BaseModel):
            check_number(v)
            if isinstance(v, list | dict):
                for x in (v.values() if isinstance(v, dict) else v):
                    if isinstance(x, str):
                        check_text(x)
        return v


# --------------------------------------------------------------------------- components
class GpuModel(Spec):
    """A GPU type with its power and thermal limits (H100/H200 SXM: nvidia-smi -q, Llama 3 paper)."""

    name: str
    tdp_w: float = Field(700.0, gt=0, le=5000)
    power_min_w: float = Field(200.0, gt=0, description="lowest settable power limit")
    idle_w: float = Field(70.0, ge=0)
    idle_mem_w: float = Field(140.0, ge=0, description="idle with memory allocated (checkpoint, restart)")
    hbm_gb: float = Field(80.0, gt=0)
    t_max_op_c: float = Field(87.0, description="power capping starts here")
    t_slowdown_c: float = Field(89.0, description="clocks halve here")
    t_shutdown_c: float = Field(92.0, description="GPU shuts down here")
    # Two-node thermal model [E]: junction and cold plate.
    c_junction_j_per_k: float = Field(50.0, gt=0)
    c_plate_j_per_k: float = Field(350.0, gt=0)
    r_junction_plate_k_per_w: float = Field(0.01, gt=0)
    r_plate_coolant_k_per_w: float = Field(0.015, gt=0, description="at design flow; scales as flow^-0.8")
    power_spread: float = Field(0.03, ge=0, le=0.3, description="[E] chip-to-chip power variation (1 sigma)")
    power_spread_clip: float = Field(0.15, ge=0, le=0.5, description="[E] chip gains are clipped to 1 +/- this")
    clock_exponent: float = Field(0.4, gt=0, le=1, description="[E] clock ~ (power cap / demand)^this")
    r_plate_still_k_per_w: float = Field(10.0, gt=0, description="[E] cold plate to the loop with no coolant "
                                         "flow (conduction, natural convection): ~0.1 W/K, next to nothing")

    @model_validator(mode="after")
    def _limits_ordered(self) -> GpuModel:
        if not self.idle_w <= self.power_min_w <= self.tdp_w:
            raise ValueError("need idle_w <= power_min_w <= tdp_w")
        if not self.t_max_op_c < self.t_slowdown_c < self.t_shutdown_c:
            raise ValueError("need t_max_op_c < t_slowdown_c < t_shutdown_c")
        return self


class TraySpec(Spec):
    """One 4U liquid-cooled server: 8 GPUs, 2 CPUs, 4 PSUs, 9 NICs (8 x 400G + host)."""

    gpus: int = Field(8, ge=1, le=16)
    cpus: int = Field(2, ge=0, le=4)
    psus: int = Field(4, ge=1, le=8)
    psus_needed: int = Field(2, ge=1, le=8, description="the tray stays up while this many PSUs work")
    nics: int = Field(9, ge=0, le=16)
    height_u: int = Field(4, ge=1, le=10)
    cpu_w: float = Field(300.0, ge=0, le=2000, description="[E] per CPU during training (350 W TDP)")
    air_w: float = Field(1500.0, ge=0, le=20000, description="[E] NICs, DIMMs, drives, fans, PSU losses: heat left to air")
    board_liquid_w: float = Field(600.0, ge=0, le=20000, description="[E] NVSwitches and VRMs on the cold-plate loop "
                                  "(8 x 700 W + CPUs + these = 8.4 kW, the measured HGX H100 training peak)")
    air_w_slope_per_k: float = Field(0.01, ge=0, description="[E] air-side heat grows by this fraction per K "
                                     "of inlet air above the hall setpoint (server fans speed up)")
    cpu_c_j_per_k: float = Field(300.0, gt=0, description="[E] CPU die, lid and cold plate heat capacity")
    cpu_r_k_per_w: float = Field(0.05, gt=0, description="[E] CPU to coolant at design flow (flow^-0.8)")
    cpu_t_throttle_c: float = Field(100.0, description="[E] PROCHOT: the CPU throttles here")
    cpu_throttle_frac: float = Field(0.4, gt=0, le=1, description="[E] CPU power left when throttled")
    cpu_t_shutdown_c: float = Field(115.0, description="[E] THERMTRIP: the host shuts down here")

    @model_validator(mode="after")
    def _psus(self) -> TraySpec:
        if self.psus_needed > self.psus:
            raise ValueError(f"psus_needed {self.psus_needed} cannot exceed psus {self.psus}")
        return self


class CduSpec(Spec):
    """In-rack coolant distribution unit with N+1 pumps (Supermicro 4U CDU)."""

    pumps: int = Field(2, ge=1, le=4)
    pumps_needed: int = Field(1, ge=1, description="pumps that carry the full design flow")
    design_flow_lpm: float = Field(120.0, gt=0, description="[E] 1.5 L/min per kW (OCP)")
    capacity_kw_at_32c: float = Field(100.0, gt=0, description="Hot Chips 2024 slide [S]")
    capacity_kw_at_40c: float = Field(60.0, gt=0, description="Hot Chips 2024 slide [S]")
    loop_volume_l: float = Field(60.0, gt=0, description="[E] rack secondary loop inventory")
    switchover_s: float = Field(3.0, ge=0, le=30, description="[E] redundant pump takes over in 1-5 s")
    pump_power_w: float = Field(600.0, ge=0, le=20000, description="[E] per running pump")
    height_u: int = Field(4, ge=1, le=10)
    leak_drain_s: float = Field(600.0, gt=0, description="[E] a leak empties the rack loop in this time")
    stagnant_below_flow_frac: float = Field(0.05, gt=0, le=1, description="[E] below this flow the loop is "
                                            "stagnant: supply and return sensors read the same loop water")
    pump_spinup_s: float = Field(0.5, gt=0, description="[E] time constant of a pump speed change (~1-2 s to settle)")
    switchover_flow_frac: float = Field(0.3, ge=0, le=1, description="[E] flow during a pump switchover")
    cavitation_inventory_frac: float = Field(0.5, gt=0, le=1, description="[E] flow falls in proportion below "
                                             "this loop fill (pumps draw air)")

    @model_validator(mode="after")
    def _capacity_falls(self) -> CduSpec:
        if self.capacity_kw_at_40c >= self.capacity_kw_at_32c:
            raise ValueError("capacity_kw_at_40c must be below capacity_kw_at_32c (warmer water carries less)")
        if self.pumps_needed > self.pumps:
            raise ValueError("pumps_needed cannot exceed pumps")
        return self

    @property
    def ua_w_per_k(self) -> float:
        """epsilon * C_min of the CDU heat exchanger, fitted to the two capacity points."""
        return (self.capacity_kw_at_32c - self.capacity_kw_at_40c) * 1000.0 / 8.0

    @property
    def t_return_max_c(self) -> float:
        """Highest rack return temperature the CDU is rated for (fit of the same two points)."""
        return 32.0 + self.capacity_kw_at_32c * 1000.0 / self.ua_w_per_k

    def capacity_w(self, facility_supply_c: float) -> float:
        return max(0.0, self.ua_w_per_k * (self.t_return_max_c - facility_supply_c))


class RdhxSpec(Spec):
    """Rear-door heat exchanger: fans lit blue when healthy, red when due for replacement."""

    fans: int = Field(6, ge=1, le=12, description="[E] not published")
    capacity_kw: float = Field(40.0, gt=0, description="[E] active door 30-75 kW")
    fan_power_w: float = Field(150.0, ge=0, le=5000)
    fan_l10_h: float = Field(75000.0, gt=0, description="fan vendor L10 life at 40 C [S]")
    fan_mttf_over_l10: float = Field(7.0, gt=0, description="fan MTTF as a multiple of L10 [S]")
    air_flow_m3_per_s: float = Field(0.6, gt=0, description="[E] server exhaust air through the door")
    effectiveness: float = Field(0.8, gt=0, le=1, description="[E] door coil effectiveness with all fans running")
    passive_frac: float = Field(0.5, ge=0, le=1, description="[E] share of effectiveness and capacity left with "
                                "no fans (35 kW passive vs ~70 kW active doors)")


class RackSpec(Spec):
    slots_u: int = Field(48, ge=8, le=60)
    trays: int = Field(8, ge=1, le=16)
    tray: TraySpec = TraySpec()
    cdu: CduSpec = CduSpec()
    rdhx: RdhxSpec = RdhxSpec()

    @property
    def gpus(self) -> int:
        return self.trays * self.tray.gpus

    def design_power_w(self, gpu: GpuModel) -> float:
        t = self.tray
        return self.trays * (t.gpus * gpu.tdp_w + t.cpus * t.cpu_w + t.board_liquid_w + t.air_w)

    def design_liquid_w(self, gpu: GpuModel) -> float:
        t = self.tray
        return self.trays * (t.gpus * gpu.tdp_w + t.cpus * t.cpu_w + t.board_liquid_w)


class HallSpec(Spec):
    name: str = Field(pattern=r"^H[1-9][0-9]?$")
    gpu_model: str = "H100"
    rows: int = Field(14, ge=1, le=100)
    racks_per_row: int = Field(28, ge=1, le=100)

    @property
    def racks(self) -> int:
        return self.rows * self.racks_per_row


# --------------------------------------------------------------------------- site
class GridSpec(Spec):
    import_limit_mw: float = Field(150.0, gt=0, description="MLGW/TVA substation [S]")
    ramp_limit_mw_per_s: float = Field(2.0, gt=0, description="[E] what the utility tolerates")
    fluctuation_sags_per_day: float = Field(4.0, ge=0, description="[E] small random sags")
    fluctuation_depth: float = Field(0.08, ge=0, le=1)
    fluctuation_min_depth: float = Field(0.02, ge=0, le=1, description="[E] random sags are at least this deep")
    fluctuation_min_s: float = Field(0.5, gt=0, description="[E] random sag length, shortest")
    fluctuation_max_s: float = Field(3.0, gt=0, description="[E] random sag length, longest")


class TurbineSpec(Spec):
    count: int = Field(15, ge=0, le=100, description="permit for 15 Solar SMT-130 [S]")
    rating_mw: float = Field(16.5, gt=0)
    start_time_s: float = Field(600.0, ge=0, description="[E] 10-15 min to full load")
    ramp_frac_per_min: float = Field(0.08, gt=0, le=1, description="[E] 5-10 %/min")
    start_after_deficit_s: float = Field(5.0, ge=0, description="[E] start when the grid cannot carry the load")
    start_margin_frac: float = Field(0.1, ge=0, description="[E] start enough units for the deficit plus this")
    low_soc_margin: float = Field(0.15, ge=0, le=1, description="[E] start one unit when SoC is this close to "
                                  "its minimum")
    stop_after_surplus_s: float = Field(600.0, ge=0, description="[E] stop once the grid has carried the load "
                                        "this long")


class MegapackSpec(Spec):
    units: int = Field(168, ge=0, le=1000, description="[E] 156-208 reported")
    power_mw_per_unit: float = Field(1.93, gt=0, description="Megapack 2 XL, 2-hour [S/E]")
    energy_mwh_per_unit: float = Field(3.9, gt=0)
    round_trip_efficiency: float = Field(0.92, gt=0.5, le=1.0)
    soc_min: float = Field(0.05, ge=0, lt=1)
    soc_max: float = Field(0.95, gt=0, le=1)
    soc_initial: float = Field(0.8, ge=0, le=1)
    soc_target: float = Field(0.8, ge=0, le=1, description="slow correction toward this SoC")
    smoothing_s: float = Field(15.0, gt=0, description="[E] the grid sees the load low-passed over 5-30 s")
    soc_correction_s: float = Field(1800.0, gt=0, description="[E] the SoC error is corrected over this time")
    soc_correction_max_frac: float = Field(0.1, ge=0, le=1, description="[E] of battery power, at most, for "
                                           "SoC correction and turbine recharge")

    @model_validator(mode="after")
    def _soc_bounds(self) -> MegapackSpec:
        if not self.soc_min < self.soc_max:
            raise ValueError("soc_min must be below soc_max")
        for name in ("soc_initial", "soc_target"):
            if not self.soc_min <= getattr(self, name) <= self.soc_max:
                raise ValueError(f"{name} must lie between soc_min and soc_max")
        return self


class ChillerSpec(Spec):
    count: int = Field(7, ge=1, le=200, description="[E] N+1 at the 36 C design day")
    capacity_mw: float = Field(16.0, gt=0, description="[E] heat removed per chiller at the reference lift")
    cop_ref: float = Field(6.5, gt=1, description="water-cooled centrifugal 6-7 [S]")
    cop_ref_ambient_c: float = Field(30.0)
    cop_ref_leaving_c: float = Field(30.0, description="[E] leaving (supply) water at which cop_ref holds")
    cop_slope_per_k: float = Field(0.18, ge=0, description="[E] COP lost per K of lift (ambient minus leaving "
                                   "water) above the reference lift")
    cop_min: float = Field(2.5, gt=0)
    cop_max: float = Field(12.0, gt=1, description="[E] mechanical COP at small lift")
    capacity_derate_per_k: float = Field(0.012, ge=0, description="[E] capacity lost per K of lift above reference")
    capacity_max_frac: float = Field(1.15, ge=1, description="[E] most a chiller gives at small lift")
    capacity_min_frac: float = Field(0.3, gt=0, le=1, description="[E] least a running chiller gives at large lift")
    free_cooling_margin_k: float = Field(5.0, ge=0, description="free cooling starts when ambient < supply - margin")
    economiser_band_k: float = Field(6.0, gt=0, description="[E] partial free cooling over this band below the "
                                     "margin (COP blends continuously to free_cooling_cop)")
    free_cooling_cop: float = Field(25.0, gt=1)
    control_time_s: float = Field(60.0, gt=0, description="[E] chillers pull the supply back to setpoint over this")
    loop_volume_m3: float = Field(400.0, gt=0, description="[E] facility water inventory")
    flow_m3_per_s: float = Field(3.0, gt=0, description="[E] facility water flow")
    pump_power_mw: float = Field(1.2, ge=0)


class AmbientSpec(Spec):
    """Outdoor dry bulb as a daily sine (Memphis summer by default)."""

    mean_c: float = Field(27.0, ge=-60, le=60, description="[S] June mean high 31.5 C")
    amplitude_c: float = Field(5.0, ge=0, le=40)
    peak_hour: float = Field(15.0, ge=0, lt=24)
    start_hour: float = Field(8.0, ge=0, lt=24, description="time of day at simulated t = 0")


class JobSpec(Spec):
    name: str
    halls: list[str] = Field(min_length=1, description="the job runs on every in-service tray of these halls")
    iteration_s: float = Field(4.0, gt=0.5, le=60, description="2-10 s [P/S]")
    compute_fraction: float = Field(0.6, gt=0, lt=1)
    compute_w: float = Field(650.0, gt=0)
    comm_w: float = Field(300.0, gt=0)
    checkpoint_interval_s: float = Field(600.0, gt=0)
    checkpoint_stall_s: float = Field(30.0, ge=0)
    restart_s: float = Field(480.0, ge=0, description="5-20 min [S: Kokolis et al.]")
    checkpoint_tb: float | None = Field(None, gt=0, description="[E] model + optimizer state (14-16 B/param); "
                                        "None: what checkpoint_stall_s writes at full storage bandwidth")


TRAY_HARDWARE_LLAMA3 = {"gsp": 17, "thermal_interface": 6, "ssd": 3, "cpu": 2, "memory": 2, "chassis": 2,
                        "io_board": 2}  # interruptions in 54 days on 16,384 GPUs (Llama 3, Table 5)


class FailureSpec(Spec):
    """Unexpected-failure rates per GPU-day, from the Llama 3 table (419 unexpected in 54 days on 16,384)."""

    gpu_per_gpu_day: float = Field(148 / (16384 * 54), ge=0, le=100)
    hbm_per_gpu_day: float = Field((72 + 19) / (16384 * 54), ge=0, le=100, description="HBM3 + SRAM")
    nic_per_gpu_day: float = Field(7 / (16384 * 54), ge=0, le=100, description="NIC (switch/cable: fabric.failures)")
    psu_per_gpu_day: float = Field(3 / (16384 * 54), ge=0, le=100)
    software_per_gpu_day: float = Field((54 + 32 + 7 + 6 + 2) / (16384 * 54), ge=0, le=100,
                                        description="software, host maintenance, NCCL, SDC, dependency: "
                                                    "interrupt, nothing to swap")
    tray_hardware_per_gpu_day: dict[str, float] = Field(
        default_factory=lambda: {k: v / (16384 * 54) for k, v in TRAY_HARDWARE_LLAMA3.items()},
        description="Llama 3 table causes that take their tray out of service until it is swapped")
    weibull_shape: dict[str, float] = Field(default_factory=dict, description="[E] optional Weibull shape per "
                                            "cause (gpu, hbm, nic, psu, software, or a tray hardware cause); "
                                            "below 1 the hazard falls with age (infant mortality)")
    fleet_age_h: float = Field(2000.0, gt=0, le=1e6, description="[E] fleet age at t = 0, where the rates above hold")

    @model_validator(mode="after")
    def _causes(self) -> FailureSpec:
        bad = [f"{k}={v}" for k, v in self.tray_hardware_per_gpu_day.items() if not 0 <= v <= 100]
        if bad:
            raise ValueError(f"tray_hardware_per_gpu_day: rates must be 0..100 per GPU-day ({', '.join(bad)})")
        known = {"gpu", "hbm", "nic", "psu", "software", *self.tray_hardware_per_gpu_day}
        for k, v in self.weibull_shape.items():
            if k not in known:
                raise ValueError(f"weibull_shape: unknown cause {k!r} (known: {', '.join(sorted(known))})")
            if not 0.1 <= v <= 10:
                raise ValueError(f"weibull_shape.{k}: shape {v} is outside 0.1-10")
        return self
    pump_per_pump_year: float = Field(0.05, ge=0, le=1000, description="[E] not published")
    leak_per_rack_year: float = Field(0.002, ge=0, le=1000, description="[E]")
    chiller_per_chiller_year: float = Field(0.5, ge=0, le=1000, description="[E]")
    turbine_trip_per_start: float = Field(0.02, ge=0, le=1, description="[E]")
    fan_due_frac: float = Field(0.03, ge=0, le=1, description="[E] fans past their L10 life at t = 0 (drawn red)")
    thermal_trip_reset_c: float = Field(60.0, description="a GPU shut down by heat comes back below this")
    auto_repair: bool = Field(True, description="repair failed parts after a drawn repair time (headless runs; "
                                                "the GUI's work orders turn this off)")


class RepairTimes(Spec):
    """Lognormal repair times: median and sigma of log [E, configurable]."""

    fan_median_s: float = Field(450.0, gt=0)
    pump_median_s: float = Field(1350.0, gt=0)
    psu_median_s: float = Field(600.0, gt=0)
    nic_median_s: float = Field(3600.0, gt=0)
    tray_median_s: float = Field(7200.0, gt=0, description="tray swap with drain and burn-in 1-4 h")
    leak_median_s: float = Field(5400.0, gt=0)
    chiller_median_s: float = Field(7200.0, gt=0)
    turbine_median_s: float = Field(1800.0, gt=0, description="[E] reset of a tripped turbine")
    sigma: float = Field(0.4, ge=0, le=2)


class ProtectionSpec(Spec):
    """What the plant does when facility water runs hot (ASHRAE W classes name the maximum facility supply):
    the CDUs' supply high-temperature limit caps the GPUs' power in their racks, then trips the racks."""

    max_facility_supply_c: float = Field(45.0, description="ASHRAE W45: supply never exceeds this [S]")
    cap_start_c: float = Field(39.0, description="[E] CDU facility supply at which GPU power capping begins")
    cap_full_c: float = Field(42.0, description="[E] supply at which GPUs are capped to their lowest limit")
    trip_c: float = Field(43.0, description="[E] supply at which the CDU trips its rack (GPU trays off); "
                          "below the maximum by the ~2 K the loops' stored heat still adds")
    reset_c: float = Field(36.0, description="[E] tripped racks come back once the supply is below this")

    @model_validator(mode="after")
    def _ordered(self) -> ProtectionSpec:
        if not self.reset_c < self.cap_start_c < self.cap_full_c <= self.trip_c <= self.max_facility_supply_c:
            raise ValueError("need reset_c < cap_start_c < cap_full_c <= trip_c <= max_facility_supply_c")
        return self


class DistributionSpec(Spec):
    """Facility water from the plant to the racks: each hall's supply arrives after a transport delay (pipe
    length over velocity, further halls later); along a row's header the far racks get their water later,
    a little warmer and at a little less flow (pressure drop)."""

    hall_delay_s: float = Field(30.0, ge=0, description="[E] plant to the first hall's headers")
    hall_delay_step_s: float = Field(15.0, ge=0, description="[E] each further hall adds this")
    header_delay_s: float = Field(20.0, ge=0, description="[E] first to last rack of a row")
    header_rise_k: float = Field(0.4, ge=0, description="[E] supply warmer at the last rack of a row than the first")
    header_flow_drop_frac: float = Field(0.1, ge=0, lt=1, description="[E] facility-side flow lost at the last rack")


class HallAirSpec(Spec):
    """The hall air: one node per hall (air plus the structure it touches), cooled by air handlers with a
    proportional controller (they load up as the air warms above setpoint), each with a capacity, fan power
    and a failure rate. Racks take their inlet air from it, plus the warm exhaust of their row neighbours."""

    setpoint_c: float = Field(27.0, description="ASHRAE A1 recommended maximum inlet [S]")
    control_band_k: float = Field(2.0, gt=0, description="[E] air handlers reach full output this far above "
                                  "setpoint")
    handlers_per_hall: int = Field(8, ge=0, le=100, description="[E]")
    handler_capacity_kw: float = Field(400.0, gt=0, description="[E] heat one air handler removes")
    handler_fan_kw: float = Field(20.0, ge=0, description="[E] fan power of one air handler at full output")
    handler_failure_per_year: float = Field(0.5, ge=0, description="[E] per air handler")
    handler_repair_median_s: float = Field(5400.0, gt=0, description="[E]")
    heat_capacity_mj_per_k: float = Field(100.0, gt=0, description="[E] hall air plus the structure it touches")
    neighbour_recirculation: float = Field(0.3, ge=0, le=1, description="[E] share of a neighbour rack's exhaust "
                                           "rise above hall air that reaches a rack's inlet (hot-aisle leakage)")


class PowerProtectionSpec(Spec):
    """What happens when the grid, Megapacks, turbines and load shedding together cannot carry the load:
    the electrical protection trips hall feeders in a set order (a hall's IT, CDU pumps, door fans and air
    handlers share its feed), and closes them again one at a time once supply has margin."""

    hall_trip_order: list[str] = Field(default_factory=list, description="halls, first to trip first "
                                       "(default: the last hall first)")
    trip_after_s: float = Field(5.0, ge=0, description="[E] a shortfall lasting this long trips the next hall "
                                "(UPS ride-through)")
    short_frac: float = Field(0.005, ge=0, description="[E] shortfall, as a fraction of the load, that counts")
    restore_after_s: float = Field(300.0, ge=0, description="[E] supply margin held this long closes a hall again")
    restore_margin_frac: float = Field(0.1, ge=0, description="[E] margin over the hall's load needed to close it")
    shed_gain: float = Field(1.2, gt=0, description="[E] load shedding: cap fraction added per unit shortfall")
    shed_max_frac: float = Field(0.7, ge=0, lt=1, description="[E] most of GPU power shedding may take")
    shed_relax_per_s: float = Field(0.01, gt=0, description="[E] shedding eases by this fraction per second")
    shed_relax_margin_frac: float = Field(0.05, ge=0, description="[E] supply margin before shedding eases")


class EstimatesSpec(Spec):
    """How the engine books throttling and estimates the time to a rack's limits [E] (not published: chosen
    so training swings neither flicker the estimates nor begin and end a throttle event every iteration)."""

    throttle_quiet_s: float = Field(30.0, ge=0, le=3600, description="[E] a rack's throttling ends after this "
                                    "long without a throttled GPU")
    hot_rack_margin_k: float = Field(2.0, ge=0, le=20, description="[E] the throttle logic runs on racks whose "
                                     "hottest GPU is within this of its cap (the others cannot throttle this step)")
    ttl_tau_gpu_s: float = Field(4.0, gt=0, le=600, description="[E] smoothing of GPU power and heat flow in "
                                 "the time-to-limit estimate")
    ttl_tau_loop_s: float = Field(30.0, gt=0, le=3600, description="[E] smoothing of the facility-water trend")
    ttl_min_gpu_k_per_s: float = Field(0.15, gt=0, le=100, description="[E] a GPU heating slower than this "
                                       "is not heading for a limit")
    ttl_min_loop_k_per_s: float = Field(0.003, gt=0, le=10, description="[E] a facility-water trend slower "
                                        "than this is no trend")
    ttl_horizon_s: float = Field(3600.0, gt=0, le=86400, description="estimates beyond this show as none")


class SiteSpec(Spec):
    grid: GridSpec = GridSpec()
    turbines: TurbineSpec = TurbineSpec()
    megapacks: MegapackSpec = MegapackSpec()
    chillers: ChillerSpec = ChillerSpec()
    ambient: AmbientSpec = AmbientSpec()
    protection: ProtectionSpec = ProtectionSpec()
    power_protection: PowerProtectionSpec = PowerProtectionSpec()
    air: HallAirSpec = HallAirSpec()
    distribution: DistributionSpec = DistributionSpec()
    supply_setpoint_c: float = Field(30.0, ge=10, le=50, description="ASHRAE W32 class [E]")
    room_air_cop: float = Field(3.5, gt=0, description="[E] hall air handlers removing heat left to air")
    electrical_loss_frac: float = Field(0.02, ge=0, lt=0.2, description="[E] transformers, UPS, busways")


class Facility(Spec):
    """A whole facility file (YAML or JSON)."""

    name: Annotated[str, AfterValidator(check_safe_name)]
    description: str = ""
    gpu_models: list[GpuModel] = Field(default_factory=lambda: [H100, H200], min_length=1)
    rack: RackSpec = RackSpec()
    halls: list[HallSpec] = Field(min_length=1)
    site: SiteSpec = SiteSpec()
    jobs: list[JobSpec] = Field(default_factory=list)
    failures: FailureSpec = FailureSpec()
    repairs: RepairTimes = RepairTimes()
    fabric: FabricSpec = FabricSpec()  # network fabric (model/network.py)
    storage: StorageSpec = StorageSpec()  # storage pools (model/network.py)
    estimates: EstimatesSpec = EstimatesSpec()  # throttle bookkeeping, time-to-limit estimates

    @model_validator(mode="after")
    def _consistent(self) -> Facility:
        problems: list[str] = []
        models = {m.name for m in self.gpu_models}
        names = [h.name for h in self.halls]
        if len(set(names)) != len(names):
            problems.append("halls: hall names must be unique")
        for i, h in enumerate(self.halls):
            if h.gpu_model not in models:
                problems.append(f"halls.{i}.gpu_model: unknown GPU model {h.gpu_model!r} (known: {sorted(models)})")
        used_u = self.rack.trays * self.rack.tray.height_u + self.rack.cdu.height_u
        if used_u > self.rack.slots_u:
            problems.append(f"rack: {self.rack.trays} trays x {self.rack.tray.height_u}U + CDU "
                            f"{self.rack.cdu.height_u}U = {used_u}U exceeds the rack's {self.rack.slots_u}U")
        cap = self.rack.cdu.capacity_w(self.site.supply_setpoint_c)
        for m in self.gpu_models:
            if m.name in {h.gpu_model for h in self.halls}:
                need = self.rack.design_liquid_w(m)
                if need > cap:
                    problems.append(f"rack.cdu: carries {cap / 1e3:.0f} kW at {self.site.supply_setpoint_c:g} C "
                                    f"supply but a {m.name} rack needs {need / 1e3:.0f} kW at design load")
        for i, j in enumerate(self.jobs):
            for h in j.halls:
                if h not in names:
                    problems.append(f"jobs.{i}.halls: unknown hall {h!r}")
        for h in self.site.power_protection.hall_trip_order:
            if h not in names:
                problems.append(f"site.power_protection.hall_trip_order: unknown hall {h!r}")
        job_halls = [h for j in self.jobs for h in j.halls]
        if len(set(job_halls)) != len(job_halls):
            problems.append("jobs: a hall is given to more than one job")
        n_racks, n_gpus = self.n_racks, self.n_gpus
        if n_gpus > MAX_GPUS or n_racks > MAX_RACKS:
            problems.append(f"halls: {n_racks:,} racks with {n_gpus:,} GPUs exceed the limit of {MAX_RACKS:,} racks "
                            f"and {MAX_GPUS:,} GPUs (a run would need about "
                            f"{estimated_memory_bytes(n_gpus) / 2**30:.1f} GiB)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def gpu_model(self, name: str) -> GpuModel:
        return next(m for m in self.gpu_models if m.name == name)

    @property
    def n_racks(self) -> int:
        return sum(h.racks for h in self.halls)

    @property
    def n_gpus(self) -> int:
        return self.n_racks * self.rack.gpus


H100 = GpuModel(name="H100", tdp_w=700, idle_w=70, idle_mem_w=140, hbm_gb=80)
H200 = GpuModel(name="H200", tdp_w=700, idle_w=78, idle_mem_w=150, hbm_gb=141)

FaultKind = Literal[
    "gpu_failure", "hbm_failure", "nic_failure", "psu_failure", "fan_failure", "pump_failure",
    "coolant_leak", "chiller_trip", "grid_sag", "grid_outage", "turbine_trip", "heat_wave",
    "switch_failure", "link_failure", "link_flap", "storage_node_failure", "drive_failure",
    "frontend_nic_failure", "frontend_leaf_failure",
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]
