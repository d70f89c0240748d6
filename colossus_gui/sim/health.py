"""Is this component failed? Asked of the engine's arrays in one place (alarms, work orders, training and
the window's status bar read these instead of each comparing state codes themselves)."""

from __future__ import annotations

import numpy as np

from ..model.addresses import Address
from .engine import GT_TRIPPED


def turbines_tripped(engine) -> np.ndarray:
    """Bool per turbine: tripped (needs a reset/repair)."""
    return engine.gt_state == GT_TRIPPED


def failed_part_count(engine) -> int:
    """Failed parts of every kind: GPUs, PSUs, NICs, pumps, fans, leaking loops, chillers, tripped turbines,
    and the network's and storage's (switches, links, front-end NICs and leaves, storage nodes, drives)."""
    e = engine
    n = int((~e.gpu_ok).sum() + (~e.psu_ok).sum() + (~e.nic_ok).sum() + (~e.pump_ok).sum()
            + (~e.fan_ok).sum() + e.leak.sum() + (~e.chiller_ok).sum() + turbines_tripped(e).sum())
    fab = getattr(e, "fabric", None)
    if fab is not None:
        n += int((~fab.switch_ok).sum() + (~fab.link_ok).sum() + (~fab.fe_nic_ok).sum() + (~fab.fe_leaf_ok).sum())
    st = getattr(e, "storage", None)
    if st is not None:
        n += int((~st.node_ok).sum() + (~st.drive_ok).sum())
    return n


def is_failed(engine, a: Address) -> bool:
    """The component at ``a`` is failed or worn (a degraded pump or chiller counts): the part a work order
    on it would replace. Containers (rack, tray, hall) are not asked here."""
    e, topo = engine, engine.topo
    if a.kind == "pump":
        return bool(not e.pump_ok[a.index, a.sub] or e.pump_capacity[a.index, a.sub] < 1)
    if a.kind == "fan":
        return bool(not e.fan_ok[a.index, a.sub])
    if a.kind == "chiller":
        return bool(not e.chiller_ok[a.index] or e.chiller_capacity[a.index] < 1)
    if a.kind == "turbine":
        return bool(e.gt_state[a.index] == GT_TRIPPED)
    if a.kind == "cdu":
        return bool(e.leak[a.index])
    if a.kind == "gpu":
        r, g = divmod(a.index, topo.gpus_per_rack)
        return bool(not e.gpu_ok[r, g])
    if a.kind == "psu":
        return bool(not e.psu_ok[a.index, a.sub])
    if a.kind == "nic":
        return bool(not e.nic_ok[a.index, a.sub])
    if a.kind in ("leaf", "spine", "superspine"):  # network and storage
        return bool(not e.fabric.switch_ok[a.index])
    if a.kind == "port":
        return bool(not e.fabric.link_ok[a.index] or e.fabric.link_flapping[a.index])
    if a.kind == "fe_nic":  # the front-end network (sim/fabric.py)
        return bool(not e.fabric.fe_nic_ok[a.index])
    if a.kind == "fe_leaf":
        return bool(not e.fabric.fe_leaf_ok[a.index])
    if a.kind == "storage_node":
        return bool(not e.storage.node_ok[a.index])
    if a.kind == "drive":
        return bool(not e.storage.drive_ok[topo.net.drive_index(a.index, a.sub)])
    return False


def rack_has_failure(engine, r: int) -> bool:
    """Anything failed, tripped or worn in rack ``r`` (cooling, GPUs, PSUs, NICs, front-end NICs)."""
    e, topo = engine, engine.topo
    trays = slice(r * topo.trays_per_rack, (r + 1) * topo.trays_per_rack)
    return bool((~e.pump_ok[r]).any() or (~e.fan_ok[r]).any() or e.leak[r] or (~e.gpu_ok[r]).any()
                or e.gpu_tripped[r].any() or (~e.psu_ok[trays]).any() or (~e.nic_ok[trays]).any()
                or (e.pump_capacity[r] < 1).any() or (~e.fabric.fe_nic_ok[trays]).any())


__all__ = ["failed_part_count", "is_failed", "rack_has_failure", "turbines_tripped"]
