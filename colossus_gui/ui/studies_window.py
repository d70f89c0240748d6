"""The Studies window: open a study (bundled or a file), run it on a local Dask cluster from a worker thread,
watch progress, the aggregates and the response curve fill in, and open any run in the main window,
re-simulated exactly from its seed and parameters.

Data arrival is separate from redraw: the runner thread only writes results to the store and emits a queued
signal; a 1 Hz timer re-reads the store (its own read connection, WAL) and updates the table and curves, which
are made once and fed with ``setData``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QObject, QStandardPaths, QThread, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..io.loader import LoadError
from ..io.study_file import LoadedStudy, builtin_studies, load_study
from ..io.study_results import (
    StudyStore,
    StudyStoreError,
    collect,
    curve_series,
    figure_value,
    optimum,
    response_axis,
    young_daly_by_series,
)
from ..ops.study import StudyRunner, make_cluster, run_from_task

SERIES_PENS = ("#ef6c00", "#42a5f5", "#66bb6a", "#ab47bc", "#ffca28", "#26c6da")


class _RunnerWorker(QObject):
    """Runs a study in its own thread: makes the local cluster, runs, closes the cluster."""

    progressed = Signal(int, int, float)   # done, total, eta (s, or -1)
    finished = Signal(str)                 # '' or an error message

    def __init__(self, loaded: LoadedStudy, store_path: Path, workers: int, cluster_factory):
        super().__init__()
        self.loaded, self.store_path, self.workers = loaded, store_path, workers
        self.cluster_factory = cluster_factory
        self.runner: StudyRunner | None = None
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True
        if self.runner is not None:
            self.runner.cancel()

    def run(self) -> None:
        from distributed import Client
        err = ""
        store = cluster = client = None
        try:
            store = StudyStore(self.store_path)
            cluster = self.cluster_factory(self.workers)
            client = Client(cluster)
            self.runner = StudyRunner(self.loaded, store, client=client)
            if self._cancel:
                self.runner.cancel()

            def progress(p):
                self.progressed.emit(p.done, p.total, -1.0 if p.eta_s is None else p.eta_s)

            out = self.runner.run(progress)
            if out.failed:
                err = f"{len(out.failed)} run(s) failed: {out.failed[0][1]}"
        except Exception as e:  # noqa: BLE001 - shown to the user in the window
            err = f"{type(e).__name__}: {e}"
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
            if store is not None:
                store.close()
        self._home()
        self.finished.emit(err)

    def _home(self) -> None:
        # back to the GUI thread before the worker thread ends: the object is then deleted where it lives
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())


class _ResimWorker(QObject):
    """Re-simulates one run of a study (the same loop the workers ran) and hands the engine back."""

    progressed = Signal(float)
    finished = Signal(object, str)   # StudyRun or None, error

    def __init__(self, task: dict):
        super().__init__()
        self.task = task
        self._cancel = False

    def run(self) -> None:
        try:
            run = run_from_task(self.task, telemetry_capacity=min(int(self.task["duration_s"] / self.task["dt"]) + 2,
                                                                  86400))
            steps = int(round(self.task["duration_s"] / self.task["dt"]))
            chunk = max(1, steps // 100)
            done = 0
            while done < steps:
                if self._cancel:
                    self._home()
                    self.finished.emit(None, "cancelled")
                    return
                n = min(chunk, steps - done)
                run.advance(n)
                done += n
                self.progressed.emit(done / steps)
            self._home()
            self.finished.emit(run, "")
        except Exception as e:  # noqa: BLE001
            self._home()
            self.finished.emit(None, f"{type(e).__name__}: {e}")

    def _home(self) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())


def default_output_dir(name: str) -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or str(Path.home())
    return Path(base) / "studies" / name


class StudiesWindow(QMainWindow):
    """Open a study, run it on the local cluster, watch it fill in, open any run in the main window."""

    run_opened = Signal(object)   # the StudyRun shown in the main window

    def __init__(self, main_window=None, cluster_factory=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("studiesWindow")
        self.setWindowTitle("Studies — Colossus GUI")
        self.main_window = main_window
        self.cluster_factory = cluster_factory or (lambda n: make_cluster(n))
        self.loaded: LoadedStudy | None = None
        self.out_dir: Path | None = None
        self._reader: StudyStore | None = None
        self._thread: QThread | None = None
        self._worker: _RunnerWorker | None = None
        self._resim_thread: QThread | None = None
        self._resim: _ResimWorker | None = None
        self._dirty = False
        self._curves: list[tuple[pg.PlotDataItem, pg.PlotDataItem, pg.PlotDataItem, pg.FillBetweenItem]] = []
        self._marks: list[pg.InfiniteLine] = []
        self._run_keys: list[tuple[int, int]] = []
        self._build()
        self._timer = QTimer(self)
        self._timer.setObjectName("studiesRedrawTimer")
        self._timer.setInterval(1000)  # text and tables: 1 Hz is plenty for runs that take seconds to hours
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        w = QWidget()
        v = QVBoxLayout(w)
        top = QHBoxLayout()
        self.study_combo = QComboBox()
        self.study_combo.setObjectName("studyCombo")
        self.study_combo.addItems(list(builtin_studies()))
        self.study_combo.activated.connect(lambda _i: self.open_study(self.study_combo.currentText()))
        top.addWidget(QLabel("Study"))
        top.addWidget(self.study_combo, 1)
        self.open_button = QPushButton("Open file…")
        self.open_button.setObjectName("openStudyButton")
        self.open_button.clicked.connect(self._on_open_button_clicked)
        top.addWidget(self.open_button)
        top.addWidget(QLabel("Seeds"))
        self.seeds_spin = QSpinBox()
        self.seeds_spin.setObjectName("seedsSpin")
        self.seeds_spin.setRange(1, 100000)
        top.addWidget(self.seeds_spin)
        top.addWidget(QLabel("Workers"))
        self.workers_spin = QSpinBox()
        self.workers_spin.setObjectName("workersSpin")
        self.workers_spin.setRange(1, 64)
        self.workers_spin.setValue(2)
        top.addWidget(self.workers_spin)
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("runStudyButton")
        self.run_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopStudyButton")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        top.addWidget(self.run_button)
        top.addWidget(self.stop_button)
        v.addLayout(top)
        self.question_label = QLabel()
        self.question_label.setObjectName("questionLabel")
        self.question_label.setWordWrap(True)
        v.addWidget(self.question_label)
        prog = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setObjectName("studyProgress")
        self.eta_label = QLabel("")
        self.eta_label.setObjectName("etaLabel")
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.eta_label)
        v.addLayout(prog)
        split = QSplitter()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget()
        self.table.setObjectName("aggregatesTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        lv.addWidget(QLabel("Per grid point: mean ± 95 % confidence interval"))
        lv.addWidget(self.table, 2)
        self.runs_table = QTableWidget()
        self.runs_table.setObjectName("runsTable")
        self.runs_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.runs_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.runs_table.doubleClicked.connect(lambda _i: self.open_selected_run())
        lv.addWidget(QLabel("Runs (double-click to open one in the main window)"))
        lv.addWidget(self.runs_table, 2)
        self.open_run_button = QPushButton("Open run in main window")
        self.open_run_button.setObjectName("openRunButton")
        self.open_run_button.clicked.connect(self.open_selected_run)
        lv.addWidget(self.open_run_button)
        split.addWidget(left)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        self.figure_combo = QComboBox()
        self.figure_combo.setObjectName("figureCombo")
        self.figure_combo.currentIndexChanged.connect(lambda _i: self._rebuild_curves())
        rv.addWidget(self.figure_combo)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("responsePlot")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # goodput 0.74, not 740 x 0.001
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(10, 10))
        rv.addWidget(self.plot, 1)
        split.addWidget(right)
        split.setSizes([560, 640])
        v.addWidget(split, 1)
        self.setCentralWidget(w)
        self.statusBar().setObjectName("studiesStatusBar")
        self.resize(1280, 820)

    # ------------------------------------------------------------------ study
    def _on_open_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open study", "", "Study files (*.yaml *.yml *.json)")
        if path:
            self.open_study(path)

    def open_study(self, ref: str | Path, out_dir: str | Path | None = None) -> bool:
        """Load a study (a bundled name or a file). Bad file: a dialog with the one-line problem."""
        if self.running:
            self.statusBar().showMessage("Stop the running study first", 5000)
            return False
        try:
            loaded = load_study(ref)
        except LoadError as e:
            self._error("Cannot open study", e.problems[0])
            return False
        self.loaded = loaded
        self.out_dir = Path(out_dir) if out_dir is not None else default_output_dir(loaded.name)
        shown = loaded.name if loaded.name in builtin_studies() else str(loaded.path)
        if self.study_combo.findText(shown) < 0:
            self.study_combo.addItem(shown)
        self.study_combo.setCurrentIndex(self.study_combo.findText(shown))
        self.seeds_spin.setValue(loaded.seeds)
        st = loaded.study
        self.question_label.setText(f"<b>{st.title}</b> — {st.question.strip()}<br>{len(loaded.points)} grid "
                                    f"point(s), {loaded.duration_s / 3600:g} h per run; results in {self.out_dir}")
        self.figure_combo.blockSignals(True)
        self.figure_combo.clear()
        self.figure_combo.addItems(st.figures)
        self.figure_combo.blockSignals(False)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        try:
            self._reader = StudyStore(self.out_dir / "results.sqlite")
        except StudyStoreError as e:
            self._error("Results not readable", str(e))
        self._rebuild_curves()
        self._dirty = True
        self.refresh()
        self.setWindowTitle(f"Studies — {st.title}")
        return True

    def _error(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("studyErrorBox")
        box.open()
        self.last_error = text

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self.loaded is None or self.running:
            return
        if self.seeds_spin.value() != self.loaded.seeds:
            try:
                self.loaded = load_study(self.loaded.path, seeds=self.seeds_spin.value())
            except LoadError as e:  # the file changed on disk since it was opened
                self._error("Cannot open study", e.problems[0])
                return
        self._worker = _RunnerWorker(self.loaded, self.out_dir / "results.sqlite", self.workers_spin.value(),
                                     self.cluster_factory)
        self._thread = QThread(self)
        self._thread.setObjectName("studyRunnerThread")
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progressed.connect(self._on_worker_progressed)
        self._worker.finished.connect(self._on_worker_finished)
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.statusBar().showMessage(f"Starting a local cluster of {self.workers_spin.value()} worker(s)…")
        self._thread.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.statusBar().showMessage("Stopping: finished runs are kept; Run resumes")

    def _on_worker_progressed(self, done: int, total: int, eta: float) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)
        self.eta_label.setText(f"{done}/{total} runs" + (f", about {_hms(eta)} left" if eta >= 0 else ""))
        self.statusBar().showMessage("Running…")
        self._dirty = True

    def _on_worker_finished(self, err: str) -> None:
        thread = self._thread
        self._thread = None
        self._worker = None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self._dirty = True
        self.refresh()
        if err:
            self._error("Study stopped", err)
        self.statusBar().showMessage("Finished" if not err else "Stopped", 10000)

    def _on_timer_timeout(self) -> None:
        if self._dirty and self.isVisible():
            self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Re-read the store and update tables and curves (called at most once a second while running)."""
        self._dirty = False
        if self.loaded is None or self._reader is None:
            return
        per_point, aggs = collect(self.loaded, self._reader)
        st = self.loaded.study
        self.per_point, self.aggs = per_point, aggs
        cols = ["point", "runs", *st.figures] + (["pass share"] if st.pass_rule else [])
        self.table.setColumnCount(len(cols))
        self.table.setHorizontalHeaderLabels(cols)
        self.table.setRowCount(len(self.loaded.points))
        for i, (p, a) in enumerate(zip(self.loaded.points, aggs, strict=True)):
            cells = [p["label"], str(a["runs"])]
            for f in st.figures:
                s = a["figures"][f]
                cells.append("" if s["mean"] is None else f"{s['mean']:.5g}"
                             + (f" ± {s['ci95']:.2g}" if s["ci95"] is not None else ""))
            if st.pass_rule:
                cells.append("" if a["pass_share"] is None else f"{a['pass_share']:.0%}"
                             + (" ✓" if a["passed"] else ""))
            for c, text in enumerate(cells):
                self.table.setItem(i, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        if not self.running:  # what is stored, of what the study plans
            self.progress.setMaximum(max(1, len(self.loaded.points) * self.loaded.seeds))
            self.progress.setValue(min(self.progress.maximum(), sum(a["runs"] for a in aggs)))
        rows = [(r["point"], r["seed_index"], r) for pts in per_point for r in pts]
        rows.sort(key=lambda x: (x[0], x[1]))
        self._run_keys = [(p, k) for p, k, _ in rows]
        rcols = ["point", "seed #", "seed", *st.figures]
        self.runs_table.setColumnCount(len(rcols))
        self.runs_table.setHorizontalHeaderLabels(rcols)
        self.runs_table.setRowCount(len(rows))
        for i, (p, k, r) in enumerate(rows):
            vals = [self.loaded.points[p]["label"], str(k), str(r["seed"])]
            vals += ["" if (x := figure_value(r["summary"], f)) is None else f"{x:.5g}" for f in st.figures]
            for c, text in enumerate(vals):
                self.runs_table.setItem(i, c, QTableWidgetItem(text))
        self.runs_table.resizeColumnsToContents()
        self._update_curves()

    def _rebuild_curves(self) -> None:
        """Curves are made once per study and figure, then fed with setData."""
        for items in self._curves:
            for it in items:
                self.plot.removeItem(it)
        for line in self._marks:
            self.plot.removeItem(line)
        self._curves = []
        self._marks = []
        self.plot.getPlotItem().legend.clear()
        if self.loaded is None or not self.figure_combo.currentText():
            return
        xkey = response_axis(self.loaded)
        grid = self.loaded.study.grid
        n_series = 1 if xkey is None else len({(p["case"], tuple(str(v) for k, v in p["params"].items()
                                                                  if k in grid and k != xkey))
                                                for p in self.loaded.points})
        for i in range(n_series):
            colour = SERIES_PENS[i % len(SERIES_PENS)]
            mean = self.plot.plot([], [], pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6,
                                  symbolBrush=colour, name=f"series {i + 1}")
            lo = pg.PlotDataItem([], [], pen=pg.mkPen(colour, width=0.5))
            hi = pg.PlotDataItem([], [], pen=pg.mkPen(colour, width=0.5))
            c = pg.mkColor(colour)
            c.setAlpha(50)
            band = pg.FillBetweenItem(lo, hi, brush=c)
            for it in (lo, hi, band):
                self.plot.addItem(it)
            self._curves.append((mean, lo, hi, band))
            if xkey is not None and xkey.endswith("checkpoint_interval_s") and \
                    self.figure_combo.currentText() == "goodput":
                # the fitted optimum (solid) and Young/Daly from the same runs (dashed), per series
                for style, what in ((pg.QtCore.Qt.PenStyle.SolidLine, "optimum"),
                                    (pg.QtCore.Qt.PenStyle.DashLine, "Young/Daly")):
                    line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colour, width=1, style=style),
                                           label=what, labelOpts={"position": 0.95 - 0.16 * i - (0.07 if what != "optimum" else 0),
                                                      "color": colour})
                    line.setVisible(False)
                    self.plot.addItem(line)
                    self._marks.append(line)
        self.plot.setLabel("bottom", xkey or "grid point")
        self.plot.setLabel("left", self.figure_combo.currentText())

    def _update_curves(self) -> None:
        if self.loaded is None or not self._curves or not hasattr(self, "aggs"):
            return
        fig = self.figure_combo.currentText()
        xkey, series = curve_series(self.loaded, self.aggs, fig)
        if self._marks and xkey is not None:
            yd = young_daly_by_series(self.loaded, self.per_point, xkey)
            for i, (label, pts) in enumerate(series[: len(self._marks) // 2]):
                opt, ydl = optimum(pts), yd.get(label)
                for line, x, what in ((self._marks[2 * i], opt, "optimum"), (self._marks[2 * i + 1], ydl,
                                                                              "Young/Daly")):
                    line.setVisible(x is not None)
                    if x is not None:
                        line.setPos(x)
                        line.label.setFormat(f"{what} {x:.0f} s")
        legend = self.plot.getPlotItem().legend
        for i, (mean, lo, hi, _band) in enumerate(self._curves):
            if i < len(series):
                label, pts = series[i]
                xs = [p[0] for p in pts]
                mean.setData(xs, [p[1] for p in pts])
                lo.setData(xs, [p[2] for p in pts])
                hi.setData(xs, [p[3] for p in pts])
                mean.opts["name"] = label
                for sample, text in legend.items:
                    if sample.item is mean:
                        text.setText(label)
            else:
                for it in (mean, lo, hi):
                    it.setData([], [])

    def curve_data(self) -> list[tuple]:
        """(x, mean) arrays of the drawn curves (for tests and the status line)."""
        return [tuple(m.getData()) for m, *_ in self._curves]

    # ------------------------------------------------------------------ open a run
    def open_selected_run(self) -> bool:
        row = self.runs_table.currentRow()
        if self.loaded is None or row < 0 or row >= len(self._run_keys):
            self.statusBar().showMessage("Select a run first", 5000)
            return False
        point, seed_index = self._run_keys[row]
        return self.open_run(point, seed_index)

    def open_run(self, point: int, seed_index: int) -> bool:
        """Re-simulate run (point, seed) from its seed and parameters on a worker thread, then show its engine
        in the main window."""
        if self._resim_thread is not None or self.loaded is None:
            return False
        run = next(r for r in self.loaded.runs() if r.point == point and r.seed_index == seed_index)
        self._resim = _ResimWorker(run.task())
        self._resim_thread = QThread(self)
        self._resim_thread.setObjectName("studyResimThread")
        self._resim.moveToThread(self._resim_thread)
        self._resim_thread.started.connect(self._resim.run)
        self._resim_label = f"Re-simulating {self.loaded.points[point]['label']}, seed {seed_index}"
        # a bound method of this window (not a lambda): the slot runs in the GUI thread, queued
        self._resim.progressed.connect(self._on_resim_progressed)
        self._resim.finished.connect(self._on_resim_finished)
        self._resim_thread.start()
        return True

    def _on_resim_progressed(self, frac: float) -> None:
        self.statusBar().showMessage(f"{self._resim_label}: {frac:.0%}")

    def _on_resim_finished(self, run, err: str) -> None:
        thread = self._resim_thread
        self._resim_thread = None
        self._resim = None
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        if run is None:
            if err != "cancelled":
                self._error("Cannot re-simulate the run", err)
            return
        self.statusBar().showMessage(f"Opened the run in the main window (t = {run.engine.t / 3600:.2f} h)", 10000)
        if self.main_window is not None:
            self.main_window.seed = run.engine.seed
            self.main_window.set_engine(run.engine)
            self.main_window.show()
            self.main_window.raise_()
        self.run_opened.emit(run)

    # ------------------------------------------------------------------ teardown
    def shutdown(self) -> None:
        """Stop the runner and any re-simulation, wait for their threads, close the store (tests, close)."""
        self._timer.stop()
        if self._worker is not None:
            self._worker.cancel()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(120000)
            self._thread = None
        if self._resim is not None:
            self._resim._cancel = True
        if self._resim_thread is not None:
            self._resim_thread.quit()
            self._resim_thread.wait(120000)
            self._resim_thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)


def _hms(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
