"""Event log: the engine's events (faults, throttling, jobs, turbines) as a table, newest at the bottom.

The model keeps its own cursor into ``engine.events`` (it does not ``drain_events()``, which belongs to the
alarm layer) and appends in batches at the redraw rate. It keeps at most ``MAX_ROWS`` rows.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ..sim_driver import format_clock
from ..theme import severity_color
from .row_table_model import RowTableModel

MAX_ROWS = 20000
_COLUMNS = ("Time", "Event", "Address", "Detail")
_BAD = {"fault_started", "gpu_shutdown", "job_interrupted", "load_shed_began", "rack_isolated"}
_WARN = {"throttle_began", "turbine_starting", "power_cap", "tray_drained", "tray_slid_out"}
_GOOD = {"fault_cleared", "job_restarted", "throttle_ended", "turbine_online", "load_shed_ended",
         "rack_restored", "tray_returned", "tray_slid_in"}


class EventLogModel(RowTableModel):
    columns = _COLUMNS

    def __init__(self, parent=None):
        super().__init__(parent)
        self.engine = None
        self._rows: list = []
        self._cursor = 0
        self.dark = True

    def set_engine(self, engine) -> None:
        self.beginResetModel()
        self.engine = engine
        self._rows = []
        self._cursor = 0
        self.endResetModel()
        self.pull()

    def pull(self) -> int:
        """Append the engine's new events; returns how many arrived."""
        ev = self.engine.events if self.engine is not None else []
        if len(ev) < self._cursor:  # the engine was restored to an earlier state
            self.set_engine(self.engine)
            return 0
        new = ev[self._cursor:]
        self._cursor = len(ev)
        if not new:
            return 0
        new = new[-MAX_ROWS:]
        overflow = len(self._rows) + len(new) - MAX_ROWS
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            del self._rows[:overflow]
            self.endRemoveRows()
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n + len(new) - 1)
        self._rows.extend(new)
        self.endInsertRows()
        return len(new)

    def event_at(self, row: int):
        return self._rows[row]

    def kinds(self) -> list[str]:
        return [e.kind for e in self._rows]

    # ------------------------------------------------------------------ Qt model
    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        e = self._rows[index.row()]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (format_clock(e.t_s), e.kind.replace("_", " "), e.address, e.detail)[c]
        if role == Qt.ItemDataRole.ForegroundRole and c == 1:
            if e.kind in _BAD:
                return severity_color(2, self.dark)
            if e.kind in _WARN:
                return severity_color(1, self.dark)
            if e.kind in _GOOD:
                return severity_color(0, self.dark)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{format_clock(e.t_s)}  {e.kind}  {e.address}\n{e.detail}\nDouble-click to go there"
        return None


class EventLogView(QTableView):
    """The table; follows the newest row unless the user scrolled up. ``address_activated`` on double-click."""

    address_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("eventLogTable")
        self.log_model = EventLogModel(self)
        self.setModel(self.log_model)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        h = self.horizontalHeader()
        fm = self.fontMetrics()
        h.resizeSection(0, fm.horizontalAdvance("0d 00:00:00") + 20)
        h.resizeSection(1, fm.horizontalAdvance("load shed began  ") + 20)
        h.resizeSection(2, fm.horizontalAdvance("H1-R0001-RDHX-F1 ") + 20)
        h.setStretchLastSection(True)
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.doubleClicked.connect(self._on_double_clicked)

    def set_engine(self, engine) -> None:
        self.log_model.set_engine(engine)

    def pull(self) -> int:
        sb = self.verticalScrollBar()
        at_bottom = sb.value() >= sb.maximum() - 2
        n = self.log_model.pull()
        if n and at_bottom:
            self.scrollToBottom()
        return n

    def _on_double_clicked(self, index) -> None:
        e = self.log_model.event_at(index.row())
        if e.address and e.address not in ("ALL", "SITE"):
            self.address_activated.emit(e.address)
