"""One hall in three tiers, as the building is: busways on top, GPU racks in the middle, cooling below.

Everything is painted by one ``paintEvent``: the rack cells and the CDU cells are numpy RGBA images (one
texel strip per row, drawn scaled without smoothing), so the cost of a repaint does not grow with the number
of racks; only the few row labels, busway bars and outlines are separate draw calls. Text is drawn in screen
space so it stays legible at any zoom.

Zoom with the wheel (around the cursor), pan by dragging, double-click a rack to open it, ``F`` or the Fit
button to fit the hall, arrow keys move the selection and Enter opens it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QLinearGradient,
    QPainter,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...model.thresholds import DEFAULT_LIMITS, Limits
from ...sim.time_to_limit import time_to_limit_text
from .. import colors
from ..theme import severity_frame_color
from .lazy_refresh import LazyRefreshMixin
from .metric_choice import MetricChoiceMixin
from .metrics import (
    BUSWAY_CONTINUOUS_FRAC,
    BUSWAY_CRIT_PCT,
    BUSWAY_WARN_PCT,
    RACK_METRICS,
    Metric,
    rack_fault_counts,
    rack_fault_text,
    rack_key_figures,
    row_busway_load,
)
from .rack_pointer import RackPointerMixin

# ---- world layout, in rack pitches ---------------------------------------------------------------------------
CELL_W = 0.84  # rack cell width (the rest is the gap to the next rack)
TEXELS = 25  # texels per rack pitch in the strip images (gap = 4 texels)
GAP_TEXELS = 4
POWER_PITCH = 0.6  # busway bar pitch per row
POWER_BAR_H = 0.42
GPU_PITCH = 1.18  # rack row pitch (the rest is the aisle)
GPU_CELL_H = 0.9
COOL_PITCH = 0.85
CDU_Y, CDU_H = 0.2, 0.42  # CDU cell inside a cooling row
CDU_TEXEL0, CDU_TEXEL1 = 5, 20  # CDU cell spans these texels of a pitch (narrower than the rack)
SUP_Y, RET_Y, PIPE_H = 0.04, 0.7, 0.11  # supply and return headers inside a cooling row
MAX_SCALE = 70.0  # px per rack pitch when fitted (small halls would otherwise be huge)
# Fitting stretches one axis up to this factor beyond the other, so a wide view is filled by wider cells
# instead of a narrow hall in the middle of an empty pane (cells stay recognisable up to ~2.5:1).
MAX_STRETCH = 2.5

# CDU states (cooling tier colour)
CDU_OK, CDU_REDUNDANCY, CDU_SWITCHING, CDU_LOW_FLOW, CDU_ISOLATED = range(5)
CDU_PALETTE = np.array([colors.OK, colors.WARNING, (255, 214, 90, 255), colors.CRITICAL, colors.OUT_OF_SERVICE],
                       dtype=np.uint8)
CDU_LABELS = ("flow ok", "pump redundancy lost", "pump switching over", "low / no flow, leak", "isolated")


def qcolor(rgba) -> QColor:
    return QColor(int(rgba[0]), int(rgba[1]), int(rgba[2]), int(rgba[3]) if len(rgba) > 3 else 255)


def cdu_states(engine) -> np.ndarray:
    """Per rack CDU state code (see CDU_LABELS), vectorised."""
    cdu = engine.facility.rack.cdu
    up = engine.pump_ok.sum(axis=1)
    st = np.full(engine.n_racks, CDU_OK, dtype=np.int8)
    st[up < cdu.pumps] = CDU_REDUNDANCY
    st[engine.pump_switch_s > 0] = CDU_SWITCHING
    st[(up < cdu.pumps_needed) | engine.leak | (engine.flow_frac < 0.5)] = CDU_LOW_FLOW
    st[engine.rack_isolated] = CDU_ISOLATED
    return st


def busway_color(pct: np.ndarray) -> np.ndarray:
    """Busway load % -> RGBA: green below the continuous-load mark, amber above, red near the rating."""
    out = np.empty((len(pct), 4), dtype=np.uint8)
    out[:] = colors.OK
    out[pct >= BUSWAY_WARN_PCT] = colors.WARNING
    out[pct >= BUSWAY_CRIT_PCT] = colors.CRITICAL
    return out


def pipe_range(engine) -> tuple[float, float]:
    """Pipe colour scale: facility supply setpoint (blue) to 12 K above it (red), so a rack's supply
    (~3 K above the setpoint) reads blue and its return (~8-10 K above) reads red."""
    sp = float(engine.facility.site.supply_setpoint_c)
    return sp, sp + 12.0


# ======================================================================================= legend
class MetricLegendWidget(QWidget):
    """A horizontal colour scale with the metric's limits marked, plus optional state swatches.
    Shared by the hall view and the GPU heatmap."""


    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("metricLegend")
        self._metric: Metric | None = None
        self._swatches: list[tuple[tuple, str]] = []
        self.setFixedHeight(2 * self.fontMetrics().height() + 14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_metric(self, metric: Metric, swatches: list[tuple[tuple, str]] | None = None) -> None:
        self._metric = metric
        self._swatches = list(swatches or [])
        self.setToolTip(f"{metric.label}: {metric.limits_text()}"
                        + "".join(f"\n■ {label}" for _c, label in self._swatches))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(460, 2 * self.fontMetrics().height() + 14)

    def paintEvent(self, _ev) -> None:  # noqa: N802
        m = self._metric
        if m is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        fm = p.fontMetrics()
        text = self.palette().color(QPalette.ColorRole.WindowText)
        sw_w = sum(fm.horizontalAdvance(t) + 24 for _, t in self._swatches)
        bar_w = max(120, min(360, self.width() - sw_w - 20))
        x0, bh = 6, 10
        y0 = fm.height() + 1
        # gradient through the metric's own mapping (so a piecewise severity scale reads right)
        vals = np.linspace(m.vmin, m.vmax, 64)
        rgba = m.rgba(vals)
        grad = QLinearGradient(x0, 0, x0 + bar_w, 0)
        for i, c in enumerate(rgba):
            grad.setColorAt(i / 63.0, qcolor(c))
        p.fillRect(QRectF(x0, y0, bar_w, bh), grad)
        p.setPen(QPen(text, 1))
        p.drawRect(QRectF(x0, y0, bar_w, bh))
        # ends below the bar, limits above it (pushed apart when close)
        ty = y0 + bh + fm.ascent() + 2
        p.drawText(QPointF(x0, ty), m.format(m.vmin, unit=False))
        hi = m.format(m.vmax)
        p.drawText(QPointF(x0 + bar_w - fm.horizontalAdvance(hi), ty), hi)
        right = x0
        for v, col, tag in ((m.warn, colors.WARNING, "warn"), (m.crit, colors.CRITICAL, "crit")):
            if v is None:
                continue
            x = x0 + (v - m.vmin) / ((m.vmax - m.vmin) or 1.0) * bar_w
            p.setPen(QPen(qcolor(col), 3))
            p.drawLine(QPointF(x, y0 - 2), QPointF(x, y0 + bh + 2))
            p.setPen(QPen(text, 1))
            lab = f"{tag} {m.format(v, unit=False)}"
            w = fm.horizontalAdvance(lab)
            left = max(right, min(x - w / 2, x0 + bar_w + 40 - w, self.width() - w - 2))
            p.drawText(QPointF(left, fm.ascent()), lab)
            right = left + w + 8
        # swatches, as many as fit whole (the tooltip lists them all)
        x = x0 + bar_w + 48
        for rgba_s, label in self._swatches:
            if x + 16 + fm.horizontalAdvance(label) > self.width() - 2:
                break
            p.fillRect(QRectF(x, y0 - 1, 12, 12), qcolor(rgba_s))
            p.setPen(QPen(text, 1))
            p.drawRect(QRectF(x, y0 - 1, 12, 12))
            p.drawText(QPointF(x + 16, y0 + 10), label)
            x += fm.horizontalAdvance(label) + 24
        p.end()


# ======================================================================================= the hall view
class HallView(RackPointerMixin, MetricChoiceMixin, LazyRefreshMixin, QWidget):
    """One hall, three tiers. ``refresh()`` is cheap and repaints only when visible and changed."""

    limits: Limits = DEFAULT_LIMITS  # alarm thresholds: colours and legends use the same limits

    rack_selected = Signal(int)
    rack_activated = Signal(int)
    row_activated = Signal(int, int)  # (hall, row): a click on a row label opens the row section
    context_menu_requested = Signal(str, QPoint)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("hallView")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(360, 300)
        self.engine = None
        self.hall = 0
        self.current_metric: Metric = RACK_METRICS["hottest_gpu"]
        self._metric_name = "hottest_gpu"
        self.selected = -1
        self._hover = -1
        # optional: () -> int8 per rack (0 none, 1 warning, 2 critical), e.g. AlarmManager.rack_severity;
        # racks with an active alarm get an amber or red frame whatever the colour metric
        self.alarm_severity_fn = None
        self.alarm_text_fn = None  # optional: rack index -> short text of its active alarms (tooltip)
        self._zoom = 1.0
        self._pan = QPointF(0, 0)
        self._press: QPointF | None = None
        self._panning = False
        self._rows = self._per_row = 0
        self._r0 = 0  # first global rack of the hall
        self._rack_img = self._cdu_img = self._sup_img = self._ret_img = None
        self._bus_pct = self._bus_w = self._bus_rating = self._bus_rgba = None
        self._values = None
        self._texts: list[tuple[QRectF, str, QRectF]] = []
        self._tier_gap = 1.2  # world units kept for each tier's title line (fitted to the font)
        self._label_w = 1.7  # world units left of the rows for row labels

        # header: hall name, metric choice, legend, fit
        self._header = QWidget(self)
        hl = QHBoxLayout(self._header)
        hl.setContentsMargins(6, 4, 6, 2)
        self._title = QLabel(self._header)
        self._title.setObjectName("hallTitle")
        f = self._title.font()
        f.setBold(True)
        self._title.setFont(f)
        self.metric_combo = QComboBox(self._header)
        self.metric_combo.setObjectName("metricCombo")
        self.metric_combo.setToolTip("Colour the racks by")
        for name, m in RACK_METRICS.items():
            self.metric_combo.addItem(m.label + (f" ({m.unit})" if m.unit else ""), name)
        self.metric_combo.currentIndexChanged.connect(self._on_metric_combo_changed)
        self.legend = MetricLegendWidget(self._header)
        fit = QToolButton(self._header)
        fit.setObjectName("hallFitButton")
        fit.setText("Fit")
        fit.setToolTip("Fit the hall in the view (F)")
        fit.clicked.connect(self.fit)
        hl.addWidget(self._title)
        hl.addWidget(self.metric_combo)
        hl.addWidget(self.legend, 1)
        hl.addWidget(fit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._header)
        lay.addStretch(1)

    # ------------------------------------------------------------------ API
    def set_engine(self, engine) -> None:
        self.engine = engine
        self.selected = -1
        self._hover = -1
        self.set_hall(0)

    def set_hall(self, index: int) -> None:
        eng = self.engine
        if eng is None:
            return
        topo = eng.topo
        index = int(np.clip(index, 0, topo.n_halls - 1))
        self.hall = index
        spec = eng.facility.halls[index]
        self._rows, self._per_row = spec.rows, spec.racks_per_row
        self._r0 = int(topo.hall_rack_start[index])
        self._n = spec.rows * spec.racks_per_row
        self._title.setText(f"Hall {topo.hall_names[index]}")
        self._alloc_images()
        self._metric_resolved()
        self._fit_margins()
        self.fit()
        self.refresh(force=True)

    def set_metric(self, name: str) -> None:
        if name not in RACK_METRICS:
            raise ValueError(f"unknown rack metric {name!r} (known: {', '.join(RACK_METRICS)})")
        self._metric_name = name
        i = self.metric_combo.findData(name)
        if i != self.metric_combo.currentIndex():
            self.metric_combo.setCurrentIndex(i)  # comes back through _on_metric_combo_changed
            return
        self._metric_resolved()
        self.refresh(force=True)

    def highlight_racks(self, racks) -> None:
        """Frame these racks (the racks of a fabric leaf's GPUs); None clears."""
        self.highlighted_racks = None if racks is None else np.asarray(racks, dtype=np.int64)
        self.update()

    def select(self, rack_index: int) -> None:
        """Outline a rack (global index); switches hall if the rack lies in another. Emits nothing."""
        if self.engine is None:
            return
        rack_index = int(rack_index)
        if 0 <= rack_index < self.engine.n_racks:
            h = int(self.engine.topo.rack_hall[rack_index])
            if h != self.hall:
                self.set_hall(h)
        self.selected = rack_index
        self.update()

    def refresh(self, force: bool = False) -> None:
        """Recolour from the engine. Cheap; does nothing while hidden or when nothing has changed."""
        eng = self.engine
        if eng is None:
            return
        if not self._refresh_due(force, (eng.revision, self._metric_name, self.hall)):
            return
        self._recolor()
        self.update()

    def fit(self) -> None:
        self._zoom = 1.0
        self._pan = QPointF(0, 0)
        self.update()

    # ------------------------------------------------------------------ test hooks / geometry
    def rack_rect(self, index: int) -> QRect:
        """Widget rectangle of a rack's cell (global rack index, in the current hall)."""
        return self._world_rect(*self._rack_world(index)).toAlignedRect()

    def rack_center(self, index: int) -> QPoint:
        return self._world_rect(*self._rack_world(index)).center().toPoint()

    def cdu_center(self, index: int) -> QPoint:
        row, pos = self._row_pos(index)
        y = self._cool_y0() + row * COOL_PITCH + CDU_Y
        x = pos + (CDU_TEXEL0 + CDU_TEXEL1) / 2 / TEXELS
        return self._to_screen(QPointF(x, y + CDU_H / 2)).toPoint()

    def busway_rect(self, row: int) -> QRect:
        y = self._power_y0() + row * POWER_PITCH
        return self._world_rect(0.0, y, self._per_row - (1 - CELL_W), POWER_BAR_H).toAlignedRect()

    def rack_at(self, pos: QPointF | QPoint) -> int:
        """Global rack index whose rack cell or CDU cell lies under the widget point, else -1."""
        hit = self._hit(QPointF(pos))
        return hit[1] if hit and hit[0] in ("rack", "cdu") else -1

    # ------------------------------------------------------------------ layout
    def _power_y0(self) -> float:
        return self._tier_gap

    def _gpu_y0(self) -> float:
        return self._power_y0() + self._rows * POWER_PITCH + self._tier_gap

    def _cool_y0(self) -> float:
        return self._gpu_y0() + self._rows * GPU_PITCH + self._tier_gap

    def _fit_margins(self) -> None:
        """Size the title lines and the row-label column in world units so that, at the fitted scale,
        they hold one line of text (a fixed world size would waste room on a small hall, clip on a big one)."""
        if not self._per_row:
            return
        fm = self.fontMetrics()
        title_px, label_px = fm.height() + 10, fm.horizontalAdvance("R100") + 10
        for _ in range(4):
            fx, fy = self._fit_scales()
            self._tier_gap = float(np.clip(title_px / fy, 0.4, 4.0))
            self._label_w = float(np.clip(label_px / fx, 0.6, 8.0))

    def _fit_scales(self) -> tuple[float, float]:
        """Pixels per world unit along x and y at zoom 1: the hall fills the pane, each axis stretched at most
        MAX_STRETCH times beyond the other."""
        a = self._area()
        ww, wh = self._world_size()
        fit_x, fit_y = max(1.0, a.width() - 8) / ww, max(1.0, a.height() - 8) / wh
        f = min(fit_x, fit_y, MAX_SCALE)
        return min(fit_x, f * MAX_STRETCH), min(fit_y, f * MAX_STRETCH)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._fit_margins()

    def _world_size(self) -> tuple[float, float]:
        return self._label_w + self._per_row + 0.3, self._cool_y0() + self._rows * COOL_PITCH + 0.2

    def _area(self) -> QRectF:
        top = self._header.height() if self._header.isVisible() else 0
        return QRectF(0, top, self.width(), self.height() - top)

    def _scales(self) -> tuple[float, float, QPointF]:
        """(px per world unit along x, along y, screen origin of world 0,0) at the current zoom and pan."""
        a = self._area()
        ww, _wh = self._world_size()
        fx, fy = self._fit_scales()
        sx, sy = fx * self._zoom, fy * self._zoom
        # whole-pixel pitches: every rack pitch the same number of pixels and every row pitch too, so the
        # gaps between cells are all alike (a fractional pitch makes every few gaps a pixel wider)
        if sx >= 4:
            sx = float(math.floor(sx))
        if sy * GPU_PITCH >= 4:
            sy = math.floor(sy * GPU_PITCH) / GPU_PITCH
        # at zoom 1 the hall is centred horizontally and sits at the top
        ox = round(a.left() + (a.width() - ww * sx / self._zoom) / 2 + self._label_w * sx + self._pan.x())
        oy = round(a.top() + 4 + self._pan.y())
        return sx, sy, QPointF(ox, oy)

    def _scale_origin(self) -> tuple[float, QPointF]:
        """(the smaller of the two scales, origin): for sizes that must fit both ways (dots, text)."""
        sx, sy, o = self._scales()
        return min(sx, sy), o

    def _to_screen(self, w: QPointF) -> QPointF:
        sx, sy, o = self._scales()
        return QPointF(o.x() + w.x() * sx, o.y() + w.y() * sy)

    def _to_world(self, p: QPointF) -> QPointF:
        sx, sy, o = self._scales()
        return QPointF((p.x() - o.x()) / sx, (p.y() - o.y()) / sy)

    def _world_rect(self, x: float, y: float, w: float, h: float) -> QRectF:
        sx, sy, o = self._scales()
        return QRectF(o.x() + x * sx, o.y() + y * sy, w * sx, h * sy)

    def _row_pos(self, index: int) -> tuple[int, int]:
        topo = self.engine.topo
        if not 0 <= index < self.engine.n_racks or int(topo.rack_hall[index]) != self.hall:
            raise ValueError(f"rack {index} is not in hall {topo.hall_names[self.hall]}")
        return int(topo.rack_row[index]), int(topo.rack_pos[index])

    def _rack_world(self, index: int) -> tuple[float, float, float, float]:
        row, pos = self._row_pos(index)
        return float(pos), self._gpu_y0() + row * GPU_PITCH, CELL_W, GPU_CELL_H

    def _hit(self, p: QPointF):
        """What lies under a widget point: ('rack'|'cdu', global rack) or ('busway', row) or None."""
        if self.engine is None or not self._per_row or p.y() < self._area().top():
            return None
        w = self._to_world(p)
        x, y = w.x(), w.y()
        col = math.floor(x)
        if -self._label_w <= x < 0:  # the row labels left of the tiers
            for y0, pitch in ((self._power_y0(), POWER_PITCH), (self._gpu_y0(), GPU_PITCH),
                              (self._cool_y0(), COOL_PITCH)):
                if y0 <= y < y0 + self._rows * pitch:
                    return ("row_label", int((y - y0) // pitch))
            return None
        if not 0 <= col < self._per_row:
            return None
        fx = x - col
        y_p, y_g, y_c = self._power_y0(), self._gpu_y0(), self._cool_y0()
        if y_p <= y < y_p + self._rows * POWER_PITCH:
            row = int((y - y_p) // POWER_PITCH)
            if (y - y_p) - row * POWER_PITCH <= POWER_BAR_H:
                return ("busway", row)
        elif y_g <= y < y_g + self._rows * GPU_PITCH:
            row = int((y - y_g) // GPU_PITCH)
            if (y - y_g) - row * GPU_PITCH <= GPU_CELL_H and fx <= CELL_W:
                return ("rack", self._r0 + row * self._per_row + col)
        elif y_c <= y < y_c + self._rows * COOL_PITCH:
            row = int((y - y_c) // COOL_PITCH)
            fy = (y - y_c) - row * COOL_PITCH
            if fy <= RET_Y + PIPE_H and fx <= CELL_W:
                return ("cdu", self._r0 + row * self._per_row + col)
        return None

    # ------------------------------------------------------------------ colouring
    def _metric_resolved(self) -> None:
        if self.engine is not None:
            self.current_metric = RACK_METRICS[self._metric_name].resolved(self.engine, self.limits)
        else:
            self.current_metric = RACK_METRICS[self._metric_name]
        self.legend.set_metric(self.current_metric)

    def _alloc_images(self) -> None:
        r, p = self._rows, self._per_row
        # strips: one texel row per hall row, TEXELS texels per rack pitch; gap texels stay transparent
        self._rack_buf = np.zeros((r, p, TEXELS, 4), dtype=np.uint8)
        self._cdu_buf = np.zeros((r, p, TEXELS, 4), dtype=np.uint8)
        self._sup_buf = np.zeros((r, p, 4), dtype=np.uint8)
        self._ret_buf = np.zeros((r, p, 4), dtype=np.uint8)

    @staticmethod
    def _qimage(buf: np.ndarray, w: int, h: int) -> QImage:
        # QImage does not own the numpy memory: keep ``buf`` alive as long as the image (attributes below)
        return QImage(buf.data, w, h, w * 4, QImage.Format.Format_RGBA8888)

    def _recolor(self) -> None:
        eng = self.engine
        a, b = self._r0, self._r0 + self._n
        r, p = self._rows, self._per_row
        vals = self.current_metric.values(eng)[a:b]
        self._values = vals
        rgba = self.current_metric.rgba(vals).reshape(r, p, 4)
        self._rack_buf[:, :, : TEXELS - GAP_TEXELS] = rgba[:, :, None, :]
        self._rack_img = self._qimage(self._rack_buf, p * TEXELS, r)
        st = cdu_states(eng)[a:b].reshape(r, p)
        self._cdu_buf[:, :, CDU_TEXEL0:CDU_TEXEL1] = CDU_PALETTE[st][:, :, None, :]
        self._cdu_img = self._qimage(self._cdu_buf, p * TEXELS, r)
        lo, hi = pipe_range(eng)
        self._sup_buf[:] = colors.colors_for(eng.t_sup[a:b], lo, hi, colors.PIPE_LUT).reshape(r, p, 4)
        self._ret_buf[:] = colors.colors_for(eng.t_ret[a:b], lo, hi, colors.PIPE_LUT).reshape(r, p, 4)
        self._sup_img = self._qimage(self._sup_buf, p, r)
        self._ret_img = self._qimage(self._ret_buf, p, r)
        power, rating = row_busway_load(eng)
        rows_before = sum(h.rows for h in eng.facility.halls[: self.hall])
        sl = slice(rows_before, rows_before + r)
        self._bus_w, self._bus_rating = power[sl], rating[sl]
        self._bus_pct = 100.0 * self._bus_w / np.maximum(self._bus_rating, 1.0)
        self._bus_rgba = busway_color(self._bus_pct)
        self._pumps_ok = eng.pump_ok[a:b]
        self._cdu_state = st

    # ------------------------------------------------------------------ painting
    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        area = self._area()
        p.fillRect(area, pal.color(QPalette.ColorRole.Base))
        self._texts = []
        if self.engine is None or self._rack_img is None:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "No facility loaded")
            p.end()
            return
        p.setClipRect(area)
        text = pal.color(QPalette.ColorRole.Text)
        dim = pal.color(QPalette.ColorRole.PlaceholderText)
        sx, sy, o = self._scales()
        s = min(sx, sy)
        fm = p.fontMetrics()
        r, n = self._rows, self._per_row
        row_w = n - (1 - CELL_W)
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.85))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)

        # ---- tier titles
        bold = QFont(self.font())
        bold.setBold(True)

        def title(y_world: float, head: str, rest: str) -> None:
            top = self._to_screen(QPointF(-self._label_w + 0.1, y_world - self._tier_gap))
            rect = QRectF(top.x(), top.y(), area.right() - top.x() - 4, self._tier_gap * sy - 3)
            al = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
            p.setFont(bold)
            p.setPen(text)
            self._draw_text(p, rect, al, head)
            p.setFont(self.font())
            p.setPen(dim)
            self._draw_text(p, rect.adjusted(QFontMetricsF(bold).horizontalAdvance(head) + 18, 0, 0, 0), al, rest)

        title(self._power_y0(), "POWER", "busway per row: load % of rating "
              f"(rating = row design power / {BUSWAY_CONTINUOUS_FRAC:.0%})  "
              f"amber ≥ {BUSWAY_WARN_PCT:.0f} %, red ≥ {BUSWAY_CRIT_PCT:.0f} %")
        title(self._gpu_y0(), "GPU RACKS", f"{self.current_metric.label} — {self.current_metric.limits_text()}")
        lo, hi = pipe_range(self.engine)
        title(self._cool_y0(), "COOLING", f"CDU per rack; supply (top) and return (bottom) headers, blue {lo:.0f} °C"
              f" → red {hi:.0f} °C")

        label_font = small if sy * POWER_PITCH < fm.height() + 2 else self.font()
        p.setFont(label_font)
        lfm = p.fontMetrics()

        def row_label(i: int, y_world: float, h_world: float, pitch: float) -> None:
            step = max(1, math.ceil((lfm.height() + 1) / max(pitch * sy, 1e-6)))  # thin out when rows are dense
            if i % step:  # every step-th row, so labels never overlap (R13 / R14 did)
                return
            rect = QRectF(o.x() - self._label_w * sx, o.y() + y_world * sy, self._label_w * sx - 6, h_world * sy)
            p.setFont(label_font)
            p.setPen(dim)
            self._draw_text(p, rect.adjusted(0, -lfm.height(), 0, lfm.height()),
                            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"R{i + 1}")

        # ---- power tier: one bar per row
        y0 = self._power_y0()
        track = QColor(pal.color(QPalette.ColorRole.Mid))
        track.setAlpha(110)
        for i in range(r):
            y = y0 + i * POWER_PITCH
            bar = self._world_rect(0.0, y, row_w, POWER_BAR_H)
            p.fillRect(bar, track)
            if not np.isfinite(self._bus_pct[i]):  # no reading (recorded telemetry with gaps): hatched, n/a
                p.fillRect(bar, QBrush(dim, Qt.BrushStyle.BDiagPattern))
                row_label(i, y, POWER_BAR_H, POWER_PITCH)
                p.setPen(text)
                p.drawText(bar.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "n/a")
                continue
            frac = float(min(self._bus_pct[i], 100.0)) / 100.0
            p.fillRect(QRectF(bar.left(), bar.top(), bar.width() * frac, bar.height()), qcolor(self._bus_rgba[i]))
            # mark the continuous-load limit on the track
            xm = bar.left() + bar.width() * BUSWAY_WARN_PCT / 100.0
            p.setPen(QPen(dim, 1))
            p.drawLine(QPointF(xm, bar.top()), QPointF(xm, bar.bottom()))
            row_label(i, y, POWER_BAR_H, POWER_PITCH)
            if bar.height() >= lfm.ascent():
                s_txt = f"{self._bus_pct[i]:.0f} %  {self._bus_w[i] / 1e6:.2f} MW"
                p.setPen(QColor(*colors.text_on(self._bus_rgba[i])))
                self._draw_text(p, bar.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                s_txt, elide=False)

        # ---- GPU tier: one strip image per row
        y0 = self._gpu_y0()
        src_w = float(n * TEXELS)
        for i in range(r):
            y = y0 + i * GPU_PITCH
            p.drawImage(self._world_rect(0.0, y, float(n), GPU_CELL_H), self._rack_img, QRectF(0, i, src_w, 1))
            row_label(i, y, GPU_CELL_H, GPU_PITCH)
        missing = np.flatnonzero(np.isnan(self._values))  # no reading: hatched over the grey, never a colour
        if missing.size:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(text, Qt.BrushStyle.BDiagPattern))
            for k in missing[:20000]:
                i, j = divmod(int(k), n)
                p.drawRect(self._world_rect(j, y0 + i * GPU_PITCH, CELL_W, GPU_CELL_H))
        self._paint_cell_text(p, small)

        # ---- cooling tier
        y0 = self._cool_y0()
        for i in range(r):
            y = y0 + i * COOL_PITCH
            p.drawImage(self._world_rect(0.0, y + SUP_Y, row_w, PIPE_H), self._sup_img, QRectF(0, i, n, 1))
            p.drawImage(self._world_rect(0.0, y + RET_Y, row_w, PIPE_H), self._ret_img, QRectF(0, i, n, 1))
            p.drawImage(self._world_rect(0.0, y + CDU_Y, float(n), CDU_H), self._cdu_img, QRectF(0, i, src_w, 1))
            row_label(i, y + CDU_Y, CDU_H, COOL_PITCH)
        if s >= 28:
            self._paint_pumps(p)  # dots need room both ways

        # ---- alarm frames (amber warning, red critical), then hover thin, selection thick
        if self.alarm_severity_fn is not None:
            sev = np.asarray(self.alarm_severity_fn())[self._r0:self._r0 + self._n]
            p.setBrush(Qt.BrushStyle.NoBrush)
            for level in (1, 2):  # amber warning, red critical: the theme's severity fills
                p.setPen(QPen(severity_frame_color(level), 2.5))
                for k in np.flatnonzero(sev == level):
                    p.drawRect(self._world_rect(*self._rack_world(self._r0 + int(k))).adjusted(-2, -2, 2, 2))
        hl = getattr(self, "highlighted_racks", None)  # a fabric leaf's racks (highlight_racks)
        if hl is not None and hl.size:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(QColor("#00e5ff"), 2.0, Qt.PenStyle.DashLine))
            for r in hl[(hl >= self._r0) & (hl < self._r0 + self._n)]:
                p.drawRect(self._world_rect(*self._rack_world(int(r))).adjusted(-4, -4, 4, 4))
        for idx, width in ((self._hover, 1), (self.selected, 3)):
            if idx < 0 or not self._r0 <= idx < self._r0 + self._n:
                continue
            pen = QPen(text, width)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            grow = width / 2 + 1
            p.drawRect(self._world_rect(*self._rack_world(idx)).adjusted(-grow, -grow, grow, grow))
            row, pos = self._row_pos(idx)
            cdu = self._world_rect(pos + CDU_TEXEL0 / TEXELS, y0 + row * COOL_PITCH + CDU_Y,
                                   (CDU_TEXEL1 - CDU_TEXEL0) / TEXELS, CDU_H)
            p.drawRect(cdu.adjusted(-grow, -grow, grow, grow))
        p.end()

    def _draw_text(self, p: QPainter, rect: QRectF, align, text: str, elide: bool = True) -> None:
        """Text inside ``rect`` (elided at the right rather than clipped; left out when even that cannot fit),
        recorded for :meth:`drawn_text`."""
        fm = QFontMetricsF(p.font())
        if fm.horizontalAdvance(text) > rect.width():
            if not elide:
                return
            text = fm.elidedText(text, Qt.TextElideMode.ElideRight, max(0.0, rect.width()))
            if len(text) <= 1:
                return
        p.drawText(rect, int(align), text)
        self._texts.append((fm.boundingRect(rect, int(align), text), text, QRectF(rect)))

    def drawn_text(self) -> list[tuple[QRectF, str, QRectF]]:
        """Every label of the last paint: (rectangle it covers, text as drawn, the box it had to fit)."""
        return list(self._texts)

    def _visible_range(self, y0: float, pitch: float) -> tuple[int, int, int, int]:
        """Rows and columns of a tier (starting at world y0, rows ``pitch`` apart) that are on screen, to
        bound the per-cell drawing done when zoomed in."""
        a = self._area()
        tl, br = self._to_world(a.topLeft()), self._to_world(a.bottomRight())
        c0 = max(0, math.floor(tl.x()))
        c1 = min(self._per_row, math.ceil(br.x()) + 1)
        r0 = max(0, math.floor((tl.y() - y0) / pitch))
        r1 = min(self._rows, math.ceil((br.y() - y0) / pitch) + 1)
        return r0, r1, c0, c1

    def _paint_cell_text(self, p: QPainter, font: QFont) -> None:
        """Rack number and value inside cells once they are big enough to hold them."""
        sx, sy, _ = self._scales()
        p.setFont(font)
        fm = p.fontMetrics()
        if sx * CELL_W < fm.horizontalAdvance("R000") + 4 or sy * GPU_CELL_H < 2 * fm.height():
            return
        y0 = self._gpu_y0()
        r0, r1, c0, c1 = self._visible_range(y0, GPU_PITCH)
        vals = self._values.reshape(self._rows, self._per_row)
        for i in range(r0, r1):
            for j in range(c0, c1):
                rect = self._world_rect(j, y0 + i * GPU_PITCH, CELL_W, GPU_CELL_H)
                fill = self._rack_buf[i, j, 0]
                p.setPen(QColor(*colors.text_on(fill)))
                local = i * self._per_row + j
                p.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, f"R{local + 1:03d}")
                p.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                           self.current_metric.format(float(vals[i, j]), unit=False))

    def _paint_pumps(self, p: QPainter) -> None:
        """Pump dots inside CDU cells when zoomed in (visible cells only)."""
        y0 = self._cool_y0()
        r0, r1, c0, c1 = self._visible_range(y0, COOL_PITCH)
        n_p = self._pumps_ok.shape[1]
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(20, 20, 20), 1))
        for i in range(r0, r1):
            for j in range(c0, c1):
                ok = self._pumps_ok[i * self._per_row + j]
                for k in range(n_p):
                    x = j + (CDU_TEXEL0 + (k + 0.5) * (CDU_TEXEL1 - CDU_TEXEL0) / n_p) / TEXELS
                    c = self._to_screen(QPointF(x, y0 + i * COOL_PITCH + CDU_Y + CDU_H / 2))
                    rad = self._scale_origin()[0] * 0.085
                    p.setBrush(qcolor(colors.PUMP_RUNNING if ok[k] else colors.PUMP_FAILED))
                    p.drawEllipse(c, rad, rad)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    # ------------------------------------------------------------------ tooltips
    def tooltip_at(self, pos: QPointF) -> str:
        hit = self._hit(pos)
        return self._tooltip(hit) if hit else ""

    def _tooltip(self, hit) -> str:
        eng, m = self.engine, self.current_metric
        kind, i = hit
        if kind == "row_label":
            return f"<b>Row {i + 1}</b><br>click: open the row section (busway, racks, CDUs, headers)"
        if kind == "busway":
            name = eng.topo.hall_names[self.hall]
            return (f"<b>{name} row {i + 1} busway</b><br>{self._bus_w[i] / 1e6:.2f} MW of "
                    f"{self._bus_rating[i] / 1e6:.2f} MW rating ({self._bus_pct[i]:.0f} %)<br>"
                    f"<i>rating = row design power / {BUSWAY_CONTINUOUS_FRAC:.0%} [estimate]; "
                    f"warning ≥ {BUSWAY_WARN_PCT:.0f} %, critical ≥ {BUSWAY_CRIT_PCT:.0f} %</i>")
        addr = eng.topo.rack_address(i)
        row, pos = int(eng.topo.rack_row[i]), int(eng.topo.rack_pos[i])
        faults = rack_fault_text(eng, i, rack_fault_counts(eng))
        if kind == "cdu":
            pumps = ", ".join(f"P{k + 1} {'running' if ok else 'FAILED'}" for k, ok in enumerate(eng.pump_ok[i]))
            state = CDU_LABELS[int(cdu_states(eng)[i])]
            return (f"<b>{addr}-CDU</b> — {state}<br>pumps: {pumps}<br>flow {eng.flow_frac[i] * 100:.0f} % of "
                    f"design<br>supply {eng.t_sup[i]:.1f} °C, return {eng.t_ret[i]:.1f} °C"
                    f"{'<br><b>coolant leak</b>' if eng.leak[i] else ''}")
        rows = "".join(f"<tr><td>{k}</td><td align='right'>{v}</td></tr>" for k, v in rack_key_figures(eng, i))
        val = m.values(eng)[i]
        alarms = self.alarm_text_fn(i) if self.alarm_text_fn is not None else ""
        ttl = time_to_limit_text(eng, i)
        return (f"<b>{addr}</b> (row {row + 1}, position {pos + 1})<table>{rows}</table>"
                + (f"<b>{ttl}</b><br>" if ttl else "") +
                f"Failed parts: {faults}<br>{m.label}: <b>{m.format(float(val))}</b> — {m.limits_text()}"
                + (f"<br><b>Alarms:</b> {alarms}" if alarms else ""))

    # ------------------------------------------------------------------ mouse and keys
    def mousePressEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            self._press = ev.position()
            self._pan_start = QPointF(self._pan)
            self._panning = False
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        pos = ev.position()
        if self._press is not None and ev.buttons() & Qt.MouseButton.LeftButton:
            d = pos - self._press
            if self._panning or abs(d.x()) + abs(d.y()) > 4:
                self._panning = True
                self._pan = self._pan_start + d
                self.update()
                return
        hit = self._hit(pos)
        self.setCursor(Qt.CursorShape.PointingHandCursor if hit and hit[0] == "row_label"
                       else Qt.CursorShape.ArrowCursor)
        hov = hit[1] if hit and hit[0] in ("rack", "cdu") else -1
        if hov != self._hover:
            self._hover = hov
            self.update()

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton and self._press is not None:
            was_pan = self._panning
            self._press, self._panning = None, False
            hit = self._hit(ev.position()) if not was_pan else None
            if hit is not None and hit[0] == "row_label":
                self.row_activated.emit(self.hall, hit[1])
            elif not was_pan:
                r = self.rack_at(ev.position())
                if r >= 0:
                    self._pick_rack(r, self.rack_selected)
        super().mouseReleaseEvent(ev)

    def leaveEvent(self, ev) -> None:  # noqa: N802
        if self._hover >= 0:
            self._hover = -1
            self.update()
        super().leaveEvent(ev)

    def wheelEvent(self, ev) -> None:  # noqa: N802
        steps = ev.angleDelta().y() / 120.0
        if not steps:
            return
        pos = ev.position()
        before = self._to_world(pos)
        self._zoom = float(np.clip(self._zoom * 1.25 ** steps, 0.5, 40.0))
        after = self._to_screen(before)
        self._pan += pos - after  # keep the point under the cursor still
        self.update()
        ev.accept()

    def contextMenuEvent(self, ev) -> None:  # noqa: N802
        if self.engine is None:
            return
        hit = self._hit(QPointF(ev.pos()))
        topo = self.engine.topo
        if hit is None or hit[0] in ("busway", "row_label"):
            addr = topo.hall_names[self.hall]
        elif hit[0] == "cdu":
            addr = topo.rack_address(hit[1]) + "-CDU"
        else:
            addr = topo.rack_address(hit[1])
        self.context_menu_requested.emit(addr, ev.globalPos())

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        k = ev.key()
        if k == Qt.Key.Key_F:
            self.fit()
            return
        if self.engine is None or not self._n:
            return super().keyPressEvent(ev)
        moves = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1), Qt.Key.Key_Up: (-1, 0),
                 Qt.Key.Key_Down: (1, 0)}
        if k in moves:
            cur = self.selected if self._r0 <= self.selected < self._r0 + self._n else self._r0
            row, pos = divmod(cur - self._r0, self._per_row)
            dr, dc = moves[k]
            row = int(np.clip(row + dr, 0, self._rows - 1))
            pos = int(np.clip(pos + dc, 0, self._per_row - 1))
            self.selected = self._r0 + row * self._per_row + pos
            self.update()
            self.rack_selected.emit(self.selected)
            return
        if k in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected >= 0:
            self.rack_activated.emit(self.selected)
            return
        super().keyPressEvent(ev)
