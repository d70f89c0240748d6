"""Live charts of the facility (pyqtgraph): power balance, Megapack SoC, water, GPU temperatures, PUE,
GPUs in service and goodput; the fabric (throughput, bisection available) and the storage (checkpoint
bandwidth and stall), fed from the rings the fabric and the storage record every step.

Data arrival is separate from redraw (PyDM's lesson): the engine fills its telemetry rings every step; this
panel reads views of the rings at a capped rate, only when visible and only when new rows arrived. Curves,
threshold lines and event markers are created once and fed with ``setData``/``setPos`` (never clear+plot,
pyqtgraph #2348). Clip-to-view plus peak downsampling shows min/max when data is denser than pixels.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QTextDocument
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...model.thresholds import DEFAULT_LIMITS, Limits
from ..figures import GOODPUT_WINDOW_S, goodput_now, rolling_goodput, warming_up
from ..sim_driver import format_clock

TIME_RANGES: tuple[tuple[str, float | None], ...] = (
    ("1 min", 60.0), ("5 min", 300.0), ("15 min", 900.0), ("1 h", 3600.0), ("6 h", 21600.0), ("all", None),
)
MAX_EVENT_MARKERS = 24  # per plot; older markers are reused for newer faults
ROW_MIN_PX = 95  # a chart's share of the panel's height below which it is crowded: title, a plot with 3 labels

# Curve colours per theme: legible on a dark control-room wall and on a printed (light) report.
_COLORS = {
    "dark": {"it": "#5aa9ff", "grid": "#c8c8c8", "battery": "#4cd964", "turbine": "#ff9f40",
             "grid_avail": "#8c8c8c", "soc": "#4cd964", "supply": "#4fa3ff", "return": "#ff6b6b",
             "hot": "#ffb347", "max": "#ff6b6b", "p99": "#ffb347", "mean": "#5aa9ff", "pue": "#c792ea",
             "in_service": "#5aa9ff", "goodput": "#4cd964", "warn": "#ffb347", "crit": "#ff5252",
             "marker": "#ff9f40", "bg": "#1b1e23", "fg": "#c8ccd2", "grid_lines": 60,
             "fabric": "#5aa9ff", "bisection": "#c792ea", "store_bw": "#4cd964", "ckpt_bw": "#ff9f40",
             "stall": "#ff6b6b"},
    # light: every colour is also text (the legend in each chart's title): WCAG AA 4.5:1 on white
    "light": {"it": "#1f5fbf", "grid": "#444444", "battery": "#177a33", "turbine": "#a84f00",
              "grid_avail": "#6b6b6b", "soc": "#177a33", "supply": "#1565c0", "return": "#c62828",
              "hot": "#b23c00", "max": "#c62828", "p99": "#b23c00", "mean": "#1565c0", "pue": "#6a1b9a",
              "in_service": "#1565c0", "goodput": "#177a33", "warn": "#b23c00", "crit": "#c62828",
              "marker": "#b54500", "bg": "#ffffff", "fg": "#303030", "grid_lines": 40,
              "fabric": "#1565c0", "bisection": "#6a1b9a", "store_bw": "#177a33", "ckpt_bw": "#a84f00",
              "stall": "#c62828"},
}


def ring_tail(ring, n: int | None) -> np.ndarray:
    """The last ``n`` rows of a telemetry ring in time order (all rows if ``n`` is None).

    A view whenever the rows are contiguous in the buffer; a copy of only those rows when they straddle the
    wrap point (``Ring.view()`` would copy the whole ring, ~15 MB for a day, on every redraw)."""
    total = len(ring)
    n = total if n is None else max(0, min(int(n), total))
    if n == 0:
        return ring.data[:0]
    cap, end = ring.capacity, ring.count % ring.capacity
    if ring.count <= cap:
        return ring.data[total - n:total]
    start = (ring.count - n) % cap
    if end == 0:
        end = cap
    if start < end:
        return ring.data[start:end]
    return np.concatenate([ring.data[start:], ring.data[:end]])


_NICE_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
                 172800, 604800)



def _feed(curve, t: np.ndarray, y: np.ndarray) -> None:
    """Give a curve its points. Finite data (the normal case) skips pyqtgraph's own finite check, which costs
    a copy per frame; data with a gap (NaN: a channel a recording lacks, a reading that went missing) is drawn
    with gaps, never handed to Qt's path drawing unchecked (pyqtgraph: unpredictable, at worst a crash)."""
    finite = bool(np.isfinite(y).all() and np.isfinite(t).all())
    connect = "all" if finite else "finite"
    if curve.opts.get("connect") == connect and curve.opts.get("skipFiniteCheck") == finite:
        curve.setData(t, y)  # the options as they are (passing them again costs a restyle per frame)
    else:
        curve.setData(t, y, skipFiniteCheck=finite, connect=connect)

