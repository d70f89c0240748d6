"""Alarm list: active and unacknowledged alarms, sortable and filterable by severity, hall and kind, with
acknowledge (one or many) and shelve. Standalone: give it an ``OpsManager`` and its engine and call
``refresh()`` from the sim driver's ``ticked`` (it rebuilds only when the alarm manager's revision moved).

Colours follow the status palette of ``colors.py``; limits are in each row's tooltip; double-click emits
``address_activated`` so the main window can go to the component.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...ops.alarms import CRITICAL, AlarmError
from .. import colors
from ..sim_driver import format_clock
from .row_table_model import RowTableModel

_COLUMNS = ("Severity", "State", "Raised", "Component", "Alarm", "When raised", "Peak", "Now", "Limit", "Detail")
_VALUE_COLUMNS = (5, 6, 7)  # refreshed every second while the alarm list itself is unchanged
_STATE_TEXT = {"active_unacknowledged": "active, unacked", "active_acknowledged": "active, acked",
               "cleared_unacknowledged": "cleared, unacked", "cleared": "cleared"}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class AlarmTableModel(RowTableModel):
    columns = _COLUMNS

    def __init__(self, ops, parent=None):
        super().__init__(parent)
        self.ops = ops
        self.include_shelved = False
        self._rows: list = []
        self._revision = -1

    def refresh(self, force: bool = False) -> bool:
        """Rebuild from the alarm manager if anything changed. Returns True if it did."""
        rev = self.ops.alarms.revision
        if rev == self._revision and not force:
            if self._rows:  # the list is the same; the 'peak' and 'now' figures move
                self.dataChanged.emit(self.index(0, _VALUE_COLUMNS[0]),
                                      self.index(len(self._rows) - 1, _VALUE_COLUMNS[-1]))
            return False
        self._revision = rev
        self.beginResetModel()
        self._rows = self.ops.alarms.alarms(include_shelved=self.include_shelved)
        self.endResetModel()
        return True

    def alarm_at(self, row: int):
        return self._rows[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        a = self._rows[index.row()]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            state = _STATE_TEXT[a.state] + (" (shelved)" if a.shelved_until is not None else "")
            return (a.severity_name, state, format_clock(a.raised_t), a.component, a.label, a.fmt(a.raised_value),
                    a.fmt(a.peak_value), a.fmt(a.value), a.fmt(a.limit), a.detail)[c]
        if role == SORT_ROLE:
            return (-a.severity if a.active else 0, a.state, a.raised_t, a.component, a.label, a.raised_value,
                    a.peak_value, a.value, a.limit, a.detail)[c]
        if role == Qt.ItemDataRole.ForegroundRole and c in (0, 1):
            # text colours that read on the theme's background (WCAG AA), not the fill colours
            dark = QApplication.palette().color(QPalette.ColorRole.Base).value() < 128
            key = "out_of_service" if not a.active else ("critical" if a.severity == CRITICAL else "warning")
            return QColor(*colors.text_color(key, dark))
        if role == Qt.ItemDataRole.ToolTipRole:
            spec = self.ops.alarms.limits(a.rule)
            th = self.ops.alarms.thresholds[a.rule]
            return (f"{a.label} on {a.component}\nwhen raised {a.fmt(a.raised_value)}, peak {a.fmt(a.peak_value)}, "
                    f"now {a.fmt(a.value)}\n{th.text()}, hysteresis {th.fmt(spec.hysteresis) if th.quantity.flag is None else 'none'}, "
                    f"on-delay {spec.on_delay_s:g} s\n{a.detail}\nDouble-click to go there")
        if role == Qt.ItemDataRole.UserRole:
            return a.id
        return None


class _AlarmFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.severity: int | None = None
        self.hall: int | None = None
        self.rule: str | None = None
        self.setSortRole(SORT_ROLE)

    def filterAcceptsRow(self, row, parent):  # noqa: N802
        a = self.sourceModel().alarm_at(row)
        return ((self.severity is None or a.severity == self.severity)
                and (self.hall is None or a.hall == self.hall)
                and (self.rule is None or a.rule == self.rule))


class AlarmPanelWidget(QWidget):
    """The alarm list with its filters, counts and buttons."""

    address_activated = Signal(str)
    counts_changed = Signal(dict)  # for the status bar: critical, warning, unacknowledged, shelved, total
    acknowledged = Signal(list)  # alarm ids

    def __init__(self, ops, engine, parent: QWidget | None = None, who: str = "operator"):
        super().__init__(parent)
        self.setObjectName("alarmPanel")
        self.ops, self.engine, self.who = ops, engine, who
        self.model = AlarmTableModel(ops, self)
        self.proxy = _AlarmFilter(self)
        self.proxy.setSourceModel(self.model)

        self.severity_box = QComboBox(objectName="alarmSeverityFilter")
        self.severity_box.addItem("All severities", None)
        self.severity_box.addItem("Critical", CRITICAL)
        self.severity_box.addItem("Warning", 1)
        self.hall_box = QComboBox(objectName="alarmHallFilter")
        self.hall_box.addItem("All halls", None)
        for i, name in enumerate(engine.topo.hall_names):
            self.hall_box.addItem(name, i)
        self.rule_box = QComboBox(objectName="alarmKindFilter")
        self.rule_box.addItem("All kinds", None)
        for name in type(ops.config.alarms.rules).model_fields:
            self.rule_box.addItem(name.replace("_", " "), name)
        self.shelved_box = QCheckBox("Shelved", objectName="alarmShowShelved")
        self.shelved_box.setToolTip("Show shelved alarms too")
        for w in (self.severity_box, self.hall_box, self.rule_box):
            w.currentIndexChanged.connect(self._on_filter_changed)
        self.shelved_box.toggled.connect(self._on_shelved_toggled)

        self.table = QTableView(objectName="alarmTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.doubleClicked.connect(self._on_table_double_clicked)

        self.ack_button = QPushButton("Acknowledge", objectName="alarmAckButton")
        self.ack_button.setToolTip("Acknowledge the selected alarms")
        self.ack_all_button = QPushButton("Acknowledge all shown", objectName="alarmAckAllButton")
        self.shelve_button = QPushButton("Shelve 1 h", objectName="alarmShelveButton")
        self.shelve_button.setToolTip("Hide the selected alarms for one simulated hour")
        self.ack_button.clicked.connect(self._on_ack_clicked)
        self.ack_all_button.clicked.connect(self._on_ack_all_clicked)
        self.shelve_button.clicked.connect(self._on_shelve_clicked)
        self.counts_label = QLabel(objectName="alarmCounts")
        self.counts_label.setWordWrap(True)  # a narrow dock wraps the counts instead of cutting them

        top = QHBoxLayout()
        for w in (self.severity_box, self.hall_box, self.rule_box, self.shelved_box):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.counts_label)
        buttons = QHBoxLayout()
        for w in (self.ack_button, self.ack_all_button, self.shelve_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        self.refresh(force=True)

    # ------------------------------------------------------------------ updating
    def refresh(self, force: bool = False) -> None:
        # The model resets when the alarms change (a few hundred rows at most): the operator's selection and
        # scroll position are carried over by alarm id, so a 1 Hz refresh never drops what they were about
        # to acknowledge.
        keep = self.selected_ids()
        scroll = self.table.verticalScrollBar().value()
        if self.model.refresh(force):
            if keep:
                self._select_ids(keep)
            self.table.verticalScrollBar().setValue(scroll)
            if self.model.rowCount() < 200:  # measuring thousands of rows would stall the GUI
                self.table.resizeColumnsToContents()
            counts = self.ops.alarms.counts()
            self.counts_label.setText(f"{counts['critical']} critical, {counts['warning']} warning, "
                                      f"{counts['unacknowledged']} unacknowledged, {counts['shelved']} shelved")
            self.counts_changed.emit(counts)

    def visible_alarms(self) -> list:
        return [self.model.alarm_at(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
                for r in range(self.proxy.rowCount())]

    def select_alarm(self, alarm_id: int) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) == alarm_id:
                self.table.selectRow(r)
                return

    def selected_ids(self) -> list[int]:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        return [self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in sorted(rows)]

    def _select_ids(self, ids: list[int]) -> None:
        wanted = set(ids)
        sel = QItemSelection()
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                sel.select(self.proxy.index(r, 0), self.proxy.index(r, self.proxy.columnCount() - 1))
        self.table.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    # ------------------------------------------------------------------ slots
    def _on_filter_changed(self) -> None:
        self.proxy.beginFilterChange()
        self.proxy.severity = self.severity_box.currentData()
        self.proxy.hall = self.hall_box.currentData()
        self.proxy.rule = self.rule_box.currentData()
        self.proxy.endFilterChange()

    def _on_shelved_toggled(self, on: bool) -> None:
        self.model.include_shelved = on
        self.refresh(force=True)

    def _on_ack_clicked(self) -> None:
        self._ack(self.selected_ids())

    def _on_ack_all_clicked(self) -> None:
        self._ack([a.id for a in self.visible_alarms()])

    def _ack(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            done = self.ops.acknowledge(ids, self.who)
        except AlarmError as e:
            self.counts_label.setText(str(e))
            return
        self.refresh()
        self.acknowledged.emit([a.id for a in done])

    def _on_shelve_clicked(self) -> None:
        for alarm_id in self.selected_ids():
            self.ops.shelve(alarm_id, 3600.0, self.who)
        self.refresh()

    def _on_table_double_clicked(self, index) -> None:
        a = self.model.alarm_at(self.proxy.mapToSource(index).row())
        if a.component not in ("SITE",):
            self.address_activated.emit(a.component)
