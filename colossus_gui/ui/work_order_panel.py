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

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
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

from ..io.store import StoreError
from ..ops.work_orders import CANCELLED, CLOSED, FINAL, OPEN, STATE_LABELS, STATES, WorkOrder, WorkOrderError
from ..ops.workflow import OpsError
from . import colors
from .row_table_model import RowTableModel
from .sim_driver import format_clock
from .work_order_dialog import WorkOrderDetailDialog

_COLUMNS = ("ID", "Prio", "State", "Target", "Fault", "Technician", "Progress", "Created", "Step")
_STATE_TEXT = {"open": "warning", "assigned": "supply", "in_progress": "supply", "testing": "ok",
               "closed": "out_of_service", "cancelled": "out_of_service"}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
UNDO_LIMIT = 100
_KEEP = object()


def reached_simulation(ops, wo: WorkOrder) -> str | None:
    """Why ``wo``'s edits can no longer be undone, or None: a step has started (the tray drained, the rack
    isolated, ...), or simulated time passed while a technician was assigned to it (the walk has begun)."""
    if wo.started_t is not None or any(s.started_t is not None for s in wo.steps) or any(wo.held.values()):
        return f"work order {wo.id} has acted on the simulation"
    if wo.assigned_t is not None:
        until = wo.finished_t if wo.state == CANCELLED and wo.finished_t is not None else ops.t
        if until > wo.assigned_t + 1e-9:
            return f"{wo.technician or 'a technician'} has begun to walk to {wo.target} (work order {wo.id})"
    return None


def _progress_text(w: WorkOrder) -> str:
    if w.state == CLOSED:
        return "100%"
    if not w.steps:  # a summary row from the database's history
        return "–"
    return f"{w.progress:.0%}"


def _step_text(w: WorkOrder) -> str:
    step = w.current_step
    if step is not None and w.state not in FINAL:
        return step.label
    return "travelling" if w.phase == 0 and w.state not in FINAL else ""


_SORT_KEYS = (
    lambda w: (w.id,),
    lambda w: (w.priority, w.created_t, w.id),  # the dispatch order
    lambda w: (STATES.index(w.state), w.priority, w.id),
    lambda w: (w.target, w.id),
    lambda w: (w.fault, w.id),
    lambda w: (w.technician or "", w.id),
    lambda w: (w.progress if w.state != CLOSED else 1.0, w.id),
    lambda w: (w.created_t, w.id),
    lambda w: (_step_text(w), w.id),
)


def _signature(w: WorkOrder) -> tuple:
    """What the board's columns show that can change (target, fault and created time never do)."""
    return (w.state, w.priority, w.technician, w.phase, w.waiting_part)


