"""Training mode in the main window: a TrainingSession drives the window's engine and operations; the
instructor console lives in its own window (so the trainee's screen stays clean); the trainee gets a live
score and the trainee controls as docks. When the session ends the debrief report is written and stored.
"""

from __future__ import annotations

import html
import os
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...io.loader import LoadError
from ...resources import resource
from ..window_placement import console_home, place_beside
from .trainee_feed import TraineeFeedWidget

CHARTS_MIN_WIDTH = 380  # the chart dock in a drill: titles on one or two lines, plots wide enough to read
CONSOLE_DOCKED_MIN_HEIGHT = 620  # the console and the trainee feed as in its own window, less the spare room
SCORE_MIN_WIDTH = 360  # the score beside the alarms: its table's criteria readable, the briefing a few lines


# The charts a drill needs besides power, water, GPU temperatures and service: by the kinds of its faults. On a
# screen too short for every chart, the chart dock shows these (its "All charts" button shows the rest).
_BASE_CHARTS = ("power", "water", "gpu", "service")
_CHARTS_BY_FAULT = {
    "grid_sag": ("soc",), "grid_outage": ("soc",), "turbine_trip": ("soc",), "heat_wave": ("soc", "pue"),
    "chiller_trip": ("pue",), "switch_failure": ("fabric",), "link_failure": ("fabric",),
    "link_flap": ("fabric",), "nic_failure": ("fabric",), "storage_node_failure": ("storage", "stall"),
    "drive_failure": ("storage", "stall"),
}


def drill_charts(scenario) -> list[str]:
    """The charts that show what a drill's faults do."""
    names = list(_BASE_CHARTS)
    for f in scenario.faults:
        names += [n for n in _CHARTS_BY_FAULT.get(str(f.kind), ()) if n not in names]
    return names


def training_scenarios() -> dict[str, Path]:
    d = resource("scenarios", "training")
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def sessions_folder() -> Path:
    """Where session logs and reports go: the user's data folder, or a temp folder in tests."""
    if os.environ.get("COLOSSUS_GUI_NO_SETTINGS"):
        return Path(tempfile.gettempdir()) / "colossus-gui-sessions"
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "sessions"


