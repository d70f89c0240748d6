"""One tray (a 4U server): 8 GPU tiles and 2 CPU tiles, 4 PSUs, 9 NICs and the front-end link, and a short
history plot.

The tiles are one custom-painted widget (text is computed in ``refresh()``, painted in ``paintEvent``); the
history is a fixed numpy ring buffer sampled on every refresh in which simulated time moved (also while the
view is hidden, so the plot is full when it is shown), drawn by curves created once and fed with ``setData``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from ...model.thresholds import DEFAULT_LIMITS, Limits
from .. import colors
from .hall_view import qcolor
from .lazy_refresh import LazyRefreshMixin
from .metrics import (
    GPU_FAILED,
    GPU_METRICS,
    GPU_NORMAL,
    GPU_OFF,
    GPU_SHUTDOWN,
    GPU_SLOWDOWN,
    GPU_STATES,
    gpu_state_codes,
    tray_powered,
)

HISTORY_S = 300.0  # the plot shows the last five simulated minutes
HISTORY_CAP = 600  # samples kept: one per HISTORY_S / HISTORY_CAP simulated seconds at most
HISTORY_TRAYS = 32  # trays whose history is kept when another one is opened

STATE_RGBA = {
    GPU_NORMAL: colors.OK, 1: colors.WARNING, GPU_SLOWDOWN: (240, 100, 30, 255), GPU_SHUTDOWN: colors.CRITICAL,
    GPU_FAILED: colors.FAILED, GPU_OFF: colors.OUT_OF_SERVICE,
}


class TrayTilesWidget(QWidget):
    """GPU and CPU tiles, PSU and NIC boxes, painted in one go."""


    def __init__(self, owner: TrayView):
        super().__init__(owner)
        self.setObjectName("trayTiles")
        self._owner = owner
        self.setMinimumSize(400, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(620, 300)

    def _layout(self) -> dict:
        o = self._owner
        fm = self.fontMetrics()
        w, h = self.width(), self.height()
        pad = 6
        box_h = fm.height() + 8
        bottom_h = 2 * box_h + 10  # PSU row and NIC row
        gpu_cols = 4
        n_g = len(o.gpu_text)
        n_c = len(o.cpu_text)
        gpu_rows = max(1, -(-n_g // gpu_cols))
        cpu_w = (w - 2 * pad) * 0.18 if n_c else 0.0
        tiles_h = h - bottom_h - 2 * pad
        tile_w = (w - 2 * pad - cpu_w - (pad if n_c else 0)) / gpu_cols
        tile_h = tiles_h / gpu_rows
        gpus = [QRectF(pad + (i % gpu_cols) * tile_w, pad + (i // gpu_cols) * tile_h, tile_w - 4, tile_h - 4)
                for i in range(n_g)]
        cpus = [QRectF(w - pad - cpu_w, pad + i * tiles_h / max(n_c, 1), cpu_w, tiles_h / max(n_c, 1) - 4)
                for i in range(n_c)]
        y_psu = h - bottom_h
        label_w = fm.horizontalAdvance("PSUs ") + 6
        n_p, n_n = len(o.psu_ok), len(o.nic_ok)
        psu_w = min(70.0, (w - 2 * pad - label_w) / max(n_p, 1))
        nic_w = (w - 2 * pad - label_w) / max(n_n, 1)
        psus = [QRectF(pad + label_w + i * psu_w, y_psu, psu_w - 4, box_h) for i in range(n_p)]
        nics = [QRectF(pad + label_w + i * nic_w, y_psu + box_h + 6, nic_w - 4, box_h) for i in range(n_n)]
        return {"gpus": gpus, "cpus": cpus, "psus": psus, "nics": nics, "y_psu": y_psu, "box_h": box_h,
                "label_w": label_w}

    def paintEvent(self, _ev) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        o = self._owner
        if o.engine is None or o.tray < 0:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Select a tray")
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        g = self._layout()
        text = pal.color(QPalette.ColorRole.Text)
        base_font = QFont(self.font())
        big = QFont(self.font())
        big.setBold(True)
        big.setPointSizeF(self.font().pointSizeF() * 1.25)
        bold = QFont(self.font())
        bold.setBold(True)
        for i, rect in enumerate(g["gpus"]):
            fill = o.gpu_fill[i]
            st_col = STATE_RGBA[int(o.gpu_state[i])]
            p.setPen(QPen(qcolor(st_col), 3))
            p.setBrush(QColor(*colors.darker(fill, 0.45)))
            p.drawRoundedRect(rect.adjusted(1.5, 1.5, -1.5, -1.5), 5, 5)
            lines = o.gpu_text[i].split("\n")
            if o.gpu_address and i < len(o.gpu_address) and o.gpu_address[i] == o.highlighted:
                p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 4))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(rect.adjusted(-2, -2, 2, 2), 7, 7)
            self._paint_history(p, rect, i)
            # name and temperature on the first line, power and state on the second, a failed part on the
            # third; the history takes the rest of the box
            p.setPen(QColor(240, 240, 244))
            inner = rect.adjusted(8, 5, -6, -4)
            p.setFont(big)
            bfm = p.fontMetrics()
            head = f"{lines[0]}  {lines[1]}"
            p.drawText(QRectF(inner.left(), inner.top(), inner.width(), bfm.height()), Qt.AlignmentFlag.AlignLeft,
                       head)
            cc = colors.CURVE_COLORS[i % len(colors.CURVE_COLORS)]  # the GPU's curve colour, beside its name
            sw_x = min(inner.left() + bfm.horizontalAdvance(head) + 6, inner.right() - 18)
            p.fillRect(QRectF(sw_x, inner.top() + bfm.height() / 2 - 1.5, 18, 3), QColor(*cc))
            p.setFont(base_font)
            fm = p.fontMetrics()
            y = inner.top() + bfm.height()
            for ln in self.detail_lines(i):
                p.drawText(QRectF(inner.left(), y, inner.width(), fm.height()), Qt.AlignmentFlag.AlignLeft,
                           fm.elidedText(ln, Qt.TextElideMode.ElideRight, inner.width()))
                y += fm.height()
        for i, rect in enumerate(g["cpus"]):
            on = o.cpu_on[i]
            col = colors.OK if on else colors.OUT_OF_SERVICE
            p.setPen(QPen(qcolor(col), 2))
            p.setBrush(QColor(*colors.darker(col, 0.3)))
            p.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 5, 5)
            p.setPen(QColor(240, 240, 244))
            p.setFont(base_font)
            p.drawText(rect.adjusted(8, 5, -4, -4), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                       o.cpu_text[i])
        # PSUs and NICs
        p.setFont(base_font)
        p.setPen(text)
        for label, y in (("PSUs", g["y_psu"]), ("NICs", g["y_psu"] + g["box_h"] + 6)):
            p.drawText(QRectF(6, y, g["label_w"], g["box_h"]), Qt.AlignmentFlag.AlignVCenter, label)
        for rects, oks, names in ((g["psus"], o.psu_ok, o.psu_names), (g["nics"], o.nic_ok, o.nic_names)):
            for rect, ok, name in zip(rects, oks, names, strict=True):
                col = colors.OK if ok else colors.CRITICAL
                p.setPen(QPen(qcolor(col), 2))
                p.setBrush(QColor(*colors.darker(col, 0.35)))
                p.drawRoundedRect(rect, 3, 3)
                p.setPen(QColor(240, 240, 244))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, name if ok else f"{name} ✕")
        p.end()

    def detail_lines(self, i: int) -> list[str]:
        """The small lines under a GPU's name: power and state, then the failed part if any."""
        lines = self._owner.gpu_text[i].split("\n")
        out = [f"{lines[2]} · {lines[3]}"]
        if len(lines) > 4 and lines[4] != "HBM ok":
            out.append(lines[4])
        return out

    def history_rect(self, rect: QRectF) -> QRectF:
        """The part of a GPU tile that holds its history: the whole width, below the text lines."""
        big = QFont(self.font())
        big.setBold(True)
        big.setPointSizeF(self.font().pointSizeF() * 1.25)
        n = len(self.detail_lines(self._owner.gpu_address.index(self._gpu_at(rect)))) if self._owner.gpu_text else 1
        top = rect.top() + 5 + QFontMetricsF(big).height() + n * self.fontMetrics().height() + 4
        return QRectF(rect.left() + 8, top, rect.width() - 16, rect.bottom() - 6 - top)

    def _gpu_at(self, rect: QRectF) -> str:
        for r, _kind, a in self.regions:
            if r == rect:
                return a
        return self._owner.gpu_address[0]

    def _paint_history(self, p: QPainter, rect: QRectF, i: int) -> None:
        """The GPU's junction temperature over the last five minutes inside its tile, on the colour scale's
        range, with the warning and critical limits dashed (the tile used to be mostly empty)."""
        o = self._owner
        box = self.history_rect(rect)
        if box.width() < 30 or box.height() < 16:
            return
        t, tj, _pw = o.history()
        p.setPen(QPen(QColor(255, 255, 255, 40), 1))
        p.setBrush(QColor(0, 0, 0, 50))
        p.drawRect(box)
        m = o.temp_metric
        # the range of this tray's recent history (at least 5 K), so a GPU's swing and trend are visible; the
        # limits are drawn when they fall inside it
        recent = tj[t >= o.engine.t - HISTORY_S] if len(t) else tj[:0]
        if recent.size:
            lo = float(np.floor(recent.min() - 0.5))
            hi = max(float(np.ceil(recent.max() + 0.5)), lo + 5.0)
        else:
            lo, hi = m.vmin, m.vmax
        p.setPen(QColor(200, 200, 206))
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.8))
        p.setFont(small)
        p.drawText(box.adjusted(3, 1, -3, -1), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"{hi:.0f} °C")
        p.drawText(box.adjusted(3, 1, -3, -1), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
                   f"{lo:.0f} °C · 5 min")

        def y_of(v):
            return box.bottom() - (np.clip(v, lo, hi) - lo) / ((hi - lo) or 1.0) * box.height()

        for v, col in ((m.warn, colors.WARNING), (m.crit, colors.CRITICAL)):
            if v is not None and lo <= v <= hi:
                p.setPen(QPen(qcolor(col), 1, Qt.PenStyle.DashLine))
                p.drawLine(QPointF(box.left(), y_of(v)), QPointF(box.right(), y_of(v)))
        if len(t) < 2:
            return
        now = o.engine.t
        keep = t >= now - HISTORY_S
        x = box.right() - (now - t[keep]) / HISTORY_S * box.width()
        y = y_of(tj[keep, i])
        poly = QPolygonF([QPointF(float(a), float(b)) for a, b in zip(x, y, strict=True)])
        p.setPen(QPen(QColor(*colors.CURVE_COLORS[i % len(colors.CURVE_COLORS)]), 1.6))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolyline(poly)

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        reg = self.region_at(ev.position()) if ev.button() == Qt.MouseButton.LeftButton else None
        if reg is not None:
            self._owner.highlight(reg[2])
            self._owner.component_selected.emit(reg[2])
        super().mouseReleaseEvent(ev)

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802
        reg = self.region_at(ev.position())
        if reg is not None:  # inspect it (and keep it outlined); the tray is already open
            self._owner.highlight(reg[2])
            self._owner.component_selected.emit(reg[2])
            self._owner.component_activated.emit(reg[2])

    @property
    def regions(self) -> list[tuple[QRectF, str, str]]:
        """(rect, kind, address) of every tile and box, for hit tests."""
        o = self._owner
        if o.engine is None or o.tray < 0:
            return []
        g = self._layout()
        out = [(r, "gpu", a) for r, a in zip(g["gpus"], o.gpu_address, strict=False)]
        out += [(r, "cpu", a) for r, a in zip(g["cpus"], o.cpu_address, strict=False)]
        out += [(r, "psu", a) for r, a in zip(g["psus"], o.psu_address, strict=False)]
        out += [(r, "nic", a) for r, a in zip(g["nics"], o.nic_address, strict=False)]
        return out

    def region_at(self, pos: QPointF) -> tuple[QRectF, str, str] | None:
        for reg in self.regions:
            if reg[0].contains(pos):
                return reg
        return None

    def event(self, ev) -> bool:
        if ev.type() == QEvent.Type.ToolTip:
            reg = self.region_at(QPointF(ev.pos()))
            tip = self._owner.tooltip_for(reg[1], reg[2]) if reg else ""
            if tip:
                QToolTip.showText(ev.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                ev.ignore()
            return True
        return super().event(ev)

    def contextMenuEvent(self, ev) -> None:  # noqa: N802
        o = self._owner
        if o.engine is None or o.tray < 0:
            return
        reg = self.region_at(QPointF(ev.pos()))
        addr = reg[2] if reg else o.engine.topo.tray_address(o.tray)
        o.context_menu_requested.emit(addr, ev.globalPos())


class TrayView(LazyRefreshMixin, QWidget):
    """A tray's GPUs, CPUs, PSUs and NICs with live values, and 5 minutes of GPU temperature and power."""

    limits: Limits = DEFAULT_LIMITS  # alarm thresholds: colours and legends use the same limits

    context_menu_requested = Signal(str, QPoint)
    component_selected = Signal(str)  # a click on a GPU, CPU, PSU or NIC: inspect it
    component_activated = Signal(str)  # a double-click

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trayView")
        self.engine = None
        self.tray = -1
        self.highlighted = ""  # the address outlined (clicked, or reached with Ctrl+L)
        self.temp_metric = GPU_METRICS["gpu_temp"]
        # per-tray history, kept when another tray is opened (up to HISTORY_TRAYS trays)
        self._histories: OrderedDict[int, tuple] = OrderedDict()
        self._hist_owner = -1  # the tray the history arrays below belong to
        self._text_driven = False  # True once a window drives the figures with refresh_text()
        self.gpu_text: list[str] = []
        self.gpu_fill: list = []
        self.gpu_state = np.zeros(0, dtype=np.int8)
        self.gpu_address: list[str] = []
        self.cpu_text: list[str] = []
        self.cpu_on: list[bool] = []
        self.cpu_address: list[str] = []
        self.psu_ok = np.zeros(0, dtype=bool)
        self.psu_names: list[str] = []
        self.psu_address: list[str] = []
        self.nic_ok = np.zeros(0, dtype=bool)
        self.nic_names: list[str] = []
        self.nic_address: list[str] = []
        self._hist_t = np.zeros(HISTORY_CAP)
        self._hist_tj = np.zeros((HISTORY_CAP, 8), dtype=np.float32)
        self._hist_p = np.zeros((HISTORY_CAP, 8), dtype=np.float32)
        self._hist_n = 0  # samples ever pushed since the tray was set
        self._plotted_n = -1  # the plot is redrawn only when a sample has been added

        self.title = QLabel(" ", self)
        self.title.setObjectName("trayTitle")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.tiles = TrayTilesWidget(self)

        self.plots = pg.GraphicsLayoutWidget(self)
        self.plots.setObjectName("trayHistoryPlot")
        self.plots.setMinimumHeight(110)
        self.temp_plot = self.plots.addPlot(row=0, col=0)
        self.power_plot = self.plots.addPlot(row=0, col=1)
        self.temp_plot.setLabel("left", "Tj", units="°C")
        self.power_plot.setLabel("left", "GPU power", units="W")
        for pl in (self.temp_plot, self.power_plot):
            pl.setLabel("bottom", "time", units="s")
            pl.showGrid(x=True, y=True, alpha=0.25)
            pl.setMenuEnabled(False)
            pl.setMouseEnabled(x=False, y=False)
            pl.hideButtons()
            pl.setXRange(-HISTORY_S, 0, padding=0.01)
        self._limit_lines = [pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(colors.WARNING[:3],
                                                                                  style=Qt.PenStyle.DashLine)),
                             pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(colors.CRITICAL[:3],
                                                                                  style=Qt.PenStyle.DashLine))]
        for ln in self._limit_lines:
            self.temp_plot.addItem(ln)
        self._tj_curves = []
        self._p_curves = []
        for i in range(8):
            pen = pg.mkPen(colors.CURVE_COLORS[i % len(colors.CURVE_COLORS)], width=1.5)
            self._tj_curves.append(self.temp_plot.plot([], [], pen=pen, name=f"G{i + 1}"))
            self._p_curves.append(self.power_plot.plot([], [], pen=pen))
        for c in self._tj_curves + self._p_curves:
            c.setSkipFiniteCheck(True)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.tiles, 3)
        lay.addWidget(self.plots, 2)
        self._apply_palette()

    # ------------------------------------------------------------------ API
    def set_engine(self, engine) -> None:
        self.engine = engine
        self.tray = -1
        self.gpu_text = []
        self._hist_n = 0
        self._histories.clear()
        self.highlighted = ""
        self.title.setText("Select a tray")
        self.tiles.update()

    def set_tray(self, index: int) -> None:
        eng = self.engine
        if eng is None:
            return
        if not 0 <= index < eng.n_trays:
            raise ValueError(f"tray index {index} out of range 0..{eng.n_trays - 1}")
        topo = eng.topo
        self.tray = int(index)
        ta = topo.tray_address(index)
        g0 = index * topo.gpus_per_tray
        self.gpu_address = [topo.gpu_address(g0 + i) for i in range(topo.gpus_per_tray)]
        self.cpu_address = [f"{ta}-C{i + 1}" for i in range(topo.cpus_per_tray)]
        self.psu_address = [f"{ta}-PSU{i + 1}" for i in range(topo.psus_per_tray)]
        self.psu_names = [f"PSU{i + 1}" for i in range(topo.psus_per_tray)]
        # one 400G NIC per GPU, the last one serves the host; then the server's front-end link (its host NIC's
        # port, optic and cable to its front-end leaf), up when both it and the leaf are
        self.nic_address = [f"{ta}-N{i + 1}" for i in range(topo.nics_per_tray)] + [f"{ta}-FE"]
        self.nic_names = [f"N{i + 1}" + (" host" if i >= topo.gpus_per_tray else "")
                          for i in range(topo.nics_per_tray)] + ["FE"]
        gpt = topo.gpus_per_tray
        old = self._stash_history()
        if old != self.tray:
            self.highlighted = ""
        kept = self._histories.pop(self.tray, None)
        if kept is not None and kept[1].shape[1] == gpt:
            self._hist_t, self._hist_tj, self._hist_p, self._hist_n = kept
        else:
            self._hist_t = np.zeros(HISTORY_CAP)
            self._hist_tj = np.zeros((HISTORY_CAP, gpt), dtype=np.float32)
            self._hist_p = np.zeros((HISTORY_CAP, gpt), dtype=np.float32)
            self._hist_n = 0
        self._plotted_n = -1
        m = GPU_METRICS["gpu_temp"].resolved(eng, self.limits)
        self.temp_metric = m
        self._limit_lines[0].setValue(m.warn)
        self._limit_lines[1].setValue(m.crit)
        for i, c in enumerate(self._tj_curves):
            c.setVisible(i < gpt)
            self._p_curves[i].setVisible(i < gpt)
        self.refresh(force=True)

    def _stash_history(self) -> int:
        """Keep the shown tray's history for when it is opened again. Returns that tray (or -1)."""
        prev = self._hist_owner
        if prev >= 0 and self._hist_n:
            self._histories[prev] = (self._hist_t, self._hist_tj, self._hist_p, self._hist_n)
            self._histories.move_to_end(prev)
            while len(self._histories) > HISTORY_TRAYS:
                self._histories.popitem(last=False)
        self._hist_owner = self.tray
        return prev

    def history(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time s, junction °C per GPU, power W per GPU) of the shown tray, oldest first."""
        return self._ordered_history()

    def highlight(self, address: str) -> None:
        """Outline a GPU (or CPU, PSU, NIC) of the shown tray: a click, or going there with Ctrl+L."""
        self.highlighted = address.upper() if address else ""
        self.tiles.update()

    def gpu_labels(self) -> list[str]:
        """The text shown on each GPU tile (one string per GPU, lines joined by spaces)."""
        return [t.replace("\n", "  ") for t in self.gpu_text]

    def refresh(self, force: bool = False) -> None:
        eng = self.engine
        if eng is None or self.tray < 0:
            return
        self._sample()
        if not self._refresh_due(force, (eng.revision, self.tray)):
            return
        if force or not self.gpu_text or not self._text_driven:
            self._update_values()
        self.tiles.update()
        self._update_plot()

    def refresh_text(self) -> None:
        """The figures on the tiles, at the 1 Hz text refresh: the same step the inspector and the status bar
        read (at 10 Hz the tiles showed 652 W while the inspector showed 301 W, a training swing apart)."""
        self._text_driven = True  # from now on the figures change only here (a window's 1 Hz text clock)
        if self.engine is None or self.tray < 0 or not self.isVisible():
            return
        self._update_values()
        self.tiles.update()

    # ------------------------------------------------------------------ internals
    def _sample(self) -> None:
        eng = self.engine
        topo = eng.topo
        n = self._hist_n
        if n:
            last = self._hist_t[(n - 1) % HISTORY_CAP]
            if eng.t < last:  # the engine went back (restore): start the history again
                self._hist_n = n = 0
                self._plotted_n = -1
            elif eng.t - last < HISTORY_S / HISTORY_CAP:
                return
        r, k = divmod(self.tray, topo.trays_per_rack)
        sl = slice(k * topo.gpus_per_tray, (k + 1) * topo.gpus_per_tray)
        i = n % HISTORY_CAP
        self._hist_t[i] = eng.t
        self._hist_tj[i] = eng.tj[r, sl]
        self._hist_p[i] = eng.gpu_power_w[r, sl]
        self._hist_n = n + 1

    def _ordered_history(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self._hist_n
        if n <= HISTORY_CAP:
            return self._hist_t[:n], self._hist_tj[:n], self._hist_p[:n]
        s = n % HISTORY_CAP
        order = np.r_[s:HISTORY_CAP, 0:s]
        return self._hist_t[order], self._hist_tj[order], self._hist_p[order]

    def _update_plot(self) -> None:
        if self._plotted_n == self._hist_n:
            return
        self._plotted_n = self._hist_n
        t, tj, pw = self._ordered_history()
        if not len(t):
            return
        keep = t >= self.engine.t - HISTORY_S
        x = t[keep] - self.engine.t
        for i in range(tj.shape[1]):
            self._tj_curves[i].setData(x, tj[keep, i])
            self._p_curves[i].setData(x, pw[keep, i])

    def _update_values(self) -> None:
        eng = self.engine
        topo = eng.topo
        r, k = divmod(self.tray, topo.trays_per_rack)
        gpt = topo.gpus_per_tray
        sl = slice(k * gpt, (k + 1) * gpt)
        tj = eng.tj[r, sl]
        pw = eng.gpu_power_w[r, sl]
        clk = eng.gpu_clock[r, sl]
        ok = eng.gpu_ok[r, sl]
        st = gpu_state_codes(eng)[r, sl]
        m = GPU_METRICS["gpu_temp"].resolved(eng, self.limits)
        self.gpu_fill = list(m.rgba(tj))
        self.gpu_state = st
        texts = []
        for i in range(gpt):
            state = GPU_STATES[int(st[i])]
            if st[i] in (1, GPU_SLOWDOWN):
                state += f" {clk[i] * 100:.0f} %"
            hbm = "HBM ok" if ok[i] else "HBM/GPU failed"
            if np.isnan(tj[i]):  # recorded telemetry with no sample: say so, never a healthy figure
                texts.append(f"G{i + 1}\nn/a\n{'n/a' if np.isnan(pw[i]) else f'{pw[i]:.0f} W'}\nno data\n{hbm}")
                continue
            texts.append(f"G{i + 1}\n{tj[i]:.1f} °C\n{pw[i]:.0f} W\n{state}\n{hbm}")
        self.gpu_text = texts
        powered = bool(tray_powered(eng)[self.tray])
        cpu_w = eng.facility.rack.tray.cpu_w if powered else 0.0
        self.cpu_on = [powered] * topo.cpus_per_tray
        self.cpu_text = [f"C{i + 1}  CPU\n{'on' if powered else 'off'}\n~{cpu_w:.0f} W" for i in
                         range(topo.cpus_per_tray)]
        self.psu_ok = eng.psu_ok[self.tray].copy()
        fab = eng.fabric
        fe_up = bool(fab.fe_nic_ok[self.tray] and fab.fe_leaf_ok[topo.net.tray_fe_leaf[self.tray]])
        self.nic_ok = np.append(eng.nic_ok[self.tray], fe_up)
        t = self.tray
        if eng.tray_slid_out[t]:
            state = "slid out"
        elif eng.tray_drained[t]:
            state = "drained (out of service)"
        elif not powered:
            state = "no power"
        elif eng.tray_available()[t]:
            state = "in service"
        else:
            state = "out of the job (failed part)"
        hot = float(np.fmax.reduce(tj))
        self.title.setText(f"{topo.tray_address(t)} — {state}   GPUs {f'{np.nansum(pw) / 1e3:.2f} kW' if not np.isnan(pw).all() else 'n/a'}, "
                           f"hottest {f'{hot:.1f} °C' if np.isfinite(hot) else 'n/a'}")

    def tooltip_for(self, kind: str, address: str) -> str:
        eng = self.engine
        topo = eng.topo
        if kind == "gpu":
            i = self.gpu_address.index(address)
            return f"<b>{address}</b><br>" + self.gpu_text[i].split("\n", 1)[1].replace("\n", "<br>")
        if kind == "cpu":
            return f"<b>{address}</b><br>host CPU; power is the configured {eng.facility.rack.tray.cpu_w:.0f} W"
        if kind == "psu":
            i = self.psu_address.index(address)
            need = eng.facility.rack.tray.psus_needed
            return (f"<b>{address}</b> — {'ok' if self.psu_ok[i] else 'FAILED'}<br>"
                    f"{int(self.psu_ok.sum())}/{topo.psus_per_tray} ok; the tray needs {need}")
        if kind == "nic" and address.endswith("-FE"):
            fab, net = eng.fabric, topo.net
            leaf = int(net.tray_fe_leaf[self.tray])
            return (f"<b>{address}</b> — {'ok' if fab.fe_nic_ok[self.tray] else 'FAILED'}<br>front-end link to "
                    f"{net.fe_leaf_address(leaf)} ({'up' if fab.fe_leaf_ok[leaf] else 'DOWN'}): storage and data")
        if kind == "nic":
            i = self.nic_address.index(address)
            role = f"400G for G{i + 1}" if i < topo.gpus_per_tray else "host NIC"
            return f"<b>{address}</b> — {'ok' if self.nic_ok[i] else 'FAILED'}<br>{role}"
        return ""

    def _apply_palette(self) -> None:
        pal = self.palette()
        self.plots.setBackground(pal.color(QPalette.ColorRole.Base))
        fg = pal.color(QPalette.ColorRole.Text)
        for pl in (self.temp_plot, self.power_plot):
            for ax in ("left", "bottom"):
                a = pl.getAxis(ax)
                a.setPen(fg)
                a.setTextPen(fg)

    def changeEvent(self, ev) -> None:  # noqa: N802
        if ev.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(ev)
