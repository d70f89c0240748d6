"""Stable, human-readable addresses for every component, and the index maps between levels.

Halls ``H1``; racks ``H1-R001``; trays ``H1-R001-T1``; GPUs ``H1-R001-T1-G1``; CPUs ``H1-R001-T1-C1``;
PSUs ``H1-R001-T1-PSU1``; NICs ``H1-R001-T1-N1``; CDU ``H1-R001-CDU`` with pumps ``H1-R001-CDU-P1``;
rear door ``H1-R001-RDHX`` with fans ``H1-R001-RDHX-F1``; chillers ``CH1``; Megapacks ``MP001``;
turbines ``GT1``; the grid ``GRID``. Network and storage (model/network.py): leaves ``H1-LF001``, spines
``H1-SP01``, super-spines ``SS01``, switch ports (the links) ``H1-LF001-P01``, ``H1-SP01-P33``, ``SS01-P01``;
storage nodes ``ST001`` with drives ``ST001-D01``. A GPU's NIC keeps its tray address (``H1-R001-T1-N1``);
so does the server's front-end NIC (``H1-R001-T1-FE``, its link to the hall's front-end leaf ``H1-FL01``).

Global indices are flat: rack ``r`` (all halls in order), tray ``r * trays + t``, GPU ``tray * gpus + g``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .facility import Facility
from .network import NetLayout

_RACK_RE = re.compile(
    r"^(?P<hall>H\d+)(?:-R(?P<rack>\d{3,4})"
    r"(?:-(?:T(?P<tray>\d+)(?:-(?:G(?P<gpu>\d+)|C(?P<cpu>\d+)|PSU(?P<psu>\d+)|N(?P<nic>\d+)|(?P<fe>FE)))?"
    r"|(?P<cdu>CDU)(?:-P(?P<pump>\d+))?|(?P<rdhx>RDHX)(?:-F(?P<fan>\d+))?))?)?$"
)
_SITE_RE = re.compile(r"^(?:(?P<grid>GRID)|CH(?P<chiller>\d+)|MP(?P<megapack>\d{3})|GT(?P<turbine>\d+))$")
_NET_RE = re.compile(r"^(?:(?P<hall>H\d+)-(?P<tier>LF|SP|FL)(?P<sw>\d{2,4})|SS(?P<ss>\d{2,4}))(?:-P(?P<port>\d{2,3}))?$")
_STORE_RE = re.compile(r"^ST(?P<node>\d{3,5})(?:-D(?P<drive>\d{2,3}))?$")


class AddressError(ValueError):
    """An address that does not name a component of this facility."""


@dataclass(frozen=True)
class Address:
    """A parsed address. ``kind`` is one of: hall, rack, tray, gpu, cpu, psu, nic, cdu, pump, rdhx, fan,
    grid, chiller, megapack, turbine, leaf, spine, superspine, port, storage_node, drive, fe_nic (a server's
    front-end NIC: ``index`` is its tray), fe_leaf (a front-end leaf: ``index`` over all halls). ``index`` is the flat
    index at that level (rack, tray, GPU, switch, link, storage node, ...); for pumps and fans ``index`` is the
    rack and ``sub`` the 0-based pump/fan; for a port ``index`` is the link and ``sub`` the switch; for a
    drive ``index`` is the storage node and ``sub`` the 0-based drive."""

    kind: str
    index: int
    sub: int = 0
    text: str = ""


class Topology:
    """Index maps for one facility. Built once; everything here is arrays or small lists."""

    def __init__(self, facility: Facility):
        f = facility
        self.facility = f
        self.hall_names = [h.name for h in f.halls]
        self.trays_per_rack = f.rack.trays
        self.gpus_per_tray = f.rack.tray.gpus
        self.gpus_per_rack = self.trays_per_rack * self.gpus_per_tray
        self.cpus_per_tray = f.rack.tray.cpus
        self.psus_per_tray = f.rack.tray.psus
        self.nics_per_tray = f.rack.tray.nics
        self.pumps_per_cdu = f.rack.cdu.pumps
        self.fans_per_door = f.rack.rdhx.fans
        counts = [h.racks for h in f.halls]
        self.hall_rack_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.n_racks = int(self.hall_rack_start[-1])
        self.n_trays = self.n_racks * self.trays_per_rack
        self.n_gpus = self.n_trays * self.gpus_per_tray
        self.n_halls = len(f.halls)
        self.rack_hall = np.repeat(np.arange(self.n_halls), counts).astype(np.int32)
        local = np.arange(self.n_racks) - self.hall_rack_start[self.rack_hall]
        rpr = np.array([h.racks_per_row for h in f.halls])[self.rack_hall]
        self.rack_local = local.astype(np.int32)  # 0-based rack number within its hall
        self.rack_row = (local // rpr).astype(np.int32)
        self.rack_pos = (local % rpr).astype(np.int32)
        self.hall_gpu_model = [h.gpu_model for h in f.halls]
        self.n_chillers = f.site.chillers.count
        self.n_megapacks = f.site.megapacks.units
        self.n_turbines = f.site.turbines.count
        self.net = NetLayout(f)

    # ------------------------------------------------------------------ formatting
    def hall_address(self, h: int) -> str:
        return self.hall_names[h]

    def rack_address(self, r: int) -> str:
        return f"{self.hall_names[self.rack_hall[r]]}-R{int(self.rack_local[r]) + 1:03d}"

    def tray_address(self, tray: int) -> str:
        r, t = divmod(int(tray), self.trays_per_rack)
        return f"{self.rack_address(r)}-T{t + 1}"

    def gpu_address(self, gpu: int) -> str:
        tray, g = divmod(int(gpu), self.gpus_per_tray)
        return f"{self.tray_address(tray)}-G{g + 1}"

    def pump_address(self, rack: int, pump: int) -> str:
        return f"{self.rack_address(rack)}-CDU-P{pump + 1}"

    def fan_address(self, rack: int, fan: int) -> str:
        return f"{self.rack_address(rack)}-RDHX-F{fan + 1}"

    @staticmethod
    def chiller_address(i: int) -> str:
        return f"CH{i + 1}"

    @staticmethod
    def megapack_address(i: int) -> str:
        return f"MP{i + 1:03d}"

    @staticmethod
    def turbine_address(i: int) -> str:
        return f"GT{i + 1}"

    # ------------------------------------------------------------------ parsing
    def parse(self, text: str) -> Address:
        """Parse ``text`` into an :class:`Address`; raise :class:`AddressError` naming what is wrong."""
        s = text.strip().upper()
        m = _SITE_RE.match(s)
        if m:
            if m["grid"]:
                return Address("grid", 0, text=s)
            for kind, limit in (("chiller", self.n_chillers), ("megapack", self.n_megapacks),
                                ("turbine", self.n_turbines)):
                if m[kind]:
                    i = int(m[kind]) - 1
                    if not 0 <= i < limit:
                        raise AddressError(f"{text!r}: there are {limit} {kind}s")
                    return Address(kind, i, text=s)
        net = self._parse_net(text, s)
        if net is not None:
            return net
        m = _RACK_RE.match(s)
        if not m:
            raise AddressError(f"{text!r} is not an address (examples: H1, H1-R001, H1-R001-T1-G1, "
                               "H1-R001-CDU-P1, H1-R001-RDHX-F1, CH1, MP001, GT1, GRID, H1-LF001, H1-LF001-P01, "
                               "H1-SP01, SS01, ST001, ST001-D01, H1-R001-T1-FE, H1-FL01)")
        if m["hall"] not in self.hall_names:
            raise AddressError(f"{text!r}: no hall {m['hall']} (halls: {', '.join(self.hall_names)})")
        h = self.hall_names.index(m["hall"])
        if m["rack"] is None:
            return Address("hall", h, text=s)
        n_in_hall = int(self.hall_rack_start[h + 1] - self.hall_rack_start[h])
        rl = int(m["rack"]) - 1
        if not 0 <= rl < n_in_hall:
            raise AddressError(f"{text!r}: hall {m['hall']} has racks R001-R{n_in_hall:03d}")
        r = int(self.hall_rack_start[h]) + rl
        if m["cdu"]:
            if m["pump"] is None:
                return Address("cdu", r, text=s)
            return Address("pump", r, self._sub(text, m["pump"], self.pumps_per_cdu, "pump"), text=s)
        if m["rdhx"]:
            if m["fan"] is None:
                return Address("rdhx", r, text=s)
            return Address("fan", r, self._sub(text, m["fan"], self.fans_per_door, "fan"), text=s)
        if m["tray"] is None:
            return Address("rack", r, text=s)
        tray = r * self.trays_per_rack + self._sub(text, m["tray"], self.trays_per_rack, "tray")
        if m["gpu"]:
            return Address("gpu", tray * self.gpus_per_tray + self._sub(text, m["gpu"], self.gpus_per_tray, "GPU"),
                           text=s)
        if m["fe"]:
            return Address("fe_nic", tray, text=s)
        for kind, limit in (("cpu", self.cpus_per_tray), ("psu", self.psus_per_tray), ("nic", self.nics_per_tray)):
            if m[kind]:
                return Address(kind, tray, self._sub(text, m[kind], limit, kind.upper()), text=s)
        return Address("tray", tray, text=s)

    def _parse_net(self, text: str, s: str) -> Address | None:
        """Switches, their ports, storage nodes and drives; None if ``s`` is none of these."""
        net = self.net
        m = _STORE_RE.match(s)
        if m:
            node = int(m["node"]) - 1
            if not 0 <= node < net.n_storage_nodes:
                raise AddressError(f"{text!r}: storage nodes run ST001-{net.node_address(net.n_storage_nodes - 1)}")
            if m["drive"] is None:
                return Address("storage_node", node, text=s)
            dpn = int(net.pool_dpn[net.node_pool(node)])
            return Address("drive", node, self._sub(text, m["drive"], dpn, "drive"), text=s)
        m = _NET_RE.match(s)
        if not m:
            return None
        if m["ss"]:
            sw = self._sub(text, m["ss"], net.n_superspines, "super-spine") + net.ss0
            kind = "superspine"
        else:
            if m["hall"] not in self.hall_names:
                raise AddressError(f"{text!r}: no hall {m['hall']} (halls: {', '.join(self.hall_names)})")
            h = self.hall_names.index(m["hall"])
            if m["tier"] == "FL":
                leaf = int(net.hall_fe_start[h]) + self._sub(text, m["sw"], int(net.hall_fe_leaves[h]),
                                                             "front-end leaf")
                if m["port"] is not None:
                    raise AddressError(f"{text!r}: a front-end leaf's ports are its servers' front-end NICs "
                                       f"(H1-R001-T1-FE)")
                return Address("fe_leaf", leaf, text=s)
            if m["tier"] == "LF":
                sw = int(net.hall_leaf_start[h]) + self._sub(text, m["sw"], int(net.hall_leaves[h]), "leaf")
                kind = "leaf"
            else:
                sw = net.spine0 + int(net.hall_spine_start[h]) + self._sub(text, m["sw"], int(net.hall_spines[h]),
                                                                           "spine")
                kind = "spine"
        if m["port"] is None:
            return Address(kind, sw, text=s)
        port = self._sub(text, m["port"], net.switch_ports(sw), "port")
        link = net.port_link(sw, port)
        if link is None:
            raise AddressError(f"{text!r}: port {port + 1} of {net.switch_address(sw)} is not cabled")
        return Address("port", link, sw, text=s)

    @staticmethod
    def _sub(text: str, num: str, limit: int, what: str) -> int:
        i = int(num) - 1
        if not 0 <= i < limit:
            raise AddressError(f"{text!r}: {what} numbers run 1-{limit}")
        return i

    def rack_of(self, addr: Address) -> int | None:
        """The rack an address lies in, or None for site-level components."""
        if addr.kind in ("rack", "cdu", "pump", "rdhx", "fan"):
            return addr.index
        if addr.kind in ("tray", "cpu", "psu", "nic", "fe_nic"):
            return addr.index // self.trays_per_rack
        if addr.kind == "gpu":
            return addr.index // self.gpus_per_rack
        return None
