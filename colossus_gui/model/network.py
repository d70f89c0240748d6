"""The network fabric and the storage system: specs and the arithmetic of their layout.

Fabric: NVIDIA Spectrum-X Ethernet in three tiers. Per hall, rail-optimised leaves: GPU ``n`` of every server in
a group of ``servers_per_leaf`` servers has its own 400 GbE SuperNIC on leaf ``n`` of that group (so a group of
64 servers, one array of 8 racks, has 8 leaves, one per rail). Leaves go up to the hall's spines, spines to a
site-wide super-spine tier; the storage system hangs off the super-spines. Every link (port, optic or cable)
is a failure unit. Beside it, each hall has a small front-end (storage and management) network: every
server's front-end NIC on a front-end leaf, whose uplinks carry the storage traffic (a job's checkpoints are
capped by the uplinks of the halls it runs in) and whose switches and optics draw power in the IT load. A
server's front-end NIC (with its optic and cable) and a front-end leaf are failure units: a server cut off
from the front end cannot read data or write checkpoints, so it leaves its job's pool.

Storage: pools of nodes (NVMe flash, disk) with drives. The write bandwidth a checkpoint gets is the sum over
the nodes in service, less what rebuilds take, capped by the storage uplinks on the super-spines.

Figures and sources: [P] primary, [S] secondary, [E] engineering estimate (configurable; the README's
"Network and storage" section gives the sources). Counts left at ``None`` are sized from the facility.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

# Llama 3 pre-training, 16,384 H100 over 54 days [P: arXiv 2407.21783, table 5]
_LLAMA_GPU_DAYS = 16384 * 54
SWITCH_CABLE_PER_GPU_DAY = 35 / _LLAMA_GPU_DAYS  # 8.4 % of the interruptions
SWITCH_PER_YEAR = 0.08  # [P: Microsoft, ~2 % of switches fail within 3 months]


class NetSpec(BaseModel):
    """Same rules as the facility's specs: unknown fields are errors, values checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SwitchModel(NetSpec):
    """A switch type. Spectrum-X SN5600 class: 51.2 Tb/s, 64 x 800 GbE (128 x 400 GbE) [P: NVIDIA datasheet]."""

    name: str = "SN5600"
    ports: int = Field(64, ge=4, le=512, description="physical ports")
    port_gbps: float = Field(800.0, gt=0)
    power_w: float = Field(1800.0, ge=0, description="[E] 1.5-2.5 kW without optics")

    @property
    def capacity_gbps(self) -> float:
        return self.ports * self.port_gbps


class FabricFailureSpec(NetSpec):
    """Random fabric failures. The GPU-link rate is what is left of Llama 3's switch/cable share once the
    leaves' own failures (each interrupts the job on it) are taken out, so the two together give 8.4 %."""

    switch_per_switch_year: float = Field(SWITCH_PER_YEAR, ge=0, description="[P] Microsoft switch study")
    gpu_link_per_link_day: float = Field(SWITCH_CABLE_PER_GPU_DAY - SWITCH_PER_YEAR / 365.25 / 64, ge=0,
                                         description="[P/E] Llama 3 switch/cable less leaf failures")
    uplink_per_link_day: float = Field(SWITCH_CABLE_PER_GPU_DAY - SWITCH_PER_YEAR / 365.25 / 64, ge=0,
                                       description="[E] leaf-spine and spine-super-spine links, same optics")
    flap_share: float = Field(0.3, ge=0, le=1, description="[E] link faults that begin as flapping, not down")
    frontend_nic_per_nic_year: float = Field((SWITCH_CABLE_PER_GPU_DAY - SWITCH_PER_YEAR / 365.25 / 64) * 365.25,
                                             ge=0, description="[E] a server's front-end NIC, optic or cable: "
                                                               "one link, at the GPU links' rate")
    frontend_leaf_per_switch_year: float = Field(SWITCH_PER_YEAR, ge=0, description="[E] front-end leaf, as "
                                                                                    "the fabric's switches")
    leaf_power_feed_per_year: float = Field(0.0, ge=0, description="[E] optional correlated failure: one power "
                                                                   "feed takes the leaves it feeds (0 = off)")
    leaves_per_power_feed: int = Field(8, ge=1, le=64, description="[E] a group's rails share a feed")