class TrainingController(QObject):
    """Starts, runs and ends one training session in a MainWindow."""

    started = Signal(object)  # the TrainingSession
    ended = Signal(object)  # the folder with the report

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = None
        self.folder: Path | None = None
        self.console = None
        self.console_window: QWidget | None = None
        self.score_dock: QDockWidget | None = None
        self.controls_dock: QDockWidget | None = None
        self.console_dock: QDockWidget | None = None  # the console's home on one screen the main window fills
        self.report_paths: list[Path] = []
        self.replay = None
        self.replay_window: QWidget | None = None
        self.feed: TraineeFeedWidget | None = None
        self.console_placement = ""
        self.chart_names: list[str] = []
        self._charts_told = None  # the chart panel given the drill's charts
        self.debrief_button: QPushButton | None = None

    @property
    def active(self) -> bool:
        return self.session is not None and not self.session.ended

    # ------------------------------------------------------------------ start
    def launcher(self):
        """The drill launcher: drills with description, duration, difficulty and briefing; the trainee picker
        with each trainee's past sessions from the workspace database."""
        from .drill_launcher_dialog import DrillLauncherDialog

        trainees, history_fn = [], None
        ws = getattr(self.window, "store", None)
        if ws is not None:
            from ...io.session_store import SessionStore
            try:
                ss = SessionStore(ws.path)
                trainees = ss.trainees()
                history_fn = ss.sessions
            except Exception as e:  # the history is a convenience; drills start without it
                self.window.statusBar().showMessage(f"Trainee history not available: {e}", 10000)
        settings = getattr(self.window, "settings", None)
        last = str(settings.value("lastTrainee", "")) if settings is not None else ""
        return DrillLauncherDialog(training_scenarios(), trainees, lambda name: history_fn(name) if history_fn
                                   else [], last_trainee=last, parent=self.window)

    def choose_and_start(self) -> bool:
        if not training_scenarios():
            self.window._error_box("No training scenarios", "No bundled training scenarios were found.")
            return False
        dlg = self.launcher()
        if dlg.exec() != dlg.DialogCode.Accepted or dlg.chosen() is None:
            return False
        path, trainee = dlg.chosen()
        settings = getattr(self.window, "settings", None)
        if settings is not None:
            settings.setValue("lastTrainee", trainee)
        return self.start(str(path), trainee)

    def start(self, scenario_ref: str, trainee: str = "trainee", seed: int | None = None) -> bool:
        from ...ops.training import TrainingSession
        from ...ops.training_check import load_and_check
        from .instructor_console import InstructorConsoleWidget, ScorePanelWidget
        from .trainee_controls import TraineeControlsWidget

        try:
            sc, fac, path = load_and_check(scenario_ref)
        except LoadError as e:
            self.window.show_problems("Cannot start the training session", f"{e.path} has problems:", e.problems)
            return False
        if self.session is not None:
            self.stop(write_report=not self.session.ended)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.folder = sessions_folder() / f"{stamp}-{path.stem}-{_safe(trainee)}"
        self.folder.mkdir(parents=True, exist_ok=True)
        session = TrainingSession(sc, fac, seed=seed, trainee=trainee, log_path=self.folder / "session.jsonl",
                                  scenario_name=path.stem)
        self.session = session
        self.chart_names = drill_charts(sc)
        w = self.window
        w.driver.pause()
        w.driver.set_speed(session.speed)  # a drill starts at 1x whatever the free run ran at
        w.set_engine(session.engine, ops=session.ops, run=session.run)  # a fresh run: empty board, clean charts
        w.refresh_views(force=True)
        # the instructor's console: a window of its own
        self.console = InstructorConsoleWidget(session, w.driver)
        self.console.session_ended.connect(self._on_session_ended)
        self.console.message_shown.connect(lambda m: w.statusBar().showMessage(m, 8000))
        self.console.busy_changed.connect(w.set_busy)  # a restore on a worker: the window holds its views
        self.console.restored.connect(lambda _t: w.set_engine(session.engine, ops=session.ops, run=session.run,
                                                             keep_view=True))
        cw = QWidget(None, Qt.WindowType.Window)
        cw.setObjectName("instructorConsoleWindow")
        cw.setWindowTitle(f"Instructor console — {sc.title} — {trainee}")
        lay = QVBoxLayout(cw)
        lay.setContentsMargins(4, 4, 4, 4)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("instructorConsoleSplit")
        split.addWidget(self.console)
        self.feed = TraineeFeedWidget(session)  # what the trainee does, as it happens
        split.addWidget(self.feed)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 180])
        lay.addWidget(split)
        cw.resize(900, 700)
        self.console_window = cw
        # the trainee's side: live score and the controls a drill may need
        self.score_panel = ScorePanelWidget(session)
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 0, 0)
        briefing = QLabel(f"<b>Briefing — {sc.title}</b><br>" + "<br>".join(
            html.escape(line) for line in (sc.briefing or "").strip().splitlines()))
        briefing.setObjectName("trainingBriefing")
        briefing.setWordWrap(True)
        briefing.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        side_lay.addWidget(briefing)
        side_lay.addWidget(self.score_panel, 1)
        self.briefing_label = briefing
        # the score beside the alarm and work-order tabs under the views, never under the charts: the charts
        # keep the whole height of their column (nine stacked charts in half a 1080-pixel screen are unreadable)
        self.score_dock = w._dock("Score", "scoreDock", _scrolled(side), Qt.DockWidgetArea.BottomDockWidgetArea)
        self.controls = TraineeControlsWidget(session)
        self.controls.acted.connect(lambda _r: w._after_user_action())
        self.controls_dock = w._dock("Trainee controls", "traineeControlsDock", _scrolled(self.controls),
                                     Qt.DockWidgetArea.LeftDockWidgetArea)
        # separate docks, never tabs of the charts: the trainee watches the charts while acting
        w.splitDockWidget(w.inspector_dock, self.controls_dock, Qt.Orientation.Vertical)
        w.charts_dock.setMinimumWidth(CHARTS_MIN_WIDTH)
        self._choose_charts()
        self._size_docks()
        w.statusBar().showMessage(f"Training: {sc.title} — read the briefing on the Score dock; Space to run",
                                  15000)
        self._clear_debrief_button()
        if w.isVisible():
            self._place_console()
        self.started.emit(session)
        return True

    def _choose_charts(self) -> None:
        """The drill's charts to the chart panel (built after the window's first paint: again at 1 Hz)."""
        charts = getattr(self.window, "charts", None)
        if charts is not None and self.chart_names and self._charts_told is not charts:
            charts.set_preferred(self.chart_names)
            self._charts_told = charts

    def _place_console(self) -> None:
        """The instructor's screen, or beside the trainee's window when the screen has room; on one screen the
        main window fills, a tab beside the alarms (the main window keeps its width for views and charts)."""
        w, cw = self.window, self.console_window
        how = console_home(w)
        if how == "docked":
            # its tables at a readable height in a strip a third of the screen high: the strip scrolls (and the
            # dock floats off as a window of its own by its title bar's button)
            self.console.set_compact(True)  # narrow and scrolling: its groups stacked, never cut at the side
            self.console.layout().activate()  # its stacked size, before the window's minimum is set from it
            cw.layout().activate()
            cw.setMinimumHeight(max(CONSOLE_DOCKED_MIN_HEIGHT, cw.minimumSizeHint().height()))
            self.console_dock = w._dock("Instructor console", "instructorConsoleDock", _scrolled(cw),
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
            w.tabifyDockWidget(w.work_orders_dock, self.console_dock)
            w.alarms_dock.raise_()  # the trainee's tab in front; the instructor's is one click (or Ctrl+I) away
        else:
            how = place_beside(cw, w)
            cw.show()
        self.console_placement = how
        self._size_docks()
        self._fit_score()
        QTimer.singleShot(0, self, self._size_docks)  # again once the new tabs are laid out (Qt sizes them late)

    def _fit_score(self) -> None:
        """The score beside the alarm tabs when the width under the views holds both; else (a 1366-pixel
        screen) a tab of their own, in front at the start for the briefing. Called once the window is shown."""
        w = self.window
        centre = w.width() - w.navigator_dock.width() - w.charts_dock.width()
        if centre >= w.alarms_dock.minimumSizeHint().width() + SCORE_MIN_WIDTH:
            return
        w.tabifyDockWidget(w.alarms_dock, self.score_dock)
        QTimer.singleShot(0, self.score_dock, self.score_dock.raise_)  # once the tab bar has the new tab

    def _size_docks(self) -> None:
        """Charts a quarter of the width (at least CHARTS_MIN_WIDTH) and their column's whole height, the left
        column wide enough for the trainee controls; under the views a third of the height, the alarm tabs beside
        the score (a new dock starts as a sliver)."""
        w = self.window
        if self.score_dock is None:  # the drill ended before a deferred call
            return
        width, height = max(1000, w.width()), max(600, w.height())
        w.resizeDocks([w.navigator_dock, w.charts_dock], [max(280, width * 15 // 100),
                                                           max(CHARTS_MIN_WIDTH, width * 26 // 100)],
                      Qt.Orientation.Horizontal)
        w.resizeDocks([w.alarms_dock, self.score_dock], [max(220, height * 30 // 100)] * 2, Qt.Orientation.Vertical)
        if self.score_dock in w.tabifiedDockWidgets(w.alarms_dock):
            return
        centre = max(600, width - w.charts_dock.width() - w.navigator_dock.width())
        w.resizeDocks([w.alarms_dock, self.score_dock], [centre * 60 // 100, centre * 40 // 100],
                      Qt.Orientation.Horizontal)

    def show_console(self) -> None:
        if self.console_window is not None:
            if not self.console_placement and self.window.isVisible():  # started before the window was shown
                self._place_console()
                if self.console_dock is not None:
                    return  # its tab is there; the trainee's alarms stay in front
            if self.console_dock is not None:
                self.console_dock.show()
                self.console_dock.raise_()
                return
            self.console_window.show()
            self.console_window.raise_()
            self.console_window.activateWindow()

    def refresh(self) -> None:
        """1 Hz from the window: live score and console."""
        if self.session is None:
            return
        self._choose_charts()
        if self.score_dock is not None and self.score_dock.isVisible():
            self.score_panel.refresh()
        if self.console_window is not None and self.console_window.isVisible():
            self.console.refresh()
            self.feed.refresh()

    # ------------------------------------------------------------------ replay
    def open_replay(self, log_path: str | None = None):
        """A window to open a past session and scrub its timeline; the main window's views and charts show
        the facility as it was at the chosen moment (the driver stays paused: a replay is not run)."""
        from .replay_widget import ReplayWidget

        store = None
        ws = getattr(self.window, "store", None)
        if ws is not None:
            from ...io.session_store import SessionStore
            try:
                store = SessionStore(ws.path)
            except Exception as e:  # the list of stored sessions is a convenience; logs open from files
                self.window.statusBar().showMessage(f"Stored sessions not listed: {e}", 10000)
        if self.session is not None:
            self.stop(write_report=not self.session.ended)
        self.replay = ReplayWidget(store)
        win = QWidget(None, Qt.WindowType.Window)
        win.setObjectName("replayWindow")
        win.setWindowTitle("Replay a training session")
        lay = QVBoxLayout(win)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.replay)
        win.resize(1000, 700)
        self.replay_window = win
        self.replay.opened.connect(self._on_replay_opened)
        self.replay.busy_changed.connect(self.window.set_busy)
        self.replay.seeked.connect(self._on_replay_seeked)
        if log_path is not None:
            self.replay.open_log(log_path)
        if self.window.isVisible():
            win.show()
        return self.replay

    def close_replay(self) -> None:
        """Close the replay window (the main window is closing)."""
        if self.replay_window is not None:
            if self.replay is not None and self.replay.task is not None:
                self.replay.task.cancel()
            self.replay_window.close()
            self.replay_window.deleteLater()
            self.replay_window = self.replay = None

    def _on_replay_opened(self, _path: str) -> None:
        self.window.driver.pause()
        self.window.set_engine(self.replay.engine, ops=self.replay.session.ops, run=self.replay.session.run)

    def _on_replay_seeked(self, _t: float) -> None:
        self.window.driver.pause()
        self.window.set_engine(self.replay.engine, ops=self.replay.session.ops, run=self.replay.session.run,
                               keep_view=True)
        self.window.refresh_views(force=True)

    # ------------------------------------------------------------------ end
    def end(self, reason: str = "ended by the instructor") -> list[Path]:
        if self.console is not None and self.session is not None and not self.session.ended:
            self.console.end_session(reason)  # emits session_ended -> the report is written
        return self.report_paths

    def _on_session_ended(self, score) -> None:
        self.window.driver.pause()
        self.report_paths = self._write_report()
        if self.report_paths:
            self.window.statusBar().showMessage(f"Session ended: score {score.total:.1f}/100", 30000)
            self._show_debrief_button()
        self.ended.emit(self.folder)

    # ------------------------------------------------------------------ the debrief after a drill
    def debrief_path(self) -> Path | None:
        if self.folder is None:
            return None
        p = self.folder / "report.html"
        return p if p.exists() else None

    def open_debrief(self) -> bool:
        """Open the last drill's report in the browser (the button in the status bar)."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        p = self.debrief_path()
        if p is None:
            self.window.statusBar().showMessage("No debrief report yet: end a drill first", 8000)
            return False
        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(p))))

    def _show_debrief_button(self) -> None:
        self._clear_debrief_button()
        b = QPushButton("Open debrief", objectName="openDebriefButton")
        b.setToolTip(f"The drill's report: timeline beside the reference, score breakdown, charts\n{self.folder}")
        b.clicked.connect(self.open_debrief)
        self.window.statusBar().addWidget(b)
        b.show()
        self.debrief_button = b

    def _clear_debrief_button(self) -> None:
        b = self.debrief_button
        if b is not None:
            self.window.statusBar().removeWidget(b)
            b.deleteLater()
        self.debrief_button = None

    def _write_report(self) -> list[Path]:
        try:
            paths = self.console.write_report(self.folder)
        except OSError as e:
            self.window._error_box("Report not written", f"{self.folder}: {e.strerror or e}")
            return []
        store = getattr(self.window, "store", None)
        if store is not None:
            try:
                from ...io.session_store import SessionStore
                with SessionStore(store.path) as ss:
                    ss.add_debrief(self.session.debrief(), log_path=self.folder / "session.jsonl",
                                   report_path=self.folder / "report.html")
            except Exception as e:  # the report is on disk; storing it is a convenience
                self.window.statusBar().showMessage(f"Session not stored in the workspace database: {e}", 15000)
        return paths

    def stop(self, write_report: bool = False) -> None:
        """Leave training mode (a new facility or session opened)."""
        if self.session is None:
            return
        if write_report and not self.session.ended:
            self.end("stopped: another facility or session was opened")
        if self.console is not None:
            self.console.detach()
        self.session.close()
        for dock in (self.score_dock, self.controls_dock, self.console_dock):
            if dock is not None:
                self.window.removeDockWidget(dock)
                dock.deleteLater()  # a docked console goes with its dock
        if self.console_window is not None and self.console_dock is None:
            self.console_window.close()
            self.console_window.deleteLater()
        self.window.charts_dock.setMinimumWidth(0)
        if self._charts_told is not None:
            self._charts_told.set_preferred(None)
            self._charts_told = None
        self.session = self.console = self.console_window = self.score_dock = self.controls_dock = None
        self.console_dock = None
        self.console_placement = ""

    def question_end(self) -> None:
        if not self.active:
            return
        if QMessageBox.question(self.window, "End the training session",
                                "End the session now and write the debrief report?") == \
                QMessageBox.StandardButton.Yes:
            self.end()


def _scrolled(widget: QWidget) -> QScrollArea:
    """A dock's content that scrolls instead of holding the window wider than a 1280-pixel screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40] or "trainee"
