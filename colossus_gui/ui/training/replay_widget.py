"""Replay a past training session: open its log (or pick it from the workspace's session list), scrub its
timeline, and see the facility as it was at that moment, with faults and actions marked on the charts.

Opening reads the session's keyframes cached beside its log (or re-simulates the log once when there are
none); a seek loads the nearest keyframe into the same engine and operations objects and simulates the rest
(at most one keyframe interval), so views bound to ``engine`` stay valid and show the facility at that
moment. Anything longer than a moment (opening, a seek with many steps left) runs on a worker thread with a
progress dialog and Cancel; ``busy_changed`` tells the window to hold its views meanwhile. The slider seeks
when it is released; arrow keys are debounced (one seek after the keys stop).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...ops.run import SeekCancelled
from ...ops.training import TrainingSession
from ..long_task import start_task
from ..sim_driver import format_clock
from ..theme import is_dark, severity_color

SYNC_GPU_STEPS = 40 * 100_352  # a seek of at most ~40 steps of the 100k-GPU facility runs at once (< ~0.1 s)
KEY_DEBOUNCE_MS = 250
REVEAL_INTERVAL_MS = 8  # between two charts' first paints after a load or seek

_CHARTS = (("GPU temperature (C)", (("hottest_gpu_c", "#d84315"), ("p99_gpu_c", "#2e7d32"))),
           ("Facility water supply (C)", (("supply_c", "#1565c0"),)),
           ("IT power (MW) / Megapack SoC x100", (("it_mw", "#6a1b9a"), ("soc_pct", "#ef6c00"))))


class ReplayWidget(QWidget):
    """Open a session log, scrub its timeline; ``engine`` is the facility at the chosen moment."""

    opened = Signal(str)
    seeked = Signal(float)
    busy_changed = Signal(bool)  # True while a worker thread steps the session (views must not read it)

    def __init__(self, store=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("replayWidget")
        self.store = store
        self.session: TrainingSession | None = None
        self.path: Path | None = None
        self.end_t = 0.0
        self._effective = []
        self.sessions = QTableWidget(0, 5, objectName="replaySessions")
        self.sessions.setHorizontalHeaderLabels(("Trainee", "Scenario", "Date", "Score", "Log"))
        self.sessions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sessions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sessions.verticalHeader().setVisible(False)
        self.sessions.doubleClicked.connect(self._on_sessions_double_clicked)
        self.sessions.setMaximumHeight(140)
        self.open_button = QPushButton("Open session log…", objectName="replayOpen")
        self.open_button.clicked.connect(self._on_open_clicked)
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="replaySlider")
        self.slider.setEnabled(False)
        self.slider.sliderReleased.connect(self._on_slider_released)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self._key_timer = QTimer(self)
        self._key_timer.setObjectName("replayKeyDebounce")
        self._key_timer.setSingleShot(True)
        self._key_timer.setInterval(KEY_DEBOUNCE_MS)
        self._key_timer.timeout.connect(self._on_key_timer_timeout)
        self.task = None  # the running worker task (seek or open), if any
        # after a load or seek the charts come back one per turn of the event loop (see _set_busy)
        self._reveal: list[pg.PlotWidget] = []
        self._reveal_timer = QTimer(self)
        self._reveal_timer.setObjectName("replayChartReveal")
        self._reveal_timer.setSingleShot(True)
        self._reveal_timer.setInterval(REVEAL_INTERVAL_MS)
        self._reveal_timer.timeout.connect(self._on_reveal_timer_timeout)
        self.async_threshold = SYNC_GPU_STEPS
        self.time_label = QLabel(objectName="replayTime")
        self.state_label = QLabel(objectName="replayState")
        self.state_label.setWordWrap(True)
        self.plots: list[pg.PlotWidget] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.cursors: list[pg.InfiniteLine] = []
        self._markers: list[pg.InfiniteLine] = []
        self._placed: list[tuple] = []
        lay = QVBoxLayout(self)
        if store is not None:
            lay.addWidget(self.sessions)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time_label)
        lay.addLayout(row)
        for title, chans in _CHARTS:
            pw = pg.PlotWidget(title=title)
            pw.setObjectName("replayChart")
            pw.setMinimumHeight(120)
            pw.showGrid(x=True, y=True, alpha=0.2)
            pw.getPlotItem().setClipToView(True)
            pw.getAxis("left").setWidth(52)  # fixed: new tick labels do not re-lay the chart out (and they align)
            for ch, color in chans:
                self.curves[ch] = pw.plot([], [], pen=pg.mkPen(color, width=1.2), name=ch)
            cur = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#000000", width=1.5))
            pw.addItem(cur)
            self.cursors.append(cur)
            if self.plots:
                pw.setXLink(self.plots[0])
            self.plots.append(pw)
            lay.addWidget(pw, 1)
        lay.addWidget(self.state_label)
        self.refresh_sessions()

    # ------------------------------------------------------------------ opening
    def refresh_sessions(self) -> None:
        if self.store is None:
            return
        rows = self.store.sessions()
        self.sessions.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate((row["trainee"], row["scenario"], row["started"], f"{row['score']:.1f}",
                                      row["log_path"] or "")):
                self.sessions.setItem(r, c, QTableWidgetItem(text))

    def open_log(self, path: str | Path) -> TrainingSession:
        """Open the session at its end (from its cached keyframes, or re-simulated once). Raises
        ValueError/OSError with a message naming the file when the log cannot be used."""
        path = Path(path)
        return self._opened(path, TrainingSession.from_log(path))

    def open_log_async(self, path: str | Path) -> None:
        """``open_log`` on a worker thread with progress and Cancel; problems are shown in a message box."""
        path = Path(path)
        self._set_busy(True)

        def work(report, cancelled):
            return TrainingSession.from_log(path, progress=lambda f: report(f, ""), cancelled=cancelled)

        def failed(e):
            self._set_busy(False)
            if not isinstance(e, SeekCancelled):
                self._problem(str(path), e)

        def done(s):
            self._opened(path, s)  # the charts get their data while they are still held
            self._set_busy(False)

        self.task = start_task(work, self, "Open a session", f"Opening {path.name}…", done, failed)

    def _opened(self, path: Path, s: TrainingSession) -> TrainingSession:
        self.task = None
        self.path, self.session = path, s
        # the charts show the whole session: the full telemetry of its end (cached runs may hold only the
        # stretch after the last keyframe, so the series come from the run's telemetry when complete)
        self.end_t = s.t
        self._effective = s.effective_actions()
        tel = s.engine.telemetry
        self._series = {c: np.array(tel.series(c)) for c in ("t_s", "hottest_gpu_c", "p99_gpu_c", "supply_c",
                                                              "it_mw", "soc")}
        self._series["soc_pct"] = self._series["soc"] * 100.0
        t = self._series["t_s"]
        for ch, curve in self.curves.items():
            curve.setData(t, self._series[ch])
        self._set_ranges(t)
        for pw, m in self._placed:
            pw.removeItem(m)
        self._placed = []
        self._markers = []
        for pw in self.plots:
            for f in s.faults:
                if f.fired_t is not None:
                    crit = severity_color(2, is_dark(self)).name()  # a fault fired: the theme's critical
                    line = pg.InfiniteLine(f.fired_t, angle=90, pen=pg.mkPen(crit, style=Qt.PenStyle.DashLine),
                                           label=f.id, labelOpts={"position": 0.9, "color": crit})
                    line.setToolTip(f"{f.id}: {f.kind} {f.address or f.target}")
                    pw.addItem(line)
                    self._markers.append(line)
                    self._placed.append((pw, line))
            for r in self._effective:
                if r.action in ("freeze", "run", "speed"):
                    continue
                color = "#1565c0" if r.who == "trainee" else "#6a1b9a"
                line = pg.InfiniteLine(r.t_s, angle=90, pen=pg.mkPen(color, width=1))
                line.setToolTip(f"{format_clock(r.t_s)} {r.who}: {r.action} {r.args}")
                pw.addItem(line)
                self._markers.append(line)
                self._placed.append((pw, line))
        self.slider.blockSignals(True)
        self.slider.setRange(0, int(self.end_t))
        self.slider.setValue(int(self.end_t))
        self.slider.blockSignals(False)
        self.slider.setEnabled(True)
        self._show_state()
        self.opened.emit(str(path))
        return s

    def _set_ranges(self, t: np.ndarray) -> None:
        """Each chart's ranges from its data, set now (while the charts are held): left to auto-range, they
        were worked out in the first paint, which changed the axes and the linked charts and painted them
        all again, several times in one turn of the event loop."""
        if t.size == 0:
            return
        for pw, (_, chans) in zip(self.plots, _CHARTS, strict=True):
            ys = np.concatenate([self._series[ch] for ch, _ in chans])
            ys = ys[np.isfinite(ys)]
            pw.setXRange(float(t[0]), float(t[-1]), padding=0.02)
            if ys.size:
                lo, hi = float(ys.min()), float(ys.max())
                pw.setYRange(lo, hi if hi > lo else lo + 1.0, padding=0.08)

    @property
    def engine(self):
        return self.session.engine if self.session is not None else None

    def markers(self) -> list[float]:
        """Times of the fault and action markers on the charts (for tests and tooltips)."""
        return sorted({m.value() for m in self._markers})

    # ------------------------------------------------------------------ scrubbing
    @property
    def busy(self) -> bool:
        return self.task is not None

    def _set_busy(self, busy: bool) -> None:
        # The charts are pyqtgraph (Python) paint code: painting them while the worker holds the interpreter
        # froze the window for 100-200 ms at a time. They show nothing new until the work is done, so they
        # are not repainted meanwhile; the progress dialog and the rest of the window are plain Qt.
        # Afterwards they come back one at a time, a turn of the event loop apart: repainted together (new
        # data, new ranges) the three took 50-140 ms in one go, one alone takes 10-30 ms.
        self._reveal_timer.stop()
        if busy:
            self._reveal = []
            for pw in self.plots:
                pw.setUpdatesEnabled(False)
        else:
            self._reveal = [pw for pw in self.plots if not pw.updatesEnabled()]
            if self._reveal:
                self._reveal_timer.start()
        self.slider.setEnabled(not busy and self.session is not None)
        self.open_button.setEnabled(not busy)
        self.busy_changed.emit(busy)

    @property
    def drawing(self) -> bool:
        """Charts still held after a load or seek (they come back one per turn of the event loop)."""
        return bool(self._reveal)

    def _on_reveal_timer_timeout(self) -> None:
        """One step of bringing the charts back: a chart's new ranges worked out (its view and curves, no
        paint), then in the next turn its updates enabled (one paint)."""
        if self._reveal:
            pw = self._reveal[0]
            if getattr(pw, "_prepared", False):
                pw._prepared = False
                self._reveal.pop(0).setUpdatesEnabled(True)
            else:
                pw._prepared = True
                pw.scene().prepareForPaint()
        if self._reveal:
            if self.isVisible():
                self._reveal_timer.start()
            else:  # nothing is painted while hidden: all of them at once
                self._reveal_all()

    def _reveal_all(self) -> None:
        self._reveal_timer.stop()
        while self._reveal:
            pw = self._reveal.pop(0)
            pw._prepared = False
            pw.setUpdatesEnabled(True)

    def hideEvent(self, event) -> None:
        self._reveal_all()
        super().hideEvent(event)

    def request_seek(self, t: float) -> None:
        """Seek now when it is quick, else on a worker thread (progress, Cancel)."""
        if self.session is None or self.busy:
            return
        t = float(min(max(0.0, t), self.end_t))
        cost = self.session.run.seek_cost_steps(t) * self.session.engine.n_gpus
        if cost <= self.async_threshold:
            self.seek(t)
            return
        s, actions = self.session, list(self._effective)
        self._set_busy(True)

        def work(report, cancelled):
            try:
                s.replay_to(actions, t, same_timeline=True, progress=lambda f: report(f, ""), cancelled=cancelled)
            except SeekCancelled:
                pass  # it stays at a consistent moment on the way
            return s.t

        def done(t_reached):
            self.task = None
            self._after_seek(t_reached)
            self._set_busy(False)

        def failed(e):
            self.task = None
            self._set_busy(False)
            self._problem("seek", e)

        self.task = start_task(work, self, "Replay", f"Going to {format_clock(t)}…", done, failed)

    def seek(self, t: float) -> None:
        """The facility as it was at ``t`` (re-simulated from the log; the same engine object)."""
        if self.session is None:
            return
        t = float(min(max(0.0, t), self.end_t))
        self.session.replay_to(list(self._effective), t, same_timeline=True)
        self._after_seek(t)

    def _after_seek(self, t: float) -> None:
        for c in self.cursors:
            c.setValue(t)
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(t)))
        self.slider.blockSignals(False)
        self._show_state()
        self.seeked.emit(t)

    def _show_state(self) -> None:
        s = self.session
        self.time_label.setText(f"{format_clock(s.t)} / {format_clock(self.end_t)}")
        for c in self.cursors:
            c.setValue(s.t)
        active = [f"{f.id} ({f.kind})" for f in s.faults if f.state in ("active", "ramping")]
        score = s.score()
        self.state_label.setText(f"At {format_clock(s.t)}: score {score.total:.1f}; active faults: "
                                 f"{', '.join(active) or 'none'}; alarms open: "
                                 f"{sum(1 for a in s.raw_ops.alarms.active())}; hottest GPU "
                                 f"{float(s.engine.rack_hottest_c.max()):.1f} C")

    # ------------------------------------------------------------------ slots
    def _on_slider_value_changed(self, v: int) -> None:
        self.time_label.setText(f"{format_clock(v)} / {format_clock(self.end_t)}")
        for c in self.cursors:
            c.setValue(v)
        if not self.slider.isSliderDown():  # keys or a click: one seek once they stop
            self._key_timer.start()

    def _on_key_timer_timeout(self) -> None:
        self.request_seek(self.slider.value())

    def _on_slider_released(self) -> None:
        self._key_timer.stop()
        self.request_seek(self.slider.value())

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a training session log", "", "Session logs (*.jsonl)")
        if path:
            self._open_reporting(path)

    def _on_sessions_double_clicked(self, index) -> None:
        item = self.sessions.item(index.row(), 4)
        if item is not None and item.text():
            self._open_reporting(item.text())

    def _open_reporting(self, path: str) -> None:
        if Path(path).is_file():
            self.open_log_async(path)
        else:
            self._problem(path, FileNotFoundError("no such file"))

    def _problem(self, what: str, e: BaseException) -> None:
        from PySide6.QtWidgets import QMessageBox
        if not isinstance(e, (OSError, ValueError, KeyError)):
            raise e
        QMessageBox.warning(self, "Cannot open the session", f"{what}: {e}")
