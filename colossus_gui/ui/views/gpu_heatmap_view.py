"""Every GPU of the facility in one pyqtgraph ImageItem, arranged hall / rack / tray.

Each rack is a block of ``trays x gpus`` pixels (tray = image row, GPU = column) with a one-pixel gap; racks sit
by row and position as on the floor; halls are tiled in a grid chosen to fill a wide window. The layout is a
precomputed index map (pixel -> flat GPU index), so a refresh is: metric -> uint8 LUT index per GPU (a few
numpy passes), one ``np.take`` through the map, one ``setImage``. No Python loop over GPUs or racks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QCursor, QPalette, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...model.thresholds import DEFAULT_LIMITS, Limits
from .. import colors
from .hall_view import MetricLegendWidget
from .lazy_refresh import LazyRefreshMixin
from .metric_choice import MetricChoiceMixin
from .metrics import GPU_METRICS, GPU_STATES, Metric, gpu_overlay_index, gpu_state_codes

RACK_GAP = 1  # pixels between rack blocks
HALL_GAP = 12  # pixels between halls (room for the hall's name)
HOVER_HINT = "Point at a GPU for its address and value; click selects its rack, double-click opens it; wheel zooms"


@dataclass
class HeatmapLayout:
    """Where every GPU sits in the heatmap image (Qt-free; unit-testable)."""

    src: np.ndarray  # (H, W) int64: flat GPU index per pixel, -1 in gaps
    take: np.ndarray  # (H*W,) int64: like src with gaps -> n_gpus (a sentinel slot)
    gpu_x: np.ndarray  # (n_gpus,) pixel column of each GPU
    gpu_y: np.ndarray  # (n_gpus,) pixel row of each GPU
    hall_rects: list[tuple[int, int, int, int]]  # (x, y, w, h) per hall
    pitch_x: int
    pitch_y: int
    width: int
    height: int

    def gpu_at(self, x: float, y: float) -> int:
        """Flat GPU index at image coordinates (x right, y down), or -1 in a gap or outside."""
        xi, yi = math.floor(x), math.floor(y)
        if not (0 <= xi < self.width and 0 <= yi < self.height):
            return -1
        return int(self.src[yi, xi])

    def rack_rect(self, topo, rack: int) -> tuple[int, int, int, int]:
        g0 = rack * topo.gpus_per_rack
        return int(self.gpu_x[g0]), int(self.gpu_y[g0]), topo.gpus_per_tray, topo.trays_per_rack


def heatmap_layout(topo, halls, aspect: float = 16 / 9) -> HeatmapLayout:
    """Build the index map. ``halls`` are the facility's HallSpecs (rows, racks_per_row); halls are tiled
    in the column count whose overall shape is closest to ``aspect`` (width / height)."""
    gpt, tpr = topo.gpus_per_tray, topo.trays_per_rack
    px, py = gpt + RACK_GAP, tpr + RACK_GAP
    hw = np.array([h.racks_per_row * px - RACK_GAP for h in halls])
    hh = np.array([h.rows * py - RACK_GAP for h in halls])
    n = len(halls)
    cw, ch = int(hw.max()) + HALL_GAP, int(hh.max()) + HALL_GAP
    best, cols = None, 1
    for c in range(1, n + 1):
        rows = math.ceil(n / c)
        err = abs(math.log((c * cw) / (rows * ch) / aspect))
        if best is None or err < best:
            best, cols = err, c
    hx = (np.arange(n) % cols) * cw
    hy = (np.arange(n) // cols) * ch + HALL_GAP  # the gap above each hall holds its name
    width = int(min(n, cols) * cw - HALL_GAP)
    height = int(math.ceil(n / cols) * ch)
    ng = topo.n_gpus
    g = np.arange(ng, dtype=np.int64)
    r = g // topo.gpus_per_rack
    t = (g // gpt) % tpr
    k = g % gpt
    h = topo.rack_hall[r]
    gx = hx[h] + topo.rack_pos[r].astype(np.int64) * px + k
    gy = hy[h] + topo.rack_row[r].astype(np.int64) * py + t
    src = np.full((height, width), -1, dtype=np.int64)
    src[gy, gx] = g
    take = np.where(src < 0, ng, src).ravel()
    rects = [(int(hx[i]), int(hy[i]), int(hw[i]), int(hh[i])) for i in range(n)]
    return HeatmapLayout(src, take, gx, gy, rects, px, py, width, height)


class GpuHeatmapView(MetricChoiceMixin, LazyRefreshMixin, QWidget):
    """All GPUs, one image. Hover names the GPU; click selects its rack; double-click opens it."""

    limits: Limits = DEFAULT_LIMITS  # alarm thresholds: colours and legends use the same limits

    rack_selected = Signal(int)
    rack_activated = Signal(int)
    context_menu_requested = Signal(str, QPoint)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("gpuHeatmapView")
        self.engine = None
        self.layout_map: HeatmapLayout | None = None
        self._fitted_on_show = False  # fitted again on the first show, when the view knows its size
        self.current_metric: Metric = GPU_METRICS["gpu_temp"]
        self._metric_name = "gpu_temp"
        self.selected = -1
        self._idx_ext: np.ndarray | None = None
        self._img: np.ndarray | None = None
        self._values: np.ndarray | None = None
        self._hall_labels: list[pg.TextItem] = []
        self._hover_gpu = -1

        header = QWidget(self)
        hl = QHBoxLayout(header)
        hl.setContentsMargins(6, 4, 6, 2)
        title = QLabel("All GPUs", header)
        f = title.font()
        f.setBold(True)
        title.setFont(f)
        self.metric_combo = QComboBox(header)
        self.metric_combo.setObjectName("metricCombo")
        self.metric_combo.setToolTip("Colour every GPU by")
        for name, m in GPU_METRICS.items():
            self.metric_combo.addItem(m.label + (f" ({m.unit})" if m.unit else ""), name)
        self.metric_combo.currentIndexChanged.connect(self._on_metric_combo_changed)
        self.legend = MetricLegendWidget(header)
        fit = QToolButton(header)
        fit.setObjectName("heatmapFitButton")
        fit.setText("Fit")
        fit.setToolTip("Show the whole facility")
        fit.clicked.connect(self.fit)
        hl.addWidget(title)
        hl.addWidget(self.metric_combo)
        hl.addWidget(self.legend, 1)
        hl.addWidget(fit)

        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setObjectName("gpuHeatmapGraphics")
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.vb = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.image)
        self._sel_item = QGraphicsRectItem()
        pen = QPen(QColor(255, 255, 255), 2)
        pen.setCosmetic(True)
        self._sel_item.setPen(pen)
        self._sel_item.setVisible(False)
        self._sel_item.setZValue(10)
        self.vb.addItem(self._sel_item)
        # GPUs of a fabric leaf chosen in the fabric view (highlight_gpus)
        self._hl = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#00e5ff", width=1.5), brush=pg.mkBrush(0, 0, 0, 0),
                                      pxMode=True)
        self._hl.setZValue(11)
        self.vb.addItem(self._hl)
        self.graphics.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_mouse_clicked)
        self.graphics.viewport().installEventFilter(self)

        self.hover_label = QLabel(HOVER_HINT, self)
        self.hover_label.setObjectName("heatmapHoverLabel")
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hover_label.setContentsMargins(6, 2, 6, 2)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(header)
        lay.addWidget(self.graphics, 1)
        lay.addWidget(self.hover_label)
        self._apply_palette()

    # ------------------------------------------------------------------ API
    def set_engine(self, engine) -> None:
        self.engine = engine
        self.selected = -1
        self._sel_item.setVisible(False)
        self.layout_map = lay = heatmap_layout(engine.topo, engine.facility.halls)
        self._fitted_on_show = self.isVisible()
        self._idx_ext = np.full(engine.n_gpus + 1, colors.IDX_BACKGROUND, dtype=np.uint8)
        self._img = np.empty((lay.height, lay.width), dtype=np.uint8)
        for it in self._hall_labels:
            self.vb.removeItem(it)
        self._hall_labels = []
        text = self.palette().color(QPalette.ColorRole.Text)
        for name, (x, y, _w, _h) in zip(engine.topo.hall_names, lay.hall_rects, strict=True):
            it = pg.TextItem(f"Hall {name}", color=text, anchor=(0, 1))
            it.setPos(x, y - 1)
            self.vb.addItem(it)
            self._hall_labels.append(it)
        self._metric_resolved()
        self.refresh(force=True)
        self.fit()

    def set_metric(self, name: str) -> None:
        if name not in GPU_METRICS:
            raise ValueError(f"unknown GPU metric {name!r} (known: {', '.join(GPU_METRICS)})")
        i = self.metric_combo.findData(name)
        if i != self.metric_combo.currentIndex():
            self.metric_combo.setCurrentIndex(i)
            return
        self._metric_name = name
        self._metric_resolved()
        self.refresh(force=True)

    def select(self, rack_index: int) -> None:
        if self.engine is None or not 0 <= rack_index < self.engine.n_racks:
            self.selected = -1
            self._sel_item.setVisible(False)
            return
        self.selected = int(rack_index)
        x, y, w, h = self.layout_map.rack_rect(self.engine.topo, self.selected)
        self._sel_item.setRect(QRectF(x - 0.5, y - 0.5, w + 1, h + 1))
        self._sel_item.setVisible(True)

    def highlight_gpus(self, gpus) -> None:
        """Ring these GPUs (a fabric leaf's, or one GPU's link); None clears."""
        if gpus is None or self.layout_map is None or not len(gpus):
            self._hl.setData([], [])
            self.highlighted = np.zeros(0, dtype=np.int64)
            return
        g = np.asarray(gpus, dtype=np.int64)
        self.highlighted = g
        self._hl.setData(self.layout_map.gpu_x[g] + 0.5, self.layout_map.gpu_y[g] + 0.5)

    def fit(self) -> None:
        """All halls at once, with room above the top row for the hall names (drawn at a fixed pixel size,
        they were cut off when the heatmap was small)."""
        if self.layout_map is not None:
            lay = self.layout_map
            px_h = max(1.0, self.vb.height() or self.height() or 1.0)
            # a line of text in image rows (capped: before the first layout the view's height is not known yet)
            label = min((self.fontMetrics().height() + 4) * lay.height / px_h, 0.1 * lay.height)
            self.vb.setRange(QRectF(0, -label, lay.width, lay.height + label), padding=0.01)

    def refresh(self, force: bool = False) -> None:
        """Recolour every GPU. Skipped while hidden or when the engine has not moved."""
        eng = self.engine
        if eng is None:
            return
        if not self._refresh_due(force, (eng.revision, self._metric_name)):
            return
        self.update_image()

    def update_image(self) -> None:
        """The hot path: metric -> LUT index per GPU -> image through the precomputed map."""
        eng, m = self.engine, self.current_metric
        vals = m.values(eng)
        self._values = vals
        idx = self._idx_ext[:-1].reshape(vals.shape)
        m.index(vals, out=idx)
        ov = gpu_overlay_index(eng)
        if ov is not None:
            np.copyto(idx, ov, where=ov != 0)
        np.take(self._idx_ext, self.layout_map.take, out=self._img.reshape(-1))
        self.image.setImage(self._img, autoLevels=False, levels=(0, 255), lut=m.lut)
        self._update_missing_overlay(vals)

    def _update_missing_overlay(self, vals: np.ndarray) -> None:
        """GPUs with no reading (recorded telemetry with gaps) get diagonal hatching over their grey pixel:
        missing must never look like a healthy value. Built only when something is missing."""
        item = getattr(self, "_missing_item", None)
        nan = np.isnan(vals).ravel()
        if not nan.any():
            if item is not None:
                item.setVisible(False)
            return
        if item is None:
            item = self._missing_item = pg.ImageItem(axisOrder="row-major")
            item.setZValue(5)
            self.vb.addItem(item)
        mask = np.append(nan, False)[self.layout_map.take].reshape(self._img.shape)
        f = 4 if mask.size <= 1_000_000 else 2  # sub-pixels per GPU side
        big = np.repeat(np.repeat(mask, f, axis=0), f, axis=1)
        yy, xx = np.indices(big.shape, sparse=True)
        rgba = np.zeros((*big.shape, 4), dtype=np.uint8)
        rgba[big & ((yy + xx) % f == 0)] = (235, 235, 240, 255)
        item.setImage(rgba, autoLevels=False)
        item.setRect(QRectF(0, 0, self._img.shape[1], self._img.shape[0]))
        item.setVisible(True)

    # ------------------------------------------------------------------ hover and clicks
    def gpu_at_scene(self, scene_pos: QPointF) -> int:
        if self.layout_map is None:
            return -1
        p = self.vb.mapSceneToView(scene_pos)
        return self.layout_map.gpu_at(p.x(), p.y())

    def gpu_scene_pos(self, gpu: int) -> QPointF:
        """Scene position of a GPU's pixel centre (for tests and for pointing at a GPU)."""
        lay = self.layout_map
        return self.vb.mapViewToScene(QPointF(lay.gpu_x[gpu] + 0.5, lay.gpu_y[gpu] + 0.5))

    def describe_gpu(self, g: int) -> str:
        eng, m = self.engine, self.current_metric
        topo = eng.topo
        r, i = divmod(g, topo.gpus_per_rack)
        state = GPU_STATES[int(gpu_state_codes(eng)[r, i])]
        tray = g // topo.gpus_per_tray
        if eng.tray_slid_out[tray]:
            state = "tray slid out"
        elif eng.tray_drained[tray]:
            state += ", tray drained"
        val = m.format(float(m.values(eng)[r, i]))
        if np.isnan(eng.tj[r, i]):  # recorded telemetry: no sample for this GPU now
            return f"{topo.gpu_address(g)}   {m.label}: {val}   no data (n/a)   {state}"
        return (f"{topo.gpu_address(g)}   {m.label}: {val}   Tj {eng.tj[r, i]:.1f} °C   "
                f"{eng.gpu_power_w[r, i]:.0f} W   {state}")

    def _on_scene_mouse_moved(self, scene_pos) -> None:
        g = self.gpu_at_scene(scene_pos)
        if g == self._hover_gpu:
            return
        self._hover_gpu = g
        if g < 0:
            self.hover_label.setText(HOVER_HINT)
            QToolTip.hideText()
            return
        text = self.describe_gpu(g)
        self.hover_label.setText(text)
        QToolTip.showText(QCursor.pos(), text.replace("   ", "\n"), self.graphics)

    def _on_scene_mouse_clicked(self, ev) -> None:
        g = self.gpu_at_scene(ev.scenePos())
        if g < 0 or self.engine is None:
            return
        rack = g // self.engine.topo.gpus_per_rack
        if ev.button() == Qt.MouseButton.RightButton:
            self.context_menu_requested.emit(self.engine.topo.gpu_address(g), ev.screenPos().toPoint())
            ev.accept()
            return
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        if ev.double():
            return  # handled from the viewport's double-click event (see eventFilter)
        self.select(rack)
        self.rack_selected.emit(rack)
        ev.accept()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802
        # pyqtgraph reports the press that precedes a double-click as a single click, so the double-click is
        # taken from the viewport directly; the event still goes on to pyqtgraph.
        if (obj is self.graphics.viewport() and ev.type() == QEvent.Type.MouseButtonDblClick
                and ev.button() == Qt.MouseButton.LeftButton and self.engine is not None):
            g = self.gpu_at_scene(self.graphics.mapToScene(ev.position().toPoint()))
            if g >= 0:
                rack = g // self.engine.topo.gpus_per_rack
                self.select(rack)
                self.rack_activated.emit(rack)
        return super().eventFilter(obj, ev)

    # ------------------------------------------------------------------ internals
    def _metric_resolved(self) -> None:
        base = GPU_METRICS[self._metric_name]
        self.current_metric = base.resolved(self.engine, self.limits) if self.engine is not None else base
        self.legend.set_metric(self.current_metric, [
            (colors.OUT_OF_SERVICE, "out of service"), (colors.SLID_OUT, "slid out"), (colors.FAILED, "failed")])

    def _apply_palette(self) -> None:
        pal = self.palette()
        self.graphics.setBackground(pal.color(QPalette.ColorRole.Base))
        sel = QPen(pal.color(QPalette.ColorRole.Text), 2)
        sel.setCosmetic(True)
        self._sel_item.setPen(sel)
        for it in self._hall_labels:
            it.setColor(pal.color(QPalette.ColorRole.Text))

    def changeEvent(self, ev) -> None:  # noqa: N802
        if ev.type() == ev.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(ev)

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)  # brings the image up to date if a refresh was skipped while hidden
        if not self._fitted_on_show and self.layout_map is not None:  # now the view knows its size
            self._fitted_on_show = True
            QTimer.singleShot(0, self.fit)
