"""The work-order board's table model: one row per work order, incremental updates (a 1 Hz refresh after one
change touches one row, not 10,000), sorting, filtering and the state colours; and whether an order's work
has reached the simulation (then it cannot be undone)."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from ...io.store import StoreError
from ...ops.work_orders import CANCELLED, CLOSED, FINAL, STATE_LABELS, STATES, WorkOrder
from .. import colors
from ..sim_driver import format_clock
from .row_table_model import RowTableModel

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
        if role == Qt.ItemDataRole.ForegroundRole and c == 2:
            dark = QApplication.palette().color(QPalette.ColorRole.Base).value() < 128  # WCAG AA in both themes
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