class FabricRepairSpec(NetSpec):
    """Lognormal repair times (median, sigma of log) [E]."""

    optic_median_s: float = Field(3600.0, gt=0, description="[E] optic swap 0.5-2 h")
    switch_median_s: float = Field(4 * 3600.0, gt=0, description="[E] switch swap and re-cable")
    frontend_nic_median_s: float = Field(2 * 3600.0, gt=0, description="[E] front-end NIC or optic swap on a "
                                                                       "drained server")
    sigma: float = Field(0.35, ge=0, le=2)


class FrontEndSpec(NetSpec):
    """The hosts' front-end (storage and management) network, per hall: one front-end NIC port per server on a
    front-end leaf, the leaves' uplinks to the storage core. Oversubscribed, as front-end networks are [E]."""

    nic_gbps: float = Field(400.0, gt=0, description="[S] a server's ninth 400 GbE NIC, for the host (storage, "
                                                     "management)")
    servers_per_leaf: int = Field(48, ge=1, le=256, description="[E] servers on one front-end leaf")
    leaf: SwitchModel = SwitchModel(name="SN5400 front-end leaf", ports=64, port_gbps=400.0, power_w=1200.0)
    leaf_uplinks: int = Field(8, ge=0, le=256, description="[E] uplinks per front-end leaf to the storage core")
    uplink_gbps: float = Field(400.0, gt=0, description="[E] speed of a front-end uplink")

    @model_validator(mode="after")
    def _ports_fit(self) -> FrontEndSpec:
        need = self.servers_per_leaf * self.nic_gbps + self.leaf_uplinks * self.uplink_gbps
        if need > self.leaf.capacity_gbps + 1e-6:
            raise ValueError(f"fabric.frontend.leaf: {self.servers_per_leaf} x {self.nic_gbps:g}G down + "
                             f"{self.leaf_uplinks} x {self.uplink_gbps:g}G up exceed its "
                             f"{self.leaf.capacity_gbps:g} Gb/s")
        return self


class FabricSpec(NetSpec):
    """Three-tier Spectrum-X fabric, sized from the facility (non-blocking by default), and the front-end
    network beside it."""

    leaf: SwitchModel = SwitchModel(name="SN5600 leaf")
    spine: SwitchModel = SwitchModel(name="SN5600 spine")
    superspine: SwitchModel = SwitchModel(name="SN5600 super-spine")
    gpu_link_gbps: float = Field(400.0, gt=0, description="BlueField-3 SuperNIC per GPU [S: ServeTheHome]")
    servers_per_leaf: int = Field(64, ge=1, le=256, description="[E] leaf down ports: one per server per rail")
    leaf_uplinks: int = Field(32, ge=1, le=256, description="[E] 32 x 800G = the 64 x 400G down (non-blocking)")
    spine_downlinks: int = Field(32, ge=1, le=256)
    spine_uplinks: int = Field(32, ge=1, le=256)
    storage_uplinks_per_superspine: int = Field(2, ge=0, le=64, description="[E] ports to the storage network")
    throughput_efficiency: float = Field(0.95, gt=0, le=1, description="Spectrum-X data throughput [P]")
    compute_phase_traffic: float = Field(0.1, ge=0, le=1, description="[E] link load outside the comm phase")
    optic_400g_w: float = Field(11.0, ge=0, description="[E] 10-12 W per 400G module")
    optic_800g_w: float = Field(16.0, ge=0, description="[E] 15-17 W per 800G module")
    flaps_to_timeout: int = Field(3, ge=1, le=100, description="[E] flaps before a collective times out")
    flap_interval_s: float = Field(90.0, gt=0, description="[E] mean time between flaps of a flapping link "
                                                           "(each gap 0.5-1.5 x this)")
    failures: FabricFailureSpec = FabricFailureSpec()
    repairs: FabricRepairSpec = FabricRepairSpec()
    frontend: FrontEndSpec = FrontEndSpec()

    @model_validator(mode="after")
    def _ports_fit(self) -> FabricSpec:
        up = self.spine.port_gbps
        problems = []
        leaf_need = self.servers_per_leaf * self.gpu_link_gbps + self.leaf_uplinks * up
        if leaf_need > self.leaf.capacity_gbps + 1e-6:
            problems.append(f"fabric.leaf: {self.servers_per_leaf} x {self.gpu_link_gbps:g}G down + "
                            f"{self.leaf_uplinks} x {up:g}G up exceed its {self.leaf.capacity_gbps:g} Gb/s")
        if self.spine_downlinks + self.spine_uplinks > self.spine.ports:
            problems.append(f"fabric.spine: {self.spine_downlinks} down + {self.spine_uplinks} up ports exceed its "
                            f"{self.spine.ports}")
        if self.storage_uplinks_per_superspine >= self.superspine.ports:
            problems.append("fabric.storage_uplinks_per_superspine: leaves no super-spine port for the spines")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def optic_w(self, gbps: float) -> float:
        return self.optic_800g_w if gbps > 400.0 else self.optic_400g_w


