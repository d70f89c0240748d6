"""Work-order board: orders by state with create / assign / advance / cancel, the selected order's steps and
notes, the technician roster, the parts stock and the operations figures. Standalone: give it an
``OpsManager`` and its engine and call ``refresh()`` from the sim driver's ``ticked`` (text-heavy: ~1 Hz).

``create_for(address)`` is what a component's context menu calls ("Create work order..."). Errors (an
unqualified technician, a stock-out, an illegal move) are shown in the panel's message line, never raised.
Double-click (or Details...) opens a ``WorkOrderDetailDialog``.

Responsiveness with 10,000s of orders: the table model is updated in place (``dataChanged`` for rows whose
board columns changed, ``beginInsertRows``/``beginRemoveRows`` for rows that came or went); it sorts itself
in Python once per change (a ``QSortFilterProxyModel`` would call ``data()`` ~n log n times per sort, ~1 s
for 10k rows). Closed and cancelled orders are filtered out unless asked for; then the workspace database's
history (previous sessions) is shown too, from its cheap summary query.

Undo (``undo_stack``, a ``QUndoStack``): creating an order, setting its priority, adding a note and
cancelling it can be undone while the order has not reached the simulation -- no technician has begun to
walk to it (simulated time passed since its dispatch) and no step has acted on the engine. Once it has, the
order's commands are made obsolete and leave the stack (checked at every refresh and before each undo).
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
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

from ...io.store import StoreError
from ...ops.work_orders import FINAL, STATE_LABELS, STATES, WorkOrder, WorkOrderError
from ...ops.workflow import OpsError
from ..sim_driver import format_clock
from .work_order_commands import (
    _CancelCommand,
    _CreateCommand,
    _NoteCommand,
    _PriorityCommand,
    _WorkOrderCommand,
)
from .work_order_dialog import WorkOrderDetailDialog
from .work_order_model import (  # noqa: F401 (the model's names, importable from the panel as before)
    _KEEP,
    SORT_ROLE,
    UNDO_LIMIT,
    WorkOrderTableModel,
    reached_simulation,
)


class WorkOrderPanelWidget(QWidget):
    address_activated = Signal(str)
    work_order_changed = Signal(int)
    message_shown = Signal(str)

    def __init__(self, ops, engine, parent: QWidget | None = None, who: str = "operator"):
        super().__init__(parent)
        self.setObjectName("workOrderPanel")
        self.ops, self.engine, self.who = ops, engine, who
        self.last_error = ""
        self._dialogs: dict[int, WorkOrderDetailDialog] = {}
        self._detail_text = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("workOrderUndoStack")
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self._pruning = False
        self._in_command = False
        # Undo needs the manager's own reversal methods; a proxy that logs and scores every operator action
        # (a training session's) does not offer them, and a drill's actions are not taken back.
        self.undo_enabled = all(hasattr(type(ops), n) for n in ("withdraw", "reopen", "remove_note"))
        self.undo_stack.indexChanged.connect(self._on_undo_stack_index_changed)
        self.model = WorkOrderTableModel(ops, self)

        # board
        self.table = QTableView(objectName="workOrderTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        # fixed row heights: the view never measures 10,000 rows
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for c, w in enumerate((48, 52, 110, 140, 110, 80, 64, 90)):
            self.table.setColumnWidth(c, w)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.state_box = QComboBox(objectName="workOrderStateFilter")
        self.state_box.addItem("All states", "")
        for s in STATES:
            self.state_box.addItem(STATE_LABELS[s], s)
        self.state_box.setToolTip("Show orders in one state only (closed and cancelled ones include the "
                                  "workspace history)")
        self.state_box.currentIndexChanged.connect(self._on_state_filter_changed)
        self.closed_box = QCheckBox("Closed too", objectName="workOrderShowClosed")
        self.closed_box.setToolTip("Show closed and cancelled orders, with the workspace database's history")
        self.closed_box.toggled.connect(self._on_closed_toggled)
        self.mode_box = QComboBox(objectName="dispatchMode")
        self.mode_box.addItem("Automatic dispatch", "auto")
        self.mode_box.addItem("Manual dispatch", "manual")
        self.mode_box.setCurrentIndex(0 if ops.dispatch_mode == "auto" else 1)
        self.mode_box.currentIndexChanged.connect(self._on_mode_changed)

        self.target_edit = QLineEdit(objectName="workOrderTarget")
        self.target_edit.setPlaceholderText("address, e.g. H1-R001-T3")
        self.target_edit.returnPressed.connect(self._on_create_clicked)
        self.create_button = QPushButton("Create", objectName="workOrderCreate")
        self.create_button.clicked.connect(self._on_create_clicked)
        self.tech_box = QComboBox(objectName="workOrderTechnician")
        self.tech_box.setToolTip("Free technicians on shift with the skill the selected order needs")
        self.tech_box.currentIndexChanged.connect(
            lambda _i: self.assign_button.setEnabled(bool(self.tech_box.currentText())))
        self.assign_button = QPushButton("Assign", objectName="workOrderAssign")
        self.assign_button.clicked.connect(self._on_assign_clicked)
        self.advance_button = QPushButton("Advance", objectName="workOrderAdvance")
        self.advance_button.setToolTip("Dispatch now, arrive now, or finish the current step now")
        self.advance_button.clicked.connect(self._on_advance_clicked)
        self.cancel_button = QPushButton("Cancel", objectName="workOrderCancel")
        self.cancel_button.setToolTip("Cancel the selected work order")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.details_button = QPushButton("Details…", objectName="workOrderDetails")
        self.details_button.setToolTip("Open the selected order: steps, progress, notes, audit log (double-click)")
        self.details_button.clicked.connect(self._on_details_clicked)
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
                  self.cancel_button, self.details_button):
            row2.addWidget(w)
        self.target_edit.setMinimumWidth(self.fontMetrics().horizontalAdvance("H1-R001-T3") + 16)
        # the list fills the pane's height; the selected order's text sits beside it (it used to take the
        # lower part and leave room for ~2 rows of orders)
        split = QSplitter(Qt.Orientation.Horizontal, objectName="workOrderSplit")
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(True)
        self.detail.setMinimumWidth(0)
        self.table.setMinimumSize(120, 40)
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
        self.tabs.currentChanged.connect(lambda _i: self._fill_tabs())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.tabs)
        self.model.rebuild()
        self.refresh()

    # ------------------------------------------------------------------ updating
    def refresh(self) -> None:
        """The 1 Hz update: rows in place, the selected order's text, the visible side tab, stale undo."""
        self.model.refresh()
        self._fill_tech_box()
        self._fill_detail()
        self._fill_tabs()
        self._prune_undo()

    def _fill_tabs(self) -> None:
        # Hidden tabs skip their work (the figures walk every order): filled when shown.
        tab = self.tabs.currentWidget()
        if tab is self.tech_table:
            self._fill_technicians()
        elif tab is self.stock_table:
            self._fill_stock()
        elif tab is self.figures_text:
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
                item = self.tech_table.item(r, c)
                if item is None:
                    self.tech_table.setItem(r, c, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)

    def _fill_tech_box(self) -> None:
        wo = self.selected_order()
        skill = self.ops.config.repairs.skills.get(wo.recipe) if wo else None
        names = [t.name for t in self.ops.roster.techs
                 if t.free and t.on_shift and (skill is None or skill in t.skills)]
        if names == [self.tech_box.itemText(i) for i in range(self.tech_box.count())]:
            return
        keep = self.tech_box.currentText()
        self.tech_box.blockSignals(True)
        try:
            self.tech_box.clear()
            self.tech_box.addItems(names)
            i = self.tech_box.findText(keep)
            # the one the operator picked is no longer free: show no one rather than silently someone else
            self.tech_box.setCurrentIndex(i if i >= 0 or not keep else -1)
        finally:
            self.tech_box.blockSignals(False)
        self.assign_button.setEnabled(bool(self.tech_box.currentText()))

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
            text = ""
        else:
            lines = [f"Work order {wo.id}: {wo.fault} on {wo.target} ({wo.recipe} repair, priority {wo.priority})",
                     f"State {STATE_LABELS[wo.state]}; technician {wo.technician or '-'}; "
                     f"parts {', '.join(wo.parts) or '-'}",
                     f"travel {wo.travel_s:.0f} s" if wo.assigned_t is not None else "not dispatched", "", "Steps:"]
            for i, s in enumerate(wo.steps, 1):
                mark = "done" if s.done else ("now" if wo.current_step is s and wo.state not in FINAL else "")
                actual = f"{s.actual_s:.0f} s" if s.actual_s is not None else "-"
                lines.append(f"  {i}. {s.label:<44} planned {s.planned_s:6.0f} s  actual {actual:>8}  {mark}")
            lines += ["", "Notes:"] + [f"  {n}" for n in wo.notes]
            text = "\n".join(lines)
        if text != self._detail_text:  # unchanged text is not reset (the reader's scroll position stays)
            self._detail_text = text
            self.detail.setPlainText(text)

    # ------------------------------------------------------------------ selection
    def selected_id(self) -> int | None:
        sm = self.table.selectionModel()
        rows = sm.selectedRows() if sm is not None else []
        return rows[0].data(Qt.ItemDataRole.UserRole) if rows else None

    def selected_order(self) -> WorkOrder | None:
        i = self.selected_id()
        return self.lookup(i) if i is not None else None

    def lookup(self, wo_id: int) -> WorkOrder | None:
        """A work order by id: live, withdrawn (undone), or from the workspace history."""
        wo = self.ops.work_orders.get(wo_id) or self.ops.withdrawn.get(wo_id) or self.model.history_order(wo_id)
        if wo is not None and (wo.steps or self.ops.store is None):
            return wo
        store = self.ops.store
        if store is not None:
            try:
                row = store.work_order(wo_id)
            except (sqlite3.Error, StoreError):  # a broken database: show what we have
                row = None
            if row is not None:
                return WorkOrder.from_row(row)
        return wo

    def select_order(self, wo_id: int) -> bool:
        row = self.model.row_of(wo_id)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def visible_orders(self) -> list[WorkOrder]:
        return self.model.orders()

    # ------------------------------------------------------------------ actions (the detail dialog uses them too)
    def show_message(self, text: str) -> None:
        self.message.setText(text)
        if text:
            self.message_shown.emit(text)

    def _do(self, fn, select: bool = False):
        try:
            wo = fn()
        except (OpsError, WorkOrderError, ValueError) as e:
            self.last_error = str(e)
            self.show_message(str(e))
            return None
        self.last_error = ""
        self.message.setText("")
        self.refresh()
        if wo is not None:
            if select:
                self.select_order(wo.id)
                self._fill_detail()
            self.work_order_changed.emit(wo.id)
            self._refresh_dialog(wo.id)
        return wo

    def create_for(self, address: str, note: str = "") -> WorkOrder | None:
        """A work order by hand for ``address`` (the component context menu's action); undoable."""
        wo = self._do(lambda: self.ops.create_work_order(address, who=self.who, note=note), select=True)
        if wo is not None:
            self._push(_CreateCommand(self, wo), wo)
        return wo

    def assign(self, wo_id: int, technician: str) -> WorkOrder | None:
        wo = self._do(lambda: self.ops.assign(wo_id, technician, who=self.who))
        if wo is not None:  # say whom it went to: the picker no longer lists a busy technician
            self.show_message(f"Work order {wo.id} assigned to {wo.technician}")
        return wo

    def advance(self, wo_id: int) -> WorkOrder | None:
        return self._do(lambda: self.ops.advance(wo_id, who=self.who))

    def cancel(self, wo_id: int, reason: str = "cancelled from the board") -> WorkOrder | None:
        before = self.ops.work_orders.get(wo_id)
        undoable = before is not None and before.state not in FINAL and reached_simulation(self.ops, before) is None
        tech = before.technician if before is not None else None
        wo = self._do(lambda: self.ops.cancel(wo_id, who=self.who, reason=reason))
        if wo is not None and undoable:
            self._push(_CancelCommand(self, wo.id, tech), wo)
        return wo

    def set_priority(self, wo_id: int, priority: int) -> WorkOrder | None:
        before = self.ops.work_orders.get(wo_id)
        old = before.priority if before is not None else None
        wo = self._do(lambda: self.ops.set_priority(wo_id, priority, who=self.who))
        if wo is not None and old != priority:
            self._push(_PriorityCommand(self, wo.id, old, priority), wo)
        return wo

    def add_note(self, wo_id: int, text: str) -> WorkOrder | None:
        text = text.strip()
        if not text:
            self.last_error = "the note is empty"
            self.show_message(self.last_error)
            return None
        wo = self._do(lambda: self.ops.add_note(wo_id, text, who=self.who))
        if wo is not None:
            self._push(_NoteCommand(self, wo.id, wo.notes[-1], text), wo)
        return wo

    # ------------------------------------------------------------------ undo
    def _push(self, cmd: _WorkOrderCommand, wo: WorkOrder) -> None:
        # An edit of an order the simulation has already acted on is history: done, but not undoable.
        if self.undo_enabled and reached_simulation(self.ops, wo) is None:
            self.undo_stack.push(cmd)

    def undo(self) -> None:
        self._prune_undo()
        self.undo_stack.undo()

    def redo(self) -> None:
        self._prune_undo()
        self.undo_stack.redo()

    def undo_applied(self, wo_id: int) -> None:
        """After a command's undo/redo: the board, the views (``work_order_changed``) and dialogs follow."""
        self.refresh()
        self.work_order_changed.emit(wo_id)
        self._refresh_dialog(wo_id)

    def _prune_undo(self) -> None:
        """Commands whose order has reached the simulation become obsolete; those at the top leave now."""
        st = self.undo_stack
        if self._pruning or self._in_command or st.count() == 0:
            return
        self._pruning = True
        try:
            index = st.index()
            for i in range(st.count()):
                cmd = st.command(i)
                if not cmd.isObsolete() and (cmd.blocked_undo() if i < index else cmd.blocked_redo()):
                    cmd.setObsolete(True)
            # Qt removes an obsolete command, without running it, when undo()/redo() reaches it
            while st.index() > 0 and st.command(st.index() - 1).isObsolete():
                st.undo()
            while st.index() < st.count() and st.command(st.index()).isObsolete():
                st.redo()
        finally:
            self._pruning = False

    def _on_undo_stack_index_changed(self, _index: int) -> None:
        self._prune_undo()

    # ------------------------------------------------------------------ details dialog
    def open_details(self, wo_id: int | None = None) -> WorkOrderDetailDialog | None:
        """Open (or raise) the non-modal detail dialog of ``wo_id`` (default: the selected order)."""
        wo_id = self.selected_id() if wo_id is None else int(wo_id)
        if wo_id is None:
            self.show_message("Select a work order first")
            return None
        dlg = self._dialogs.get(wo_id)
        if dlg is None:
            if self.lookup(wo_id) is None:
                self.show_message(f"no work order {wo_id}")
                return None
            dlg = WorkOrderDetailDialog(self.ops, wo_id, actions=self, who=self.who, lookup=self.lookup,
                                        parent=self)
            dlg.address_activated.connect(self.address_activated)
            dlg.finished.connect(lambda _r, i=wo_id: self._on_dialog_finished(i))
            self._dialogs[wo_id] = dlg
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg

    def dialogs(self) -> list[WorkOrderDetailDialog]:
        return list(self._dialogs.values())

    def _refresh_dialog(self, wo_id: int) -> None:
        dlg = self._dialogs.get(wo_id)
        if dlg is not None:
            dlg.refresh(force=True)

    def _on_dialog_finished(self, wo_id: int) -> None:
        dlg = self._dialogs.pop(wo_id, None)
        if dlg is not None:
            dlg.deleteLater()

    # ------------------------------------------------------------------ slots
    def _on_create_clicked(self) -> None:
        text = self.target_edit.text().strip()
        if text:
            self.create_for(text)

    def _on_assign_clicked(self) -> None:
        wo = self.selected_order()
        if wo is not None and self.tech_box.currentText():
            self.assign(wo.id, self.tech_box.currentText())

    def _on_advance_clicked(self) -> None:
        wo = self.selected_order()
        if wo is not None:
            self.advance(wo.id)

    def _on_cancel_clicked(self) -> None:
        wo = self.selected_order()
        if wo is not None:
            self.cancel(wo.id)

    def _on_details_clicked(self) -> None:
        self.open_details()

    def _on_mode_changed(self) -> None:
        self.ops.set_dispatch_mode(self.mode_box.currentData())

    def _reselect(self, wo_id: int | None) -> None:
        if wo_id is not None:
            self.select_order(wo_id)

    def _on_state_filter_changed(self) -> None:
        keep = self.selected_id()
        self.model.set_filter(state=self.state_box.currentData() or "")
        self._reselect(keep)

    def _on_closed_toggled(self, on: bool) -> None:
        keep = self.selected_id()
        self.model.set_filter(show_closed=on)
        self._reselect(keep)
        self.refresh()

    def _on_table_selection_changed(self, *_):
        self._fill_detail()
        self._fill_tech_box()

    def _on_table_double_clicked(self, index) -> None:
        self.open_details(self.model.order_at(index.row()).id)