class WorkOrderTableModel(RowTableModel):
    """The board's rows: live orders from ``ops.work_orders`` (and, with closed ones shown, the database's
    history), filtered and sorted here. ``refresh()`` updates in place; ``resets`` counts full resets."""
    columns = _COLUMNS


    def __init__(self, ops, parent=None):
        super().__init__(parent)
        self.ops = ops
        self.show_closed = False
        self.state_filter: str | None = None
        self.sort_column = 1
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.resets = 0
        self._rows: list[WorkOrder] = []
        self._pos: dict[int, int] = {}
        self._sig: dict[int, tuple] = {}
        self._history: dict[int, WorkOrder] = {}  # final orders from the workspace database
        self._history_loaded = False

    # ------------------------------------------------------------------ what is shown
    def _wants_history(self) -> bool:
        return self.show_closed or self.state_filter in FINAL

    def _accepts(self, w: WorkOrder) -> bool:
        if self.state_filter is not None:
            return w.state == self.state_filter
        return self.show_closed or w.state not in FINAL

    def _load_history(self) -> None:
        store = getattr(self.ops, "store", None)
        self._history = {}
        if store is not None:
            try:
                # this run's history up to now: never another run's orders, nor this run's from a later moment
                rows = store.work_order_summaries(states=FINAL, run_id=self.ops.run_id, until_t=self.ops.t)
            except (sqlite3.Error, StoreError) as e:  # a broken database must not take the board down
                self.ops.store_error = self.ops.store_error or f"{store.path}: could not read the history ({e})"
                rows = []
            for r in rows:
                self._history[r["id"]] = WorkOrder(
                    id=r["id"], target=r["target"], fault=r["fault"], recipe=r["recipe"], priority=r["priority"],
                    created_t=r["created_t"], source=r["source"] or "manual", created_by=r["created_by"] or "",
                    state=r["state"], assigned_t=r["assigned_t"], started_t=r["started_t"],
                    finished_t=r["finished_t"], technician=r["technician"])
        self._history_loaded = True

    def _candidates(self):
        live = self.ops.work_orders
        yield from live.values()
        if self._wants_history():
            for i, w in self._history.items():
                if i not in live:
                    yield w

    def _current(self, wo_id: int) -> WorkOrder | None:
        w = self.ops.work_orders.get(wo_id)
        if w is None and self._wants_history():
            w = self._history.get(wo_id)
        return w

    # ------------------------------------------------------------------ updating
    def rebuild(self) -> None:
        """A full reset: for a filter change (rare, user-made), never on the 1 Hz refresh."""
        if self._wants_history() and not self._history_loaded:
            self._load_history()
        self.beginResetModel()
        self._rows = [w for w in self._candidates() if self._accepts(w)]
        self._rows.sort(key=_SORT_KEYS[self.sort_column], reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        self._pos = {w.id: i for i, w in enumerate(self._rows)}
        self._sig = {w.id: _signature(w) for w in self._rows}
        self.endResetModel()
        self.resets += 1

    def refresh(self) -> None:
        """Bring the rows up to date in place: remove what left, signal what changed, insert what came."""
        # 1. rows that left (withdrawn, or filtered out now: closed while closed orders are hidden)
        gone = []
        for i, w in enumerate(self._rows):
            cur = self._current(w.id)
            if cur is None or not self._accepts(cur):
                gone.append(i)
            elif cur is not w:  # a history row now live again (reopened), or the reverse
                self._rows[i] = cur
        if gone:
            for a, b in reversed(list(_runs(gone))):  # one signal per contiguous run, from the bottom up
                self.beginRemoveRows(QModelIndex(), a, b)
                for w in self._rows[a:b + 1]:
                    self._sig.pop(w.id, None)
                del self._rows[a:b + 1]
                self.endRemoveRows()
            self._pos = {w.id: i for i, w in enumerate(self._rows)}
        # 2. rows whose columns changed
        changed = []
        for i, w in enumerate(self._rows):
            s = _signature(w)
            if self._sig.get(w.id) != s:
                self._sig[w.id] = s
                changed.append(i)
        last = len(_COLUMNS) - 1
        for a, b in _runs(changed):
            self.dataChanged.emit(self.index(a, 0), self.index(b, last))
        # 3. rows that came (new, reopened, or let in by the filter now)
        new = [w for w in self._candidates() if w.id not in self._pos and self._accepts(w)]
        if new:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n + len(new) - 1)
            for w in new:
                self._pos[w.id] = len(self._rows)
                self._rows.append(w)
                self._sig[w.id] = _signature(w)
            self.endInsertRows()
        if new or changed:
            self._resort()

    def _resort(self) -> None:
        key = _SORT_KEYS[self.sort_column]
        rows = sorted(self._rows, key=key, reverse=self.sort_order == Qt.SortOrder.DescendingOrder)
        if rows == self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        keep = [(self._rows[i.row()].id, i.column()) for i in old]
        self._rows = rows
        self._pos = {w.id: i for i, w in enumerate(rows)}
        self.changePersistentIndexList(old, [self.index(self._pos[i], c) if i in self._pos else QModelIndex()
                                             for i, c in keep])
        self.layoutChanged.emit()

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:  # the header was clicked
        if not 0 <= column < len(_COLUMNS):
            return
        self.sort_column, self.sort_order = column, order
        self._resort()

    def set_filter(self, state=_KEEP, show_closed=_KEEP) -> None:
        """``state``: a state key, or ""/None for all; ``show_closed``: closed and cancelled orders too."""
        if state is not _KEEP:
            self.state_filter = state or None
        if show_closed is not _KEEP:
            self.show_closed = bool(show_closed)
            if self.show_closed:
                self._history_loaded = False  # a new look at the database
        self.rebuild()

    # ------------------------------------------------------------------ lookups
    def order_at(self, row: int) -> WorkOrder:
        return self._rows[row]

    def row_of(self, wo_id: int) -> int | None:
        return self._pos.get(wo_id)

    def orders(self) -> list[WorkOrder]:
        return list(self._rows)

    def history_order(self, wo_id: int) -> WorkOrder | None:
        return self._history.get(wo_id)

    # ------------------------------------------------------------------ Qt model
    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        w = self._rows[index.row()]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 2:
                return STATE_LABELS[w.state] + (f" (waiting for {w.waiting_part})" if w.waiting_part else "")
            return (str(w.id), str(w.priority), "", w.target, w.fault, w.technician or "", _progress_text(w),
                    format_clock(w.created_t), _step_text(w))[c]
        if role == SORT_ROLE:
            return _SORT_KEYS[c](w)[0]
        if role == Qt.ItemDataRole.ForegroundRole and c == 2:  # text colours that pass WCAG AA in both themes
            dark = QApplication.palette().color(QPalette.ColorRole.Base).value() < 128
            return QColor(*colors.text_color(_STATE_TEXT[w.state], dark))
        if role == Qt.ItemDataRole.ToolTipRole and c in (3, 2):
            return (f"{w.recipe} repair of {w.target}; double-click for its details"
                    if w.steps else f"{w.target}: from the workspace history; double-click for its details")
        if role == Qt.ItemDataRole.UserRole:
            return w.id
        return None


