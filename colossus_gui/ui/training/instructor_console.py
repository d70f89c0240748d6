"""The instructor console (a dock or a window of its own, so the trainee's screen stays clean) and the
trainee's live score panel.

The console talks to a ``TrainingSession`` (every button is a logged instructor action) and, when attached, to
a SimDriver-like object (``pause/start/set_speed/ticked``) driving the session's Run: freeze/run and speed act
on the driver too. The console adds no steps of its own: the Run steps the session with the engine. Restores
rewind the same engine and operations objects in place, so views bound to them stay valid.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...model.scenario import FAULT_TARGETS
from ..long_task import start_task
from ..sim_driver import SPEED_PRESETS, format_clock
from ..theme import is_dark, set_severity, severity_color

# A fault's state as a severity (the theme's colours); pending and skipped faults show in the disabled grey.
_STATE_SEVERITY = {"ramping": 1, "active": 2, "cleared": 0}


class ScorePanelWidget(QWidget):
    """The trainee's live score: every term with its value, target and the points it costs now."""

    _COLUMNS = ("Criterion", "Value", "Target", "Points lost", "Of")

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scorePanel")
        self.session = session
        self.total_label = QLabel(objectName="scoreTotal")
        self.total_label.setStyleSheet("font-size: 22px; font-weight: bold;")
        self.total_label.setWordWrap(True)  # the clock goes under the score in a narrow dock, not off its edge
        self.table = QTableWidget(0, len(self._COLUMNS), objectName="scoreTerms")
        self.table.setHorizontalHeaderLabels(self._COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the criterion takes what the numbers leave
        for c in range(1, len(self._COLUMNS)):
            head.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.hints = QListWidget(objectName="scoreHints")
        self.hints.setMaximumHeight(90)
        lay = QVBoxLayout(self)
        lay.addWidget(self.total_label)
        lay.addWidget(self.table, 1)
        lay.addWidget(QLabel("Hints received"))
        lay.addWidget(self.hints)
        self.last_score = None
        self.refresh()

    def refresh(self) -> None:
        s = self.session
        score = s.score()
        self.last_score = score
        state = " (final)" if score.final else (" (aborted)" if score.aborted else "")
        nb = "\u00a0"  # a narrow dock breaks the line between score and clock only
        self.total_label.setText(f"Score {score.total:.1f} / 100{state}".replace(" ", nb) + "  ·  "
                                 + f"t = {format_clock(s.t)}".replace(" ", nb))
        terms = [t for t in score.terms if t.max_points > 0 or t.points_lost > 0]
        self.table.setRowCount(len(terms))
        for row, t in enumerate(terms):
            if t.kind == "objective":
                val, tgt = ("met" if t.value >= 1 else "not met"), "met"
            elif t.kind in ("hints", "abort"):
                val, tgt = f"{t.value:g}", ""
            else:
                val, tgt = f"{t.value:.4g} {t.unit}".strip(), f"{t.target:g}"
            for c, text in enumerate((t.label, val, tgt, f"{t.points_lost:.1f}", f"{t.max_points:.1f}")):
                item = self.table.item(row, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(row, c, item)
                item.setText(text)
                item.setToolTip(t.detail)
        hints = s.keeper.hints
        if self.hints.count() != len(hints):
            self.hints.clear()
            for h in hints:
                self.hints.addItem(f"{format_clock(h['t_s'])}  {h['text']}  (-{h['cost']:g})")


class InstructorConsoleWidget(QWidget):
    """Scenario timeline with each fault's state, inject now, fire a pending fault, freeze/run, speed,
    backtrack points and snapshots with restore, hints, notes, end of session."""

    hint_sent = Signal(str)
    session_ended = Signal(object)  # the final Score
    restored = Signal(float)  # simulated time the session went back to
    busy_changed = Signal(bool)  # True while a worker thread rewinds the session (views must not read it)
    _session_event = Signal(str, object)  # the session's events, brought to the UI thread
    message_shown = Signal(str)

    _FAULT_COLUMNS = ("Fault", "Kind", "Component", "Trigger", "State", "Fired", "Cleared")

    def __init__(self, session, driver=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("instructorConsole")
        self.session = session
        self.driver = None
        self.last_error = ""
        self.task = None  # a restore running on a worker thread
        sc = session.scenario
        self.title = QLabel(f"<b>{sc.title}</b> — trainee {session.trainee}", objectName="consoleTitle")
        self.clock = QLabel(objectName="consoleClock")
        # run control
        self.run_button = QPushButton("Freeze", objectName="consoleRunButton")
        self.run_button.setToolTip("Freeze or run the simulation (logged)")
        self.run_button.clicked.connect(self._on_run_clicked)
        self.speed_box = QComboBox(objectName="consoleSpeed")
        for sp in SPEED_PRESETS:
            self.speed_box.addItem(f"{sp:g}x", sp)
        self.speed_box.activated.connect(self._on_speed_activated)
        self.end_button = QPushButton("End session", objectName="consoleEndButton")
        self.end_button.clicked.connect(self._on_end_clicked)
        # timeline
        self.faults = QTableWidget(0, len(self._FAULT_COLUMNS), objectName="consoleFaults")
        self.faults.setHorizontalHeaderLabels(self._FAULT_COLUMNS)
        self.faults.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.faults.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # three faults in sight however low the console (a tab under the views on one screen)
        self.faults.setMinimumHeight(self.faults.horizontalHeader().sizeHint().height()
                                     + 3 * 2 * self.faults.fontMetrics().height() + 24)
        self.faults.verticalHeader().setVisible(False)
        self.fire_button = QPushButton("Fire selected now", objectName="consoleFireButton")
        self.fire_button.clicked.connect(self._on_fire_clicked)
        # inject
        self.kind_box = QComboBox(objectName="consoleInjectKind")
        for k in FAULT_TARGETS:
            self.kind_box.addItem(k)
        self.target_edit = QLineEdit(objectName="consoleInjectTarget")
        self.target_edit.setPlaceholderText("address, e.g. H1-R001-CDU-P1 (GRID for grid and weather)")
        self.depth_spin = _spin("consoleInjectDepth", 0.0, 1.0, 0.3, 0.05)
        self.duration_spin = _spin("consoleInjectDuration", 0.0, 86400.0, 60.0, 10.0)
        self.delta_spin = _spin("consoleInjectDelta", 0.0, 20.0, 5.0, 0.5)
        self.inject_button = QPushButton("Inject now", objectName="consoleInjectButton")
        self.inject_button.clicked.connect(self._on_inject_clicked)
        # snapshots
        self.points = QListWidget(objectName="consoleBacktrack")
        self.snap_name = QLineEdit(objectName="consoleSnapshotName")
        self.snap_name.setPlaceholderText("snapshot name (optional)")
        self.snap_button = QPushButton("Snapshot", objectName="consoleSnapshotButton")
        self.snap_button.clicked.connect(self._on_snapshot_clicked)
        self.restore_button = QPushButton("Restore selected", objectName="consoleRestoreButton")
        self.restore_button.setToolTip("Rewind to the selected point: the simulation replays the session's actions "
                                       "up to there (exact, takes a moment on the big facility)")
        self.restore_button.clicked.connect(self._on_restore_clicked)
        # hints and notes
        self.hint_box = QComboBox(objectName="consoleHint")
        for h in sc.hints:
            self.hint_box.addItem(f"{h.id} (-{h.cost:g}): {h.text}", h.id)
        self.hint_box.addItem("free text below (-5)", None)
        # a long hint must not widen the console: the box shows its start, the list and the tooltip all of it
        self.hint_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.hint_box.setMinimumContentsLength(28)
        self.hint_box.view().setMinimumWidth(self.hint_box.view().sizeHintForColumn(0) + 24)
        self.hint_box.currentIndexChanged.connect(
            lambda i: self.hint_box.setToolTip(self.hint_box.itemText(i)))
        self.hint_box.setToolTip(self.hint_box.currentText())
        self.hint_text = QLineEdit(objectName="consoleHintText")
        self.hint_button = QPushButton("Send hint", objectName="consoleHintButton")
        self.hint_button.clicked.connect(self._on_hint_clicked)
        self.note_edit = QLineEdit(objectName="consoleNote")
        self.note_button = QPushButton("Add note", objectName="consoleNoteButton")
        self.note_button.clicked.connect(self._on_note_clicked)
        self.message = QLabel(objectName="consoleMessage")
        self.message.setWordWrap(True)
        self.score_label = QLabel(objectName="consoleScore")

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.clock)
        ctl = QHBoxLayout()
        ctl.addWidget(self.run_button)
        ctl.addWidget(QLabel("Speed"))
        ctl.addWidget(self.speed_box)
        ctl.addStretch(1)
        ctl.addWidget(self.score_label)
        ctl.addWidget(self.end_button)
        tl = QGroupBox("Scenario timeline")
        tlay = QVBoxLayout(tl)
        tlay.addWidget(self.faults)
        tlay.addWidget(self.fire_button, 0, Qt.AlignmentFlag.AlignRight)
        inj = QGroupBox("Inject a fault now")
        form = QFormLayout(inj)
        form.addRow("Kind", self.kind_box)
        form.addRow("Target", self.target_edit)
        row = QHBoxLayout()
        for label, w in (("depth", self.depth_spin), ("duration s", self.duration_spin), ("ΔT C", self.delta_spin)):
            row.addWidget(QLabel(label))
            row.addWidget(w)
        form.addRow(row)
        form.addRow(self.inject_button)
        snaps = QGroupBox("Backtrack points and snapshots")
        slay = QVBoxLayout(snaps)
        slay.addWidget(self.points)
        srow = QHBoxLayout()
        srow.addWidget(self.snap_name, 1)
        srow.addWidget(self.snap_button)
        srow.addWidget(self.restore_button)
        slay.addLayout(srow)
        talk = QGroupBox("Hints and notes")
        hlay = QFormLayout(talk)
        hlay.addRow(self.hint_box)
        hrow = QHBoxLayout()
        hrow.addWidget(self.hint_text, 1)
        hrow.addWidget(self.hint_button)
        hlay.addRow(hrow)
        nrow = QHBoxLayout()
        nrow.addWidget(self.note_edit, 1)
        nrow.addWidget(self.note_button)
        hlay.addRow(nrow)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(ctl)
        lay.addWidget(tl, 2)
        self._mid = mid = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        mid.addWidget(inj, 1)
        mid.addWidget(snaps, 1)
        lay.addLayout(mid, 1)
        lay.addWidget(talk)
        lay.addWidget(self.message)
        self._fault_sig = None
        self._points_sig = None
        # the session may report from a worker thread (a restore): its events reach the widgets queued
        self._session_event.connect(self._on_session_event)
        self._listener = self._session_event.emit
        session.listeners.append(self._listener)
        if driver is not None:
            self.attach(driver)
        self.refresh()

    def set_compact(self, compact: bool) -> None:
        """Stack the fault-injection and backtrack groups instead of setting them side by side: for a narrow
        home (a tab under the views), where the strip scrolls up and down rather than sideways."""
        self._mid.setDirection(QBoxLayout.Direction.TopToBottom if compact else QBoxLayout.Direction.LeftToRight)

    # ------------------------------------------------------------------ driver
    def attach(self, driver) -> None:
        """Follow ``driver`` (which drives the session's Run): its ticks, freeze/run and speed."""
        self.detach()
        self.driver = driver
        driver.ticked.connect(self.refresh)

    def detach(self) -> None:
        d = self.driver
        if d is None:
            return
        try:
            d.ticked.disconnect(self.refresh)
        except (RuntimeError, TypeError):
            pass
        self.driver = None

    def closeEvent(self, event) -> None:  # noqa: N802
        self.detach()
        if self._listener in self.session.listeners:
            self.session.listeners.remove(self._listener)
        super().closeEvent(event)

    # ------------------------------------------------------------------ actions (all logged by the session)
    def _state_color(self, state: str):
        sev = _STATE_SEVERITY.get(state)
        if sev is None:
            return self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        return severity_color(sev, is_dark(self))

    def _act(self, action: str, **args):
        return self._show_result(action, self.session.do(action, who="instructor", **args))

    def _show_result(self, action: str, rec):
        if not rec.ok:
            self.last_error = rec.error or ""
            self.message.setText(rec.error or "")
            set_severity(self.message, 2)  # the theme's critical colour
            self.message_shown.emit(rec.error or "")
        else:
            self.last_error = ""
            set_severity(self.message, 0)
            self.message.setText(f"{format_clock(rec.t_s)} {action}: " + ", ".join(f"{k}={v}" for k, v in
                                                                                   rec.result.items()))
        self.refresh()
        return rec

    def freeze(self) -> None:
        if self._act("freeze").ok and self.driver is not None:
            self.driver.pause()

    def run(self) -> None:
        if self._act("run").ok and self.driver is not None:
            self.driver.start()

    def inject(self, kind: str, target: str, **params):
        return self._act("inject", kind=kind, target=target, **params)

    def fire(self, fault_id: str):
        return self._act("fire", fault=fault_id)

    def send_hint(self, hint_id: str | None = None, text: str | None = None):
        rec = self._act("hint", hint=hint_id, text=text)
        if rec.ok:
            self.hint_sent.emit(rec.result["text"])
        return rec

    def add_note(self, text: str):
        return self._act("note", text=text)

    def snapshot(self, name: str | None = None):
        return self._act("snapshot", name=name or None)

    def restore(self, name: str):
        """Rewind to a backtrack point or snapshot. The re-simulation (up to a keyframe interval, more on a
        long drill) runs on a worker thread with progress while the driver is paused and the window holds
        its views; ``restored`` is emitted when done. Returns the task."""
        s, driver = self.session, self.driver
        was_running = driver is not None and driver.running
        if driver is not None:
            driver.pause()
        self.setEnabled(False)  # no other action while the session is being rewound
        self.busy_changed.emit(True)

        def work(report, _cancelled):
            return s.do("restore", who="instructor", name=name, progress=lambda f: report(f, ""))

        def finish() -> None:
            self.task = None
            self.setEnabled(True)
            self.busy_changed.emit(False)
            if was_running and self.driver is not None:
                self.driver.start()

        def done(rec) -> None:
            finish()
            self._show_result("restore", rec)
            if rec.ok:
                self.restored.emit(s.t)

        def failed(e) -> None:
            finish()
            self.refresh()
            raise e

        self.task = start_task(work, self, "Restore", f"Going back to {name}…", done, failed, cancellable=False)
        return self.task

    def end_session(self, reason: str = "ended by the instructor"):
        self.session.end(reason)
        self.refresh()
        return self.session.final_score

    def write_report(self, out: str | Path, png: bool = True) -> list[Path]:
        """The debrief (HTML, CSV, JSON and PNG charts) of the session as it stands."""
        from ...io.session_report import write_report
        writer = None
        if png:
            from ..export.report_png import svg_to_png
            writer = svg_to_png
        return write_report(self.session.debrief(), out, png_writer=writer)

    # ------------------------------------------------------------------ slots
    def _on_run_clicked(self) -> None:
        if self.session.running:
            self.freeze()
        else:
            self.run()

    def _on_speed_activated(self, _index: int) -> None:
        sp = float(self.speed_box.currentData())
        if self._act("speed", speed=sp).ok and self.driver is not None:
            self.driver.set_speed(sp)

    def _on_fire_clicked(self) -> None:
        row = self.faults.currentRow()
        if row >= 0:
            self.fire(self.faults.item(row, 0).text())

    def _on_inject_clicked(self) -> None:
        kind = self.kind_box.currentText()
        target = self.target_edit.text().strip() or ("GRID" if kind in ("grid_sag", "grid_outage", "heat_wave")
                                                     else "")
        params = {}
        if kind == "grid_sag":
            params = {"depth": self.depth_spin.value(), "duration": self.duration_spin.value()}
        elif kind == "grid_outage":
            params = {"duration": self.duration_spin.value()}
        elif kind == "heat_wave":
            params = {"delta_c": self.delta_spin.value(), "duration": self.duration_spin.value() or None}
        self.inject(kind, target, **params)

    def _on_snapshot_clicked(self) -> None:
        self.snapshot(self.snap_name.text().strip() or None)
        self.snap_name.clear()

    def _on_restore_clicked(self) -> None:
        item = self.points.currentItem()
        if item is not None:
            self.restore(item.data(Qt.ItemDataRole.UserRole))

    def _on_hint_clicked(self) -> None:
        hid = self.hint_box.currentData()
        text = self.hint_text.text().strip() or None
        if hid is None and text is None:
            set_severity(self.message, 0)
            self.message.setText("Type the hint's text, or pick one of the scenario's hints.")
            return
        self.send_hint(hid, None if hid is not None else text)
        self.hint_text.clear()

    def _on_note_clicked(self) -> None:
        text = self.note_edit.text().strip()
        if text:
            self.add_note(text)
            self.note_edit.clear()

    def _on_end_clicked(self) -> None:
        if QMessageBox.question(self, "End session", "End the training session now? The score becomes final.") \
                == QMessageBox.StandardButton.Yes:
            self.end_session()

    def _on_session_event(self, what: str, payload) -> None:
        if what == "ended":
            if self.driver is not None:
                self.driver.pause()
            self.session_ended.emit(payload)
        elif what == "rebuilt" and self.driver is not None:
            self.driver.set_engine(self.session.engine)  # same object: drops the driver's carried time

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> None:
        s = self.session
        self.clock.setText(f"t = {format_clock(s.t)} of {format_clock(s.time_limit_s)}")
        self.run_button.setText("Run" if not s.running else "Freeze")
        score = s.score()
        self.score_label.setText(f"score {score.total:.1f}" + (" (final)" if score.final else ""))
        for w in (self.run_button, self.inject_button, self.fire_button, self.hint_button, self.snap_button,
                  self.restore_button, self.end_button):
            w.setEnabled(not s.ended)
        sig = tuple((f.id, f.state, f.fired_t, f.cleared_t) for f in s.faults)
        if sig != self._fault_sig:
            self._fault_sig = sig
            self.faults.setRowCount(len(s.faults))
            for row, f in enumerate(s.faults):
                vals = (f.id, f.kind, f.address or f.target, f.trigger, f.state,
                        format_clock(f.fired_t) if f.fired_t is not None else "",
                        format_clock(f.cleared_t) if f.cleared_t is not None else "")
                for c, text in enumerate(vals):
                    item = QTableWidgetItem(text)
                    if c == 4:
                        item.setForeground(self._state_color(f.state))
                    if f.label:
                        item.setToolTip(f.label)
                    self.faults.setItem(row, c, item)
        pts = [(m.name, m.t_s, m.auto) for m in s.backtracks + s.snapshots]
        if pts != self._points_sig:
            self._points_sig = pts
            self.points.clear()
            for name, t, auto in sorted(pts, key=lambda x: x[1]):
                item = QListWidgetItem(f"{format_clock(t)}  {'auto' if auto else 'snapshot'}: {name}")
                item.setData(Qt.ItemDataRole.UserRole, name)
                self.points.addItem(item)

    def fault_state(self, fault_id: str) -> str:
        for row in range(self.faults.rowCount()):
            if self.faults.item(row, 0).text() == fault_id:
                return self.faults.item(row, 4).text()
        raise KeyError(fault_id)


def _spin(name: str, lo: float, hi: float, value: float, step: float) -> QDoubleSpinBox:
    w = QDoubleSpinBox(objectName=name)
    w.setRange(lo, hi)
    w.setValue(value)
    w.setSingleStep(step)
    return w
