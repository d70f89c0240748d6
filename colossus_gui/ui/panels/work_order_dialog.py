"""Work-order detail dialog (non-modal): the order's fields and times, its recipe's steps with planned and
actual durations and a progress bar on the running step, notes, the audit log, and the actions an operator
takes on it (assign, advance, cancel, note, priority).

It reads the ``OpsManager`` once a second (its own timer, stopped while hidden; tests call ``refresh()``).
The buttons go through ``actions``: the work-order board (so edits land on its undo stack), or, standalone,
``OpsActions`` straight on the ``OpsManager``. Errors are shown in the dialog's message line, in words.

The audit log (who / when / from -> to) comes from the workspace database when one is attached; without one,
from the work order's own history if it keeps one, else from the run's event log (who only where an event names it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...io.store import StoreError
from ...ops.work_orders import FINAL, OPEN, STATE_LABELS, WorkOrder
from ...sim.events import kind_text
from ..sim_driver import format_clock

REFRESH_MS = 1000
_STEP_COLUMNS = ("Step", "Planned", "Actual", "Status", "Progress")
_AUDIT_COLUMNS = ("Sim time", "Wall time (UTC)", "Who", "From → to", "What")


def _clock(t: float | None) -> str:
    return "–" if t is None else format_clock(t)


class OpsActions:
    """The dialog's actions straight on an ``OpsManager`` (no undo). Each returns the work order, or None with
    ``last_error`` saying why."""

    def __init__(self, ops, who: str = "operator"):
        self.ops, self.who = ops, who
        self.last_error = ""

    def _do(self, fn):
        try:
            wo = fn()
        except ValueError as e:  # OpsError, WorkOrderError
            self.last_error = str(e)
            return None
        self.last_error = ""
        return wo

    def assign(self, wo_id: int, technician: str):
        return self._do(lambda: self.ops.assign(wo_id, technician, who=self.who))

    def advance(self, wo_id: int):
        return self._do(lambda: self.ops.advance(wo_id, who=self.who))

    def cancel(self, wo_id: int, reason: str = ""):
        return self._do(lambda: self.ops.cancel(wo_id, who=self.who, reason=reason))

    def set_priority(self, wo_id: int, priority: int):
        return self._do(lambda: self.ops.set_priority(wo_id, priority, who=self.who))

    def add_note(self, wo_id: int, text: str):
        if not text.strip():
            self.last_error = "the note is empty"
            return None
        return self._do(lambda: self.ops.add_note(wo_id, text.strip(), who=self.who))


class WorkOrderDetailDialog(QDialog):
    """One work order in detail. ``address_activated`` when the target is clicked (go there)."""

    address_activated = Signal(str)

    def __init__(self, ops, wo_id: int, actions=None, who: str = "operator",
                 lookup: Callable[[int], WorkOrder | None] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("workOrderDetailDialog")
        self.setWindowTitle(f"Work order {wo_id}")
        self.setModal(False)
        self.ops, self.wo_id, self.who = ops, int(wo_id), who
        self.actions = actions if actions is not None else OpsActions(ops, who)
        self._lookup = lookup
        self._sig = None
        self._step_bar_row = -1
        self.audit_source = ""

        # ---- fields
        self.target_button = QPushButton(objectName="woTargetLink")
        self.target_button.setFlat(True)
        self.target_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.target_button.setStyleSheet("QPushButton { text-decoration: underline; text-align: left; "
                                         "padding: 0px; color: palette(link); }")
        self.target_button.clicked.connect(self._on_target_clicked)
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        form.addRow("Work order", self._field("id"))
        form.addRow("Target", self.target_button)
        for key, label in (("fault", "Fault"), ("recipe", "Repair"), ("priority", "Priority"), ("state", "State"),
                           ("created", "Created"), ("assigned", "Assigned"), ("started", "Started"),
                           ("finished", "Finished"), ("technician", "Technician"), ("travel", "Travel"),
                           ("parts", "Parts"), ("source", "Source")):
            form.addRow(label, self._field(key))
        self.overall_bar = QProgressBar(objectName="woOverallProgress")
        self.overall_bar.setRange(0, 1000)
        self.overall_bar.setFormat("%p% of the work done")
        form.addRow("Progress", self.overall_bar)

        # ---- steps
        self.steps_table = QTableWidget(0, len(_STEP_COLUMNS), objectName="woStepsTable")
        self.steps_table.setHorizontalHeaderLabels(list(_STEP_COLUMNS))
        self._plain_table(self.steps_table)
        self.steps_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.steps_table.horizontalHeader().setStretchLastSection(False)
        for c, w in ((1, 70), (2, 100), (3, 70), (4, 110)):
            self.steps_table.setColumnWidth(c, w)
        self.step_bar: QProgressBar | None = None

        # ---- notes and audit
        self.notes_view = QPlainTextEdit(objectName="woNotes")
        self.notes_view.setReadOnly(True)
        self.audit_table = QTableWidget(0, len(_AUDIT_COLUMNS), objectName="woAuditTable")
        self.audit_table.setHorizontalHeaderLabels(list(_AUDIT_COLUMNS))
        self._plain_table(self.audit_table)
        self.audit_label = QLabel(objectName="woAuditSource")

        # ---- actions
        self.tech_box = QComboBox(objectName="woTechnician")
        self.tech_box.setToolTip("Free technicians on shift with the skill this repair needs")
        self.assign_button = QPushButton("Assign", objectName="woAssign")
        self.advance_button = QPushButton("Advance", objectName="woAdvance")
        self.advance_button.setToolTip("Dispatch now, arrive now, or finish the current step now")
        self.cancel_button = QPushButton("Cancel order", objectName="woCancel")
        self.priority_spin = QSpinBox(objectName="woPriority")
        self.priority_spin.setRange(1, 4)
        self.priority_spin.setToolTip("1 urgent .. 4 low (automatic dispatch takes the most urgent first)")
        self.priority_button = QPushButton("Set priority", objectName="woSetPriority")
        self.note_edit = QLineEdit(objectName="woNoteEdit")
        self.note_edit.setPlaceholderText("a note for the work order")
        self.note_button = QPushButton("Add note", objectName="woAddNote")
        self.close_button = QPushButton("Close", objectName="woClose")
        self.message = QLabel(objectName="woMessage")
        self.message.setWordWrap(True)
        self.assign_button.clicked.connect(self._on_assign_clicked)
        self.advance_button.clicked.connect(self._on_advance_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.priority_button.clicked.connect(self._on_priority_clicked)
        self.note_button.clicked.connect(self._on_note_clicked)
        self.note_edit.returnPressed.connect(self._on_note_clicked)
        self.close_button.clicked.connect(self.close)

        top = QHBoxLayout()
        fields = QGroupBox("Work order")
        fields.setLayout(form)
        top.addWidget(fields, 2)
        steps_box = QGroupBox("Steps")
        sl = QVBoxLayout(steps_box)
        sl.addWidget(self.steps_table)
        top.addWidget(steps_box, 3)
        upper = QWidget()
        upper.setLayout(top)
        notes_box = QGroupBox("Notes")
        QVBoxLayout(notes_box).addWidget(self.notes_view)
        audit_box = QGroupBox("Audit log")
        al = QVBoxLayout(audit_box)
        al.addWidget(self.audit_label)
        al.addWidget(self.audit_table)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(notes_box)
        lower.addWidget(audit_box)
        lower.setSizes([380, 620])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        row1 = QHBoxLayout()
        for w in (self.tech_box, self.assign_button, self.advance_button, self.cancel_button, self.priority_spin,
                  self.priority_button):
            row1.addWidget(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(self.note_edit, 1)
        row2.addWidget(self.note_button)
        row2.addWidget(self.close_button)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.message)

        self.timer = QTimer(self)
        self.timer.setObjectName("woRefreshTimer")
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.resize(1000, 640)
        self.refresh(force=True)
        self.priority_spin.setValue(self.order.priority if self.order is not None else 2)

    # ------------------------------------------------------------------ construction helpers
    def _field(self, key: str) -> QLabel:
        lab = QLabel(objectName=f"wo_{key}")
        lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields[key] = lab
        return lab

    def _plain_table(self, t: QTableWidget) -> None:
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.verticalHeader().setVisible(False)
        t.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        t.setWordWrap(False)
        t.horizontalHeader().setStretchLastSection(True)

    # ------------------------------------------------------------------ the order
    @property
    def order(self) -> WorkOrder | None:
        if self._lookup is not None:
            return self._lookup(self.wo_id)
        return self.ops.work_orders.get(self.wo_id) or self.ops.withdrawn.get(self.wo_id)

    def field_text(self, key: str) -> str:
        return self.fields[key].text()

    # ------------------------------------------------------------------ updating (1 Hz)
    def showEvent(self, e):  # noqa: N802
        super().showEvent(e)
        self.refresh(force=True)
        self.timer.start()

    def hideEvent(self, e):  # noqa: N802
        self.timer.stop()
        super().hideEvent(e)

    def done(self, r: int) -> None:
        self.timer.stop()
        super().done(r)

    def _on_timer_timeout(self) -> None:
        self.refresh()

    def refresh(self, force: bool = False) -> None:
        wo = self.order
        if wo is None:
            self.fields["state"].setText("no longer on the books")
            self._enable(None)
            return
        withdrawn = self.wo_id in self.ops.withdrawn
        sig = (wo.state, wo.priority, wo.technician, wo.phase, wo.waiting_part, len(wo.notes), tuple(wo.parts),
               withdrawn, wo.assigned_t)
        if force or sig != self._sig:
            self._sig = sig
            self._fill_fields(wo, withdrawn)
            self._fill_steps(wo)
            self.notes_view.setPlainText("\n".join(wo.notes))
            self._fill_audit(wo)
            self._fill_tech_box(wo)
            self._enable(None if withdrawn else wo)
        self._update_progress(wo)

    def _fill_fields(self, wo: WorkOrder, withdrawn: bool) -> None:
        f = self.fields
        f["id"].setText(str(wo.id))
        self.target_button.setText(wo.target)
        self.target_button.setToolTip(f"Go to {wo.target}")
        f["fault"].setText(wo.fault + (f" (also: {', '.join(wo.also)})" if wo.also else ""))
        f["recipe"].setText(f"{wo.recipe} ({len(wo.steps)} steps)")
        f["priority"].setText(f"{wo.priority} ({('urgent', 'high', 'normal', 'low')[wo.priority - 1]})"
                              if 1 <= wo.priority <= 4 else str(wo.priority))
        state = STATE_LABELS[wo.state] + (" (withdrawn: its creation was undone)" if withdrawn else "")
        if wo.waiting_part:
            state += f" (waiting for a {wo.waiting_part})"
        f["state"].setText(state)
        f["created"].setText(f"{_clock(wo.created_t)} by {wo.created_by}")
        f["assigned"].setText(_clock(wo.assigned_t))
        f["started"].setText(_clock(wo.started_t))
        f["finished"].setText(_clock(wo.finished_t))
        f["technician"].setText(wo.technician or "–")
        f["parts"].setText(", ".join(wo.parts) or "–")
        f["source"].setText(wo.source + (f" (alarm {wo.alarm_id})" if wo.alarm_id is not None else ""))
        self.setWindowTitle(f"Work order {wo.id}: {wo.target} ({STATE_LABELS[wo.state]})")

    def _fill_steps(self, wo: WorkOrder) -> None:
        t = self.steps_table
        t.setRowCount(len(wo.steps))
        running = wo.current_step if wo.state not in FINAL else None
        for r, s in enumerate(wo.steps):
            if s.done:
                actual, status = f"{s.actual_s:.0f} s", "done"
            elif s is running:
                actual, status = "", "running"
            else:
                actual, status = "–", ("not done" if wo.state in FINAL else "to do")
            for c, text in enumerate((f"{r + 1}. {s.label}", f"{s.planned_s:.0f} s", actual, status)):
                item = QTableWidgetItem(text)
                if c in (1, 2):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if s.part and c == 0:
                    item.setToolTip(f"uses a {s.part} from stock")
                t.setItem(r, c, item)
            if s is not running:
                t.removeCellWidget(r, 4)
        row = wo.steps.index(running) if running is not None else -1
        if row != self._step_bar_row:
            self._step_bar_row = row
            self.step_bar = None
            if row >= 0:
                self.step_bar = QProgressBar(objectName="woStepProgress")
                self.step_bar.setRange(0, 1000)
                t.setCellWidget(row, 4, self.step_bar)

    def _update_progress(self, wo: WorkOrder) -> None:
        """The moving parts: the running step's bar and its elapsed time, the walk, the overall bar."""
        now = self.ops.t
        self.overall_bar.setValue(int(round(wo.progress * 1000)) if wo.state != "closed" else 1000)
        if wo.assigned_t is not None and wo.phase == 0 and wo.state not in FINAL:
            walked = max(0.0, now - wo.assigned_t)
            self.fields["travel"].setText(f"walking: {walked:.0f} of {wo.travel_s:.0f} s")
        elif wo.assigned_t is not None:
            self.fields["travel"].setText(f"{wo.travel_s:.0f} s walk")
        else:
            self.fields["travel"].setText("not dispatched")
        step = wo.current_step if wo.state not in FINAL else None
        if step is not None and step.started_t is not None and self.step_bar is not None:
            elapsed = max(0.0, now - step.started_t)
            frac = min(1.0, elapsed / step.drawn_s) if step.drawn_s > 0 else 1.0
            self.step_bar.setValue(int(round(frac * 1000)))
            self.step_bar.setFormat(f"{frac:.0%}")
            item = self.steps_table.item(self._step_bar_row, 2)
            if item is not None:
                item.setText(f"{elapsed:.0f} s so far")

    def step_progress(self) -> float | None:
        """The running step's bar as a fraction (None when no step runs)."""
        return None if self.step_bar is None else self.step_bar.value() / 1000.0

    def _fill_audit(self, wo: WorkOrder) -> None:
        rows: list[tuple[str, ...]] = []
        store = getattr(self.ops, "store", None)
        entries = None
        if store is not None:
            try:
                entries = store.audit(wo.id)
                self.audit_source = "From the workspace database."
            except (sqlite3.Error, StoreError) as e:  # a broken database: say so, show the rest
                self.audit_source = f"The workspace database could not be read ({e})."
        if entries is None and getattr(wo, "history", None):
            entries = list(wo.history)
            self.audit_source = "From the work order's history."
        if entries is not None:
            for a in entries:
                frm, to = a.get("from_state"), a.get("to_state")
                move = f"{STATE_LABELS.get(frm, frm) if frm else '–'} → {STATE_LABELS.get(to, to) if to else '–'}"
                rows.append((_clock(a.get("t_s")), a.get("wall_time") or "", a.get("who") or "", move,
                             a.get("note") or ""))
        else:
            self.audit_source = ("No workspace database: the simulation's event log for this order (who did "
                                 "what is recorded only with a database).")
            for e in self.ops.order_events(wo.id):
                rows.append((_clock(e.t_s), "", e.who or "", "", f"{kind_text(e.kind)}: {e.detail}".rstrip(": ")))
        self.audit_label.setText(self.audit_source)
        t = self.audit_table
        t.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                t.setItem(r, c, QTableWidgetItem(text))
        for c in range(t.columnCount() - 1):
            t.resizeColumnToContents(c)
        t.scrollToBottom()  # the newest entry: what just happened

    def audit_rows(self) -> list[list[str]]:
        t = self.audit_table
        return [[t.item(r, c).text() if t.item(r, c) else "" for c in range(t.columnCount())]
                for r in range(t.rowCount())]

    def _fill_tech_box(self, wo: WorkOrder) -> None:
        skill = self.ops.config.repairs.skills.get(wo.recipe)
        keep = self.tech_box.currentText()
        self.tech_box.clear()
        for t in self.ops.roster.techs:
            if t.free and t.on_shift and skill in t.skills:
                self.tech_box.addItem(t.name)
        i = self.tech_box.findText(keep)
        if i >= 0:
            self.tech_box.setCurrentIndex(i)

    def _enable(self, wo: WorkOrder | None) -> None:
        live = wo is not None and wo.id in self.ops.work_orders
        open_ = live and wo.state not in FINAL
        self.assign_button.setEnabled(live and wo.state == OPEN)
        self.tech_box.setEnabled(live and wo.state == OPEN)
        for w in (self.advance_button, self.cancel_button, self.priority_button, self.priority_spin):
            w.setEnabled(open_)
        for w in (self.note_button, self.note_edit):
            w.setEnabled(live)

    # ------------------------------------------------------------------ actions
    def _after(self, wo, what: str) -> None:
        err = getattr(self.actions, "last_error", "") if wo is None else ""
        self.message.setText(f"Could not {what}: {err}" if wo is None else "")
        self.refresh(force=True)

    def _on_assign_clicked(self) -> None:
        name = self.tech_box.currentText()
        if not name:
            self.message.setText("No free technician on shift has the skill this repair needs")
            return
        self._after(self.actions.assign(self.wo_id, name), f"assign {name}")

    def _on_advance_clicked(self) -> None:
        self._after(self.actions.advance(self.wo_id), "advance the work order")

    def _on_cancel_clicked(self) -> None:
        self._after(self.actions.cancel(self.wo_id, reason="cancelled from its detail dialog"),
                    "cancel the work order")

    def _on_priority_clicked(self) -> None:
        p = self.priority_spin.value()
        self._after(self.actions.set_priority(self.wo_id, p), f"set priority {p}")

    def _on_note_clicked(self) -> None:
        text = self.note_edit.text()
        wo = self.actions.add_note(self.wo_id, text)
        if wo is not None:
            self.note_edit.clear()
        self._after(wo, "add the note")

    def _on_target_clicked(self) -> None:
        wo = self.order
        if wo is not None:
            self.address_activated.emit(wo.target)
