"""The frame shared by the fabric and storage views: a summary line and an "Export CSV…" button over one
drawing canvas, charts below (added by each view), and the canvas's hover tooltip and click handling.

Each view keeps its own drawing, its own hit test and its own text; this module only holds what is the same.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolTip, QVBoxLayout, QWidget

from .lazy_refresh import LazyRefreshMixin


class NetworkPanelView(LazyRefreshMixin, QWidget):
    """Signals: ``component_selected(str)`` on a click on a cell, ``context_menu_requested(str, QPoint)`` on
    right-click (the fault menu). Object names: ``<name>View``, ``<name>Summary``, ``<name>CsvButton``."""

    component_selected = Signal(str)
    context_menu_requested = Signal(str, QPoint)

    CSV_TITLE = ""  # the file dialog's title
    CSV_FILE = ""  # the file name it proposes

    def __init__(self, name: str, canvas_cls, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(f"{name}View")
        self.engine = None
        self.summary = QLabel(self)
        self.summary.setObjectName(f"{name}Summary")
        self.summary.setContentsMargins(6, 4, 6, 2)
        self.summary.setWordWrap(True)
        self.canvas = canvas_cls(self)
        self.csv_button = QPushButton("Export CSV…", self)
        self.csv_button.setObjectName(f"{name}CsvButton")
        self.csv_button.clicked.connect(self._on_csv_button_clicked)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.csv_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)

    def refresh_signature(self) -> tuple:
        """What the drawing depends on: the engine's time and its event count."""
        return (self.engine.t, len(self.engine.events))

    def write_csv(self, path) -> None:
        raise NotImplementedError

    def _on_csv_button_clicked(self) -> None:
        from ..export.csv_export import export_csv
        export_csv(self, self.CSV_TITLE, self.CSV_FILE, self.write_csv)


class PickCanvas(QWidget):
    """A canvas of cells: the tooltip of the cell under the mouse, right-click for its fault menu, left-click
    to select it. A subclass gives ``item_at`` (cell index or None), ``item_address`` and ``describe``."""

    def __init__(self, view: NetworkPanelView, name: str, min_w: int, min_h: int):
        super().__init__(view)
        self.view = view
        self.setObjectName(name)
        self.setMouseTracking(True)
        self.setMinimumSize(min_w, min_h)  # the window fits 1280x720 with every dock open

    def item_at(self, pos: QPointF) -> int | None:
        raise NotImplementedError

    def item_address(self, i: int) -> str:
        raise NotImplementedError

    def describe(self, i: int) -> str:
        raise NotImplementedError

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        i = self.item_at(ev.position())
        if i is None:
            QToolTip.hideText()
            return
        QToolTip.showText(ev.globalPosition().toPoint(), self.describe(i), self)

    def mousePressEvent(self, ev) -> None:  # noqa: N802
        i = self.item_at(ev.position())
        if i is None:
            return
        addr = self.item_address(i)
        if ev.button() == Qt.MouseButton.RightButton:
            self.view.context_menu_requested.emit(addr, ev.globalPosition().toPoint())
        elif ev.button() == Qt.MouseButton.LeftButton:
            self.view.set_selected(addr)
            self.view.component_selected.emit(addr)