class StoragePoolSpec(NetSpec):
    """A pool of identical storage nodes (Supermicro NVMe flash nodes for most of it [S])."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    tier: Literal["flash", "disk"] = "flash"
    nodes: int | None = Field(None, ge=1, le=20000, description="None: one node per gpus_per_node GPUs")
    gpus_per_node: float = Field(100.0, gt=0, description="[E] sizing when nodes is not given")
    drives_per_node: int = Field(24, ge=1, le=120)
    drive_tb: float = Field(30.72, gt=0, description="[E] 30.72 TB NVMe; disk 24 TB")
    node_write_gbs: float = Field(20.0, gt=0, description="[E] GB/s a node absorbs")
    node_read_gbs: float = Field(40.0, gt=0, description="[E] GB/s a node serves")
    node_power_w: float = Field(1200.0, ge=0, description="[E] without drives")
    drive_power_w: float = Field(20.0, ge=0, description="[E] NVMe ~20 W active, disk ~8 W")
    fill: float = Field(0.7, ge=0, le=1, description="[E] fraction of raw capacity holding data (rebuild size)")
    drive_rebuild_gbs: float = Field(2.0, gt=0, description="[E] write bandwidth one drive rebuild takes")
    node_rebuild_gbs: float = Field(60.0, gt=0, description="[E] write bandwidth one node rebuild takes")
    drive_afr: float = Field(0.01, ge=0, le=1, description="[E] annual failure rate per drive (NVMe 0.5-1 %)")
    node_per_node_year: float = Field(0.1, ge=0, description="[E] node (board, PSU, NIC) failures")

    def n_nodes(self, n_gpus: int) -> int:
        return self.nodes if self.nodes is not None else max(2, math.ceil(n_gpus / self.gpus_per_node))


def _default_pools() -> list[StoragePoolSpec]:
    return [
        StoragePoolSpec(name="flash", tier="flash"),
        StoragePoolSpec(name="disk", tier="disk", gpus_per_node=400.0, drives_per_node=84, drive_tb=24.0,
                        node_write_gbs=8.0, node_read_gbs=12.0, node_power_w=800.0, drive_power_w=8.0,
                        drive_rebuild_gbs=0.5, node_rebuild_gbs=20.0, drive_afr=0.015),
    ]


class StorageSpec(NetSpec):
    """Exabyte-class storage: at 100k GPUs the defaults give ~0.74 EB of flash and ~0.5 EB of disk [E]."""

    pools: list[StoragePoolSpec] = Field(default_factory=_default_pools, min_length=1)
    checkpoint_pool: str = Field("flash", description="checkpoints are written here")
    uplink_gbps: float = Field(800.0, gt=0, description="storage uplinks on the super-spines")
    drive_median_s: float = Field(1800.0, gt=0, description="[E] hot-swap a drive")
    node_median_s: float = Field(4 * 3600.0, gt=0, description="[E] repair or replace a node")
    sigma: float = Field(0.35, ge=0, le=2)

    @model_validator(mode="after")
    def _pools_named(self) -> StorageSpec:
        names = [p.name for p in self.pools]
        if len(set(names)) != len(names):
            raise ValueError("storage.pools: pool names must be unique")
        if self.checkpoint_pool not in names:
            raise ValueError(f"storage.checkpoint_pool: no pool {self.checkpoint_pool!r} (pools: {', '.join(names)})")
        return self


def quiet_network(data: dict) -> None:
    """Turn off random fabric and storage failures in a facility dict (tests, drills without random faults)."""
    fab = data.setdefault("fabric", {})
    if isinstance(fab, BaseModel):
        fab = data["fabric"] = fab.model_dump()
    fl = fab.setdefault("failures", {})
    for k in ("switch_per_switch_year", "gpu_link_per_link_day", "uplink_per_link_day", "leaf_power_feed_per_year",
              "frontend_nic_per_nic_year", "frontend_leaf_per_switch_year"):
        fl[k] = 0.0
    st = data.get("storage")
    if isinstance(st, BaseModel):
        st = st.model_dump()
    pools = (st or {}).get("pools") or [p.model_dump() for p in _default_pools()]
    for p in pools:
        p["drive_afr"] = 0.0
        p["node_per_node_year"] = 0.0
    data["storage"] = {**(st or {}), "pools": pools}


class NetLayout:
    """Counts and index arithmetic of the fabric and storage of one facility (no state).

    Switches: leaves of all halls, then spines of all halls, then super-spines (one flat index). A hall's leaf
    ``group * rails + rail`` serves rail ``rail`` of the servers ``group * servers_per_leaf ...``; its port
    ``P01..`` faces those servers, ports after ``servers_per_leaf`` go up to the spines.
    Links: GPU links first (link index = GPU index), then leaf-spine links (leaf ``L`` uplink ``u`` at
    ``L * leaf_uplinks + u``), then spine-super-spine links (spine ``S`` uplink ``u``). Uplink ``k`` of a hall
    goes to spine ``k % spines`` of that hall, port ``k // spines``: the load spreads evenly (ECMP)."""

    def __init__(self, facility):  # a Facility (facility.py imports this module: not imported here)
        f = facility
        fab = self.fabric = f.fabric
        self.rails = f.rack.tray.gpus
        self.gpus_per_tray = f.rack.tray.gpus
        self.spl = fab.servers_per_leaf
        self.leaf_up = fab.leaf_uplinks
        self.spine_up = fab.spine_uplinks
        servers = np.array([h.racks * f.rack.trays for h in f.halls], dtype=np.int64)
        self.hall_servers = servers
        self.hall_tray_start = np.concatenate([[0], np.cumsum(servers)]).astype(np.int64)
        groups = -(-servers // self.spl)
        self.hall_leaves = groups * self.rails
        self.hall_spines = np.maximum(1, -(-(self.hall_leaves * self.leaf_up) // fab.spine_downlinks))
        self.hall_leaf_start = np.concatenate([[0], np.cumsum(self.hall_leaves)]).astype(np.int64)
        self.hall_spine_start = np.concatenate([[0], np.cumsum(self.hall_spines)]).astype(np.int64)
        self.n_halls = len(f.halls)
        self.hall_names = [h.name for h in f.halls]
        self.n_leaves = int(self.hall_leaf_start[-1])
        self.n_spines = int(self.hall_spine_start[-1])
        ss_ports = fab.superspine.ports - fab.storage_uplinks_per_superspine
        self.n_superspines = max(1, -(-(self.n_spines * self.spine_up) // ss_ports))
        self.n_switches = self.n_leaves + self.n_spines + self.n_superspines
        self.spine0 = self.n_leaves
        self.ss0 = self.n_leaves + self.n_spines
        self.n_gpus = int(self.hall_tray_start[-1]) * self.gpus_per_tray
        n_trays = int(self.hall_tray_start[-1])
        tray_hall = np.repeat(np.arange(len(servers)), servers)
        local = np.arange(n_trays) - self.hall_tray_start[tray_hall]
        self.tray_leaf_base = self.hall_leaf_start[tray_hall] + (local // self.spl) * self.rails  # rail 1's leaf
        self.n_ls_links = self.n_leaves * self.leaf_up
        self.n_ss_links = self.n_spines * self.spine_up
        self.ls0 = self.n_gpus
        self.sl0 = self.n_gpus + self.n_ls_links
        self.n_links = self.sl0 + self.n_ss_links
        # front-end network: server ``k`` of a hall is on its front-end leaf ``k // servers_per_leaf`` (its NIC
        # is addressed by its tray, ``H1-R001-T1-FE``; the leaves ``H1-FL01`` after the hall's in order)
        fe = fab.frontend
        self.fe_spl = fe.servers_per_leaf
        self.hall_fe_leaves = -(-servers // fe.servers_per_leaf)
        self.hall_fe_start = np.concatenate([[0], np.cumsum(self.hall_fe_leaves)]).astype(np.int64)
        self.n_fe_leaves = int(self.hall_fe_leaves.sum())
        self.tray_fe_leaf = (self.hall_fe_start[tray_hall] + local // fe.servers_per_leaf).astype(np.int32)
        self.fe_leaf_hall = np.repeat(np.arange(len(servers)), self.hall_fe_leaves).astype(np.int32)
        self.n_fe_uplinks = self.n_fe_leaves * fe.leaf_uplinks
        self.n_fe_server_links = n_trays
        # storage
        st = self.storage = f.storage
        self.pool_names = [p.name for p in st.pools]
        self.pool_nodes = np.array([p.n_nodes(self.n_gpus) for p in st.pools], dtype=np.int64)
        self.pool_node_start = np.concatenate([[0], np.cumsum(self.pool_nodes)]).astype(np.int64)
        self.pool_dpn = np.array([p.drives_per_node for p in st.pools], dtype=np.int64)
        self.pool_drive_start = np.concatenate([[0], np.cumsum(self.pool_nodes * self.pool_dpn)]).astype(np.int64)
        self.n_storage_nodes = int(self.pool_node_start[-1])
        self.n_drives = int(self.pool_drive_start[-1])
        self.ckpt_pool = self.pool_names.index(st.checkpoint_pool)

    # ------------------------------------------------------------------ switches
    def switch_tier(self, s: int) -> str:
        return "leaf" if s < self.spine0 else "spine" if s < self.ss0 else "superspine"

    def switch_hall(self, s: int) -> int:
        """The hall of a leaf or spine; -1 for a super-spine."""
        if s < self.spine0:
            return int(np.searchsorted(self.hall_leaf_start, s, side="right") - 1)
        if s < self.ss0:
            return int(np.searchsorted(self.hall_spine_start, s - self.spine0, side="right") - 1)
        return -1

    def switch_address(self, s: int) -> str:
        s = int(s)
        if s < self.spine0:
            h = self.switch_hall(s)
            return f"{self.hall_names[h]}-LF{s - int(self.hall_leaf_start[h]) + 1:03d}"
        if s < self.ss0:
            h = self.switch_hall(s)
            return f"{self.hall_names[h]}-SP{s - self.spine0 - int(self.hall_spine_start[h]) + 1:02d}"
        return f"SS{s - self.ss0 + 1:02d}"

    def leaf_of_gpu(self, gpu) -> np.ndarray:
        """Global leaf index of each GPU's link (arrays welcome)."""
        gpu = np.asarray(gpu, dtype=np.int64)
        tray = gpu // self.gpus_per_tray
        return self.tray_leaf_base[tray] + (gpu - tray * self.gpus_per_tray)

    def gpus_of_leaf(self, leaf: int) -> np.ndarray:
        """The GPUs on a leaf's down ports, in port order."""
        h = self.switch_hall(leaf)
        local = leaf - int(self.hall_leaf_start[h])
        group, rail = divmod(local, self.rails)
        first = group * self.spl
        n = min(self.spl, int(self.hall_servers[h]) - first)
        trays = int(self.hall_tray_start[h]) + first + np.arange(n)
        return trays * self.gpus_per_tray + rail

    # ------------------------------------------------------------------ links
    def link_address(self, link: int) -> str:
        """A link is named by the port at its lower end: the leaf port of a GPU or leaf-spine link, the spine
        port of a spine-super-spine link."""
        link = int(link)
        if link < self.ls0:
            tray = link // self.gpus_per_tray
            h = int(np.searchsorted(self.hall_tray_start, tray, side="right") - 1)
            port = (tray - int(self.hall_tray_start[h])) % self.spl
            return f"{self.switch_address(int(self.leaf_of_gpu(link)))}-P{port + 1:02d}"
        if link < self.sl0:
            leaf, u = divmod(link - self.ls0, self.leaf_up)
            return f"{self.switch_address(leaf)}-P{self.spl + u + 1:02d}"
        spine, u = divmod(link - self.sl0, self.spine_up)
        return f"{self.switch_address(self.spine0 + spine)}-P{self.fabric.spine_downlinks + u + 1:02d}"

    def link_tier(self, link: int) -> str:
        return "gpu" if link < self.ls0 else "leaf-spine" if link < self.sl0 else "spine-superspine"

    def port_link(self, switch: int, port: int) -> int | None:
        """The link on 0-based ``port`` of ``switch``, or None if that port is not cabled."""
        fab = self.fabric
        if switch < self.spine0:
            h = self.switch_hall(switch)
            local = switch - int(self.hall_leaf_start[h])
            group, rail = divmod(local, self.rails)
            if port < self.spl:
                server = group * self.spl + port
                if server >= self.hall_servers[h]:
                    return None
                return (int(self.hall_tray_start[h]) + server) * self.gpus_per_tray + rail
            u = port - self.spl
            return self.ls0 + switch * self.leaf_up + u if u < self.leaf_up else None
        if switch < self.ss0:
            s = switch - self.spine0
            h = self.switch_hall(switch)
            s_local = s - int(self.hall_spine_start[h])
            n_sp = int(self.hall_spines[h])
            if port < fab.spine_downlinks:
                k = port * n_sp + s_local  # uplink k of the hall's leaves
                if k >= int(self.hall_leaves[h]) * self.leaf_up:
                    return None
                return self.ls0 + int(self.hall_leaf_start[h]) * self.leaf_up + k
            u = port - fab.spine_downlinks
            return self.sl0 + s * self.spine_up + u if u < self.spine_up else None
        k = port * self.n_superspines + (switch - self.ss0)
        return self.sl0 + k if k < self.n_ss_links else None

    def switch_ports(self, switch: int) -> int:
        if switch < self.spine0:
            return self.spl + self.leaf_up
        if switch < self.ss0:
            return self.fabric.spine_downlinks + self.spine_up
        return self.fabric.superspine.ports - self.fabric.storage_uplinks_per_superspine

    # ------------------------------------------------------------------ front-end network
    def fe_leaf_address(self, leaf: int) -> str:
        h = int(self.fe_leaf_hall[int(leaf)])
        return f"{self.hall_names[h]}-FL{int(leaf) - int(self.hall_fe_start[h]) + 1:02d}"

    def trays_of_fe_leaf(self, leaf: int) -> np.ndarray:
        """The servers (trays) on a front-end leaf, in port order."""
        h = int(self.fe_leaf_hall[int(leaf)])
        first = (int(leaf) - int(self.hall_fe_start[h])) * self.fe_spl
        n = min(self.fe_spl, int(self.hall_servers[h]) - first)
        return int(self.hall_tray_start[h]) + first + np.arange(n)

    # ------------------------------------------------------------------ storage
    def node_pool(self, node: int) -> int:
        return int(np.searchsorted(self.pool_node_start, node, side="right") - 1)

    @staticmethod
    def node_address(node: int) -> str:
        return f"ST{int(node) + 1:03d}"

    def drive_index(self, node: int, d: int) -> int:
        p = self.node_pool(node)
        return int(self.pool_drive_start[p] + (node - self.pool_node_start[p]) * self.pool_dpn[p] + d)

    def drive_node(self, drive: int) -> tuple[int, int]:
        p = int(np.searchsorted(self.pool_drive_start, drive, side="right") - 1)
        n, d = divmod(int(drive - self.pool_drive_start[p]), int(self.pool_dpn[p]))
        return int(self.pool_node_start[p]) + n, d

    def drive_address(self, drive: int) -> str:
        node, d = self.drive_node(drive)
        return f"{self.node_address(node)}-D{d + 1:02d}"
