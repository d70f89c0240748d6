"""The app on recorded DCGM telemetry: the main window over a :class:`ReplayEngine`, plus a time slider.

Loading runs on a ``QThreadPool`` worker behind a progress dialog with Cancel; the worker only reads files or
Prometheus and builds numpy arrays (it never touches a widget), and hands the engine back by queued signal.
The views, charts, alarm list and work-order board are the ordinary ones: the replay engine carries the
same arrays as the simulation. Play (Space) moves through the recording at the chosen speed; the slider
jumps to any sample.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime

from PySide6.QtCore import QEventLoop, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSlider,
    QToolBar,
    QWidget,
)

from ..sim.replay import ReplayEngine


class _Signals(QObject):
    progressed = Signal(float)
    finished = Signal(object)
    failed = Signal(str)


class _LoadTask(QRunnable):
    def __init__(self, facility, loader, signals: _Signals, cancel: threading.Event):
        super().__init__()
        self.facility, self.loader, self.signals, self.cancel = facility, loader, signals, cancel
        self.setAutoDelete(True)

    def run(self) -> None:
        from ..io.dcgm import Cancelled, TelemetryError
        try:
            rec = self.loader(progress=lambda f: self.signals.progressed.emit(0.9 * f),
                              cancelled=self.cancel.is_set)
            if self.cancel.is_set():
                raise Cancelled()
            if rec.n_samples == 0:
                raise TelemetryError(f"{rec.source}: no samples")
            eng = ReplayEngine(self.facility, rec)
            self.signals.progressed.emit(1.0)
            self.signals.finished.emit(eng)
        except Cancelled:
            self.signals.finished.emit(None)
        except (TelemetryError, ValueError, OSError) as e:
            self.signals.failed.emit(str(e))
        except BaseException as e:  # never leave the waiting dialog without an answer
            self.signals.failed.emit(f"{type(e).__name__}: {e}")


def load_replay(facility, loader, parent: QWidget | None = None) -> ReplayEngine | None:
    """Load with a progress dialog; None when the user cancelled. Raises ValueError with the message of a
    load that failed."""
    dlg = QProgressDialog("Loading GPU telemetry…", "Cancel", 0, 1000, parent)
    dlg.setObjectName("telemetryProgress")
    dlg.setWindowTitle("Colossus GUI — telemetry")
    dlg.setMinimumDuration(0)
    dlg.setAutoClose(False)
    dlg.setAutoReset(False)
    cancel = threading.Event()
    sig = _Signals()
    out: dict = {}
    loop = QEventLoop()

    def on_progress(f: float) -> None:
        dlg.setValue(int(f * 1000))

    def on_finished(eng) -> None:
        out["engine"] = eng
        loop.quit()

    def on_failed(msg: str) -> None:
        out["error"] = msg
        loop.quit()

    sig.progressed.connect(on_progress, Qt.ConnectionType.QueuedConnection)
    sig.finished.connect(on_finished, Qt.ConnectionType.QueuedConnection)
    sig.failed.connect(on_failed, Qt.ConnectionType.QueuedConnection)
    dlg.canceled.connect(cancel.set)
    dlg.show()
    QThreadPool.globalInstance().start(_LoadTask(facility, loader, sig, cancel))
    loop.exec()
    dlg.close()
    dlg.deleteLater()
    if "error" in out:
        raise ValueError(out["error"])
    return out.get("engine")


class TelemetrySliderWidget(QWidget):
    """Time slider over the recording's samples, with play/pause and the time of the shown sample."""

    seeked = Signal(float)

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("telemetrySlider")
        self.window_ = window
        eng: ReplayEngine = window.engine
        self.engine = eng
        self.play_button = QPushButton("Play", objectName="telemetryPlay")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="telemetryTime")
        self.slider.setRange(0, max(eng.recording.n_samples - 1, 0))
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.time_label = QLabel(objectName="telemetryTimeLabel")
        self.missing_label = QLabel(objectName="telemetryMissing")
        self.missing_label.setToolTip("GPUs with no temperature sample at this time: drawn hatched, 'n/a'")
        lay = QHBoxLayout(self)
        lay.addWidget(self.play_button)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.time_label)
        lay.addWidget(self.missing_label)
        window.driver.ticked.connect(self._on_driver_ticked)
        window.driver.running_changed.connect(self._on_driver_running_changed)
        self._sync()

    def seek_index(self, k: int) -> None:
        """Show sample ``k`` in every view."""
        eng = self.engine
        k = int(min(max(k, 0), eng.recording.n_samples - 1))
        self.window_.driver.pause()
        eng.seek(float(eng.rel_times_s[k]))
        ops = getattr(self.window_, "ops", None)
        if ops is not None:
            ops.step(0.0)
        self._sync()
        self.window_.refresh_views(force=True)
        self.window_.refresh_text()
        self.seeked.emit(eng.t)

    def _sync(self) -> None:
        eng = self.engine
        self.slider.blockSignals(True)
        self.slider.setValue(max(eng.index, 0))
        self.slider.blockSignals(False)
        t = eng.epoch0_s + eng.t
        self.time_label.setText(f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M:%S}Z  sample "
                                f"{eng.index + 1}/{eng.recording.n_samples}")
        n_missing = int(eng.gpu_missing().sum())
        self.missing_label.setText(f"no data: {n_missing:,} GPUs" if n_missing else "all GPUs reporting")
        self.missing_label.setProperty("alarmSeverity", "1" if n_missing else "0")

    def _on_slider_value_changed(self, v: int) -> None:
        self.seek_index(v)

    def _on_play_toggled(self, on: bool) -> None:
        d = self.window_.driver
        if on and self.engine.at_end:
            self.seek_index(0)
        d.set_running(on)

    def _on_driver_running_changed(self, running: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(running)
        self.play_button.setText("Pause" if running else "Play")
        self.play_button.blockSignals(False)

    def _on_driver_ticked(self) -> None:
        self._sync()
        if self.engine.at_end:
            self.window_.driver.pause()


def attach_metrics(win, port: int):
    """``--metrics-port``: serve the window's engine on 127.0.0.1:PORT, published at most twice a wall
    second from the UI thread (between steps), following the window to a newly opened facility.
    Raises MetricsError (a RuntimeError) with one line when the port cannot be used."""
    import time

    from ..io.metrics_endpoint import MetricsServer
    server = MetricsServer(win.engine, port)
    last = [0.0]

    def publish() -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5:
            last[0] = now
            server.publish()

    win.driver.ticked.connect(publish)
    win.engine_changed.connect(lambda: server.set_engine(win.engine))
    win.metrics_server = server
    return server


def open_replay_window(engine: ReplayEngine, dark: bool | None = None):
    """The main window over ``engine`` (paused at the first sample) with the time slider docked below."""
    from .main_window import MainWindow
    win = MainWindow(engine=engine, paused=True, dark=dark)
    win.telemetry_slider = TelemetrySliderWidget(win)
    bar = QToolBar("Telemetry replay", win)  # a toolbar spans the window's width, under the docks
    bar.setObjectName("telemetryBar")
    bar.setMovable(False)
    bar.addWidget(win.telemetry_slider)
    win.addToolBar(Qt.ToolBarArea.BottomToolBarArea, bar)
    win.telemetry_bar = bar
    win.setWindowTitle(f"Colossus GUI — telemetry replay: {engine.recording.source} on {engine.facility_name}")
    win.navigate(engine.topo.hall_names[0])  # what a recording is about: GPUs, not the simulated site
    return win


def main(facility, loader, dark: bool | None = None) -> int:
    """``colossus-gui telemetry``: load behind a progress bar, then the window. Exit 2 on a bad source."""
    from .theme import apply_theme
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "colossus-gui"])
    app.setApplicationName("Colossus GUI")
    app.setOrganizationName("ColossusGUI")
    apply_theme(app, True if dark is None else dark)
    try:
        eng = load_replay(facility, loader)
    except ValueError as e:
        print(f"colossus-gui: {e}", file=sys.stderr)
        QMessageBox.critical(None, "Cannot load the telemetry", str(e))
        return 2
    if eng is None:
        print("colossus-gui: telemetry loading cancelled", file=sys.stderr)
        return 1
    win = open_replay_window(eng, dark=dark)
    win.show()
    rc = app.exec()
    win.shutdown()
    win.deleteLater()
    app.processEvents()
    return int(rc)


def bench_open_s(facility, loader) -> tuple[float, float]:
    """(wall s, CPU s) from the command to a painted window: load behind the progress dialog, then the
    main window (``colossus-gui bench --gui``)."""
    import os
    import time
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([])
    t, c = time.perf_counter(), time.process_time()
    eng = load_replay(facility, loader)
    win = open_replay_window(eng)
    win.driver.set_timer_enabled(False)
    win.show()
    win.finish_startup()
    app.processEvents()
    win.repaint()
    dt, dc = time.perf_counter() - t, time.process_time() - c
    win.shutdown()
    win.deleteLater()
    app.processEvents()
    return dt, dc
