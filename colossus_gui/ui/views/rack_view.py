"""Rack elevation: 8 trays top to bottom, the CDU at the bottom, manifolds down the side and the rear door.

One custom ``paintEvent``. Geometry is laid out once per resize into a small list of hit regions (trays,
pumps, fans, CDU, door), which serve clicks, tooltips and the context menu; a refresh only repaints.
Trays are coloured by status (ok / warning / critical / out of service / slid out) and carry their 8 GPUs
as small squares coloured by junction temperature. A slid-out tray is drawn pulled out of its slot, hatched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from ...model.thresholds import DEFAULT_LIMITS, Limits
from ...sim.time_to_limit import time_to_limit_text
from .. import colors
from ..theme import severity_frame_color
from .hall_view import qcolor
from .lazy_refresh import LazyRefreshMixin
from .metrics import GPU_METRICS, GPU_STATES, gpu_state_codes, tray_powered

TRAY_OK, TRAY_WARN, TRAY_CRIT, TRAY_OUT, TRAY_SLID = range(5)
TRAY_STATUS_RGBA = (colors.OK, colors.WARNING, colors.CRITICAL, colors.OUT_OF_SERVICE, colors.SLID_OUT)
SLIDE_FRAC = 0.32  # a slid-out tray is drawn pulled out by this fraction of its width


@dataclass
class Region:
    rect: QRectF
    kind: str  # tray, pump, fan, cdu, rdhx, rack
    address: str
    index: int  # tray (flat), pump / fan number, or rack


def tray_status(engine, rack: int) -> tuple[np.ndarray, list[str]]:
    """Status code and a short text per tray of one rack (vectorised over the rack's trays)."""
    topo = engine.topo
    tpr, gpt = topo.trays_per_rack, topo.gpus_per_tray
    t0 = rack * tpr
    sl = slice(t0, t0 + tpr)
    ok = engine.gpu_ok[rack].reshape(tpr, gpt)
    trip = engine.gpu_tripped[rack].reshape(tpr, gpt)
    clk = engine.gpu_clock[rack].reshape(tpr, gpt)
    psu = engine.psu_ok[sl]
    nic = engine.nic_ok[sl]
    powered = tray_powered(engine)[sl]
    code = np.full(tpr, TRAY_OK, dtype=np.int8)
    warn = (clk < 0.999).any(axis=1) | ~psu.all(axis=1) | ~nic.all(axis=1)
    code[warn] = TRAY_WARN
    # clocks halved (slowdown, past the critical temperature) is critical, like a failed part
    crit = ~ok.all(axis=1) | trip.any(axis=1) | ~powered | (clk <= 0.5 + 1e-6).any(axis=1)
    code[crit] = TRAY_CRIT
    code[engine.tray_drained[sl]] = TRAY_OUT
    code[engine.tray_slid_out[sl]] = TRAY_SLID
    texts = []
    for i in range(tpr):
        if engine.tray_slid_out[t0 + i]:
            texts.append("slid out")
        elif engine.tray_drained[t0 + i]:
            texts.append("drained")
        elif engine.rack_isolated[rack]:
            texts.append("rack isolated")
        elif not powered[i]:
            texts.append("no power (PSUs)")
        elif not ok[i].all():
            texts.append(f"{int((~ok[i]).sum())} GPU failed")
        elif trip[i].any():
            texts.append(f"{int(trip[i].sum())} GPU shut down")
        elif (clk[i] <= 0.5 + 1e-6).any():
            texts.append("slowdown")
        elif (clk[i] < 0.999).any():
            texts.append("power-capped")
        elif not psu[i].all():
            texts.append(f"PSU {int(psu[i].sum())}/{psu.shape[1]}")
        elif not nic[i].all():
            texts.append("NIC failed")
        else:
            texts.append("in service")
    # the hottest GPU of every tray that has power: the figure an engineer looks for next
    tmax = np.fmax.reduce(engine.tj[rack].reshape(tpr, gpt), axis=1)  # NaN (no reading) only if all are
    texts = [f"{s}  {_c(tmax[i], 0)}" if powered[i] and not engine.tray_slid_out[t0 + i] else s
             for i, s in enumerate(texts)]
    return code, texts



def _na(v: float, unit: str, decimals: int = 1) -> str:
    """A figure, or "n/a" when there is no reading (recorded telemetry with gaps)."""
    return f"{v:.{decimals}f} {unit}" if np.isfinite(v) else "n/a"


def _c(v: float, decimals: int = 1) -> str:
    return _na(v, "°C", decimals)

class RackView(LazyRefreshMixin, QWidget):
    """Front elevation with the rear door beside it. ``tray_activated`` carries the flat tray index."""

    limits: Limits = DEFAULT_LIMITS  # alarm thresholds: colours and legends use the same limits

    tray_activated = Signal(int)
    context_menu_requested = Signal(str, QPoint)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("rackView")
        self.setMouseTracking(True)
        self.setMinimumSize(360, 330)
        self.engine = None
        self.rack = -1
        # optional, as on the hall view: () -> int8 per rack (0 none, 1 warning, 2 critical) and
        # rack -> text of its active alarms (tooltip)
        self.alarm_severity_fn = None
        self.alarm_text_fn = None
        self._regions: list[Region] = []
        self._geom: dict = {}
        self._hover: Region | None = None

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(620, 640)

    # ------------------------------------------------------------------ API
    def set_engine(self, engine) -> None:
        self.engine = engine
        self.rack = -1
        self._regions = []
        self.update()

    def set_rack(self, index: int) -> None:
        if self.engine is None:
            return
        if not 0 <= index < self.engine.n_racks:
            raise ValueError(f"rack index {index} out of range 0..{self.engine.n_racks - 1}")
        self.rack = int(index)
        self._layout()
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        eng = self.engine
        if eng is None or self.rack < 0:
            return
        if not self._refresh_due(force, (eng.revision, self.rack)):
            return
        self._layout()  # slid-out trays move
        self.update()

    # ------------------------------------------------------------------ test hooks
    def tray_rect(self, t: int) -> QRectF:
        """Widget rectangle where tray ``t`` (0-based within the rack) is drawn (slid out: where it sits)."""
        return QRectF(self._geom["trays"][t])

    def pump_center(self, i: int) -> QPointF:
        return self._geom["pumps"][i].center()

    def fan_center(self, i: int) -> QPointF:
        return self._geom["fans"][i].center()

    def region_at(self, pos: QPointF) -> Region | None:
        for reg in self._regions:  # a few dozen regions, smallest (parts) first
            if reg.rect.contains(pos):
                return reg
        return None

    # ------------------------------------------------------------------ layout
    def _layout(self) -> None:
        eng = self.engine
        if eng is None or self.rack < 0:
            return
        topo, f = eng.topo, eng.facility.rack
        fm = self.fontMetrics()
        lh = fm.height()
        w, h = self.width(), self.height()
        top = 8 + lh + 6  # title line
        bottom = h - 22 - lh  # caption line under the rack, clear of the 5-px alarm frame
        tray_u, cdu_u = f.tray.height_u, f.cdu.height_u
        n_u = topo.trays_per_rack * tray_u + cdu_u
        u_h = max(2.0, (bottom - top) / n_u)
        # columns: [slide-out room][rack][manifolds][gap][rear door]
        door_w = max(90.0, min(150.0, w * 0.2))
        man_w = max(70.0, fm.horizontalAdvance("R 00.0 °C") + 12)
        usable = w - 16 - door_w - man_w - 24
        rack_w = max(160.0, usable / (1 + SLIDE_FRAC))
        x_rack = 8 + rack_w * SLIDE_FRAC
        trays = []
        regions: list[Region] = []
        slid = eng.tray_slid_out[self.rack * topo.trays_per_rack:(self.rack + 1) * topo.trays_per_rack]
        for t in range(topo.trays_per_rack):
            y = top + t * tray_u * u_h
            r = QRectF(x_rack, y + 1, rack_w, tray_u * u_h - 2)
            if slid[t]:
                r.translate(-rack_w * SLIDE_FRAC, 0)
            trays.append(r)
        y_cdu = top + topo.trays_per_rack * tray_u * u_h
        cdu = QRectF(x_rack, y_cdu + 1, rack_w, cdu_u * u_h - 2)
        pump_d = min(cdu.height() * 0.55, 34.0)
        pumps = []
        for i in range(topo.pumps_per_cdu):
            cx = cdu.left() + cdu.width() * (0.55 + 0.2 * i)
            pumps.append(QRectF(cx - pump_d / 2, cdu.center().y() - pump_d / 2, pump_d, pump_d))
        x_man = x_rack + rack_w + 6
        door = QRectF(w - 8 - door_w, top, door_w, n_u * u_h)
        n_f = topo.fans_per_door
        fan_pitch = door.height() / n_f
        fan_d = min(fan_pitch * 0.7, door_w * 0.5)
        fans = [QRectF(door.left() + door_w * 0.38 - fan_d / 2, door.top() + (i + 0.5) * fan_pitch - fan_d / 2,
                       fan_d, fan_d) for i in range(n_f)]
        rack_rect = QRectF(x_rack - 3, top - 3, rack_w + 6, n_u * u_h + 6)
        self._geom = {"top": top, "u_h": u_h, "rack_w": rack_w, "x_rack": x_rack, "trays": trays, "cdu": cdu,
                      "pumps": pumps, "x_man": x_man, "man_w": man_w, "door": door, "fans": fans,
                      "rack": rack_rect, "y_cdu": y_cdu}
        ra = topo.rack_address(self.rack)
        for i, r in enumerate(pumps):
            regions.append(Region(r, "pump", topo.pump_address(self.rack, i), i))
        for i, r in enumerate(fans):
            regions.append(Region(r.adjusted(-4, -4, 4, 4), "fan", topo.fan_address(self.rack, i), i))
        for t, r in enumerate(trays):
            regions.append(Region(r, "tray", topo.tray_address(self.rack * topo.trays_per_rack + t),
                                  self.rack * topo.trays_per_rack + t))
        regions.append(Region(cdu, "cdu", ra + "-CDU", self.rack))
        regions.append(Region(door, "rdhx", ra + "-RDHX", self.rack))
        regions.append(Region(rack_rect.united(QRectF(x_man, top, man_w, n_u * u_h)), "rack", ra, self.rack))
        self._regions = regions

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._layout()

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        eng = self.engine
        if eng is None or self.rack < 0 or not self._geom:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Select a rack")
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        g = self._geom
        topo = eng.topo
        text = pal.color(QPalette.ColorRole.Text)
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        fm = p.fontMetrics()
        bold = QFont(self.font())
        bold.setBold(True)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.88))
        r = self.rack
        addr = topo.rack_address(r)

        # title and caption
        p.setFont(bold)
        p.setPen(text)
        p.drawText(QPointF(8, 8 + fm.ascent()), f"{addr} — front")
        door = g["door"]
        p.drawText(QRectF(door.left() - 40, 8, door.width() + 40, fm.height()), Qt.AlignmentFlag.AlignRight,
                   "Rear door")
        p.setFont(self.font())
        p.setPen(dim)
        cap = (f"{_na(eng.rack_power_w[r] / 1e3, 'kW')}   hottest GPU {_c(eng.rack_hottest_c[r])}   "
               f"GPUs in service {int(eng.rack_gpus_up[r])}/{topo.gpus_per_rack}"
               + ("   ISOLATED" if eng.rack_isolated[r] else ""))
        p.drawText(QPointF(g["x_rack"], self.height() - 8 - fm.descent()), cap)

        # rack frame: in the alarm colour when the rack has an active alarm (same source as the hall view)
        frame = g["rack"]
        sev = int(self.alarm_severity_fn()[r]) if self.alarm_severity_fn is not None else 0
        if sev:
            p.setPen(QPen(severity_frame_color(sev), 5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(frame.adjusted(-4, -4, 4, 4))
        p.setPen(QPen(dim, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(frame)

        # manifolds: blue supply and red return down the side, a stub to every tray
        xm = g["x_man"]
        top, bottom = g["trays"][0].top(), g["cdu"].bottom()
        xs, xr = xm + 10, xm + 26
        for x, col in ((xs, colors.SUPPLY_BLUE), (xr, colors.RETURN_RED)):
            pen = QPen(qcolor(col), 7)
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            p.setPen(pen)
            p.drawLine(QPointF(x, top + 4), QPointF(x, bottom - g["cdu"].height() / 2))
            p.setPen(QPen(qcolor(col), 2))
            for t in range(topo.trays_per_rack):
                y = g["trays"][t].center().y() + (-4 if col is colors.SUPPLY_BLUE else 4)
                p.drawLine(QPointF(g["x_rack"] + g["rack_w"] + 3, y), QPointF(x, y))
            y = g["cdu"].center().y() + (-6 if col is colors.SUPPLY_BLUE else 6)
            p.drawLine(QPointF(g["x_rack"] + g["rack_w"] + 3, y), QPointF(x, y))
        p.setFont(small)
        sfm = p.fontMetrics()
        lx = xr + 8
        p.setPen(qcolor(colors.SUPPLY_BLUE))
        p.drawText(QPointF(lx, top + sfm.ascent()), "supply")
        p.drawText(QPointF(lx, top + sfm.ascent() + sfm.height()), _c(eng.t_sup[r]))
        p.setPen(qcolor(colors.RETURN_RED))
        p.drawText(QPointF(lx, top + sfm.ascent() + 2.4 * sfm.height()), "return")
        p.drawText(QPointF(lx, top + sfm.ascent() + 3.4 * sfm.height()), _c(eng.t_ret[r]))

        self._paint_trays(p, small, text)
        self._paint_cdu(p, small, text, dim)
        self._paint_door(p, small, text, dim)

        if self._hover is not None and self._hover.kind in ("tray", "pump", "fan", "cdu"):
            p.setPen(QPen(text, 2, Qt.PenStyle.DotLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self._hover.rect.adjusted(-2, -2, 2, 2))
        p.end()

    def _paint_trays(self, p: QPainter, small: QFont, text: QColor) -> None:
        eng, g = self.engine, self._geom
        topo = eng.topo
        r = self.rack
        tpr, gpt = topo.trays_per_rack, topo.gpus_per_tray
        code, texts = tray_status(eng, r)
        m = GPU_METRICS["gpu_temp"].resolved(eng, self.limits)
        gpu_rgba = m.rgba(eng.tj[r]).reshape(tpr, gpt, 4)
        st = gpu_state_codes(eng)[r].reshape(tpr, gpt)
        gpu_rgba[st == 4] = colors.FAILED
        gpu_rgba[st == 5] = colors.OUT_OF_SERVICE
        bold = QFont(self.font())
        bold.setBold(True)
        for t in range(tpr):
            rect = g["trays"][t]
            status = TRAY_STATUS_RGBA[int(code[t])]
            slid = code[t] == TRAY_SLID
            if slid:
                # the empty slot, then the tray pulled out of it, hatched
                slot = QRectF(g["x_rack"], rect.top(), g["rack_w"], rect.height())
                p.setPen(QPen(QColor(90, 90, 100), 1, Qt.PenStyle.DashLine))
                p.setBrush(qcolor(colors.SLID_OUT))
                p.drawRect(slot)
            body = QColor(*colors.darker(status, 0.35)) if not slid else QColor(70, 70, 80)
            p.setPen(QPen(qcolor(status), 2))
            p.setBrush(body)
            p.drawRoundedRect(rect, 3, 3)
            if slid:
                p.setBrush(QBrush(QColor(150, 150, 160), Qt.BrushStyle.BDiagPattern))
                p.drawRoundedRect(rect, 3, 3)
            # status strip at the left edge
            p.fillRect(QRectF(rect.left() + 2, rect.top() + 2, 6, rect.height() - 4), qcolor(status))
            # label
            p.setFont(bold)
            p.setPen(QColor(235, 235, 240))
            lab_w = p.fontMetrics().horizontalAdvance("T8") + 8
            p.drawText(QRectF(rect.left() + 12, rect.top(), lab_w, rect.height()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, f"T{t + 1}")
            # GPU squares
            sq = min(rect.height() - 8, (rect.width() * 0.55) / gpt - 3)
            x0 = rect.left() + 12 + lab_w
            y0 = rect.center().y() - sq / 2
            p.setPen(QPen(QColor(20, 20, 25), 1))
            for k in range(gpt):
                p.setBrush(qcolor(gpu_rgba[t, k]))
                p.drawRect(QRectF(x0 + k * (sq + 3), y0, sq, sq))
                if np.isnan(eng.tj[r, t * gpt + k]):  # no reading: hatched, never a healthy colour
                    p.setBrush(QBrush(QColor(235, 235, 240), Qt.BrushStyle.BDiagPattern))
                    p.drawRect(QRectF(x0 + k * (sq + 3), y0, sq, sq))
            # status text
            p.setFont(small)
            p.setPen(QColor(235, 235, 240))
            x_txt = x0 + gpt * (sq + 3) + 6
            p.drawText(QRectF(x_txt, rect.top(), rect.right() - x_txt - 4, rect.height()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, texts[t])

    def _paint_cdu(self, p: QPainter, small: QFont, text: QColor, dim: QColor) -> None:
        eng, g = self.engine, self._geom
        r = self.rack
        cdu = g["cdu"]
        p.setPen(QPen(dim, 2))
        p.setBrush(QColor(46, 52, 64))
        p.drawRoundedRect(cdu, 3, 3)
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(QColor(235, 235, 240))
        left = QRectF(cdu.left() + 10, cdu.top(), cdu.width() * 0.45, cdu.height())
        p.drawText(left, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "CDU")
        p.setFont(small)
        lines = f"flow {_na(eng.flow_frac[r] * 100, '%', 0)}"
        if eng.leak[r]:
            lines += f"\nLEAK, loop {eng.loop_inventory[r] * 100:.0f} %"
        p.drawText(left.adjusted(0, 0, 0, -3), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, lines)
        switching = eng.pump_switch_s[r] > 0
        for i, rect in enumerate(g["pumps"]):
            ok = bool(eng.pump_ok[r, i])
            col = colors.PUMP_FAILED if not ok else colors.PUMP_SWITCHING if switching else colors.PUMP_RUNNING
            p.setPen(QPen(QColor(15, 15, 20), 1.5))
            p.setBrush(qcolor(col))
            p.drawEllipse(rect)
            p.setPen(QColor(235, 235, 240))
            p.drawText(QRectF(rect.right() + 3, rect.top(), 40, rect.height()), Qt.AlignmentFlag.AlignVCenter,
                       f"P{i + 1}")

    def _paint_door(self, p: QPainter, small: QFont, text: QColor, dim: QColor) -> None:
        eng, g = self.engine, self._geom
        r = self.rack
        door = g["door"]
        p.setPen(QPen(dim, 2))
        p.setBrush(QColor(40, 44, 52))
        p.drawRoundedRect(door, 4, 4)
        due = eng.fan_due()[r]
        p.setFont(small)
        for i, rect in enumerate(g["fans"]):
            ok = bool(eng.fan_ok[r, i])
            bad = not ok or bool(due[i])
            col = colors.FAN_BAD if bad else colors.FAN_HEALTHY
            p.setPen(QPen(QColor(15, 15, 20), 1.5))
            p.setBrush(qcolor(col))
            p.drawEllipse(rect)
            # a hub and three blades, so it reads as a fan
            c = rect.center()
            p.setPen(QPen(QColor(20, 24, 30), max(1.5, rect.width() * 0.06)))
            for a in (0.0, 2.094, 4.189):
                d = QPointF(np.cos(a), np.sin(a)) * rect.width() * 0.36
                p.drawLine(c, c + d)
            p.setPen(QColor(235, 235, 240))
            tag = f"F{i + 1}" + ("" if not bad else " failed" if not ok else " due")
            p.drawText(QRectF(rect.right() + 4, rect.top(), door.right() - rect.right() - 6, rect.height()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap, tag)

    # ------------------------------------------------------------------ tooltips, mouse
    def _tooltip(self, reg: Region) -> str:
        eng = self.engine
        topo = eng.topo
        r = self.rack
        if reg.kind == "tray":
            t = reg.index
            k = t % topo.trays_per_rack
            code, texts = tray_status(eng, r)
            gsl = slice(k * topo.gpus_per_tray, (k + 1) * topo.gpus_per_tray)
            st = gpu_state_codes(eng)[r, gsl]
            states = ", ".join(f"{n} {GPU_STATES[s]}" for s, n in zip(*np.unique(st, return_counts=True),
                                                                          strict=True))
            return (f"<b>{reg.address}</b> — {texts[k]}<br>hottest GPU {eng.tj[r, gsl].max():.1f} °C, "
                    f"GPUs {eng.gpu_power_w[r, gsl].sum() / 1e3:.2f} kW<br>GPUs: {states}<br>"
                    f"PSUs {int(eng.psu_ok[t].sum())}/{topo.psus_per_tray} ok, "
                    f"NICs {int(eng.nic_ok[t].sum())}/{topo.nics_per_tray} ok<br><i>click to open</i>")
        if reg.kind == "pump":
            ok = bool(eng.pump_ok[r, reg.index])
            state = "FAILED" if not ok else "switching over" if eng.pump_switch_s[r] > 0 else "running"
            return f"<b>{reg.address}</b> — {state}<br>rack flow {eng.flow_frac[r] * 100:.0f} % of design"
        if reg.kind == "fan":
            ok = bool(eng.fan_ok[r, reg.index])
            age = float(eng.fan_age0_h[r, reg.index] + eng.t / 3600.0)
            l10 = eng.facility.rack.rdhx.fan_l10_h
            state = "FAILED" if not ok else "due for replacement" if age > l10 else "healthy"
            return f"<b>{reg.address}</b> — {state}<br>age {age:,.0f} h (L10 life {l10:,.0f} h)"
        if reg.kind == "cdu":
            return (f"<b>{reg.address}</b><br>flow {eng.flow_frac[r] * 100:.0f} %, supply {eng.t_sup[r]:.1f} °C, "
                    f"return {eng.t_ret[r]:.1f} °C<br>heat to water {eng.rack_q_water_w[r] / 1e3:.1f} kW"
                    + ("<br><b>coolant leak</b>" if eng.leak[r] else ""))
        if reg.kind == "rdhx":
            n_ok = int(eng.fan_ok[r].sum())
            return (f"<b>{reg.address}</b> — rear-door heat exchanger<br>fans {n_ok}/{topo.fans_per_door} "
                    f"running<br>heat to air {eng.rack_q_air_w[r] / 1e3:.1f} kW")
        alarms = self.alarm_text_fn(r) if self.alarm_text_fn is not None else ""
        ttl = time_to_limit_text(eng, r)
        return (f"<b>{reg.address}</b><br>{eng.rack_power_w[r] / 1e3:.1f} kW, hottest GPU "
                f"{eng.rack_hottest_c[r]:.1f} °C" + (f"<br><b>{ttl}</b>" if ttl else "")
                + (f"<br><b>Alarms:</b> {alarms}" if alarms else ""))

    def event(self, ev) -> bool:
        if ev.type() == QEvent.Type.ToolTip and self.engine is not None and self.rack >= 0:
            reg = self.region_at(QPointF(ev.pos()))
            if reg is not None:
                QToolTip.showText(ev.globalPos(), self._tooltip(reg), self)
            else:
                QToolTip.hideText()
                ev.ignore()
            return True
        return super().event(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        reg = self.region_at(ev.position()) if self.engine is not None else None
        if reg is not self._hover:
            self._hover = reg
            self.update()
        super().mouseMoveEvent(ev)

    def leaveEvent(self, ev) -> None:  # noqa: N802
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(ev)

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and self.engine is not None:
            reg = self.region_at(ev.position())
            if reg is not None and reg.kind == "tray":
                self.tray_activated.emit(reg.index)
        super().mouseReleaseEvent(ev)

    def contextMenuEvent(self, ev) -> None:  # noqa: N802
        if self.engine is None or self.rack < 0:
            return
        reg = self.region_at(QPointF(ev.pos()))
        addr = reg.address if reg is not None else self.engine.topo.rack_address(self.rack)
        self.context_menu_requested.emit(addr, ev.globalPos())
