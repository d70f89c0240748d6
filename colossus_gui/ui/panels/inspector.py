"""The inspector: the selected component's live properties as a two-column table.

``component_properties(engine, address)`` is plain numpy/Python (no Qt) so it can be tested headless; the
widget only lays the rows out and refreshes them at ~1 Hz (text is costly).
"""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...model.addresses import Address
from ...model.thresholds import DEFAULT_LIMITS, Limits
from ...sim.engine import GT_STATE_NAMES, JOB_STATE_NAMES
from ...sim.time_to_limit import time_to_limit_text
from ..colors import text_color
from ..figures import goodput_text, swing, swing_text
from ..views.metrics import tray_powered
from .network_properties import NETWORK_KINDS, frontend_row, gpu_fabric_row, network_properties

SITE = Address("site", 0, text="SITE")

_NAN_RE = re.compile(r"\bnan\b(?:\s*(?:%|kW|MW|W|°C)(?!\w))?")


def _ok(flag) -> str:
    return "OK" if bool(flag) else "FAILED"


def _clock_state(clock: float, tripped: bool, ok: bool) -> str:
    if not ok:
        return "failed"
    if tripped:
        return "shut down (heat)"
    if clock <= 0:
        return "off"
    if clock <= 0.5 + 1e-6:
        return f"slowdown ({clock:.0%})"
    if clock < 0.999:
        return f"power-capped ({clock:.0%})"
    return "normal"


def _job_of_tray(engine, tray: int) -> str:
    j = int(engine.tray_job[tray])
    if j >= engine.n_jobs:
        return "none"
    return f"{engine.jobs[j].name} ({JOB_STATE_NAMES[int(engine.job_state[j])]})"


