"""One row of a hall cut from the side, as the building is: the busway and its tap-off boxes overhead, the
row's racks with their trays and rear doors, each rack's CDU, and the supply and return headers below with
flow arrows and temperatures along them. The hall view's three tiers at the scale of one row.

Live and coloured by the chosen rack metric (trays by their own hottest GPU when the metric is the hottest
GPU). Everything is computed as arrays in ``refresh()`` (a few numpy passes over the row's racks) and painted
by one ``paintEvent``; there are no scene items. Every piece of text is drawn through ``_text`` which records
its rectangle, so a test can check that nothing overlaps or runs out of its box (``drawn_text()``).

What it reads from the engine today: per rack ``t_sup``/``t_ret`` (rack loop supply and return, °C),
``flow_frac`` (share of design flow), ``rack_power_w``, ``rack_q_room_w`` (heat the rear door leaves in the
hall air), ``pump_ok``, ``fan_ok``, ``leak``; per tray ``tray_slid_out``/``tray_drained``; per GPU ``tj``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ...model.thresholds import DEFAULT_LIMITS, Limits
from .. import colors
from ..theme import severity_frame_color
from .hall_view import CDU_LABELS, MetricLegendWidget, busway_color, cdu_states, pipe_range, qcolor
from .lazy_refresh import LazyRefreshMixin
from .metric_choice import MetricChoiceMixin
from .metrics import (
    BUSWAY_CONTINUOUS_FRAC,
    RACK_METRICS,
    Metric,
    rack_design_power_w,
    rack_fault_counts,
    rack_fault_text,
    rack_key_figures,
    tray_powered,
)
from .rack_pointer import RackPointerMixin

# vertical layout, as shares of the drawing height (top to bottom)
_BANDS = (("air", 0.07), ("busway", 0.07), ("tapoff", 0.07), ("racks", 0.47), ("cdu", 0.11), ("drops", 0.05),
          ("supply", 0.06), ("gap", 0.04), ("return", 0.06))
_LABEL_W_CHARS = "CDU + pumps"  # the left column holds each tier's name
_DOOR_FRAC = 0.16  # rear-door strip: this share of the rack's width, on its right
_RACK_FRAC = 0.82  # rack width / rack pitch


class RowSectionView(RackPointerMixin, MetricChoiceMixin, LazyRefreshMixin, QWidget):
    """Signals: ``rack_selected(int)`` on click, ``rack_activated(int)`` on double-click (open the rack),
    ``context_menu_requested(str, QPoint)`` on right-click (the rack, its CDU or its door)."""

    limits: Limits = DEFAULT_LIMITS  # alarm thresholds: colours and legend use the alarms' limits

    rack_selected = Signal(int)
    rack_activated = Signal(int)
    context_menu_requested = Signal(str, QPoint)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("rowSectionView")
        self.setMouseTracking(True)
        self.setMinimumSize(480, 320)
        self.engine = None
        self.hall = 0
        self.row = 0
        self.selected = -1
        self._hover = -1
        self._metric_name = "hottest_gpu"
        self.current_metric: Metric = RACK_METRICS["hottest_gpu"]
        self._racks = np.zeros(0, dtype=np.int64)
        self._texts: list[tuple[QRectF, str, QRectF]] = []  # (drawn rect, text, the box it had to fit)
        self.data: dict[str, np.ndarray] = {}
        # set by the main window: () -> int8 per rack (0 none, 1 warning, 2 critical), and rack -> alarm text
        self.alarm_severity_fn = None
        self.alarm_text_fn = None

        self._header = QWidget(self)
        hl = QHBoxLayout(self._header)
        hl.setContentsMargins(6, 4, 6, 2)
        self._prev = QToolButton(self._header, objectName="rowPrevButton", text="◀")
        self._prev.setToolTip("Previous row")
        self._prev.clicked.connect(lambda: self.step_row(-1))
        self._next = QToolButton(self._header, objectName="rowNextButton", text="▶")
        self._next.setToolTip("Next row")
        self._next.clicked.connect(lambda: self.step_row(1))
        self._title = QLabel(self._header, objectName="rowSectionTitle")
        f = self._title.font()
        f.setBold(True)
        self._title.setFont(f)
        self.metric_combo = QComboBox(self._header, objectName="rowMetricCombo")
        self.metric_combo.setToolTip("Colour the racks and trays by")
        for name, m in RACK_METRICS.items():
            self.metric_combo.addItem(m.label + (f" ({m.unit})" if m.unit else ""), name)
        self.metric_combo.currentIndexChanged.connect(self._on_metric_combo_changed)
        self.legend = MetricLegendWidget(self._header)
        for w in (self._prev, self._title, self._next, self.metric_combo):
            hl.addWidget(w)
        hl.addWidget(self.legend, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._header)
        lay.addStretch(1)

    # ------------------------------------------------------------------ API
    def set_engine(self, engine) -> None:
        self.engine = engine
        self.selected = -1
        self._hover = -1
        self.set_row(0, 0)

    def set_row(self, hall: int, row: int) -> None:
        eng = self.engine
        if eng is None:
            return
        topo = eng.topo
        hall = int(np.clip(hall, 0, topo.n_halls - 1))
        spec = eng.facility.halls[hall]
        row = int(np.clip(row, 0, spec.rows - 1))
        self.hall, self.row = hall, row
        r0 = int(topo.hall_rack_start[hall]) + row * spec.racks_per_row
        self._racks = np.arange(r0, r0 + spec.racks_per_row)
        first, last = topo.rack_address(r0), topo.rack_address(r0 + spec.racks_per_row - 1)
        self._title.setText(f"Hall {topo.hall_names[hall]} · row {row + 1} ({first} – {last.split('-')[-1]})")
        self._prev.setEnabled(hall > 0 or row > 0)
        self._next.setEnabled(hall < topo.n_halls - 1 or row < spec.rows - 1)
        self._metric_resolved()
        self.refresh(force=True)

    def set_rack(self, rack: int) -> None:
        """Show the row that holds ``rack`` (global index) and outline the rack."""
        if self.engine is None:
            return
        topo = self.engine.topo
        self.set_row(int(topo.rack_hall[rack]), int(topo.rack_row[rack]))
        self.selected = int(rack)
        self.update()

    def select(self, rack: int) -> None:
        """Outline a rack if it is in the shown row (the main window calls this on navigation)."""
        if rack is not None and int(rack) in self._racks:
            self.selected = int(rack)
            self.update()

    def step_row(self, d: int) -> None:
        """The next (+1) or previous (-1) row, on into the next hall."""
        eng = self.engine
        if eng is None:
            return
        g = int(self._racks[0]) if d < 0 else int(self._racks[-1])
        nxt = g + (1 if d > 0 else -1)
        if 0 <= nxt < eng.n_racks:
            self.set_row(int(eng.topo.rack_hall[nxt]), int(eng.topo.rack_row[nxt]))

    def racks(self) -> np.ndarray:
        return self._racks

    def set_metric(self, name: str) -> None:
        if name not in RACK_METRICS:
            raise ValueError(f"unknown rack metric {name!r} (known: {', '.join(RACK_METRICS)})")
        self.metric_combo.setCurrentIndex(self.metric_combo.findData(name))

    def refresh(self, force: bool = False) -> None:
        eng = self.engine
        if eng is None:
            return
        if not self._refresh_due(force, (eng.t, len(eng.events), self._metric_name, self.hall, self.row)):
            return
        self._compute()
        self.update()

    def drawn_text(self) -> list[tuple[QRectF, str, QRectF]]:
        """Every text of the last paint: (rectangle it covers, text, rectangle it had to fit in)."""
        return list(self._texts)

    # ------------------------------------------------------------------ data (arrays over the row)
    def _metric_resolved(self) -> None:
        base = RACK_METRICS[self._metric_name]
        self.current_metric = base.resolved(self.engine, self.limits) if self.engine is not None else base
        self.legend.set_metric(self.current_metric, [(colors.FAILED, "failed"), (colors.OUT_OF_SERVICE, "off"),
                                                     (colors.SLID_OUT, "slid out")])

    def _compute(self) -> None:
        eng, rk, m = self.engine, self._racks, self.current_metric
        topo = eng.topo
        tpr, gpt = topo.trays_per_rack, topo.gpus_per_tray
        trays = (rk[:, None] * tpr + np.arange(tpr)[None, :]).ravel()
        rack_vals = m.values(eng)[rk]
        if self._metric_name == "hottest_gpu":  # each tray by its own hottest GPU, on the same scale
            tray_vals = eng.tj[rk].reshape(len(rk), tpr, gpt).max(axis=2)
        else:
            tray_vals = np.repeat(rack_vals[:, None], tpr, axis=1)
        tray_idx = m.index(tray_vals.ravel()).reshape(len(rk), tpr)
        powered = tray_powered(eng)[trays].reshape(len(rk), tpr)
        slid = eng.tray_slid_out[trays].reshape(len(rk), tpr)
        drained = eng.tray_drained[trays].reshape(len(rk), tpr)
        tray_idx[~powered | drained] = colors.IDX_OFFLINE
        tray_idx[slid] = colors.IDX_SLID_OUT
        failed = (~eng.gpu_ok[rk]).reshape(len(rk), tpr, gpt).any(axis=2)
        lo, hi = pipe_range(eng)
        design = rack_design_power_w(eng)[rk]
        bus_w = float(eng.rack_power_w[rk].sum())
        bus_rating = float(design.sum()) / BUSWAY_CONTINUOUS_FRAC
        self.data = {
            "rack_value": rack_vals, "rack_rgba": m.rgba(rack_vals), "tray_rgba": m.lut[tray_idx],
            "tray_failed": failed, "cdu_state": cdu_states(eng)[rk], "pump_ok": eng.pump_ok[rk],
            "fan_ok": eng.fan_ok[rk], "fan_due": eng.fan_due()[rk], "leak": eng.leak[rk],
            "t_sup": eng.t_sup[rk].copy(), "t_ret": eng.t_ret[rk].copy(), "flow": eng.flow_frac[rk].copy(),
            "sup_rgba": colors.colors_for(eng.t_sup[rk], lo, hi, colors.PIPE_LUT),
            "ret_rgba": colors.colors_for(eng.t_ret[rk], lo, hi, colors.PIPE_LUT),
            "power_w": eng.rack_power_w[rk].copy(), "tap_pct": eng.rack_power_w[rk] / np.maximum(design, 1.0) * 100,
            "air_w": eng.rack_q_room_w[rk].copy(),
            "bus": np.array([bus_w, bus_rating, bus_w / max(bus_rating, 1.0) * 100.0]),
            "t_fs": np.array([eng.t_fs, eng.t_fr]),
            # the hall's air node and the facility water each CDU sees along the header (later and warmer
            # at the far end), from the engine's hall-air and distribution models
            "hall_air_c": float(eng.hall_air_c[int(topo.rack_hall[rk[0]])]) if len(rk) else float("nan"),
            "inlet_c": eng.rack_inlet_c[rk].copy(), "fw_c": eng.rack_fw_c[rk].copy(),
        }
        self.data["tap_rgba"] = busway_color(self.data["tap_pct"] * BUSWAY_CONTINUOUS_FRAC)
        # heat left to the hall air: clear at 0, amber at a quarter of the door's rating, red at its rating
        door_w = eng.facility.rack.rdhx.capacity_kw * 1e3
        air_pos = np.clip(self.data["air_w"] / max(door_w, 1.0), 0.0, 1.0)
        self.data["air_rgba"] = colors.colors_for(air_pos, 0.0, 1.0, colors.THERMAL_LUT)
        self.data["air_rgba"][:, 3] = (air_pos * 230).astype(np.uint8)

    # ------------------------------------------------------------------ geometry
    def _area(self) -> QRectF:
        top = self._header.height() if self._header.isVisible() else 0
        return QRectF(0, top, self.width(), self.height() - top)

    def _bands(self) -> dict[str, tuple[float, float]]:
        a = self._area()
        fm = QFontMetricsF(self.font())
        y = a.top() + fm.height() + 8  # room for the top line (hall air)
        h = a.height() - (y - a.top()) - fm.height() - 8  # and for the flow line at the bottom
        out = {}
        for name, share in _BANDS:
            out[name] = (y, share * h)
            y += share * h
        return out

    def _x(self) -> tuple[float, float]:
        """(x of the first rack slot, rack pitch) in widget pixels."""
        fm = QFontMetricsF(self.font())
        left = fm.horizontalAdvance(_LABEL_W_CHARS) + 14
        n = max(1, len(self._racks))
        return left, (self.width() - left - 8) / n

    def rack_rect(self, i: int) -> QRectF:
        """Widget rectangle of the i-th rack of the row (0-based position)."""
        x0, pitch = self._x()
        y, h = self._bands()["racks"]
        return QRectF(x0 + i * pitch, y, pitch * _RACK_FRAC, h)

    def cdu_rect(self, i: int) -> QRectF:
        x0, pitch = self._x()
        y, h = self._bands()["cdu"]
        return QRectF(x0 + i * pitch, y + 2, pitch * _RACK_FRAC, h - 4)

    def pipe_rect(self, which: str) -> QRectF:
        x0, pitch = self._x()
        y, h = self._bands()[which]
        return QRectF(x0 - 6, y, pitch * (len(self._racks) - 1) + pitch * _RACK_FRAC + 6, h)

    def _label_every(self, small: QFont, pipe_h: float) -> int:
        """Header temperatures and flow arrows share slots of this many racks, so nothing touches."""
        _x0, pitch = self._x()
        need = QFontMetricsF(small).horizontalAdvance("00.0 °C") + pipe_h * 0.6 + 16
        every = 1
        while every < len(self._racks) and need > pitch * every:
            every += 1
        return every

    def _hit(self, p: QPointF):
        """('rack'|'door'|'cdu'|'tapoff', position in row) or ('busway'|'supply'|'return', -1) or None."""
        if self.engine is None or not len(self._racks):
            return None
        x0, pitch = self._x()
        i = int((p.x() - x0) // pitch)
        fx = (p.x() - x0) / pitch - i
        for name, (y, h) in self._bands().items():
            if y <= p.y() < y + h:
                if name in ("busway", "supply", "return"):
                    return (name, -1) if x0 - 6 <= p.x() <= x0 + pitch * len(self._racks) else None
                if not 0 <= i < len(self._racks) or fx > _RACK_FRAC:
                    return None
                if name == "racks":
                    return ("door" if fx > _RACK_FRAC * (1 - _DOOR_FRAC) else "rack", i)
                if name in ("cdu", "tapoff"):
                    return (name, i)
                return None
        return None

    def rack_at(self, pos: QPointF | QPoint) -> int:
        hit = self._hit(QPointF(pos))
        return int(self._racks[hit[1]]) if hit and hit[1] >= 0 else -1

    # ------------------------------------------------------------------ painting
    def _text(self, p: QPainter, box: QRectF, text: str, align=Qt.AlignmentFlag.AlignCenter,
              color: QColor | None = None, elide: bool = True) -> bool:
        """Draw ``text`` inside ``box`` if it fits (eliding when allowed); record what was drawn."""
        fm = QFontMetricsF(p.font())
        if fm.height() > box.height() + 0.5:
            return False
        shown = text
        if fm.horizontalAdvance(text) > box.width():
            if not elide:
                return False
            shown = fm.elidedText(text, Qt.TextElideMode.ElideRight, box.width())
            if len(shown) < 3:
                return False
        if color is not None:
            p.setPen(color)
        br = fm.boundingRect(box, int(align), shown)
        p.drawText(box, int(align), shown)
        self._texts.append((br, shown, box))
        return True

    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        area = self._area()
        p.fillRect(area, pal.color(QPalette.ColorRole.Base))
        self._texts = []
        if self.engine is None or not self.data:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "No facility loaded")
            p.end()
            return
        p.setClipRect(area)
        d, n = self.data, len(self._racks)
        text = pal.color(QPalette.ColorRole.Text)
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        bands = self._bands()
        x0, pitch = self._x()
        rw = pitch * _RACK_FRAC
        fm = QFontMetricsF(self.font())
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.85))
        sfm = QFontMetricsF(small)
        row_right = x0 + pitch * (n - 1) + rw
        left_box = QRectF(4, 0, x0 - 10, 0)

        def tier(name: str, label: str) -> None:
            y, h = bands[name]
            p.setFont(self.font())
            self._text(p, QRectF(left_box.left(), y, left_box.width(), h),
                       label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, dim)

        # ---- hall air above the racks: heat the rear doors could not take
        y, h = bands["air"]
        air_kw = d["air_w"] / 1e3
        for i in range(n):
            p.fillRect(QRectF(x0 + i * pitch, y, rw, h), qcolor(d["air_rgba"][i]))
        tier("air", "hall air")
        p.setFont(small)
        room = float(d["air_w"].sum()) / 1e3
        self._text(p, QRectF(x0, area.top() + 2, row_right - x0, fm.height() + 4),
                   f"hall air {d['hall_air_c']:.1f} °C, rack inlets {d['inlet_c'].min():.1f}–"
                   f"{d['inlet_c'].max():.1f} °C · heat left in the hall air by the rear doors: {room:,.1f} kW"
                   + (f", most at {self.engine.topo.rack_address(int(self._racks[int(np.argmax(air_kw))]))}"
                      if room > 0.05 else ""), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, dim)

        # ---- busway and tap-off boxes
        y, h = bands["busway"]
        bus_w, bus_rating, bus_pct = d["bus"]
        bar = QRectF(x0 - 6, y + h * 0.15, row_right - x0 + 6, h * 0.7)
        bus_rgba = busway_color(np.array([bus_pct]))[0]
        p.fillRect(bar, qcolor(bus_rgba))
        p.setFont(small)
        self._text(p, bar.adjusted(6, 0, -6, 0), f"busway {bus_w / 1e6:.2f} MW of {bus_rating / 1e6:.2f} MW "
                   f"rating ({bus_pct:.0f} %)", Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   QColor(*colors.text_on(bus_rgba)))
        tier("busway", "busway")
        y, h = bands["tapoff"]
        p.setPen(QPen(dim, 1))
        for i in range(n):
            cx = x0 + i * pitch + rw / 2
            box = QRectF(cx - rw * 0.3, y + h * 0.1, rw * 0.6, h * 0.55)
            p.drawLine(QPointF(cx, bar.bottom()), QPointF(cx, box.top()))
            p.drawLine(QPointF(cx, box.bottom()), QPointF(cx, y + h))
            p.fillRect(box, qcolor(d["tap_rgba"][i]))
        tier("tapoff", "tap-offs")

        # ---- racks: trays stacked (T1 at the top), rear door on the right with its fans
        y, h = bands["racks"]
        tpr = d["tray_rgba"].shape[1]
        door_w = rw * _DOOR_FRAC
        body_w = rw - door_w - 1
        th = (h - 4) / tpr
        fans = d["fan_ok"].shape[1]
        for i in range(n):
            rx = x0 + i * pitch
            p.fillRect(QRectF(rx, y, rw, h), qcolor(colors.darker(d["rack_rgba"][i], 0.45)))
            for t in range(tpr):
                cell = QRectF(rx + 2, y + 2 + t * th, body_w - 3, max(1.0, th - 1.5))
                p.fillRect(cell, qcolor(d["tray_rgba"][i, t]))
                if d["tray_failed"][i, t]:
                    p.fillRect(QRectF(cell.right() - cell.width() * 0.25, cell.top(), cell.width() * 0.25,
                                      cell.height()), qcolor(colors.FAILED))
            door = QRectF(rx + body_w, y, door_w, h)
            p.fillRect(door, QColor(60, 64, 72) if self.palette().color(QPalette.ColorRole.Base).value() < 128
                       else QColor(200, 204, 210))
            fh = h / fans
            rad = max(1.5, min(door_w * 0.38, fh * 0.35))
            p.setPen(Qt.PenStyle.NoPen)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            for k in range(fans):
                ok, due = bool(d["fan_ok"][i, k]), bool(d["fan_due"][i, k])
                p.setBrush(qcolor(colors.FAN_HEALTHY if ok and not due else colors.FAN_BAD))
                p.drawEllipse(QPointF(door.center().x(), y + (k + 0.5) * fh), rad, rad)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        tier("racks", "racks")
        # rack names (every rack when they fit, else every few) and the metric value inside the rack
        p.setFont(small)
        step = 1
        while step < n and sfm.horizontalAdvance("R0000") + 3 > pitch * step:
            step += 1
        for i in range(0, n, step):
            name = self.engine.topo.rack_address(int(self._racks[i])).split("-")[-1]
            cell = QRectF(x0 + i * pitch, y + h - sfm.height() - 2, min(pitch * step, row_right - x0 - i * pitch) - 3,
                          sfm.height() + 2)
            fill = d["tray_rgba"][i, tpr - 1]
            self._text(p, cell, name, Qt.AlignmentFlag.AlignCenter, QColor(*colors.text_on(fill)), elide=False)

        # ---- CDUs with their pumps
        y, h = bands["cdu"]
        cdu_pal = {0: colors.OK, 1: colors.WARNING, 2: (255, 214, 90, 255), 3: colors.CRITICAL,
                   4: colors.OUT_OF_SERVICE}
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for i in range(n):
            box = self.cdu_rect(i)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(qcolor(colors.darker(cdu_pal[int(d["cdu_state"][i])], 0.8)))
            p.drawRect(box)
            pumps = d["pump_ok"].shape[1]
            rad = max(1.5, min(box.height() * 0.28, box.width() / (2.6 * pumps)))
            for k in range(pumps):
                c = QPointF(box.left() + (k + 0.5) * box.width() / pumps, box.center().y())
                p.setBrush(qcolor(colors.PUMP_RUNNING if d["pump_ok"][i, k] else colors.PUMP_FAILED))
                p.setPen(QPen(QColor(20, 20, 20), 1))
                p.drawEllipse(c, rad, rad)
            if d["leak"][i]:
                p.setPen(QPen(qcolor(colors.CRITICAL), 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(box.adjusted(-1, -1, 1, 1))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        tier("cdu", "CDU + pumps")

        # ---- drops from the headers to each CDU: width follows the flow
        yd, hd = bands["drops"]
        ys, hs = bands["supply"]
        yr, hr = bands["return"]
        for i in range(n):
            box = self.cdu_rect(i)
            wflow = max(1.0, min(rw * 0.12, 2 + 4 * float(d["flow"][i])))
            xs, xr = box.left() + box.width() * 0.3, box.left() + box.width() * 0.7
            p.fillRect(QRectF(xs - wflow / 2, box.bottom(), wflow, ys - box.bottom()), qcolor(d["sup_rgba"][i]))
            p.fillRect(QRectF(xr - wflow / 2, box.bottom(), wflow, yr - box.bottom()), qcolor(d["ret_rgba"][i]))

        # ---- headers: one segment per rack coloured by its temperature; in slots of a few racks an arrow
        # (which way the water runs: supply away from the facility inlet on the left, return back to it) and
        # the temperature at that rack
        p.setFont(small)
        every = self._label_every(small, hs)
        for name, key, t_key, direction in (("supply", "sup_rgba", "t_sup", 1), ("return", "ret_rgba", "t_ret", -1)):
            pipe = self.pipe_rect(name)
            for i in range(n):
                left = pipe.left() if i == 0 else x0 + i * pitch
                right = pipe.right() if i == n - 1 else x0 + (i + 1) * pitch
                p.fillRect(QRectF(left, pipe.top(), right - left, pipe.height()), qcolor(d[key][i]))
            p.setPen(QPen(dim, 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(pipe)
            aw = pipe.height() * 0.6 + 8
            for i in range(0, n, every):
                slot = QRectF(x0 + i * pitch, pipe.top(), pitch * every, pipe.height()).intersected(pipe)
                self._arrow(p, QRectF(slot.left(), slot.top(), aw, slot.height()), direction)
                self._text(p, slot.adjusted(aw, 0, 0, 0), f"{d[t_key][i]:.1f} °C", Qt.AlignmentFlag.AlignCenter,
                           QColor(*colors.text_on(d[key][i])), elide=False)
            tier(name, name)
        # the bottom line: what the headers connect to and which way the water runs
        p.setFont(self.font())
        t_fs, t_fr = d["t_fs"]
        flow_mean = float(d["flow"].mean()) * 100
        self._text(p, QRectF(x0 - 6, yr + hr + 4, row_right - x0 + 6, fm.height() + 2),
                   f"facility water in {t_fs:.1f} °C, at the CDUs {d['fw_c'].min():.1f}–{d['fw_c'].max():.1f} °C"
                   f" → back {t_fr:.1f} °C · rack loops: supply "
                   f"{d['t_sup'].min():.1f}–{d['t_sup'].max():.1f} °C, return {d['t_ret'].min():.1f}–"
                   f"{d['t_ret'].max():.1f} °C · flow {flow_mean:.0f} % of design (mean)",
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, dim)

        # ---- alarm frames, hover and selection
        if self.alarm_severity_fn is not None:
            sev = np.asarray(self.alarm_severity_fn())[self._racks]
            p.setBrush(Qt.BrushStyle.NoBrush)
            for level in (1, 2):  # amber warning, red critical: the theme's severity fills
                p.setPen(QPen(severity_frame_color(level), 2.5))
                for k in np.flatnonzero(sev == level):
                    p.drawRect(self.rack_rect(int(k)).adjusted(-2, -2, 2, 2))
        for idx, width in ((self._hover, 1), (self.selected, 3)):
            pos = np.flatnonzero(self._racks == idx)
            if idx < 0 or not pos.size:
                continue
            pen = QPen(text, width)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            g = width / 2 + 1
            p.drawRect(self.rack_rect(int(pos[0])).adjusted(-g, -g, g, g))
            p.drawRect(self.cdu_rect(int(pos[0])).adjusted(-g, -g, g, g))
        p.end()

    @staticmethod
    def _arrow(p: QPainter, box: QRectF, direction: int) -> None:
        """A chevron in ``box`` pointing the way the water flows (+1 right, -1 left)."""
        h = box.height()
        if h < 5:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(255, 255, 255, 200), max(1.5, h * 0.12)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        cx, a = box.center().x(), h * 0.22 * direction
        path = QPainterPath()
        path.addPolygon(QPolygonF([QPointF(cx - a, box.top() + h * 0.22), QPointF(cx + a, box.center().y()),
                                   QPointF(cx - a, box.bottom() - h * 0.22)]))
        p.drawPath(path)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    # ------------------------------------------------------------------ tooltips and mouse
    def tooltip_at(self, pos: QPointF) -> str:
        hit = self._hit(pos)
        if hit is None or not self.data:
            return ""
        eng, d, m = self.engine, self.data, self.current_metric
        kind, i = hit
        if kind == "busway":
            w, rating, pct = d["bus"]
            return (f"<b>Busway, row {self.row + 1}</b><br>{w / 1e6:.2f} MW of {rating / 1e6:.2f} MW rating "
                    f"({pct:.0f} %)<br><i>rating = row design power / {BUSWAY_CONTINUOUS_FRAC:.0%} [estimate]</i>")
        if kind in ("supply", "return"):
            key = "t_sup" if kind == "supply" else "t_ret"
            return (f"<b>{kind.capitalize()} header, row {self.row + 1}</b><br>{d[key].min():.1f} – "
                    f"{d[key].max():.1f} °C along the row; facility water {d['t_fs'][0]:.1f} °C in, "
                    f"{d['t_fs'][1]:.1f} °C back")
        r = int(self._racks[i])
        addr = eng.topo.rack_address(r)
        if kind == "tapoff":
            return (f"<b>{addr} tap-off</b><br>{d['power_w'][i] / 1e3:.1f} kW, {d['tap_pct'][i]:.0f} % of the "
                    "rack's design power")
        if kind == "cdu":
            pumps = ", ".join(f"P{k + 1} {'running' if ok else 'FAILED'}" for k, ok in enumerate(d["pump_ok"][i]))
            lpm = eng.facility.rack.cdu.design_flow_lpm
            return (f"<b>{addr}-CDU</b> — {CDU_LABELS[int(d['cdu_state'][i])]}<br>pumps: {pumps}<br>flow "
                    f"{d['flow'][i] * lpm:.0f} L/min, {d['flow'][i] * 100:.0f} % of design<br>supply "
                    f"{d['t_sup'][i]:.1f} °C, return "
                    f"{d['t_ret'][i]:.1f} °C; facility water at this CDU {d['fw_c'][i]:.1f} °C"
                    + ("<br><b>coolant leak</b>" if d["leak"][i] else ""))
        if kind == "door":
            bad = int((~d["fan_ok"][i]).sum())
            return (f"<b>{addr}-RDHX</b> rear door<br>{d['fan_ok'].shape[1] - bad} of {d['fan_ok'].shape[1]} fans "
                    f"running<br>inlet air {d['inlet_c'][i]:.1f} °C (hall {d['hall_air_c']:.1f} °C)<br>heat left in "
                    f"the hall air {d['air_w'][i] / 1e3:.1f} kW")
        rows = "".join(f"<tr><td>{k}</td><td align='right'>{v}</td></tr>" for k, v in rack_key_figures(eng, r))
        faults = rack_fault_text(eng, r, rack_fault_counts(eng))
        alarms = self.alarm_text_fn(r) if self.alarm_text_fn is not None else ""
        return (f"<b>{addr}</b><table>{rows}</table>Failed parts: {faults}<br>{m.label}: "
                f"<b>{m.format(float(d['rack_value'][i]))}</b> — {m.limits_text()}"
                + (f"<br><b>Alarms:</b> {alarms}" if alarms else "") + "<br><i>double-click to open</i>")

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            r = self.rack_at(ev.position())
            if r >= 0:
                self._pick_rack(r, self.rack_selected)
        super().mouseReleaseEvent(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        r = self.rack_at(ev.position())
        if r != self._hover:
            self._hover = r
            self.update()
        super().mouseMoveEvent(ev)

    def contextMenuEvent(self, ev) -> None:  # noqa: N802
        hit = self._hit(QPointF(ev.pos()))
        if hit is None or hit[1] < 0:
            return
        addr = self.engine.topo.rack_address(int(self._racks[hit[1]]))
        addr += {"cdu": "-CDU", "door": "-RDHX"}.get(hit[0], "")
        self.context_menu_requested.emit(addr, ev.globalPos())

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        if ev.key() in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            self.step_row(1 if ev.key() == Qt.Key.Key_PageDown else -1)
            return
        super().keyPressEvent(ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self.update()

    def set_dark(self, _dark: bool) -> None:
        self.update()
