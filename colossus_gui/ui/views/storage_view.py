"""The storage system: every node as a cell (by pool), pool bandwidth bars, rebuilds, checkpoint bandwidth.

Node cells: green in service, amber with failed drives, blue-grey while its data is being rebuilt, red down.
Pool bars: the write bandwidth left for checkpoints against the design figure, and what rebuilds take. The
chart below shows the checkpoint write bandwidth and the checkpoint stall over the last 15 minutes.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QHBoxLayout, QWidget

from .. import colors
from .mini_chart import MiniChartWidget, ring_tail
from .network_view_base import NetworkPanelView, PickCanvas

NODE_OK, NODE_DRIVES, NODE_REBUILD, NODE_DOWN = 0, 1, 2, 3
NODE_COLORS = {NODE_OK: colors.OK[:3], NODE_DRIVES: colors.WARNING[:3], NODE_REBUILD: (90, 130, 200),
               NODE_DOWN: colors.CRITICAL[:3]}
NODE_LABELS = {NODE_OK: "in service", NODE_DRIVES: "failed drive(s)", NODE_REBUILD: "rebuilding",
               NODE_DOWN: "down"}
CHART_SPAN_S = 900.0


def node_states(engine) -> np.ndarray:
    """Per storage node: NODE_OK, NODE_DRIVES, NODE_REBUILD or NODE_DOWN (the worst applies)."""
    st = engine.storage
    drives_down = np.bincount(st.drive_node[~st.drive_ok], minlength=st.n_nodes)
    rebuilding = (st.node_rebuild_gb > 0) | (np.bincount(st.drive_node, weights=st.drive_rebuild_gb,
                                                         minlength=st.n_nodes) > 0)
    out = np.full(st.n_nodes, NODE_OK, dtype=np.int8)
    out[drives_down > 0] = NODE_DRIVES
    out[rebuilding & st.node_ok] = np.maximum(out[rebuilding & st.node_ok], NODE_REBUILD)
    out[~st.node_ok] = NODE_DOWN
    return out


class StorageView(NetworkPanelView):
    """Signals: ``component_selected(str)`` on a click on a node, ``context_menu_requested(str, QPoint)``."""

    CSV_TITLE, CSV_FILE = "Export storage time series", "storage.csv"

    def __init__(self, parent: QWidget | None = None):
        super().__init__("storage", _StorageCanvas, parent)
        self.selected = -1
        self.states = np.zeros(0, dtype=np.int8)
        self.chart = MiniChartWidget("checkpoint write bandwidth", self)
        self.chart.setObjectName("storageChart")
        self.stall_chart = MiniChartWidget("checkpoint stall", self)
        self.stall_chart.setObjectName("storageStallChart")
        charts = QHBoxLayout()
        charts.addWidget(self.chart, 2)
        charts.addWidget(self.stall_chart, 1)
        self.layout().addLayout(charts)

    def set_engine(self, engine) -> None:
        self.engine = engine
        self.selected = -1
        self.refresh(force=True)

    def set_selected(self, address: str | None) -> None:
        self.selected = -1
        if self.engine is not None and address:
            a = self.engine.parse(address)
            if a.kind in ("storage_node", "drive"):
                self.selected = a.index
        self.canvas.update()

    def refresh(self, force: bool = False) -> None:
        eng = self.engine
        if eng is None:
            return
        if not self._refresh_due(force, self.refresh_signature()):
            return
        self.states = node_states(eng)
        st = eng.storage
        stalls = ", ".join(f"{job.name} {s:.0f} s" for job, s in zip(eng.jobs, st.last_stall_s, strict=True)
                           if math.isfinite(s))
        self.summary.setText(
            f"{st.n_nodes:,} nodes · {st.n_drives:,} drives · {st.capacity_pb:,.0f} PB raw   |   down: "
            f"{st.n_nodes_down} nodes, {st.n_drives_down} drives   |   checkpoint write "
            f"{st.write_bw_gbs:,.0f} of {st.design_gbs:,.0f} GB/s · rebuilds {float(st.pool_rebuild_gbs.sum()):,.0f}"
            f" GB/s · power {st.power_w / 1e6:.2f} MW\nlast checkpoint stall: {stalls or 'none yet'}")
        rows = ring_tail(st.ring, int(CHART_SPAN_S))
        if len(rows):
            i = st.index
            t = rows[:, i["t_s"]]
            self.chart.set_series([
                ("available", "#4cd964", t, rows[:, i["write_bw_gbs"]], "{:,.0f} GB/s"),
                ("in use by checkpoints", "#5aa9ff", t, rows[:, i["checkpoint_bw_gbs"]], "{:,.0f} GB/s"),
                ("rebuilds", "#c792ea", t, rows[:, i["rebuild_bw_gbs"]], "{:,.0f} GB/s")])
            self.stall_chart.set_series([("stall (now or last)", "#ff6b6b", t, rows[:, i["checkpoint_stall_s"]],
                                          "{:.0f} s")])
        self.canvas.update()

    def write_csv(self, path) -> None:
        from ...io.network_tables import write_storage_csv
        write_storage_csv(self.engine, path)


class _StorageCanvas(PickCanvas):
    """Pools side by side: a grid of node cells, a bandwidth bar and the rebuilds under way."""

    BAR_H = 18

    def __init__(self, view: StorageView):
        super().__init__(view, "storageCanvas", 420, 180)
        self._grids: list[tuple[QRectF, int, int, int]] = []  # rect, first node, n nodes, columns

    def paintEvent(self, ev) -> None:  # noqa: N802
        view = self.view
        eng = view.engine
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        self._grids = []
        if eng is None or view.states.size == 0:
            p.end()
            return
        st, net = eng.storage, eng.topo.net
        w, h = self.width(), self.height()
        n_pools = st.n_pools
        col_w = (w - 16) / n_pools
        lut = np.array([0xFF000000 | (c[0] << 16) | (c[1] << 8) | c[2] for c in
                        (NODE_COLORS[k] for k in range(4))], dtype=np.uint32)
        rebuilds = st.rebuild_progress()
        list_h = 16 * min(6, len(rebuilds)) + (18 if rebuilds else 0)
        for pi, pool in enumerate(eng.facility.storage.pools):
            x0 = 8 + pi * col_w
            first, n = int(net.pool_node_start[pi]), int(net.pool_nodes[pi])
            p.setPen(text)
            ckpt = " (checkpoints)" if pi == st.ckpt_pool else ""
            p.drawText(QRectF(x0, 4, col_w - 8, 16), int(Qt.AlignmentFlag.AlignLeft),
                       f"{pool.name if pool.name == pool.tier else f'{pool.name} ({pool.tier})'} · {n:,} nodes × "
                       f"{pool.drives_per_node} × {pool.drive_tb:g} TB{ckpt}")
            # bandwidth bar: left for writes (green), rebuild (blue), lost (red)
            design = n * pool.node_write_gbs
            left = float(st.pool_write_gbs[pi])
            rb = float(st.pool_rebuild_gbs[pi])
            bar = QRectF(x0, 24, col_w - 16, self.BAR_H)
            p.fillRect(bar, QColor(*colors.CRITICAL[:3]))
            if design > 0:
                p.fillRect(QRectF(bar.x(), bar.y(), bar.width() * min(1.0, left / design), bar.height()),
                           QColor(*colors.OK[:3]))
                p.fillRect(QRectF(bar.x() + bar.width() * min(1.0, left / design), bar.y(),
                                  bar.width() * min(1.0, rb / design), bar.height()), QColor(*NODE_COLORS[NODE_REBUILD]))
            p.setPen(QColor(255, 255, 255))
            p.drawText(bar.adjusted(4, 0, -4, 0), int(Qt.AlignmentFlag.AlignVCenter),
                       f"write {left:,.0f} / {design:,.0f} GB/s · rebuild {rb:,.0f} GB/s")
            # node grid
            top = 24 + self.BAR_H + 8
            area = QRectF(x0, top, col_w - 16, max(20.0, h - top - 8 - list_h))
            cols = max(1, int(math.ceil(math.sqrt(n * area.width() / max(area.height(), 1.0)))))
            rows = int(math.ceil(n / cols))
            cells = np.full(rows * cols, 0x00000000, dtype=np.uint32)
            cells[:n] = lut[view.states[first:first + n]]
            img = QImage(cells.data, cols, rows, cols * 4, QImage.Format.Format_ARGB32)
            cw = area.width() / cols
            ch = min(area.height() / rows, cw * 1.5)
            grid = QRectF(area.x(), area.y(), cw * cols, ch * rows)
            p.drawImage(grid, img)
            if cw >= 5 and ch >= 5:  # separate the cells when they are big enough to count
                p.setPen(pal.color(QPalette.ColorRole.Base))
                for c in range(1, cols):
                    p.drawLine(QPointF(grid.x() + c * cw, grid.y()), QPointF(grid.x() + c * cw, grid.bottom()))
                for r in range(1, rows):
                    p.drawLine(QPointF(grid.x(), grid.y() + r * ch), QPointF(grid.right(), grid.y() + r * ch))
            self._grids.append((grid, first, n, cols))
            if first <= view.selected < first + n:
                k = view.selected - first
                r, c = divmod(k, cols)
                p.setPen(text)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(QRectF(grid.x() + c * cw - 1, grid.y() + r * ch - 1, cw + 2, ch + 2))
        if rebuilds:
            y = h - list_h
            p.setPen(text)
            p.drawText(QRectF(8, y, w - 16, 16), int(Qt.AlignmentFlag.AlignLeft),
                       f"Rebuilds under way: {len(rebuilds)}")
            for i, (addr, done, left_s) in enumerate(rebuilds[:6]):
                yy = y + 18 + 16 * i
                p.drawText(QRectF(8, yy, 110, 14), int(Qt.AlignmentFlag.AlignLeft), addr)
                bar = QRectF(120, yy + 2, min(300.0, w - 260), 10)
                p.fillRect(bar, QColor(*colors.OUT_OF_SERVICE[:3]))
                p.fillRect(QRectF(bar.x(), bar.y(), bar.width() * done, bar.height()), QColor(*NODE_COLORS[NODE_REBUILD]))
                p.drawText(QRectF(bar.right() + 8, yy, 140, 14), int(Qt.AlignmentFlag.AlignLeft),
                           f"{done:.0%}, {left_s / 3600:.1f} h left")
        p.end()

    def node_at(self, pos: QPointF) -> int | None:
        for grid, first, n, cols in self._grids:
            if grid.contains(pos):
                c = int((pos.x() - grid.x()) / grid.width() * cols)
                rows = int(math.ceil(n / cols))
                r = int((pos.y() - grid.y()) / grid.height() * rows)
                k = r * cols + c
                if 0 <= k < n:
                    return first + k
        return None

    item_at = node_at

    def item_address(self, node: int) -> str:
        return self.view.engine.topo.net.node_address(node)

    def describe(self, node: int) -> str:
        eng = self.view.engine
        st = eng.storage
        down = int((~st.drive_ok[st.drive_node == node]).sum())
        return (f"{eng.topo.net.node_address(node)}: {NODE_LABELS[int(self.view.states[node])]}, "
                f"{down} drive(s) down, {st.node_bw_gbs[node]:.1f} GB/s")