def component_properties(engine, addr: Address, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, str]]:
    """(property, value) rows describing ``addr`` now."""
    topo, f = engine.topo, engine.facility
    k = addr.kind
    rows: list[tuple[str, str]] = []
    if k == "site":
        # swinging quantities: mean and range over the swing window, as the site view and status bar show them
        pue = swing(engine, "pue")
        rows += [("Facility", f"{f.name}: {topo.n_halls} halls, {topo.n_racks:,} racks, {topo.n_gpus:,} GPUs"),
                 ("IT power", swing_text(engine, "it_mw")), ("Facility power", swing_text(engine, "facility_mw")),
                 ("Cooling power", swing_text(engine, "cooling_mw")),
                 ("PUE", f"{pue[0]:.3f}" if pue is not None and pue[0] > 0 else "n/a"),
                 ("Ambient", f"{engine.ambient_c():.1f} °C"),
                 ("GPUs in service", f"{int(engine.rack_gpus_up.sum()):,} / {topo.n_gpus:,}"),
                 ("Throttled GPUs", f"{int(engine.rack_throttled.sum()):,}"),
                 ("Hottest GPU", f"{float(engine.rack_hottest_c.max()):.1f} °C"),
                 ("Goodput", goodput_text(engine))]
        for j, job in enumerate(engine.jobs):
            rows.append((f"Job {job.name}", f"{JOB_STATE_NAMES[int(engine.job_state[j])]}, "
                                            f"{int(engine.job_gpus[j]):,} GPUs, speed {engine.job_speed[j]:.0%}, "
                                            f"{int(engine.job_interruptions[j])} interruptions"))
    elif k == "grid":
        g = f.site.grid
        sag = engine.sag_until > engine.t or engine.outage_until > engine.t
        rows += [("Import", f"{_fin(engine.grid_w) / 1e6:.2f} MW"), ("Available", f"{engine.grid_avail_w / 1e6:.1f} MW"),
                 ("Import limit", f"{g.import_limit_mw:.0f} MW"), ("Ramp limit", f"{g.ramp_limit_mw_per_s:g} MW/s"),
                 ("Disturbance", "sag/outage in progress" if sag else "none"),
                 ("Load shed", f"{engine.shed_frac:.0%}"), ("Ambient", f"{engine.ambient_c():.1f} °C")]
    elif k == "megapack":
        mp = f.site.megapacks
        rows += [("Yard", f"{mp.units} units × {mp.energy_mwh_per_unit:g} MWh, {mp.power_mw_per_unit:g} MW each"),
                 ("State of charge", f"{engine.soc:.1%}"),
                 ("Yard power", f"{engine.batt_w / 1e6:+.2f} MW (+ discharging)"),
                 ("This unit", f"{engine.batt_w / 1e6 / max(1, mp.units):+.3f} MW (the yard shares load evenly)"),
                 ("SoC limits", f"{mp.soc_min:.0%} – {mp.soc_max:.0%}, target {mp.soc_target:.0%}")]
    elif k == "turbine":
        gt = f.site.turbines
        i = addr.index
        rows += [("State", GT_STATE_NAMES[int(engine.gt_state[i])]), ("Output", f"{engine.gt_w[i] / 1e6:.2f} MW"),
                 ("Rating", f"{gt.rating_mw:g} MW"), ("Start time", f"{gt.start_time_s:.0f} s"),
                 ("Timer", f"{max(0.0, float(engine.gt_timer[i])):.0f} s")]
    elif k == "chiller":
        ch = f.site.chillers
        i = addr.index
        rows += [("State", "available" if engine.chiller_ok[i] else "TRIPPED"),
                 ("Heat removed", f"{engine.chiller_load_w[i] / 1e6:.2f} MW"),
                 ("Capacity", f"{ch.capacity_mw:g} MW at {ch.cop_ref_ambient_c:g} °C ambient"),
                 ("Plant COP", f"{engine.chiller_cop:.2f}"),
                 ("Facility supply / return", f"{engine.t_fs:.1f} / {engine.t_fr:.1f} °C")]
    elif k == "hall":
        a, b = int(topo.hall_rack_start[addr.index]), int(topo.hall_rack_start[addr.index + 1])
        spec = f.halls[addr.index]
        rows += [("Layout", f"{spec.rows} rows × {spec.racks_per_row} racks, {spec.gpu_model}"),
                 ("IT power", f"{engine.rack_power_w[a:b].sum() / 1e6:.2f} MW"),
                 ("Hottest GPU", f"{float(engine.rack_hottest_c[a:b].max()):.1f} °C"),
                 ("Hottest return", f"{float(engine.t_ret[a:b].max()):.1f} °C"),
                 ("GPUs in service", f"{int(engine.rack_gpus_up[a:b].sum()):,} / {(b - a) * topo.gpus_per_rack:,}"),
                 ("Throttled GPUs", f"{int(engine.rack_throttled[a:b].sum()):,}"),
                 ("Racks with low flow", f"{int((engine.flow_frac[a:b] < 0.8).sum())}"),
                 ("Power cap", "none" if not np.isfinite(engine.power_cap_w[addr.index])
                  else f"{engine.power_cap_w[addr.index]:.0f} W per GPU")]
    elif k in ("rack", "cdu", "pump", "rdhx", "fan"):
        r = addr.index
        if k == "pump":
            rows += [("Pump", _ok(engine.pump_ok[r, addr.sub])),
                     ("Switching over", f"{engine.pump_switch_s[r]:.1f} s left" if engine.pump_switch_s[r] > 0 else "no")]
        elif k == "fan":
            due = bool(engine.fan_due()[r, addr.sub])
            rows += [("Fan", _ok(engine.fan_ok[r, addr.sub])),
                     ("Age", f"{engine.fan_age0_h[r, addr.sub] + engine.t / 3600.0:,.0f} h of "
                             f"{f.rack.rdhx.fan_l10_h:,.0f} h L10"),
                     ("Due for replacement", "YES" if due else "no")]
        pumps = " ".join(f"P{i + 1} {_ok(v)}" for i, v in enumerate(engine.pump_ok[r]))
        due_row = engine.fan_due()[r]
        fans = " ".join(f"F{i + 1} {'FAILED' if not ok else 'due' if d else 'OK'}"
                        for i, (ok, d) in enumerate(zip(engine.fan_ok[r], due_row, strict=True)))
        if k in ("rack", "cdu", "pump"):
            rows += [("Pumps", pumps), ("Coolant flow", f"{engine.flow_frac[r]:.0%} of design"),
                     ("Supply / return", f"{engine.t_sup[r]:.1f} / {engine.t_ret[r]:.1f} °C"),
                     ("Heat to water", f"{engine.rack_q_water_w[r] / 1e3:.1f} kW"),
                     ("Leak", "YES" if engine.leak[r] else "no"),
                     ("Loop inventory", f"{engine.loop_inventory[r]:.0%}")]
        if k in ("rack", "rdhx", "fan"):
            rows += [("Door fans", fans), ("Heat to air", f"{engine.rack_q_air_w[r] / 1e3:.1f} kW")]
        if k == "rack":
            gpr = topo.gpus_per_rack
            rows = [("Hottest GPU", f"{engine.rack_hottest_c[r]:.1f} °C"),
                    ("Power", f"{engine.rack_power_w[r] / 1e3:.1f} kW"),
                    ("GPUs in service", f"{int(engine.rack_gpus_up[r])} / {gpr}"),
                    ("Throttled GPUs", f"{int(engine.rack_throttled[r])}"),
                    ("Time to limit", time_to_limit_text(engine, r) or "none (not heading to a limit)"),
                    ("Failed GPUs", f"{int((~engine.gpu_ok[r]).sum())}"),
                    ("Isolated", "YES" if engine.rack_isolated[r] else "no")] + rows
            rows.append(("Limits", f"cap {engine.rack_t_cap_c[r]:g} °C, slowdown {engine.rack_t_slow_c[r]:g} °C, "
                                   f"shutdown {engine.rack_t_shut_c[r]:g} °C"))
            rows.append(("Alarm limits", f"hottest GPU {limits['gpu_temp'].text()}; return "
                                         f"{limits['rack_return_temp'].text()}"))
        rows.insert(0, ("Position", f"hall {topo.hall_names[int(topo.rack_hall[r])]}, row {int(topo.rack_row[r]) + 1}, "
                                    f"rack {int(topo.rack_pos[r]) + 1} in the row"))
    elif k in ("tray", "cpu", "psu", "nic", "fe_nic"):
        t = addr.index
        r, tl = divmod(t, topo.trays_per_rack)
        g0 = tl * topo.gpus_per_tray
        sl = slice(g0, g0 + topo.gpus_per_tray)
        avail = bool(engine.tray_available()[t])
        psus = engine.psu_ok[t]
        nics = engine.nic_ok[t]
        if k == "psu":
            rows.append(("PSU", _ok(psus[addr.sub])))
        if k == "nic":
            rows.append(("NIC", _ok(nics[addr.sub]) + (" (host)" if addr.sub == topo.nics_per_tray - 1 else " (400G)")))
        if k == "cpu":
            rows.append(("CPU", "powered" if tray_powered(engine)[t] else "off"))
        rows += [("In job pool", "yes" if avail else "no"), ("Job", _job_of_tray(engine, t)),
                 ("Drained / slid out", f"{'yes' if engine.tray_drained[t] else 'no'} / "
                                        f"{'yes' if engine.tray_slid_out[t] else 'no'}"),
                 ("PSUs OK", f"{int(psus.sum())} / {psus.size} (needs {f.rack.tray.psus_needed})"),
                 ("NICs OK", f"{int(nics.sum())} / {nics.size}"), frontend_row(engine, t),
                 ("GPU power", f"{engine.gpu_power_w[r, sl].sum() / 1e3:.2f} kW"),
                 ("Hottest GPU", f"{float(engine.tj[r, sl].max()):.1f} °C")]
        for g in range(topo.gpus_per_tray):
            gi = g0 + g
            rows.append((f"G{g + 1}", f"{engine.tj[r, gi]:.1f} °C  {engine.gpu_power_w[r, gi]:.0f} W  "
                                      f"{_clock_state(float(engine.gpu_clock[r, gi]), bool(engine.gpu_tripped[r, gi]), bool(engine.gpu_ok[r, gi]))}"))
    elif k == "gpu":
        r, gi = divmod(addr.index, topo.gpus_per_rack)
        t = addr.index // topo.gpus_per_tray
        model = f.gpu_model(topo.hall_gpu_model[int(topo.rack_hall[r])])
        rows += [("Model", f"{model.name}, TDP {model.tdp_w:.0f} W, {model.hbm_gb:g} GB HBM"),
                 ("State", _clock_state(float(engine.gpu_clock[r, gi]), bool(engine.gpu_tripped[r, gi]),
                                        bool(engine.gpu_ok[r, gi]))),
                 ("Junction", f"{engine.tj[r, gi]:.1f} °C"), ("Cold plate", f"{engine.tp[r, gi]:.1f} °C"),
                 ("Power", f"{engine.gpu_power_w[r, gi]:.0f} W"), ("Clock", f"{engine.gpu_clock[r, gi]:.0%}"),
                 ("Health", _ok(engine.gpu_ok[r, gi])), ("Job", _job_of_tray(engine, t)),
                 ("Limits", f"cap {model.t_max_op_c:g} °C, slowdown {model.t_slowdown_c:g} °C, "
                            f"shutdown {model.t_shutdown_c:g} °C"),
                 ("Alarm limits", limits["gpu_temp"].text()), gpu_fabric_row(engine, addr.index)]
    elif k in NETWORK_KINDS:
        rows += network_properties(engine, addr)
    return rows