def _runs(rows: list[int]):
    """Contiguous runs (first, last) of a sorted list of row numbers."""
    if not rows:
        return
    a = b = rows[0]
    for r in rows[1:]:
        if r == b + 1:
            b = r
        else:
            yield a, b
            a = b = r
    yield a, b


# ============================================================================================ undo
class _WorkOrderCommand(QUndoCommand):
    """An edit of one work order. It was carried out before being pushed (so errors were caught and shown
    there); the stack's first ``redo()`` does nothing. ``blocked_undo``/``blocked_redo`` say why it can no
    longer be undone/redone (the order reached the simulation), or None."""

    def __init__(self, board: WorkOrderPanelWidget, wo_id: int, text: str):
        super().__init__(text)
        self.board, self.wo_id = board, wo_id
        self._pushed = False

    @property
    def ops(self):
        return self.board.ops

    def _live(self) -> WorkOrder | None:
        return self.ops.work_orders.get(self.wo_id)

    def _reached(self) -> str | None:
        wo = self._live()
        if wo is None:
            return f"work order {self.wo_id} is no longer on the board"
        return reached_simulation(self.ops, wo)

    def blocked_undo(self) -> str | None:
        return self._reached()

    def blocked_redo(self) -> str | None:
        return self._reached()

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self._run("redo", self.blocked_redo, self._redo)

    def undo(self) -> None:
        self._run("undo", self.blocked_undo, self._undo)

    def _run(self, what: str, blocked, fn) -> None:
        # The stack is mid-call: no pruning (it would delete this very command) until indexChanged.
        self.board._in_command = True
        try:
            reason = blocked()
            try:
                if reason is None:
                    fn()
            except ValueError as e:  # OpsError, WorkOrderError: the order moved on meanwhile
                reason = str(e)
            if reason is not None:
                # Qt drops an obsolete command from the stack right after this call
                self.setObsolete(True)
                self.board.show_message(f"Cannot {what} “{self.text()}”: {reason}")
            self.board.undo_applied(self.wo_id)
        finally:
            self.board._in_command = False

    def _undo(self) -> None:
        raise NotImplementedError

    def _redo(self) -> None:
        raise NotImplementedError


class _CreateCommand(_WorkOrderCommand):
    def __init__(self, board, wo: WorkOrder):
        super().__init__(board, wo.id, f"create work order {wo.id} ({wo.target})")

    def blocked_undo(self) -> str | None:
        wo = self._live()
        if wo is not None and (wo.state != OPEN or wo.technician is not None):
            return f"work order {wo.id} has been dispatched ({STATE_LABELS[wo.state]}, {wo.technician or '-'})"
        return self._reached()

    def blocked_redo(self) -> str | None:
        return None if self.wo_id in self.ops.withdrawn else f"work order {self.wo_id} is not withdrawn"

    def _undo(self) -> None:
        self.ops.withdraw(self.wo_id, who=self.board.who)

    def _redo(self) -> None:
        self.ops.reopen(self.wo_id, who=self.board.who)


class _PriorityCommand(_WorkOrderCommand):
    def __init__(self, board, wo_id: int, old: int, new: int):
        super().__init__(board, wo_id, f"priority {old} -> {new} of work order {wo_id}")
        self.old, self.new = old, new

    def _undo(self) -> None:
        self.ops.set_priority(self.wo_id, self.old, who=self.board.who)

    def _redo(self) -> None:
        self.ops.set_priority(self.wo_id, self.new, who=self.board.who)


class _NoteCommand(_WorkOrderCommand):
    def __init__(self, board, wo_id: int, note: str, text: str):
        short = text if len(text) <= 30 else text[:29] + "…"
        super().__init__(board, wo_id, f"note “{short}” on work order {wo_id}")
        self.note, self.note_text = note, text

    def _undo(self) -> None:
        self.ops.remove_note(self.wo_id, self.note, who=self.board.who)

    def _redo(self) -> None:
        wo = self.ops.add_note(self.wo_id, self.note_text, who=self.board.who)
        self.note = wo.notes[-1]


class _CancelCommand(_WorkOrderCommand):
    def __init__(self, board, wo_id: int, technician: str | None):
        super().__init__(board, wo_id, f"cancel work order {wo_id}")
        self.technician = technician

    def blocked_undo(self) -> str | None:
        wo = self._live()
        if wo is not None and wo.state != CANCELLED:
            return f"work order {wo.id} is {STATE_LABELS[wo.state]}"
        return self._reached()

    def _undo(self) -> None:
        wo = self.ops.reopen(self.wo_id, who=self.board.who)
        if self.technician:  # it was dispatched, the walk not begun: send the same technician again
            try:
                self.ops.assign(wo.id, self.technician, who=self.board.who)
            except ValueError as e:
                self.board.show_message(f"Work order {wo.id} reopened, but not assigned again: {e}")

    def _redo(self) -> None:
        self.ops.cancel(self.wo_id, who=self.board.who, reason="cancelled from the board")


# ============================================================================================ the board
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
