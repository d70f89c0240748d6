"""Inspector rows for fabric switches, links, storage nodes and drives (and the fabric line of a GPU)."""

from __future__ import annotations

import numpy as np

from ...model.addresses import Address

NETWORK_KINDS = ("leaf", "spine", "superspine", "port", "storage_node", "drive", "fe_leaf")


def _state(ok: bool, flapping: bool = False) -> str:
    return "FLAPPING" if ok and flapping else ("up" if ok else "DOWN")


def network_properties(engine, addr: Address) -> list[tuple[str, str]]:
    net, fab, st = engine.topo.net, engine.fabric, engine.storage
    f = engine.facility
    k = addr.kind
    rows: list[tuple[str, str]] = []
    if k in ("leaf", "spine", "superspine"):
        s = addr.index
        model = getattr(f.fabric, k)
        bad = ~fab.link_ok | fab.link_flapping
        at = np.flatnonzero(bad & (fab.link_switch == s))
        rows += [("Tier", k), ("Model", f"{model.name}: {model.ports} x {model.port_gbps:g} GbE, "
                                        f"{model.power_w / 1e3:.1f} kW"),
                 ("State", _state(bool(fab.switch_ok[s]))), ("Ports cabled", f"{net.switch_ports(s)}"),
                 ("Links down / flapping", ", ".join(net.link_address(int(i)) for i in at[:8]) or "none")]
        if k == "leaf":
            gpus = net.gpus_of_leaf(s)
            topo = engine.topo
            rows += [("GPUs", f"{gpus.size}: {topo.gpu_address(int(gpus[0]))} … {topo.gpu_address(int(gpus[-1]))}"),
                     ("Rail", f"{s % net.rails + 1}")]
        if k in ("leaf", "spine"):
            h = net.switch_hall(s)
            rows.append(("Hall bisection", f"{net.hall_names[h]}: {fab.hall_bisection[h]:.1%} of design"))
        if k == "superspine":
            rows.append(("Storage uplinks", f"{f.fabric.storage_uplinks_per_superspine} x {f.storage.uplink_gbps:g} G"))
    elif k == "port":
        link = addr.index
        rows += [("Link", net.link_address(link)), ("Tier", net.link_tier(link)),
                 ("State", _state(bool(fab.link_ok[link]), bool(fab.link_flapping[link]))),
                 ("Flaps", f"{int(fab.link_flaps[link])} (timeout after {f.fabric.flaps_to_timeout})")]
        if link < net.ls0:
            rows += [("GPU", engine.topo.gpu_address(link)),
                     ("Speed", f"{f.fabric.gpu_link_gbps:g} GbE (BlueField-3 SuperNIC N{link % net.rails + 1})")]
        else:
            rows.append(("Speed", f"{f.fabric.spine.port_gbps:g} GbE"))
    elif k == "fe_leaf":
        leaf = addr.index
        fe = f.fabric.frontend
        trays = net.trays_of_fe_leaf(leaf)
        topo = engine.topo
        h = int(net.fe_leaf_hall[leaf])
        cut = np.flatnonzero(~fab.fe_nic_ok[trays])
        rows += [("Tier", "front-end leaf"), ("Model", f"{fe.leaf.name}: {fe.leaf.ports} x {fe.leaf.port_gbps:g} GbE, "
                                                     f"{fe.leaf.power_w / 1e3:.1f} kW"),
                 ("State", _state(bool(fab.fe_leaf_ok[leaf]))),
                 ("Servers", f"{trays.size}: {topo.tray_address(int(trays[0]))} … {topo.tray_address(int(trays[-1]))}"),
                 ("Front-end NICs down", ", ".join(fab.fe_nic_address(int(trays[i])) for i in cut[:8]) or "none"),
                 ("Uplinks", f"{fe.leaf_uplinks} x {fe.uplink_gbps:g} G"),
                 ("Hall storage uplinks", f"{net.hall_names[h]}: {fab.hall_fe_gbs[h]:.0f} GB/s in service")]
    elif k == "storage_node":
        n = addr.index
        p = f.storage.pools[net.node_pool(n)]
        drives = st.drive_node == n
        rows += [("Pool", f"{p.name} ({p.tier})"), ("State", _state(bool(st.node_ok[n]))),
                 ("Drives", f"{int(drives.sum())} x {p.drive_tb:g} TB, {int((~st.drive_ok[drives]).sum())} down"),
                 ("Write bandwidth", f"{st.node_bw_gbs[n]:.1f} of {p.node_write_gbs:g} GB/s"),
                 ("Rebuild left", f"{st.node_rebuild_gb[n] / 1e3:.0f} TB" if st.node_rebuild_gb[n] > 0 else "none")]
    elif k == "drive":
        d = net.drive_index(addr.index, addr.sub)
        p = f.storage.pools[net.node_pool(addr.index)]
        rows += [("Node", net.node_address(addr.index)), ("Drive", f"{p.drive_tb:g} TB {p.tier}"),
                 ("State", _state(bool(st.drive_ok[d]))),
                 ("Rebuild left", f"{st.drive_rebuild_gb[d] / 1e3:.1f} TB" if st.drive_rebuild_gb[d] > 0 else "none")]
    return rows


def frontend_row(engine, tray: int) -> tuple[str, str]:
    """The front-end line of a server's inspector: its front-end NIC, its leaf, whether both are up."""
    fab, net = engine.fabric, engine.topo.net
    leaf = int(net.tray_fe_leaf[tray])
    return ("Front-end NIC", f"{fab.fe_nic_address(tray)} {_state(bool(fab.fe_nic_ok[tray]))} on "
                             f"{net.fe_leaf_address(leaf)} {_state(bool(fab.fe_leaf_ok[leaf]))}")


def gpu_fabric_row(engine, gpu: int) -> tuple[str, str]:
    """The fabric line of a GPU's inspector: its leaf port and whether its link is up."""
    fab, net = engine.fabric, engine.topo.net
    return ("Fabric", f"{net.link_address(gpu)} {_state(bool(fab.gpu_up[gpu]), bool(fab.link_flapping[gpu]))}")
