"""The site at a glance: grid and substation, Megapack yard, gas turbines, chiller plant and the halls, with
live power and water flows drawn as connections whose thickness, colour and figures follow the simulation.

One custom ``paintEvent`` (no graphics item per component). ``refresh()`` gathers the figures (a few numpy
reductions over racks) and schedules a repaint; the layout is recomputed only on resize.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QToolTip, QWidget

from ...model.thresholds import DEFAULT_LIMITS, Limits
from ..colors import text_color
from ..figures import SWING_WINDOW_S, WARMUP_TEXT, swing_text, warming_up
from ..theme import severity_color, severity_frame_color

GT_STATES = ("off", "starting", "running", "tripped")
POWER_COLOR = QColor("#f2b635")
CHARGE_COLOR = QColor("#4cc3d9")
OK_COLOR, WARN_COLOR, CRIT_COLOR = (severity_frame_color(s) for s in range(3))  # the theme's severity fills
IDLE_COLOR = QColor("#7d8590")


def _temp_color(t_c: float, lo: float = 25.0, hi: float = 45.0) -> QColor:
    """Water colour from blue (cold) through violet to red (hot); never green, which reads as 'OK'."""
    x = min(1.0, max(0.0, (t_c - lo) / (hi - lo)))
    a, b = (59, 130, 246), (239, 68, 68)
    return QColor(*(int(a[i] + (b[i] - a[i]) * x) for i in range(3)))


def _rack_lut() -> np.ndarray:
    """256-entry ARGB table: green (cool) -> yellow -> orange (power cap) -> red (slowdown)."""
    stops = [(0.0, (40, 110, 200)), (0.45, (60, 180, 90)), (0.75, (235, 200, 40)), (0.9, (245, 130, 30)),
             (1.0, (230, 50, 50))]
    x = np.linspace(0, 1, 256)
    xs = [s[0] for s in stops]
    rgb = np.stack([np.interp(x, xs, [s[1][i] for s in stops]) for i in range(3)], axis=1).astype(np.uint32)
    return (0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)


_LUT = _rack_lut()


class SiteView(QWidget):
    """Site diagram. Signals: ``hall_activated(int)`` on a click on a hall, ``component_selected(str)`` on a
    click on the grid, yard, a turbine or a chiller, ``context_menu_requested(str, QPoint)`` on right-click."""

    hall_activated = Signal(int)
    component_selected = Signal(str)
    context_menu_requested = Signal(str, QPoint)
    limits: Limits = DEFAULT_LIMITS  # alarm thresholds: colours use the same limits as the alarms

    def __init__(self, engine=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("siteView")
        self.setMouseTracking(True)
        self.setMinimumSize(480, 360)
        self.engine = None
        self._texts: list[tuple[QRectF, str, QRectF]] = []
        self.text_pens: dict[str, QColor] = {}
        self._fits: dict[tuple, tuple] = {}  # text fitting results (plain data, see _fitted)
        self._compact = False
        self._fig: dict = {}
        self._hits: list[tuple[QRectF, str, str]] = []   # (rect, address or 'hall:i', tooltip)
        self._layout_size = None
        self._rects: dict = {}
        self._hall_images: list[QImage] = []
        self._hall_image_bufs: list[np.ndarray] = []
        self.paint_count = 0
        if engine is not None:
            self.set_engine(engine)

    # ------------------------------------------------------------------ data
    def set_engine(self, engine) -> None:
        self.engine = engine
        self._layout_size = None
        self.refresh()

    def refresh(self) -> None:
        """Gather the live figures and repaint (only when visible)."""
        eng = self.engine
        if eng is None:
            return
        topo = eng.topo
        starts = topo.hall_rack_start[:-1]
        hall_it_mw = np.add.reduceat(eng.rack_power_w, starts) / 1e6
        hall_hot_c = np.maximum.reduceat(eng.rack_hottest_c, starts)
        hall_up = np.add.reduceat(eng.rack_gpus_up, starts)
        hall_thr = np.add.reduceat(eng.rack_throttled, starts)
        hall_gpus = np.diff(topo.hall_rack_start) * topo.gpus_per_rack
        pumps_bad = (~eng.pump_ok).sum(axis=1) + eng.leak
        hall_faults = np.add.reduceat(pumps_bad + (~eng.fan_ok).sum(axis=1), starts)
        f = eng.facility
        self._fig = {
            "hall_it_mw": hall_it_mw, "hall_hot_c": hall_hot_c, "hall_up": hall_up, "hall_thr": hall_thr,
            "hall_gpus": hall_gpus, "hall_faults": hall_faults,
            "grid_mw": _finite(eng.grid_w) / 1e6, "grid_avail_mw": eng.grid_avail_w / 1e6,
            "grid_limit_mw": f.site.grid.import_limit_mw, "batt_mw": eng.batt_w / 1e6, "soc": float(eng.soc),
            "batt_max_mw": f.site.megapacks.units * f.site.megapacks.power_mw_per_unit,
            "mp_units": f.site.megapacks.units, "mp_mwh": f.site.megapacks.units * f.site.megapacks.energy_mwh_per_unit,
            "gt_state": eng.gt_state.copy(), "gt_mw": eng.gt_w / 1e6, "gt_rating": f.site.turbines.rating_mw,
            "chiller_ok": eng.chiller_ok.copy(), "chiller_mw": eng.chiller_load_w / 1e6, "cop": float(eng.chiller_cop),
            "t_fs": float(eng.t_fs), "t_fr": float(eng.t_fr), "ambient_c": float(eng.ambient_c()),
            "it_mw": eng.it_w / 1e6, "cooling_mw": eng.cooling_w / 1e6, "facility_mw": eng.facility_w / 1e6,
            # hall cards turn amber / red at the GPU temperature alarm's limits
            "t_cap": float(self.limits["gpu_temp"].warning), "t_slow": float(self.limits["gpu_temp"].critical),
            "shed": float(eng.shed_frac),
        }
        # per-hall rack thumbnails coloured by hottest GPU (rows as they stand on the floor)
        lo = f.site.supply_setpoint_c
        hi = self._fig["t_slow"]
        idx = np.clip(np.nan_to_num((eng.rack_hottest_c - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)
        colors = _LUT[idx]
        dead = eng.rack_gpus_up == 0
        colors = np.where(dead | np.isnan(eng.rack_hottest_c), np.uint32(0xFF505050), colors)  # NaN: no reading
        shapes = [(h.rows, h.racks_per_row) for h in f.halls]
        if [b.shape for b in self._hall_image_bufs] != shapes:  # another facility: other hall sizes
            self._hall_image_bufs = []
            self._hall_images = []
            for spec in f.halls:
                buf = np.zeros((spec.rows, spec.racks_per_row), dtype=np.uint32)
                self._hall_image_bufs.append(buf)
                self._hall_images.append(QImage(buf.data, spec.racks_per_row, spec.rows, spec.racks_per_row * 4,
                                                QImage.Format.Format_ARGB32))
        for h, buf in enumerate(self._hall_image_bufs):
            a, b = int(topo.hall_rack_start[h]), int(topo.hall_rack_start[h + 1])
            buf.reshape(-1)[:] = colors[a:b]
        if self.isVisible():
            self.update()

    # ------------------------------------------------------------------ layout
    def _compute_layout(self) -> None:
        w, h = self.width(), self.height()
        m = 12.0
        n_halls = self.engine.topo.n_halls if self.engine else 4
        r = {}
        left_w = max(200.0, min(300.0, w * 0.2))
        lh = self.fontMetrics().height() + 2
        n_gt = len(self.engine.gt_state) if self.engine else 0
        gt_rows = math.ceil(n_gt / self._gt_cols(n_gt)) if n_gt else 0
        heights = [32 + 4 * lh + 8, 32 + 3 * lh + 30, 32 + lh + gt_rows * 30 + 10, 32 + 5 * lh + 8]
        # a short view (1280×720 with docks): tighter panels and a 3-line totals panel, never text cut off
        self._compact = sum(heights) + 5 * m > h
        if self._compact:
            heights = [24 + 3 * lh + 2, 24 + 3 * lh + 18, 24 + lh + gt_rows * 16 + 4, 24 + 3 * lh + 2]
        m_top = 6.0 if self._compact else m
        gap = max(4.0 if self._compact else m, (h - 2 * m_top - sum(heights)) / 3.0)
        y = m_top
        for key, hh in zip(("grid", "yard", "turbines", "totals"), heights, strict=True):
            r[key] = QRectF(m, y, left_w, hh)
            y += hh + gap
        bus_x = r["grid"].right() + max(76.0, w * 0.05)
        r["bus"] = QRectF(bus_x, m + 10, 8, h - 2 * m - 20)
        hx0 = bus_x + max(60.0, w * 0.06)
        plant_h = 32 + 3 * lh + 30
        r["plant"] = QRectF(hx0, h - m - plant_h, w - hx0 - m, plant_h)
        cols = max(1, math.ceil(math.sqrt(n_halls)) if n_halls <= 4 else math.ceil(n_halls / 2))
        rows = math.ceil(n_halls / cols)
        area = QRectF(hx0, m, w - hx0 - m, r["plant"].top() - 2.5 * m - m)
        gap = 18.0
        cw = (area.width() - (cols - 1) * gap) / cols
        ch = (area.height() - (rows - 1) * gap) / rows
        r["halls"] = [QRectF(area.left() + (i % cols) * (cw + gap), area.top() + (i // cols) * (ch + gap), cw, ch)
                      for i in range(n_halls)]
        self._rects = r
        self._layout_size = (w, h)

    def _fit(self, p: QPainter, rect: QRectF, text: str, align) -> None:
        """Draw ``text`` inside ``rect``: a smaller font (down to 70 %) before eliding, never clipped; the
        drawn box is recorded for tests (:meth:`drawn_text`)."""
        font = QFont(p.font())
        key = (font.key(), round(rect.width(), 1), round(rect.height(), 1), text, int(align))
        fit = self._fits.get(key)
        if fit is None:
            fit = self._fitted(font, rect, text, int(align))
            if len(self._fits) > 4000:  # numbers change every second: keep the cache to recent texts
                self._fits.clear()
            self._fits[key] = fit
        size, text, (bx, by, bw, bh) = fit
        if text is None:
            return  # no room at all (the tooltip has it)
        p.save()
        if size is not None:
            font.setPointSizeF(size)
            p.setFont(font)
        p.drawText(rect, int(align), text)
        p.restore()
        self._texts.append((QRectF(rect.left() + bx, rect.top() + by, bw, bh), text, QRectF(rect)))
        self.text_pens[text] = p.pen().color()  # tests check each text colour's contrast

    @staticmethod
    def _fitted(font: QFont, rect: QRectF, text: str, align: int) -> tuple:
        """How ``text`` fits ``rect`` in ``font``: (point size or None for the font's own, the text as drawn
        or None when nothing fits, its box relative to the rectangle's corner). Plain data, so it can be
        kept between paints (the texts repeat; measuring them is most of a site-view paint)."""
        base = font.pointSizeF()
        parts = text.split("\n")
        fm = QFontMetricsF(font)
        size = None
        for k in range(1, 8):
            w = max(fm.horizontalAdvance(s) for s in parts)
            if w <= rect.width() and fm.height() * len(parts) <= rect.height() + 1 or k == 7:
                break
            size = base * (1.0 - 0.05 * k)
            font = QFont(font)
            font.setPointSizeF(size)
            fm = QFontMetricsF(font)
        if max(fm.horizontalAdvance(s) for s in parts) > rect.width():
            text = "\n".join(fm.elidedText(s, Qt.TextElideMode.ElideRight, max(0.0, rect.width())) for s in parts)
            if not text.strip():
                return size, None, (0.0, 0.0, 0.0, 0.0)
        b = fm.boundingRect(QRectF(0.0, 0.0, rect.width(), rect.height()), align, text)
        return size, text, (b.x(), b.y(), b.width(), b.height())

    def drawn_text(self) -> list[tuple[QRectF, str, QRectF]]:
        """Every text of the last paint: (rectangle it covers, text as drawn, the box it had to fit)."""
        return list(self._texts)

    def _text_pen(self, color, fg: QColor) -> QColor:
        """Status colours as text: the theme's readable variant (pale amber on white failed WCAG AA)."""
        dark = self.palette().color(QPalette.ColorRole.Base).value() < 128
        if isinstance(color, str):
            return QColor(*text_color(color, dark))
        rgb = QColor(color).rgb()
        for sev, fill in enumerate((OK_COLOR, WARN_COLOR, CRIT_COLOR)):
            if rgb == fill.rgb():
                return severity_color(sev, dark)
        key = {POWER_COLOR.rgb(): "power", CHARGE_COLOR.rgb(): "charge"}.get(rgb)
        return QColor(*text_color(key, dark)) if key else QColor(color)

    @staticmethod
    def _gt_cols(n_gt: int) -> int:
        """Turbine cells per row: 8 for the first site, 10 when there are dozens (the 200k site has 30)."""
        return min(n_gt, 8 if n_gt <= 16 else 10) or 1

    def resizeEvent(self, e):  # noqa: N802
        self._layout_size = None
        super().resizeEvent(e)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, e):  # noqa: N802
        if self.engine is None or not self._fig:
            return
        if self._layout_size != (self.width(), self.height()):
            self._compute_layout()
        p = QPainter(self)
        # no antialiasing: the drawing is axis-aligned lines and boxes (AA doubled the paint time); arrows use it
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Base)
        fg = pal.color(QPalette.ColorRole.Text)
        box = pal.color(QPalette.ColorRole.AlternateBase)
        p.fillRect(self.rect(), bg)
        self._hits = []
        self._texts = []
        self.text_pens = {}
        F, R = self._fig, self._rects
        base_font = QFont(self.font())
        small = QFont(base_font)
        small.setPointSizeF(max(7.0, base_font.pointSizeF() * 0.9))
        bold = QFont(base_font)
        bold.setBold(True)
        big = QFont(base_font)
        big.setPointSizeF(base_font.pointSizeF() * 1.25)
        big.setBold(True)
        ref_mw = max(1.0, F["grid_limit_mw"])
        bus = R["bus"]

        # ---- flows first, boxes over them
        def flow(a: QPointF, b: QPointF, mw: float, color: QColor, label: str, above=True):
            width = 1.5 + 9.0 * min(1.0, abs(mw) / ref_mw)
            c = QColor(color) if abs(mw) > 0.05 else QColor(IDLE_COLOR)
            p.setPen(QPen(c, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
            p.drawLine(a, b)
            if abs(mw) > 0.05:
                self._arrow(p, a, b, c, width)
            p.setFont(small)
            p.setPen(fg)
            mid = (a + b) / 2
            tr = QRectF(mid.x() - 60, mid.y() - (22 if above else -6), 120, 16)
            self._fit(p, tr, label, Qt.AlignmentFlag.AlignCenter)

        bus_mid_x = bus.center().x()
        g, yd, tb = R["grid"], R["yard"], R["turbines"]
        flow(QPointF(g.right(), g.center().y()), QPointF(bus_mid_x, g.center().y()), F["grid_mw"], POWER_COLOR,
             f"{F['grid_mw']:.1f} MW")
        bmw = F["batt_mw"]
        if bmw >= 0:  # discharging: yard -> bus
            flow(QPointF(yd.right(), yd.center().y()), QPointF(bus_mid_x, yd.center().y()), bmw, POWER_COLOR,
                 f"{bmw:.1f} MW")
        else:
            flow(QPointF(bus_mid_x, yd.center().y()), QPointF(yd.right(), yd.center().y()), bmw, CHARGE_COLOR,
                 f"{-bmw:.1f} MW")
        gt_total = float(F["gt_mw"].sum())
        flow(QPointF(tb.right(), tb.center().y()), QPointF(bus_mid_x, tb.center().y()), gt_total, POWER_COLOR,
             f"{gt_total:.1f} MW")
        # water: plant <-> halls (supply below, return above), drawn before the boxes
        plant = R["plant"]
        sup_c, ret_c = _temp_color(F["t_fs"]), _temp_color(F["t_fr"])
        for i, hr in enumerate(R["halls"]):
            x = hr.center().x()
            p.setPen(QPen(sup_c, 4))
            p.drawLine(QPointF(x + 10, plant.top()), QPointF(x + 10, hr.bottom()))
            p.setPen(QPen(ret_c, 4))
            p.drawLine(QPointF(x - 10, hr.bottom()), QPointF(x - 10, plant.top()))
            # power: bus -> hall
            mw = float(F["hall_it_mw"][i])
            y = hr.top() + 18
            width = 1.5 + 9.0 * min(1.0, mw / ref_mw)
            p.setPen(QPen(POWER_COLOR if mw > 0.05 else IDLE_COLOR, width, Qt.PenStyle.SolidLine,
                          Qt.PenCapStyle.FlatCap))
            p.drawLine(QPointF(bus_mid_x, y), QPointF(hr.left(), y))
        # bus -> chiller plant (cooling power)
        cy = plant.top() + 22
        width = 1.5 + 9.0 * min(1.0, F["cooling_mw"] / ref_mw)
        p.setPen(QPen(POWER_COLOR, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
        p.drawLine(QPointF(bus_mid_x, cy), QPointF(plant.left(), cy))

        # ---- the bus bar
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(POWER_COLOR.darker(140))
        p.drawRoundedRect(bus, 3, 3)
        # rotated label left of the bus, between the Megapack and turbine feeds (free space there)
        p.save()
        p.setPen(fg)
        p.setFont(small)
        label = f"site bus  {F['facility_mw']:.1f} MW"
        lw = p.fontMetrics().horizontalAdvance(label)
        p.translate(bus.left() - 6, (yd.center().y() + tb.center().y()) / 2 + lw / 2)
        p.rotate(-90)
        p.drawText(QPointF(0, 0), label)
        p.restore()

        # ---- boxes
        def panel(rect: QRectF, title: str, border: QColor | None = None):
            p.setPen(QPen(border if border is not None else fg.darker(160), 1.2 if border is None else 2.5))
            p.setBrush(box)
            p.drawRoundedRect(rect, 6, 6)
            p.setPen(fg)
            p.setFont(bold)
            self._fit(p, QRectF(rect.left() + 10, rect.top() + (3 if self._compact else 6), rect.width() - 18,
                                p.fontMetrics().height() + 2),
                      title, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        def lines(rect: QRectF, texts, top=None, step=None):
            top = top if top is not None else (22.0 if self._compact else 28.0)
            step = step or max(15.0, p.fontMetrics().height() + 2)
            y = rect.top() + top
            for item in texts:
                color = fg
                if isinstance(item, tuple):
                    item, color = item
                    color = self._text_pen(color, fg)
                p.setPen(color)
                self._fit(p, QRectF(rect.left() + 10, y, rect.width() - 20, step), item, Qt.AlignmentFlag.AlignLeft)
                y += step
            return y

        # grid
        sag = F["grid_avail_mw"] < F["grid_limit_mw"] * 0.999
        panel(g, "Grid & substation", CRIT_COLOR if sag else None)
        p.setFont(base_font)
        if self._compact:  # three lines: the limit joins the available figure
            lines(g, [f"import {F['grid_mw']:.1f} MW",
                      (f"available {F['grid_avail_mw']:.1f} of {F['grid_limit_mw']:.0f} MW", CRIT_COLOR if sag else fg),
                      f"ambient {F['ambient_c']:.1f} °C"])
        else:
            lines(g, [f"import {F['grid_mw']:.1f} MW", f"limit {F['grid_limit_mw']:.0f} MW",
                      (f"available {F['grid_avail_mw']:.1f} MW", CRIT_COLOR if sag else fg),
                      f"ambient {F['ambient_c']:.1f} °C"])
        self._hits.append((g, "GRID", f"Grid connection and substation (GRID)\nimport {F['grid_mw']:.1f} MW of "
                           f"{F['grid_avail_mw']:.1f} MW available (limit {F['grid_limit_mw']:.0f} MW)"))
        # Megapack yard
        soc = F["soc"]
        panel(yd, f"Megapack yard ({F['mp_units']} units)")
        p.setFont(base_font)
        y_end = lines(yd, [f"SoC {soc:.1%}  of {F['mp_mwh']:.0f} MWh",
                           (f"{'discharging' if bmw > 0.05 else 'charging' if bmw < -0.05 else 'idle'} "
                            f"{abs(bmw):.1f} MW", POWER_COLOR if bmw > 0.05 else CHARGE_COLOR if bmw < -0.05 else fg),
                           f"max {F['batt_max_mw']:.0f} MW"])
        bar = QRectF(yd.left() + 10, min(y_end + 2, yd.bottom() - 16), yd.width() - 20, 10 if self._compact else 14)
        p.setPen(QPen(fg, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(bar)
        fill = QRectF(bar.left() + 1, bar.top() + 1, (bar.width() - 2) * min(1.0, max(0.0, soc)), bar.height() - 2)
        p.fillRect(fill, OK_COLOR if soc > 0.3 else WARN_COLOR if soc > 0.15 else CRIT_COLOR)
        self._hits.append((yd, "MP001", f"Megapack yard: {F['mp_units']} units, {F['mp_mwh']:.0f} MWh\n"
                           f"SoC {soc:.1%}, {bmw:+.1f} MW (+ discharging)"))
        # turbines
        n_gt = len(F["gt_state"])
        running = int((F["gt_state"] == 2).sum())
        panel(tb, f"Gas turbines ({running}/{n_gt} running)")
        p.setFont(base_font)
        y0 = lines(tb, [f"{gt_total:.1f} MW of {n_gt * F['gt_rating']:.0f} MW"])
        if n_gt:
            cols = self._gt_cols(n_gt)
            rows = math.ceil(n_gt / cols)
            cell_w = (tb.width() - 20) / cols
            cell_h = max(14.0, min(34.0, (tb.bottom() - y0 - 8) / max(1, rows)))
            p.setFont(small)
            for i in range(n_gt):
                st = int(F["gt_state"][i])
                c = (IDLE_COLOR, WARN_COLOR, OK_COLOR, CRIT_COLOR)[st]
                cr = QRectF(tb.left() + 10 + (i % cols) * cell_w + 1, y0 + 2 + (i // cols) * cell_h,
                            cell_w - 3, cell_h - 3)
                p.setPen(QPen(c, 1.5))
                p.setBrush(QColor(c.red(), c.green(), c.blue(), 60))
                p.drawRoundedRect(cr, 3, 3)
                p.setPen(fg)
                self._fit(p, cr, f"GT{i + 1}" if cell_w >= 38 else f"{i + 1}", Qt.AlignmentFlag.AlignCenter)
                self._hits.append((cr, f"GT{i + 1}", f"GT{i + 1}: {GT_STATES[st]}, {F['gt_mw'][i]:.1f} MW "
                                   f"of {F['gt_rating']:.1f} MW"))
        self._hits.append((tb, "GT1", f"Gas turbines: {running} of {n_gt} running, {gt_total:.1f} MW"))

        # totals
        tot = R["totals"]
        other = F["facility_mw"] - F["it_mw"] - F["cooling_mw"]
        pue = F["facility_mw"] / F["it_mw"] if F["it_mw"] > 0 else 0.0
        panel(tot, "Site totals")
        p.setFont(base_font)
        # the training swing moves IT and facility power by a third every few seconds: mean and range over
        # the last swing window, the same figures the status bar and the inspector show
        totals = [f"facility {swing_text(self.engine, 'facility_mw')}", f"IT {swing_text(self.engine, 'it_mw')}",
                  f"cooling {F['cooling_mw']:.1f} MW", f"losses, other {other:.1f} MW", f"PUE {pue:.3f}"]
        if self._compact:  # cooling is in the chiller plant's box; losses = facility - IT - cooling
            totals = totals[:2] + [f"PUE {pue:.3f} · losses {other:.1f} MW"]
        lines(tot, totals)
        self._hits.append((tot, "GRID", "Facility power = IT + cooling + electrical losses; PUE = facility / IT\n"
                           f"facility and IT: mean, then lowest–highest over the last {SWING_WINDOW_S:g} s "
                           "(the training swing)"))

        # chiller plant
        n_ch = len(F["chiller_ok"])
        ok_ch = int(F["chiller_ok"].sum())
        panel(plant, f"Chiller plant ({ok_ch}/{n_ch} available)", CRIT_COLOR if ok_ch < n_ch else None)
        p.setFont(base_font)
        info_w = min(260.0, plant.width() * 0.3)
        info = QRectF(plant.left(), plant.top(), info_w, plant.height())
        p.setPen(fg)
        lines(info, [(f"supply {F['t_fs']:.1f} °C", "supply"), (f"return {F['t_fr']:.1f} °C", "return"),
                     f"COP {F['cop']:.2f}   cooling {F['cooling_mw']:.1f} MW"])
        cx0 = plant.left() + info_w
        p.setFont(small)
        # as many rows of chiller cells as it takes for each to show its name and load (14 chillers at 200k)
        avail_w, avail_h = plant.right() - 10 - cx0, min(plant.height() - 34, 70.0)
        need_w = p.fontMetrics().horizontalAdvance("CH00 00.0 MW") * 0.62 + 10
        per_row = max(1, min(n_ch, int(avail_w // need_w)))
        ch_rows = math.ceil(n_ch / per_row)
        cw = avail_w / per_row
        ch_h = avail_h / ch_rows
        two_lines = ch_h >= 2 * p.fontMetrics().height() + 4
        for i in range(n_ch):
            ok = bool(F["chiller_ok"][i])
            load = float(F["chiller_mw"][i])
            c = OK_COLOR if ok and load > 0.05 else IDLE_COLOR if ok else CRIT_COLOR
            cr = QRectF(cx0 + (i % per_row) * cw + 2, plant.top() + 28 + (i // per_row) * ch_h, cw - 6, ch_h - 3)
            p.setPen(QPen(c, 1.5))
            p.setBrush(QColor(c.red(), c.green(), c.blue(), 50))
            p.drawRoundedRect(cr, 4, 4)
            p.setPen(fg)
            state = f"{load:.1f} MW" if ok else "TRIPPED"
            txt = f"CH{i + 1}\n{state}" if two_lines else f"CH{i + 1} {state}"
            self._fit(p, cr.adjusted(2, 0, -2, 0), txt, Qt.AlignmentFlag.AlignCenter)
            self._hits.append((cr, f"CH{i + 1}", f"CH{i + 1}: {'running' if ok and load > 0.05 else 'standby' if ok else 'tripped'}"
                               f", {load:.1f} MW of heat, COP {F['cop']:.2f}"))
        self._hits.append((plant, "CH1", f"Chiller plant: {ok_ch}/{n_ch} available, supply {F['t_fs']:.1f} °C, "
                           f"return {F['t_fr']:.1f} °C, COP {F['cop']:.2f}"))

        # halls
        names = self.engine.topo.hall_names
        for i, hr in enumerate(R["halls"]):
            hot = float(F["hall_hot_c"][i])
            thr = int(F["hall_thr"][i])
            faults = int(F["hall_faults"][i])
            hot_color = CRIT_COLOR if hot >= F["t_slow"] else WARN_COLOR if hot >= F["t_cap"] else fg
            border = CRIT_COLOR if hot >= F["t_slow"] else WARN_COLOR if (thr or faults or hot >= F["t_cap"]) else None
            panel(hr, names[i], border)
            p.setFont(big)
            p.setPen(fg)
            title_w = QFontMetricsF(bold).horizontalAdvance(names[i]) + 24
            self._fit(p, QRectF(hr.left() + title_w, hr.top() + 4, hr.width() - title_w - 10,
                                QFontMetricsF(big).height() + 2),
                      f"{F['hall_it_mw'][i]:.1f} MW", Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            p.setFont(base_font)
            up, tot = int(F["hall_up"][i]), int(F["hall_gpus"][i])
            texts = [(f"hottest GPU {hot:.1f} °C", hot_color), (f"GPUs up {up:,}/{tot:,}", fg),
                     (f"throttled {thr:,}", WARN_COLOR if thr else fg),
                     (f"cooling faults {faults}", WARN_COLOR if faults else fg)]
            fm = p.fontMetrics()
            if max(fm.horizontalAdvance(t) for t, _ in texts) + 24 > hr.width():  # a small card: short forms
                texts = [(f"{hot:.1f} °C", hot_color), (f"{up:,} up", fg),
                         (f"{thr:,} thr.", WARN_COLOR if thr else fg), (f"{faults} faults", WARN_COLOR if faults else fg)]
            text_w = min(max(fm.horizontalAdvance(t) for t, _ in texts) + 24.0, hr.width())
            col = QRectF(hr.left(), hr.top(), text_w, hr.height())
            y_end = lines(col, texts, top=30)
            # rack thumbnail, rows as on the floor
            img = self._hall_images[i] if i < len(self._hall_images) else None
            if img is not None:
                tr = QRectF(hr.left() + text_w, hr.top() + 34, hr.width() - text_w - 10, hr.height() - 42)
                if tr.width() < 80 or tr.height() < 30:  # narrow box: thumbnail below the text
                    tr = QRectF(hr.left() + 10, y_end + 2, hr.width() - 20, hr.bottom() - y_end - 8)
                if tr.width() > 20 and tr.height() > 12:
                    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
                    p.drawImage(tr, img)
                    p.setPen(QPen(fg.darker(150), 1))
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    p.drawRect(tr)
            self._hits.append((hr, f"hall:{i}", f"Hall {names[i]}: IT {F['hall_it_mw'][i]:.1f} MW, hottest GPU "
                               f"{hot:.1f} °C\nGPUs up {up:,}/{tot:,}, throttled {thr}, cooling faults {faults}\n"
                               "Click to open the hall"))
        if warming_up(self.engine):
            p.setFont(bold)
            band = QRectF(0, self.height() / 2 - 22, self.width(), 44)
            p.fillRect(band, QColor(0, 0, 0, 170))
            p.setPen(QColor(255, 255, 255))
            self._fit(p, band.adjusted(10, 0, -10, 0), WARMUP_TEXT, Qt.AlignmentFlag.AlignCenter)
        if F["shed"] > 0:
            p.setFont(bold)
            p.setPen(self._text_pen(CRIT_COLOR, fg))
            p.drawText(QRectF(0, 0, self.width() - 14, 20), Qt.AlignmentFlag.AlignRight,
                       f"LOAD SHEDDING {F['shed']:.0%}")
        p.end()
        self.paint_count += 1

    @staticmethod
    def _arrow(p: QPainter, a: QPointF, b: QPointF, color: QColor, width: float) -> None:
        d = b - a
        length = math.hypot(d.x(), d.y())
        if length < 20:
            return
        ux, uy = d.x() / length, d.y() / length
        tip = a + d * 0.5 + QPointF(ux, uy) * 8
        s = 6 + width * 0.6
        path = QPainterPath(tip)
        path.lineTo(tip - QPointF(ux * s, uy * s) + QPointF(-uy * s * 0.6, ux * s * 0.6))
        path.lineTo(tip - QPointF(ux * s, uy * s) - QPointF(-uy * s * 0.6, ux * s * 0.6))
        path.closeSubpath()
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawPath(path)
        p.restore()

    # ------------------------------------------------------------------ interaction
    def _hit(self, pos: QPointF) -> tuple[str, str] | None:
        # small items were appended before the panels that hold them: first match wins
        for rect, key, tip in self._hits:
            if rect.contains(pos):
                return key, tip
        return None

    def hall_rect(self, i: int) -> QRectF:
        if self._layout_size != (self.width(), self.height()):
            self._compute_layout()
        return self._rects["halls"][i]

    def event(self, e):
        if e.type() == QEvent.Type.ToolTip:
            hit = self._hit(QPointF(e.pos()))
            if hit:
                QToolTip.showText(e.globalPos(), hit[1], self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)

    def mousePressEvent(self, e: QMouseEvent):  # noqa: N802
        hit = self._hit(e.position())
        if hit is None:
            return super().mousePressEvent(e)
        key = hit[0]
        if e.button() == Qt.MouseButton.LeftButton:
            if key.startswith("hall:"):
                self.hall_activated.emit(int(key[5:]))
            else:
                self.component_selected.emit(key)
        elif e.button() == Qt.MouseButton.RightButton:
            addr = self.engine.topo.hall_names[int(key[5:])] if key.startswith("hall:") else key
            self.context_menu_requested.emit(addr, e.globalPosition().toPoint())


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0
