"""Event log: the run's one event log as a table, newest at the bottom: the engine's events (faults, throttling,
jobs, turbines), the alarms' (raised, acknowledged, cleared, shelved) and the operations' (work orders with their
priority changes and notes, technicians, spares).

The model holds its own cursor into ``engine.events`` (``since``: it learns of a restore that rewound the log)
and appends in batches at the redraw rate. It keeps at most ``MAX_ROWS`` rows.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ...sim.events import ALARM, WORK_ORDER, is_ops_event, kind_text
from ..sim_driver import format_clock
from ..theme import severity_color
from .row_table_model import RowTableModel

MAX_ROWS = 20000
_COLUMNS = ("Time", "Event", "Address", "Detail")
_BAD = {"fault_started", "gpu_shutdown", "job_interrupted", "load_shed_began", "rack_isolated", "action_failed",
        "store_error"}
_WARN = {"throttle_began", "turbine_starting", "power_cap", "tray_drained", "tray_slid_out", "stock_out"}
_GOOD = {"fault_cleared", "job_restarted", "throttle_ended", "turbine_online", "load_shed_ended",
         "rack_restored", "tray_returned", "tray_slid_in", "wo_closed", "part_delivered", "alarm_cleared"}
_RAISED = {"alarm_raised", "alarm_lowered"}  # coloured by the alarm's severity


class EventLogModel(RowTableModel):
    columns = _COLUMNS

    def __init__(self, parent=None):
        super().__init__(parent)
        self.engine = None
        self._rows: list = []
        self._cursor = None
        self.dark = True

    def set_engine(self, engine) -> None:
        self.beginResetModel()
        self.engine = engine
        self._rows = []
        self._cursor = None
        self.endResetModel()
        self.pull()

    def pull(self) -> int:
        """Append the log's new events; returns how many arrived."""
        if self.engine is None:
            return 0
        batch = self.engine.events.since(self._cursor)
        self._cursor = batch.cursor
        if batch.rewound:  # the run was restored to an earlier moment: the table shows its timeline again
            self.set_engine(self.engine)
            return 0
        new = batch.events
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
            return (format_clock(e.t_s), kind_text(e.kind), e.address, e.detail)[c]
        if role == Qt.ItemDataRole.ForegroundRole and c == 1:
            if e.kind in _RAISED and e.severity > 0:
                return severity_color(e.severity, self.dark)
            if e.kind in _BAD:
                return severity_color(2, self.dark)
            if e.kind in _WARN:
                return severity_color(1, self.dark)
            if e.kind in _GOOD:
                return severity_color(0, self.dark)
        if role == Qt.ItemDataRole.ToolTipRole:
            who = f"  by {e.who}" if e.who else ""
            return f"{format_clock(e.t_s)}  {kind_text(e.kind)}  {e.address}{who}\n{e.detail}\nDouble-click to go there"
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
        h.resizeSection(1, fm.horizontalAdvance("alarm acknowledged  ") + 20)
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
        if is_ops_event(e) and e.component not in (WORK_ORDER, ALARM):
            return  # a spare part, the database: no place in the facility (a work order's or alarm's address is
            # its component)
        if e.address and e.address not in ("ALL", "SITE"):
            self.address_activated.emit(e.address)
