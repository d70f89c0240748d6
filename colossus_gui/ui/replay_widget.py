"""Replay a past training session: open its log (or pick it from the workspace's session list), scrub its
timeline, and see the facility as it was at that moment, with faults and actions marked on the charts.

Scrubbing re-simulates from the log (deterministic: the same seed and actions at the same times give the same
facility). The whole session is simulated once when it is opened, for the charts; each seek then rewinds the
same engine object in place and re-simulates to the chosen time, so views bound to ``engine`` stay valid and
show the facility at that moment (about 1 s per 15 simulated minutes on the 100k-GPU facility).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
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

from ..ops.training import TrainingSession
from .sim_driver import format_clock

_CHARTS = (("GPU temperature (C)", (("hottest_gpu_c", "#d84315"), ("p99_gpu_c", "#2e7d32"))),
           ("Facility water supply (C)", (("supply_c", "#1565c0"),)),
           ("IT power (MW) / Megapack SoC x100", (("it_mw", "#6a1b9a"), ("soc_pct", "#ef6c00"))))


class ReplayWidget(QWidget):
    """Open a session log, scrub its timeline; ``engine`` is the facility at the chosen moment."""

    opened = Signal(str)
    seeked = Signal(float)

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
        """Re-simulate the whole session once (charts), then sit at its end. Raises ValueError/OSError with a
        message naming the file when the log cannot be used."""
        path = Path(path)
        s = TrainingSession.from_log(path)
        self.path, self.session = path, s
        self.end_t = s.t
        self._effective = s.effective_actions()
        tel = s.engine.telemetry
        self._series = {c: np.array(tel.series(c)) for c in ("t_s", "hottest_gpu_c", "p99_gpu_c", "supply_c",
                                                              "it_mw", "soc")}
        self._series["soc_pct"] = self._series["soc"] * 100.0
        t = self._series["t_s"]
        for ch, curve in self.curves.items():
            curve.setData(t, self._series[ch])
        for pw, m in self._placed:
            pw.removeItem(m)
        self._placed = []
        self._markers = []
        for pw in self.plots:
            for f in s.faults:
                if f.fired_t is not None:
                    line = pg.InfiniteLine(f.fired_t, angle=90, pen=pg.mkPen("#c62828", style=Qt.PenStyle.DashLine),
                                           label=f.id, labelOpts={"position": 0.9, "color": "#c62828"})
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

    @property
    def engine(self):
        return self.session.engine if self.session is not None else None

    def markers(self) -> list[float]:
        """Times of the fault and action markers on the charts (for tests and tooltips)."""
        return sorted({m.value() for m in self._markers})

    # ------------------------------------------------------------------ scrubbing
    def seek(self, t: float) -> None:
        """The facility as it was at ``t`` (re-simulated from the log; the same engine object)."""
        if self.session is None:
            return
        t = float(min(max(0.0, t), self.end_t))
        self.session.replay_to(list(self._effective), t, same_timeline=True)
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
        if not self.slider.isSliderDown():  # keyboard or click: seek at once
            self.seek(v)

    def _on_slider_released(self) -> None:
        self.seek(self.slider.value())

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a training session log", "", "Session logs (*.jsonl)")
        if path:
            self._open_reporting(path)

    def _on_sessions_double_clicked(self, index) -> None:
        item = self.sessions.item(index.row(), 4)
        if item is not None and item.text():
            self._open_reporting(item.text())

    def _open_reporting(self, path: str) -> None:
        from PySide6.QtWidgets import QMessageBox
        try:
            self.open_log(path)
        except (OSError, ValueError, KeyError) as e:
            QMessageBox.warning(self, "Cannot open the session", f"{path}: {e}")