class SimTimeAxisItem(pg.AxisItem):
    """Bottom axis in simulated time: ticks on clock-friendly steps (10 s, 1 min, 5 min, 1 h ...), labelled
    ``hh:mm:ss`` (``hh:mm`` for steps of a minute or more, with the day when past the first)."""

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph API)
        span = maxVal - minVal
        if span <= 0 or size <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        max_ticks = max(2.0, size / 95.0)  # room for one "0d 00:00" label every ~95 px
        major = next((st for st in _NICE_STEPS_S if span / st <= max_ticks), _NICE_STEPS_S[-1])
        return [(float(major), 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        out = []
        for v in values:
            if v < 0:
                out.append("")
                continue
            d, hms = format_clock(v).split(" ")
            if spacing >= 60:
                hms = hms[:5]
            out.append(hms if d == "0d" else f"{d} {hms}")
        return out


_NICE_MANTISSAS = (1.0, 2.0, 2.5, 5.0)


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is at least ``raw``."""
    mag = 10.0 ** np.floor(np.log10(raw))
    return next((m * mag for m in _NICE_MANTISSAS if m * mag >= raw * (1 - 1e-9)), 10.0 * mag)


class ValueAxisItem(pg.AxisItem):
    """Left axis: one level of round ticks, spaced so their labels never overlap however short the plot (a
    stack of charts in a short dock), in a fixed width (the plots of the stack line up and do not jitter)."""

    WIDTH_PX = 48

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setWidth(self.WIDTH_PX)
        self.setStyle(autoExpandTextSpace=False, autoReduceTextSpace=False, maxTextLevel=0)

    def label_pitch_px(self) -> float:
        """Least distance between two labels: one line of tick text and a half line of gap."""
        font = self.style.get("tickFont") or self.font()
        return 1.5 * QFontMetricsF(font).height()

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph API)
        span = maxVal - minVal
        if span <= 0 or size <= 0 or not np.isfinite(span):
            return super().tickSpacing(minVal, maxVal, size)
        pitch = self.label_pitch_px()
        step = _nice_step(span * pitch / size)  # the smallest round step that keeps the labels apart
        if np.floor(maxVal / step) - np.ceil(minVal / step) < 1:  # one label is no scale: closer, still apart
            step = _nice_step(span * pitch / 1.45 / size)
        return [(float(step), 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph API)
        """As many decimals as the step needs (2.5 is not printed as 2 or 3); thousands as k past 99,999."""
        step = abs(spacing * scale)
        places = next((d for d in range(7) if abs(round(step, d) - step) <= 1e-6 * step), 6)
        big = max((abs(v * scale) for v in values), default=0.0) >= 1e5
        out = []
        for v in values:
            x = v * scale
            if abs(x) <= 1e-9 * step:
                x = 0.0  # never "-0.0"
            if big:
                k = step / 1e3
                kp = next((d for d in range(4) if abs(round(k, d) - k) <= 1e-6 * k), 3)
                out.append(f"{x / 1e3:.{kp}f}k")
            else:
                out.append(f"{x:.{places}f}")
        return out


@dataclass
class _CurveSpec:
    key: str            # telemetry channel (or rack channel for the water chart in rack mode)
    label: str
    color: str          # key into the theme colours
    scale: float = 1.0
    unit: str = ""
    fmt: str = "{:.1f}"
    dashed: bool = False


@dataclass
class _ChartSpec:
    name: str
    title: str
    curves: list[_CurveSpec]
    zero_line: bool = False
    min_span: float = 1.0  # smallest y span shown (a flat line must not fill the plot with noise)
    source: str = "facility"  # the ring: the facility telemetry, or the engine's "fabric" or "storage" part


def _chart_specs() -> list[_ChartSpec]:
    return [
        _ChartSpec("power", "Power MW", [
            _CurveSpec("it_mw", "IT", "it"), _CurveSpec("grid_mw", "grid", "grid"),
            _CurveSpec("battery_mw", "Megapacks", "battery", fmt="{:+.1f}"),
            _CurveSpec("turbine_mw", "turbines", "turbine"),
            _CurveSpec("grid_available_mw", "available", "grid_avail", fmt="{:.0f}", dashed=True)], zero_line=True,
            min_span=0.5),
        _ChartSpec("soc", "Megapack SoC %", [_CurveSpec("soc", "SoC", "soc", scale=100.0, fmt="{:.1f}")],
                   min_span=5.0),
        _ChartSpec("water", "Water °C", [
            _CurveSpec("supply_c", "supply", "supply"), _CurveSpec("return_c", "return", "return"),
            _CurveSpec("hottest_return_c", "hottest rack return", "hot")], min_span=2.0),
        _ChartSpec("gpu", "GPU °C", [
            _CurveSpec("hottest_gpu_c", "max", "max"), _CurveSpec("p99_gpu_c", "p99", "p99"),
            _CurveSpec("mean_gpu_c", "mean", "mean")], min_span=5.0),
        _ChartSpec("pue", "PUE", [_CurveSpec("pue", "PUE", "pue", fmt="{:.3f}")], min_span=0.05),
        _ChartSpec("service", "Service %", [
            _CurveSpec("gpus_in_service", "GPUs in service", "in_service", fmt="{:.2f}"),
            _CurveSpec("goodput", f"goodput {GOODPUT_WINDOW_S / 60:g} min", "goodput", scale=100.0,
                       fmt="{:.2f}")], min_span=2.0),
        # throughput as a share of every GPU link's line rate (the Tb/s in the title), beside the bisection left
        _ChartSpec("fabric", "Fabric %", [
            _CurveSpec("throughput_tbps", "throughput", "fabric", fmt="{:.1f}"),
            _CurveSpec("bisection_frac", "bisection available", "bisection", scale=100.0, fmt="{:.1f}")],
            min_span=5.0, source="fabric"),
        _ChartSpec("storage", "Storage GB/s", [
            _CurveSpec("write_bw_gbs", "write available", "store_bw", fmt="{:,.0f}"),
            _CurveSpec("checkpoint_bw_gbs", "checkpoint", "ckpt_bw", fmt="{:,.0f}")], min_span=10.0,
            source="storage"),
        _ChartSpec("stall", "Checkpoint stall s", [
            _CurveSpec("checkpoint_stall_s", "stall", "stall", fmt="{:.0f}")], min_span=10.0, source="storage"),
    ]


def part_ring(engine, source: str):
    """(ring, channel index) of a chart's source, None when the engine has no such part (a recording)."""
    if source == "facility":
        return engine.telemetry.facility, engine.telemetry.index
    part = getattr(engine, source, None)
    ring = getattr(part, "ring", None)
    return (ring, part.index) if ring is not None else None


def fabric_capacity_tbps(engine) -> float:
    """Every GPU link at line rate, Tb/s (the fabric chart's 100 %)."""
    return max(1e-9, engine.topo.net.n_gpus * engine.facility.fabric.gpu_link_gbps / 1e3)


# In rack mode the water chart shows the selected rack's own figures (rack telemetry, every 10 s).
_RACK_WATER = [("supply_c", "supply"), ("return_c", "return"), ("hottest_c", "hottest GPU")]


class ChartPanelWidget(QWidget):
    """The stacked live charts with a shared, linked time axis."""

    limits: Limits = DEFAULT_LIMITS  # alarm thresholds (the main window sets its ops config's)

    follow_changed = Signal(bool)

    def __init__(self, engine=None, parent: QWidget | None = None, dark: bool = True):
        super().__init__(parent)
        self.setObjectName("chartPanel")
        self.engine = None
        self._dark = dark
        self._range_s: float | None = 300.0
        self._follow = True
        self._rack: int | None = None
        self._drawn_count = -1
        self._drawn_key: tuple = ()
        self._event_cursor = 0
        self._marker_times: deque[tuple[float, str]] = deque(maxlen=MAX_EVENT_MARKERS)
        self._markers_dirty = True
        self._setting_range = False
        self.redraw_count = 0
        self._notes: dict[str, str] = {}
        self._dense = True
        self._yrange: dict[str, tuple[float, float]] = {}
        self._fed: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(QLabel("Range"))
        self.range_combo = QComboBox(self)
        self.range_combo.setObjectName("chartRangeCombo")
        self.range_combo.setToolTip("Time span shown by the charts")
        for label, _ in TIME_RANGES:
            self.range_combo.addItem(label)
        self.range_combo.setCurrentIndex(1)
        self.range_combo.currentIndexChanged.connect(self._on_range_combo_changed)
        bar.addWidget(self.range_combo)
        self.follow_button = QPushButton("Following", self)
        self.follow_button.setObjectName("chartFollowButton")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setToolTip("Charts scroll with the simulation; panning or zooming a chart pauses "
                                      "scrolling, click to resume")
        self.follow_button.toggled.connect(self.set_follow)
        bar.addWidget(self.follow_button)
        bar.addStretch(1)
        self.all_button = QPushButton("All charts", self)
        self.all_button.setObjectName("chartAllButton")
        self.all_button.setCheckable(True)
        self.all_button.setToolTip("Show every chart; off: the charts of the drill, each tall enough to read")
        self.all_button.setVisible(False)  # only when a drill chose its charts and the dock is too short for all
        self.all_button.toggled.connect(lambda _on: self._update_shown())
        bar.addWidget(self.all_button)
        self.context_label = QLabel("", self)
        self.context_label.setObjectName("chartContextLabel")
        self.context_label.setWordWrap(True)  # a narrow dock wraps it instead of growing or cutting it
        bar.addWidget(self.context_label)

        self.canvas = pg.GraphicsLayoutWidget(self)
        self.canvas.setObjectName("chartCanvas")
        self.canvas.ci.layout.setSpacing(0)
        self.canvas.ci.setContentsMargins(2, 2, 2, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)

        self.specs = _chart_specs()
        self.shown: list[str] = [spec.name for spec in self.specs]  # in the stack, top to bottom
        self._preferred: list[str] | None = None
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, list[pg.PlotDataItem]] = {}
        self.thresholds: dict[str, list[pg.InfiniteLine]] = {}
        self.markers: dict[str, list[pg.InfiniteLine]] = {}
        master = None
        for i, spec in enumerate(self.specs):
            axis = SimTimeAxisItem(orientation="bottom")
            p = self.canvas.addPlot(row=i, col=0, axisItems={"bottom": axis, "left": ValueAxisItem("left")})
            p.setMenuEnabled(False)
            p.hideButtons()
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            p.showGrid(x=False, y=False)
            for ax in ("left", "bottom"):  # units are in the titles; SI prefixes re-lay out labels every frame
                p.getAxis(ax).enableAutoSIPrefix(False)
            if i < len(self.specs) - 1:
                p.hideAxis("bottom")  # one time axis for the stack (and one less axis to regenerate)
            vb = p.getViewBox()
            vb.setMouseEnabled(x=True, y=False)
            # y ranges are fitted here with hysteresis (see _fit_y): pyqtgraph's autorange would rescale,
            # and regenerate the axis, on every frame
            vb.disableAutoRange()
            vb.sigRangeChangedManually.connect(self._on_plot_range_changed_manually)
            vb.sigXRangeChanged.connect(self._on_plot_x_range_changed)
            if master is None:
                master = p
            else:
                p.setXLink(master)
            self.plots[spec.name] = p
            # dynamicRangeLimit off: our values are bounded, and it would re-path every curve on each y change
            # autoDownsampleFactor 2: in peak mode, one min/max pair per pixel column
            self.curves[spec.name] = [p.plot(skipFiniteCheck=True, dynamicRangeLimit=None, autoDownsampleFactor=2.0,
                                             name=c.label) for c in spec.curves]
            self.thresholds[spec.name] = []
            if spec.zero_line:
                self.thresholds[spec.name].append(self._hline(p, 0.0, "fg", include=False, solid=True))
            ml = []
            for _ in range(MAX_EVENT_MARKERS):
                line = pg.InfiniteLine(angle=90, movable=False)
                line.setVisible(False)
                p.addItem(line, ignoreBounds=True)
                ml.append(line)
            self.markers[spec.name] = ml
        self.master = master
        self.apply_theme(dark)
        if engine is not None:
            self.set_engine(engine)

    # ------------------------------------------------------------------ which charts
    def set_preferred(self, names: list[str] | None) -> None:
        """The charts to keep when the panel is too short for all of them (a drill's), None: always all."""
        self._preferred = None if names is None else [s.name for s in self.specs if s.name in names or
                                                      s.name == self.specs[0].name]
        self._update_shown()

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._update_shown()

    def _update_shown(self) -> None:
        """Every chart when each gets ROW_MIN_PX of height; else the preferred ones (the button shows all)."""
        crowded = self.canvas.height() < len(self.specs) * ROW_MIN_PX
        self.all_button.setVisible(self._preferred is not None and crowded)
        use = self._preferred if crowded and self._preferred is not None and not self.all_button.isChecked() \
            else None
        self._show(use)

    def _show(self, names: list[str] | None) -> None:
        keep = [s.name for s in self.specs if names is None or s.name in names]
        if keep == self.shown:
            return
        ci = self.canvas.ci
        for name in self.shown:
            ci.removeItem(self.plots[name])
        for i, name in enumerate(keep):
            p = self.plots[name]
            ci.addItem(p, row=i, col=0)
            p.setVisible(True)
            if i == len(keep) - 1:
                p.showAxis("bottom")  # the one time axis, under the last chart shown
            else:
                p.hideAxis("bottom")
        self.shown = keep
        self.refresh_text()

    # ------------------------------------------------------------------ configuration
    def _hline(self, plot, y: float, color: str, include: bool = True, solid: bool = False) -> pg.InfiniteLine:
        """A horizontal threshold line; ``include``: keep it inside the y range (distance to a limit shows)."""
        line = pg.InfiniteLine(pos=y, angle=0, movable=False)
        line._theme_color = color  # re-coloured on theme change
        line._solid = solid
        line._include = include
        plot.addItem(line, ignoreBounds=True)
        return line

    def set_engine(self, engine) -> None:
        self.engine = engine
        self._event_cursor = 0
        self._marker_times.clear()
        self._markers_dirty = True
        self._drawn_count = -1
        self._rack = None
        for name in ("soc", "gpu", "power"):
            for line in self.thresholds[name][(1 if name == "power" else 0):]:
                self.plots[name].removeItem(line)
            del self.thresholds[name][(1 if name == "power" else 0):]
        f = engine.facility
        mp = f.site.megapacks
        soc = self.plots["soc"]
        self.thresholds["soc"] += [self._hline(soc, mp.soc_min * 100, "crit"), self._hline(soc, mp.soc_max * 100, "warn")]
        self._notes["soc"] = f"┄ limits {mp.soc_min:.0%} / {mp.soc_max:.0%}"
        th = self.limits["gpu_temp"]  # the alarm limits: a line crossed here is an alarm raised there
        gpu = self.plots["gpu"]
        self.thresholds["gpu"] += [self._hline(gpu, th.warning, "warn"), self._hline(gpu, th.critical, "crit")]
        self._notes["gpu"] = f"┄ warning {th.warning:g} · critical {th.critical:g} °C"
        self._yrange.clear()
        self.apply_theme(self._dark)
        self.redraw(force=True)
        self.refresh_text()

    def set_rack(self, rack: int | None) -> None:
        """Follow a rack (its water and hottest GPU in the water chart) or the facility (None)."""
        if rack == self._rack:
            return
        self._rack = rack
        self._drawn_count = -1
        if self.isVisible():
            self.redraw(force=True)
            self.refresh_text()

    @property
    def rack(self) -> int | None:
        return self._rack

    def set_range(self, seconds: float | None) -> None:
        for i, (_, s) in enumerate(TIME_RANGES):
            if s == seconds:
                self.range_combo.setCurrentIndex(i)
                return
        raise ValueError(f"no time range of {seconds} s")

    @property
    def range_s(self) -> float | None:
        return self._range_s

    def _on_range_combo_changed(self, i: int) -> None:
        self._range_s = TIME_RANGES[i][1]
        self._drawn_count = -1
        self.set_follow(True)

    @property
    def follow(self) -> bool:
        return self._follow

    def set_follow(self, on: bool) -> None:
        on = bool(on)
        changed = on != self._follow
        self._follow = on
        if self.follow_button.isChecked() != on:
            self.follow_button.setChecked(on)
        self.follow_button.setText("Following" if on else "Paused: click to follow")
        if on:
            self._drawn_count = -1
            self.redraw(force=True)
        if changed:
            self.follow_changed.emit(on)

    def _on_plot_x_range_changed(self, *_):
        if not self._setting_range and self._fed:
            self._fit_all_y()

    def _on_plot_range_changed_manually(self, *_):
        if not self._setting_range and self._follow:
            self.set_follow(False)

    def apply_theme(self, dark: bool) -> None:
        self._dark = dark
        c = _COLORS["dark" if dark else "light"]
        self.canvas.setBackground(c["bg"])
        fg = pg.mkColor(c["fg"])
        for spec in self.specs:
            p = self.plots[spec.name]
            for ax in ("left", "bottom"):
                a = p.getAxis(ax)
                a.setPen(fg)
                a.setTextPen(fg)
            for curve, cs in zip(self.curves[spec.name], spec.curves, strict=True):
                style = Qt.PenStyle.DashLine if cs.dashed else Qt.PenStyle.SolidLine
                curve.setPen(pg.mkPen(c[cs.color], width=1, style=style))  # width 1: drawn as one path, ~2x faster
            for line in self.thresholds[spec.name]:
                col = pg.mkColor(c[line._theme_color])
                if line._solid:
                    col.setAlpha(110)
                line.setPen(pg.mkPen(col, width=1, style=Qt.PenStyle.SolidLine if line._solid
                                     else Qt.PenStyle.DashLine))
            mcol = pg.mkColor(c["marker"])
            mcol.setAlpha(170)
            for line in self.markers[spec.name]:
                line.setPen(pg.mkPen(mcol, width=1, style=Qt.PenStyle.DotLine))
        self.refresh_text()

    # ------------------------------------------------------------------ drawing
    def _collect_events(self) -> None:
        ev = self.engine.events
        if len(ev) < self._event_cursor:  # restored to an earlier state
            self._event_cursor = 0
            self._marker_times.clear()
            self._markers_dirty = True
        for e in ev[self._event_cursor:]:
            if e.kind == "fault_started":
                self._marker_times.append((e.t_s, f"{format_clock(e.t_s)}  {e.address}: {e.detail}"))
                self._markers_dirty = True
        self._event_cursor = len(ev)

    def _place_markers(self) -> None:
        times = list(self._marker_times)
        for name in self.markers:
            for i, line in enumerate(self.markers[name]):
                if i < len(times):
                    line.setPos(times[i][0])
                    line.setToolTip(times[i][1])
                    line.setVisible(True)
                else:
                    line.setVisible(False)
        self._markers_dirty = False

    def redraw(self, force: bool = False) -> bool:
        """Feed the curves from the telemetry rings. Skipped when hidden or nothing new. True if drawn."""
        eng = self.engine
        if eng is None or (not force and not self.isVisible()):
            return False
        tel = eng.telemetry
        ring = tel.facility
        key = (self._range_s, self._rack, self._follow)
        if not force and ring.count == self._drawn_count and key == self._drawn_key:
            return False
        self._drawn_count, self._drawn_key = ring.count, key
        self._collect_events()
        if self._markers_dirty:
            self._place_markers()
        if len(ring) == 0:  # a fresh run (a drill, a new facility): no curve of the previous run stays drawn
            for curves in self.curves.values():
                for c in curves:
                    c.setData([], [])
            return True
        idx = tel.index
        t_col = idx["t_s"]
        if self._range_s is None or not self._follow:  # not following: all of it, to pan back in time
            rows = ring_tail(ring, None)
        else:
            last = ring_tail(ring, 2)[:, t_col]
            dt = float(last[-1] - last[0]) if len(last) == 2 and last[-1] > last[0] else 1.0
            rows = ring_tail(ring, int(self._range_s / dt) + 2)
        t = rows[:, t_col]
        n_gpus = max(1, eng.n_gpus)
        # Clip-to-view and peak downsampling (min/max per pixel column) when there are more points than
        # pixels or the user pans over the whole history; off for a short followed window, where every
        # range change would otherwise make each curve re-clip and re-sample its data twice per frame.
        dense = not self._follow or len(t) > 2.0 * max(1.0, self.master.getViewBox().width())
        if dense != self._dense:
            for p in self.plots.values():
                p.setClipToView(dense)
                p.setDownsampling(auto=dense, mode="peak")
            self._dense = dense
        if self._follow:
            # range first, then data: the curves clip and downsample once, to the new range
            # a fixed-width window ending now; until there is that much history it starts at the first row,
            # so a fresh run grows from the left instead of hugging the right edge
            t_end = float(t[-1])
            t_first = float(ring.data[0 if ring.count <= ring.capacity else ring.count % ring.capacity, t_col])
            if self._range_s is None:
                t_start, t_stop = t_first, max(t_end, t_first + 1.0)
            else:
                t_start = max(t_end - self._range_s, t_first)
                t_stop = t_start + self._range_s
            self._setting_range = True
            try:
                self.master.setXRange(t_start, t_stop, padding=0.0)
            finally:
                self._setting_range = False
        parts = {"facility": (rows, idx)}
        for spec in self.specs:
            curves = self.curves[spec.name]
            if spec.name == "water" and self._rack is not None:
                self._fed[spec.name] = self._draw_rack_water(curves)
                continue
            if spec.source not in parts:  # the same span of the part's own ring (one row per step, like the facility's)
                src = part_ring(eng, spec.source)
                parts[spec.source] = (ring_tail(src[0], None if self._range_s is None or not self._follow
                                                else len(rows)), src[1]) if src is not None else None
            if parts[spec.source] is None:
                for c in curves:
                    c.setData([], [])
                self._fed[spec.name] = []
                continue
            src_rows, src_idx = parts[spec.source]
            fed = []
            for curve, cs in zip(curves, spec.curves, strict=True):
                if spec.source != "facility":
                    tt, y = src_rows[:, src_idx["t_s"]], src_rows[:, src_idx[cs.key]] * self._scale(cs)
                    _feed(curve, tt, y)
                    fed.append((tt, y))
                    continue
                y = rows[:, idx[cs.key]]
                if cs.key == "goodput":  # the rolling window, from enough history before the first point
                    y = self._rolling_goodput(ring, len(rows))
                if cs.key == "gpus_in_service":
                    y = y * (100.0 / n_gpus)
                elif cs.scale != 1.0:
                    y = y * cs.scale
                _feed(curve, t, y)
                fed.append((t, y))
            self._fed[spec.name] = fed
        self._fit_all_y()
        self.redraw_count += 1
        return True

    def _scale(self, cs: _CurveSpec) -> float:
        if cs.key == "throughput_tbps":
            return 100.0 / fabric_capacity_tbps(self.engine)
        return cs.scale

    def _latest(self, source: str) -> dict:
        src = part_ring(self.engine, source)
        if src is None or len(src[0]) == 0:
            return {}
        row = ring_tail(src[0], 1)[0]
        return {k: float(row[i]) for k, i in src[1].items()}

    def _rolling_goodput(self, ring, n: int) -> np.ndarray:
        idx = self.engine.telemetry.index
        last = ring_tail(ring, 2)[:, idx["t_s"]]
        dt = float(last[-1] - last[0]) if len(last) == 2 and last[-1] > last[0] else 1.0
        more = ring_tail(ring, n + int(GOODPUT_WINDOW_S / dt) + 2)
        return rolling_goodput(more[:, idx["t_s"]], more[:, idx["goodput"]], GOODPUT_WINDOW_S)[-n:]

    def _fit_all_y(self) -> None:
        x0, x1 = self.master.getViewBox().viewRange()[0]
        for spec in self.specs:
            lo, hi = np.inf, -np.inf
            for t, y in self._fed.get(spec.name, ()):
                i0, i1 = np.searchsorted(t, (x0, x1))
                seg = y[max(0, i0 - 1):i1 + 1]
                if seg.size and not np.isnan(seg).all():  # a channel a recording does not have: all NaN
                    lo, hi = min(lo, float(np.nanmin(seg))), max(hi, float(np.nanmax(seg)))
            if not np.isfinite(lo) or not np.isfinite(hi):
                continue
            for line in self.thresholds[spec.name]:
                if line._include:
                    lo, hi = min(lo, line.value()), max(hi, line.value())
            self._fit_y(spec, lo, hi)

    def _fit_y(self, spec: _ChartSpec, lo: float, hi: float) -> None:
        """Grow at once when data leaves the range; shrink only when the data uses < 40 % of it."""
        span = max(hi - lo, spec.min_span)
        mid = (lo + hi) / 2
        lo, hi = min(lo, mid - span / 2), max(hi, mid + span / 2)
        pad = 0.08 * (hi - lo)
        cur = self._yrange.get(spec.name)
        if cur is not None and cur[0] <= lo and hi <= cur[1] and (hi - lo) >= 0.4 * (cur[1] - cur[0]):
            return
        want = (lo - pad, hi + pad)
        self._yrange[spec.name] = want
        self.plots[spec.name].setYRange(*want, padding=0.0)

    def _draw_rack_water(self, curves) -> None:
        tel = self.engine.telemetry
        rt = tel.rack_t
        if len(rt) == 0:
            for c in curves:
                c.setData([], [])
            return []
        n = None if self._range_s is None else int(self._range_s / tel.rack_every_s) + 2
        n = len(rt) if n is None or not self._follow else min(n, len(rt))
        pos = np.arange(rt.count - n, rt.count) % rt.capacity
        t = rt.data[pos]
        fed = []
        for curve, (ch, _) in zip(curves, _RACK_WATER, strict=True):
            y = tel.racks.data[pos, tel.rack_index[ch], self._rack]
            _feed(curve, t, y)
            fed.append((t, y))
        return fed

    def refresh_text(self) -> None:
        """Chart titles with the latest value of each curve (text is costly: call at ~1 Hz)."""
        c = _COLORS["dark" if self._dark else "light"]
        eng = self.engine
        latest = eng.telemetry.latest() if eng is not None else {}
        n_gpus = max(1, eng.n_gpus) if eng is not None else 1
        for spec in self.specs:
            parts = []
            if spec.name == "water" and self._rack is not None and eng is not None:
                title = f"Rack {eng.topo.rack_address(self._rack)} °C"
                now = {"supply_c": float(eng.t_sup[self._rack]), "return_c": float(eng.t_ret[self._rack]),
                       "hottest_c": float(eng.rack_hottest_c[self._rack])}
                for (ch, label), cs in zip(_RACK_WATER, spec.curves, strict=True):
                    parts.append(self._swatch(c[cs.color], label, f"{now[ch]:.1f}"))
            else:
                title = spec.title
                now = latest if spec.source == "facility" or eng is None else self._latest(spec.source)
                for cs in spec.curves:
                    v = now.get(cs.key)
                    if cs.key == "goodput" and v is not None:
                        v = goodput_now(eng)
                    if v is None:
                        val = "–"
                    elif cs.key == "gpus_in_service":
                        val = f"{v * 100.0 / n_gpus:.2f} ({v:,.0f})"
                    elif cs.key == "throughput_tbps":
                        val = f"{v * self._scale(cs):.1f} ({v:,.0f} Tb/s)"
                    else:
                        val = cs.fmt.format(v * cs.scale)
                    parts.append(self._swatch(c[cs.color], cs.label, val))
            note = self._notes.get(spec.name)
            if note:
                parts.append(f"<span style='color:{c['warn']}'>{note}</span>")
            plot = self.plots[spec.name]
            plot.setTitle(self._title_html(spec.name, title, parts, c["fg"]), size="8pt")
            plot.titleLabel.setMinimumWidth(0)  # the wrapped title must not hold the plot wider than the view
        if eng is not None:
            where = f"rack {eng.topo.rack_address(self._rack)}" if self._rack is not None else "facility"
            if warming_up(eng):  # no samples yet: say so instead of empty plots
                self.context_label.setText("warming up")
                self.context_label.setToolTip("The charts fill from the first simulated second (Run: Space)")
            else:
                self.context_label.setText(f"water: {where} · goodput so far {eng.goodput():.1%}")
                self.context_label.setToolTip("The water chart follows the selected rack (or the facility). "
                                              f"Goodput: the chart shows the last {GOODPUT_WINDOW_S / 60:g} min; "
                                              "'so far' is since the start of the run")

    def _title_html(self, name: str, title: str, parts: list[str], fg: str) -> str:
        """One line when it fits the plot's width, else as many lines as it takes: a title never forces the
        dock wider than the screen leaves it, and is never cut at the right edge."""
        avail = max(80.0, self.canvas.viewport().width() - 24.0)  # the plot's own width follows its title
        avail -= 30.0  # the title sits over the plot and its axes; keep clear of the view's right edge
        doc = QTextDocument()
        font = QFont(self.font())
        font.setPointSizeF(8.0)
        doc.setDefaultFont(font)
        head = f"<span style='color:{fg}'><b>{title}</b></span>"
        lines, cur = [], head
        for part in parts:
            trial = cur + "&nbsp;&nbsp;" + part
            doc.setHtml(trial)
            if doc.idealWidth() > avail and cur:
                lines.append(cur)
                cur = part
            else:
                cur = trial
        lines.append(cur)
        return "<br>".join(lines)

    def title_fits(self) -> dict[str, bool]:
        """Per chart: does the title fit inside its plot (what a test checks)."""
        out = {}
        view_w = self.canvas.viewport().width()
        for name in self.shown:
            plot = self.plots[name]
            item = plot.titleLabel.item
            r = item.mapRectToScene(item.boundingRect())
            out[name] = r.left() >= -1 and r.right() <= view_w + 1
        return out

    @staticmethod
    def _swatch(color: str, label: str, value: str) -> str:
        return f"<span style='color:{color}'>━ {label} <b>{value}</b></span>"

    def item_count(self) -> int:
        """Graphics items in the chart scene (must not grow while running)."""
        return len(self.canvas.scene().items())