def _fin(x: float) -> float:
    return float(x) if np.isfinite(x) else 0.0


class InspectorWidget(QWidget):
    """Header with the address and kind, then the property table. Right-click asks for the fault menu."""

    context_menu_requested = Signal(str, QPoint)
    limits: Limits = DEFAULT_LIMITS  # the alarm limits shown beside the hardware limits

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.engine = None
        self.address: Address = SITE
        self.header = QLabel(self)
        self.header.setObjectName("inspectorHeader")
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.header.setContentsMargins(6, 4, 6, 2)
        self.table = QTableWidget(0, 2, self)
        self.table.setObjectName("inspectorTable")
        self.table.setHorizontalHeaderLabels(["Property", "Value"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.table, 1)

    def set_engine(self, engine) -> None:
        self.engine = engine
        self.set_address(SITE)

    def set_address(self, addr: Address) -> None:
        self.address = addr
        kind = {"site": "facility", "cdu": "in-rack CDU", "rdhx": "rear-door heat exchanger", "gpu": "GPU",
                "cpu": "CPU", "psu": "PSU", "nic": "NIC"}.get(addr.kind, addr.kind)
        self.header.setText(f"{addr.text}  ·  {kind}")
        self.refresh()

    def refresh(self) -> None:
        if self.engine is None or not self.isVisible() and self.table.rowCount():
            return
        rows = component_properties(self.engine, self.address, self.limits)
        t = self.table
        if t.rowCount() != len(rows):
            t.setRowCount(len(rows))
        for i, (name, value) in enumerate(rows):
            value = _NAN_RE.sub("n/a", value)  # no reading (recorded telemetry): say so, never "nan"
            for col, text in ((0, name), (1, value)):
                item = t.item(i, col)
                if item is None:
                    item = QTableWidgetItem(text)
                    t.setItem(i, col, item)
                elif item.text() != text:
                    item.setText(text)
                if col == 1:
                    item.setToolTip(text)
                    bad = "FAILED" in text or "TRIPPED" in text or text.startswith("YES")
                    dark = t.palette().color(t.palette().ColorRole.Base).value() < 128
                    item.setForeground(QColor(*text_color("critical", dark)) if bad else t.palette().text())

    def value_of(self, name: str) -> str | None:
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).text() == name:
                return self.table.item(i, 1).text()
        return None

    def _on_table_context_menu(self, pos) -> None:
        self.context_menu_requested.emit(self.address.text, self.table.viewport().mapToGlobal(pos))
