"""Work-order board: orders by state with create / assign / advance / cancel, the selected order's steps and
notes, the technician roster, the parts stock and the operations figures. Standalone: give it an
``OpsManager`` and its engine and call ``refresh()`` from the sim driver's ``ticked`` (text-heavy: ~1 Hz).

``create_for(address)`` is what a component's context menu calls ("Create work order..."). Errors (an
unqualified technician, a stock-out, an illegal move) are shown in the panel's message line, never raised.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..ops.work_orders import FINAL, STATE_LABELS, STATES, WorkOrderError
from ..ops.workflow import OpsError
from . import colors
from .sim_driver import format_clock

_COLUMNS = ("ID", "Prio", "State", "Target", "Fault", "Technician", "Progress", "Created", "Step")
_STATE_COLORS = {"open": colors.WARNING, "assigned": colors.SUPPLY_BLUE, "in_progress": colors.SUPPLY_BLUE,
                 "testing": colors.OK, "closed": colors.OUT_OF_SERVICE, "cancelled": colors.OUT_OF_SERVICE}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class WorkOrderTableModel(QAbstractTableModel):
    def __init__(self, ops, parent=None):
        super().__init__(parent)
        self.ops = ops
        self.show_closed = False
        self._rows: list = []

    def refresh(self) -> None:
        # A reset per refresh: the board holds at most a few hundred orders in hand; closed ones on request.
        self.beginResetModel()
        wos = self.ops.work_orders.values()
        self._rows = [w for w in wos if self.show_closed or w.state not in FINAL]
        self.endResetModel()

    def order_at(self, row: int):
        return self._rows[row]

    def rowCount(self, parent=QModelIndex()):  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        w = self._rows[index.row()]
        c = index.column()
        step = w.current_step
        if role == Qt.ItemDataRole.DisplayRole:
            state = STATE_LABELS[w.state] + (f" (waiting for {w.waiting_part})" if w.waiting_part else "")
            return (str(w.id), str(w.priority), state, w.target, w.fault, w.technician or "",
                    f"{w.progress:.0%}", format_clock(w.created_t),
                    step.label if step else ("travelling" if w.phase == 0 else ""))[c]
        if role == SORT_ROLE:
            return (w.id, w.priority, STATES.index(w.state), w.target, w.fault, w.technician or "", w.progress,
                    w.created_t, step.name if step else "")[c]
        if role == Qt.ItemDataRole.ForegroundRole and c == 2:
            return QColor(*_STATE_COLORS[w.state][:3])
        if role == Qt.ItemDataRole.UserRole:
            return w.id
        return None


class WorkOrderPanelWidget(QWidget):
    address_activated = Signal(str)
    work_order_changed = Signal(int)
    message_shown = Signal(str)

    def __init__(self, ops, engine, parent: QWidget | None = None, who: str = "operator"):
        super().__init__(parent)
        self.setObjectName("workOrderPanel")
        self.ops, self.engine, self.who = ops, engine, who
        self.model = WorkOrderTableModel(ops, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(2)

        # board
        self.table = QTableView(objectName="workOrderTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.state_box = QComboBox(objectName="workOrderStateFilter")
        self.state_box.addItem("All states", "")
        for s in STATES:
            self.state_box.addItem(STATE_LABELS[s], STATE_LABELS[s])
        self.state_box.currentIndexChanged.connect(self._on_state_filter_changed)
        self.closed_box = QCheckBox("Closed too", objectName="workOrderShowClosed")
        self.closed_box.toggled.connect(self._on_closed_toggled)
        self.mode_box = QComboBox(objectName="dispatchMode")
        self.mode_box.addItem("Automatic dispatch", "auto")
        self.mode_box.addItem("Manual dispatch", "manual")
        self.mode_box.setCurrentIndex(0 if ops.dispatch_mode == "auto" else 1)
        self.mode_box.currentIndexChanged.connect(self._on_mode_changed)

        self.target_edit = QLineEdit(objectName="workOrderTarget")
        self.target_edit.setPlaceholderText("address, e.g. H1-R001-T3")
        self.create_button = QPushButton("Create", objectName="workOrderCreate")
        self.create_button.clicked.connect(self._on_create_clicked)
        self.tech_box = QComboBox(objectName="workOrderTechnician")
        self.assign_button = QPushButton("Assign", objectName="workOrderAssign")
        self.assign_button.clicked.connect(self._on_assign_clicked)
        self.advance_button = QPushButton("Advance", objectName="workOrderAdvance")
        self.advance_button.setToolTip("Dispatch now, arrive now, or finish the current step now")
        self.advance_button.clicked.connect(self._on_advance_clicked)
        self.cancel_button = QPushButton("Cancel order", objectName="workOrderCancel")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.message = QLabel(objectName="workOrderMessage")
        self.message.setWordWrap(True)
        self.detail = QPlainTextEdit(objectName="workOrderDetail")
        self.detail.setReadOnly(True)

        board = QWidget()
        bl = QVBoxLayout(board)
        bl.setContentsMargins(0, 0, 0, 0)
        row1 = QHBoxLayout()
        for w in (self.state_box, self.closed_box, self.mode_box):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        for w in (self.target_edit, self.create_button, self.tech_box, self.assign_button, self.advance_button,
                  self.cancel_button):
            row2.addWidget(w)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        bl.addLayout(row1)
        bl.addWidget(split, 1)
        bl.addLayout(row2)
        bl.addWidget(self.message)

        # technicians, stock, figures
        self.tech_table = QTableWidget(0, 5, objectName="technicianTable")
        self.tech_table.setHorizontalHeaderLabels(["Name", "Shift", "Skills", "Where", "Doing"])
        self.stock_table = QTableWidget(0, 4, objectName="stockTable")
        self.stock_table.setHorizontalHeaderLabels(["Part", "On hand", "On order", "Next delivery"])
        for t in (self.tech_table, self.stock_table):
            t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            t.verticalHeader().setVisible(False)
            t.horizontalHeader().setStretchLastSection(True)
        self.figures_text = QPlainTextEdit(objectName="opsFigures")
        self.figures_text.setReadOnly(True)
        self.tabs = QTabWidget(objectName="opsTabs")
        self.tabs.addTab(board, "Work orders")
        self.tabs.addTab(self.tech_table, "Technicians")
        self.tabs.addTab(self.stock_table, "Stock")
        self.tabs.addTab(self.figures_text, "Figures")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.tabs)
        self.refresh()

    # ------------------------------------------------------------------ updating
    def refresh(self) -> None:
        selected = self.selected_id()
        self.model.refresh()
        if selected is not None:
            self.select_order(selected)
        self._fill_technicians()
        self._fill_stock()
        self._fill_detail()
        f = self.ops.figures()
        lines = [f"{k.replace('_', ' ')}: {v}" for k, v in f.items() if not isinstance(v, dict)]
        lines += [f"{k.replace('_', ' ')}: " + ", ".join(f"{a} {b}" for a, b in v.items())
                  for k, v in f.items() if isinstance(v, dict)]
        self.figures_text.setPlainText("\n".join(lines))

    def _fill_technicians(self) -> None:
        techs = self.ops.roster.techs
        self.tech_table.setRowCount(len(techs))
        for r, t in enumerate(techs):
            doing = f"work order {t.busy_wo}" if t.busy_wo else ("free" if t.on_shift else "off shift")
            for c, text in enumerate((t.name, t.shift, ", ".join(t.skills), self.ops.roster.describe(t.location),
                                      doing)):
                self.tech_table.setItem(r, c, QTableWidgetItem(text))
        wo = self.selected_order()
        keep = self.tech_box.currentText()
        self.tech_box.clear()
        skill = self.ops.config.repairs.skills.get(wo.recipe) if wo else None
        for t in techs:
            if t.free and t.on_shift and (skill is None or skill in t.skills):
                self.tech_box.addItem(t.name)
        i = self.tech_box.findText(keep)
        if i >= 0:
            self.tech_box.setCurrentIndex(i)

    def _fill_stock(self) -> None:
        sp = self.ops.spares
        self.stock_table.setRowCount(len(sp.on_hand))
        for r, (part, n) in enumerate(sp.on_hand.items()):
            eta = sp.next_arrival(part)
            for c, text in enumerate((part, str(n), str(sp.on_order(part)), format_clock(eta) if eta else "")):
                self.stock_table.setItem(r, c, QTableWidgetItem(text))

    def _fill_detail(self) -> None:
        wo = self.selected_order()
        if wo is None:
            self.detail.setPlainText("")
            return
        lines = [f"Work order {wo.id}: {wo.fault} on {wo.target} ({wo.recipe} repair, priority {wo.priority})",
                 f"State {STATE_LABELS[wo.state]}; technician {wo.technician or '-'}; parts {', '.join(wo.parts) or '-'}",
                 f"travel {wo.travel_s:.0f} s" if wo.assigned_t is not None else "not dispatched", "", "Steps:"]
        for i, s in enumerate(wo.steps, 1):
            mark = "done" if s.done else ("now" if wo.current_step is s else "")
            actual = f"{s.actual_s:.0f} s" if s.actual_s is not None else "-"
            lines.append(f"  {i}. {s.label:<44} planned {s.planned_s:6.0f} s  actual {actual:>8}  {mark}")
        lines += ["", "Notes:"] + [f"  {n}" for n in wo.notes]
        self.detail.setPlainText("\n".join(lines))

    # ------------------------------------------------------------------ selection
    def selected_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].data(Qt.ItemDataRole.UserRole) if rows else None

    def selected_order(self):
        i = self.selected_id()
        return self.ops.work_orders.get(i) if i is not None else None

    def select_order(self, wo_id: int) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole) == wo_id:
                self.table.selectRow(r)
                return

    def visible_orders(self) -> list:
        return [self.model.order_at(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
                for r in range(self.proxy.rowCount())]

    # ------------------------------------------------------------------ actions
    def create_for(self, address: str, note: str = ""):
        """A work order by hand for ``address`` (the component context menu's action)."""
        return self._do(lambda: self.ops.create_work_order(address, who=self.who, note=note), select=True)

    def _do(self, fn, select: bool = False):
        try:
            wo = fn()
        except (OpsError, WorkOrderError) as e:
            self.message.setText(str(e))
            self.message_shown.emit(str(e))
            return None
        self.message.setText("")
        self.refresh()
        if wo is not None:
            if select:
                self.select_order(wo.id)
                self._fill_detail()
            self.work_order_changed.emit(wo.id)
        return wo

    def _on_create_clicked(self) -> None:
        text = self.target_edit.text().strip()
        if text:
            self.create_for(text)

    def _on_assign_clicked(self) -> None:
        wo = self.selected_order()
        if wo is not None and self.tech_box.currentText():
            self._do(lambda: self.ops.assign(wo.id, self.tech_box.currentText(), who=self.who))

    def _on_advance_clicked(self) -> None:
        wo = self.selected_order()
        if wo is not None:
            self._do(lambda: self.ops.advance(wo.id, who=self.who))

    def _on_cancel_clicked(self) -> None:
        wo = self.selected_order()
        if wo is not None:
            self._do(lambda: self.ops.cancel(wo.id, who=self.who, reason="cancelled from the board"))

    def _on_mode_changed(self) -> None:
        self.ops.set_dispatch_mode(self.mode_box.currentData())

    def _on_state_filter_changed(self) -> None:
        text = self.state_box.currentData()
        self.proxy.setFilterFixedString(text)

    def _on_closed_toggled(self, on: bool) -> None:
        self.model.show_closed = on
        self.refresh()

    def _on_table_selection_changed(self, *_):
        self._fill_detail()
        self._fill_technicians()

    def _on_table_double_clicked(self, index) -> None:
        wo = self.model.order_at(self.proxy.mapToSource(index).row())
        self.address_activated.emit(wo.target)
