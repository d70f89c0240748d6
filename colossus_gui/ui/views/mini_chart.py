"""A small strip chart drawn with QPainter: a few curves over the last minutes, their names and latest values.

For views that need a glance at a trend (fabric throughput and bisection, checkpoint bandwidth and stall)
without a pyqtgraph plot of their own: one ``paintEvent``, data handed over as numpy arrays (copied, so the
telemetry ring can move on), at most one polyline point per pixel column.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QWidget


def ring_tail(ring, n: int) -> np.ndarray:
    """The last ``n`` rows of a telemetry ring in time order, copying only those rows (not the whole ring)."""
    total = len(ring)
    n = max(0, min(int(n), total))
    if n == 0:
        return ring.data[:0]
    idx = (ring.count - n + np.arange(n)) % ring.capacity
    return ring.data[idx]


class MiniChartWidget(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.setMinimumHeight(110)
        self.setMaximumHeight(150)
        self._series: list[tuple[str, QColor, np.ndarray, np.ndarray, str]] = []
        self._y_range: tuple[float, float] | None = None

    def set_series(self, series: list[tuple[str, str, np.ndarray, np.ndarray, str]],
                   y_range: tuple[float, float] | None = None) -> None:
        """``series``: (label, colour, t, y, value format); ``y_range``: fixed range, else from the data."""
        self._series = [(name, QColor(color), np.array(t, dtype=np.float64), np.array(y, dtype=np.float64), fmt)
                        for name, color, t, y, fmt in series]
        self._y_range = y_range
        self.update()

    def series_names(self) -> list[str]:
        return [s[0] for s in self._series]

    def paintEvent(self, ev) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        grid = QColor(text)
        grid.setAlpha(60)
        plot = QRectF(48, 20, max(10, self.width() - 56), max(10, self.height() - 36))
        p.setPen(text)
        legend = "   ".join(f"{name} {fmt.format(y[-1]) if len(y) else '–'}" for name, _c, _t, y, fmt in self._series)
        p.drawText(QRectF(8, 2, self.width() - 16, 16), int(Qt.AlignmentFlag.AlignLeft), f"{self.title}:  {legend}")
        data = [(t, y) for _n, _c, t, y, _f in self._series if len(t)]
        if not data:
            p.end()
            return
        t0 = min(float(t[0]) for t, _ in data)
        t1 = max(float(t[-1]) for t, _ in data)
        if self._y_range is not None:
            lo, hi = self._y_range
        else:
            lo = min(float(np.nanmin(y)) for _, y in data)
            hi = max(float(np.nanmax(y)) for _, y in data)
            lo, hi = min(lo, 0.0), hi if hi > lo else lo + 1.0
            hi += 0.05 * (hi - lo)
        p.setPen(QPen(grid, 1))
        p.drawRect(plot)
        p.setPen(text)
        for v, y in ((hi, plot.top()), (lo, plot.bottom())):
            p.drawText(QRectF(0, y - 8, 44, 16), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                       f"{v / 1000:.3g}k" if abs(v) >= 1000 else f"{v:.3g}")
        p.drawText(QRectF(plot.left(), plot.bottom() + 1, plot.width(), 14), int(Qt.AlignmentFlag.AlignRight),
                   f"last {max(t1 - t0, 0):.0f} s")
        span_t = max(t1 - t0, 1e-9)
        span_y = max(hi - lo, 1e-9)
        w = int(plot.width())
        for _name, color, t, y, _fmt in self._series:
            if len(t) < 2:
                continue
            x = plot.left() + (t - t0) / span_t * plot.width()
            yy = plot.bottom() - (np.clip(y, lo, hi) - lo) / span_y * plot.height()
            if len(x) > 2 * w:  # min and max per pixel column keep the swings visible
                col = np.clip(((x - plot.left()) / plot.width() * (w - 1)).astype(np.int64), 0, w - 1)
                starts = np.flatnonzero(np.diff(col, prepend=-1))
                mn = np.minimum.reduceat(yy, starts)
                mx = np.maximum.reduceat(yy, starts)
                x = np.repeat(x[starts], 2)
                yy = np.column_stack([mn, mx]).ravel()
            # only finite points, kept near the widget: Qt's raster engine may crash on NaN or huge coordinates
            ok = np.isfinite(x) & np.isfinite(yy) & (np.abs(x) < 1e6) & (np.abs(yy) < 1e6)
            poly = QPolygonF([QPointF(float(a), float(b)) for a, b in zip(x[ok], yy[ok], strict=True)])
            p.setPen(QPen(color, 1.5))
            p.drawPolyline(poly)
        p.end()
