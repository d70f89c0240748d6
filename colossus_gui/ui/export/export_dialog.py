"""File -> Export... (Ctrl+E), Save snapshot (Ctrl+Shift+S) and Open snapshot.

The main window calls three functions, each usable with plain widgets (tests pass bare ones):

- ``export_dialog(parent, engine, window, current_view_widget, charts)`` opens the ``ExportDialog``: a PNG of
  the whole window, the current view or a chart (1x or 2x, with a caption naming facility, address and
  simulated time), or a CSV (per rack, per GPU, events, a chart's data over the visible range or all of it;
  with ``ops=`` the OpsManager, alarms and work orders too).
- ``save_snapshot(parent, engine, driver)`` writes a bundle (io.bundle) with the views' images, showing a
  progress dialog with Cancel. The driver is paused while the bundle is written -- the engine must not move
  between the state file and the CSVs -- and resumed afterwards. The work runs in the GUI thread in chunks
  (the io layer reports progress and polls for cancel between files and every 25k GPUs); the images need
  the GUI thread anyway, and the data part takes well under a second.
- ``open_snapshot(parent)`` returns the reopened Engine, or None after telling the user what was wrong.

Every write is atomic (io.atomic, io.bundle): a full disk or an unwritable folder gives a message naming the
file and the problem, and leaves nothing half-written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...io import tables
from ...io.bundle import BundleError, Progress, open_bundle, read_ops_state, write_bundle
from ...sim.telemetry import FACILITY_CHANNELS
from ..sim_driver import format_clock
from . import render
from .render import make_caption, render_image, save_png

SETTINGS_ORG, SETTINGS_APP = "ColossusGUI", "colossus-gui"  # the main window's settings file
_memory: dict[str, str] = {}  # remembered folders when settings are off (tests, COLOSSUS_GUI_NO_SETTINGS)

# (key, label, file extension); PNG kinds take a scale
KINDS: tuple[tuple[str, str, str], ...] = (
    ("window_png", "Whole window (PNG)", "png"),
    ("view_png", "Current view (PNG)", "png"),
    ("chart_png", "Chart (PNG)", "png"),
    ("racks_csv", "Per-rack state (CSV)", "csv"),
    ("gpus_csv", "Per-GPU state (CSV)", "csv"),
    ("events_csv", "Events (CSV)", "csv"),
    ("chart_csv", "Chart data (CSV)", "csv"),
)
# Kinds that need the operations layer (``ops=``): listed after KINDS, greyed out without it.
OPS_KIND_SPECS: tuple[tuple[str, str, str], ...] = (
    ("alarms_csv", "Alarms (CSV)", "csv"),
    ("work_orders_csv", "Work orders (CSV)", "csv"),
)
OPS_KINDS = tuple(k for k, _, _ in OPS_KIND_SPECS)
ALL_KINDS = KINDS + OPS_KIND_SPECS
ALL_CHARTS = "all"


# ============================================================================================ helpers
def _settings() -> QSettings | None:
    if os.environ.get("COLOSSUS_GUI_NO_SETTINGS", "") in ("1", "true", "yes"):
        return None
    return QSettings(SETTINGS_ORG, SETTINGS_APP)


def remembered_folder(key: str) -> Path:
    s = _settings()
    val = s.value(f"export/{key}_folder", "") if s is not None else _memory.get(key, "")
    p = Path(str(val)) if val else Path.home()
    return p if p.is_dir() else Path.home()


def remember_folder(key: str, folder: Path) -> None:
    s = _settings()
    if s is not None:
        s.setValue(f"export/{key}_folder", str(folder))
    else:
        _memory[key] = str(folder)


def _stamp(engine) -> str:
    """Simulated time for file names: ``d0-00h30m00s``."""
    c = format_clock(engine.t)  # "0d 00:30:00"
    d, hms = c.split(" ")
    h, m, s = hms.split(":")
    return f"{d}-{h}h{m}m{s}s"


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-") or "colossus"


def describe_view(engine, widget: QWidget | None) -> str:
    """What a view shows, for captions and file names: 'hall H1', 'rack H1-R003', 'site' ..."""
    if widget is None:
        return "view"
    topo = engine.topo
    name = widget.objectName()
    if name == "hallView" and hasattr(widget, "hall"):
        return f"hall {topo.hall_names[int(widget.hall)]}"
    if name == "rackView" and getattr(widget, "rack", -1) >= 0:
        return f"rack {topo.rack_address(int(widget.rack))}"
    if name == "trayView" and getattr(widget, "tray", -1) >= 0:
        return f"tray {topo.tray_address(int(widget.tray))}"
    if name == "gpuHeatmapView":
        return "all GPUs"
    if name == "siteView":
        return "site"
    return name or type(widget).__name__


def _window_location(window) -> str:
    loc = getattr(window, "location", None)
    loc = loc() if callable(loc) else loc
    text = getattr(loc, "text", "") or getattr(loc, "kind", "")
    return f"window at {text}" if text else "window"


def _problem(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def _critical(parent, title: str, text: str) -> None:
    """One place for error boxes (tests patch QMessageBox.critical to read them)."""
    QMessageBox.critical(parent, title, text)


# ============================================================================================ charts
def chart_specs(charts) -> list:
    return list(getattr(charts, "specs", []) or [])


def chart_plot_widget(charts, name: str, width: int, height: int = 460, line_px: float = 1.5) -> pg.PlotWidget:
    """One chart of the panel as a standalone plot: same curves, colours, limit lines, event markers, title and
    time range, plus its own time axis (in the panel only the bottom chart carries one). Curves are drawn
    ``line_px`` device pixels wide: the panel's 1-px lines (chosen for redraw speed) look faint on paper."""
    from ..panels.charts import _COLORS, SimTimeAxisItem

    src = charts.plots[name]
    theme = _COLORS["dark" if getattr(charts, "_dark", True) else "light"]
    w = pg.PlotWidget(axisItems={"bottom": SimTimeAxisItem(orientation="bottom")})
    w.setObjectName("chartExportPlot")
    w.setBackground(theme["bg"])
    p = w.getPlotItem()
    p.hideButtons()
    fg = pg.mkColor(theme["fg"])
    for ax in ("left", "bottom"):
        p.getAxis(ax).setPen(fg)
        p.getAxis(ax).setTextPen(fg)
    p.getAxis("left").setWidth(56)
    for curve in charts.curves[name]:
        x, y = curve.getOriginalDataset()
        if x is None or y is None:
            continue
        pen = QPen(pg.mkPen(curve.opts["pen"]))
        pen.setWidthF(line_px)
        pen.setCosmetic(True)
        c = p.plot(x, y, pen=pen)
        c.setClipToView(True)
        c.setDownsampling(auto=True, method="peak")
    for line in list(charts.thresholds.get(name, [])) + list(charts.markers.get(name, [])):
        if line.isVisible():
            p.addItem(pg.InfiniteLine(pos=line.value(), angle=line.angle, pen=line.pen, movable=False),
                      ignoreBounds=True)
    (x0, x1), (y0, y1) = src.getViewBox().viewRange()
    p.setXRange(x0, x1, padding=0.0)
    p.setYRange(y0, y1, padding=0.0)
    p.setTitle(getattr(src.titleLabel, "text", ""), size="10pt")
    w.resize(width, height)
    return w


# ============================================================================================ ops rows
def alarm_rows(ops) -> list[dict]:
    """Every alarm of the workspace: the database's history (earlier sessions), overlaid by this session's
    alarms, current and archived (fresher than what the database last saw)."""
    rows: dict[int, dict] = {}
    if getattr(ops, "store", None) is not None:
        rows.update((r["id"], r) for r in ops.store.alarms(run_id=ops.run_id, until_t=ops.t))
    for a in list(ops.alarms.history) + ops.alarms.alarms(include_shelved=True):
        rows[a.id] = a.to_row()
    return [rows[i] for i in sorted(rows)]


def work_order_rows(ops) -> list[dict]:
    """Every work order of the workspace: the database's (all sessions) overlaid by the live ones."""
    rows: dict[int, dict] = {}
    if getattr(ops, "store", None) is not None:
        rows.update((r["id"], r) for r in ops.store.work_orders(run_id=ops.run_id, until_t=ops.t))
    for wo in ops.work_orders.values():
        rows[wo.id] = wo.to_row()
    return [rows[i] for i in sorted(rows)]


# ============================================================================================ dialog
class ExportDialog(QDialog):
    """Choose what to export, at which scale, where; then write it. ``export()`` does the writing."""

    exported = Signal(str)

    def __init__(self, engine, window: QWidget | None = None, current_view: QWidget | None = None,
                 charts=None, parent: QWidget | None = None, ops=None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.engine = engine
        self.window_widget = window
        self.current_view = current_view
        self.charts = charts
        self.ops = ops  # OpsManager: alarms and work orders (their kinds are greyed out without it)
        self.last_path: Path | None = None
        self._auto_name = True

        self.kind_combo = QComboBox(self)
        self.kind_combo.setObjectName("exportKindCombo")
        self.kind_combo.setToolTip("What to export")
        model = self.kind_combo.model()
        for key, label, _ in ALL_KINDS:
            self.kind_combo.addItem(label, key)
            ok = {"window_png": window is not None, "view_png": current_view is not None,
                  "chart_png": bool(chart_specs(charts)), "chart_csv": True,
                  "alarms_csv": ops is not None, "work_orders_csv": ops is not None}.get(key, True)
            if not ok:  # greyed out, with the reason in its tooltip
                item = model.item(self.kind_combo.count() - 1)
                item.setEnabled(False)
                item.setToolTip("not available here" if key not in OPS_KINDS
                                else "needs the alarms and work orders of a running facility window")
        self.chart_combo = QComboBox(self)
        self.chart_combo.setObjectName("exportChartCombo")
        self.chart_combo.setToolTip("Which chart (its data in the CSV, or its picture in the PNG)")
        self.chart_combo.addItem("All charts", ALL_CHARTS)
        for spec in chart_specs(charts):
            self.chart_combo.addItem(spec.title, spec.name)
        self.range_combo = QComboBox(self)
        self.range_combo.setObjectName("exportRangeCombo")
        self.range_combo.setToolTip("Chart data: the time range the charts show now, or everything recorded")
        self.range_combo.addItem("Visible range", "visible")
        self.range_combo.addItem("All recorded", "all")
        if charts is None:
            self.range_combo.setCurrentIndex(1)
        self.scale_combo = QComboBox(self)
        self.scale_combo.setObjectName("exportScaleCombo")
        self.scale_combo.setToolTip("Image resolution: as on screen, or twice as many pixels each way")
        self.scale_combo.addItem("Screen (1x)", 1)
        self.scale_combo.addItem("Double (2x)", 2)
        self.path_edit = QLineEdit(self)
        self.path_edit.setObjectName("exportPathEdit")
        self.path_edit.setToolTip("The file to write (replaced atomically if it exists)")
        self.path_edit.textEdited.connect(self._on_path_edit_edited)
        browse = QPushButton("Browse…", self)
        browse.setObjectName("exportBrowseButton")
        browse.clicked.connect(self._on_browse_clicked)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.note_label = QLabel(self)
        self.note_label.setObjectName("exportNoteLabel")
        self.note_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Export", self.kind_combo)
        form.addRow("Chart", self.chart_combo)
        form.addRow("Time range", self.range_combo)
        form.addRow("Resolution", self.scale_combo)
        form.addRow("File", path_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.note_label)
        lay.addWidget(self.buttons)

        self.kind_combo.currentIndexChanged.connect(self._on_choice_changed)
        self.chart_combo.currentIndexChanged.connect(self._on_choice_changed)
        first = 1 if current_view is not None else next(i for i, (k, _, _) in enumerate(KINDS) if k.endswith("csv"))
        self.kind_combo.setCurrentIndex(first)
        self._on_choice_changed()
        self.resize(560, self.sizeHint().height())

    # ---------------------------------------------------------------------------------------- choices
    @property
    def kind(self) -> str:
        return self.kind_combo.currentData()

    def set_kind(self, key: str) -> None:
        i = self.kind_combo.findData(key)
        if i < 0:
            raise ValueError(f"unknown export kind {key!r}")
        self.kind_combo.setCurrentIndex(i)

    def set_chart(self, name: str) -> None:
        i = self.chart_combo.findData(name)
        if i < 0:
            raise ValueError(f"no chart {name!r}")
        self.chart_combo.setCurrentIndex(i)

    def set_path(self, path: str | Path) -> None:
        self.path_edit.setText(str(path))
        self._auto_name = False

    def _ext(self) -> str:
        return next(ext for k, _, ext in ALL_KINDS if k == self.kind)

    def _on_choice_changed(self, *_):
        kind = self.kind
        png = kind.endswith("png")
        self.scale_combo.setEnabled(png)
        self.chart_combo.setEnabled(kind in ("chart_png", "chart_csv") and bool(chart_specs(self.charts)))
        self.range_combo.setEnabled(kind == "chart_csv" and self.charts is not None)
        notes = {
            "window_png": "The whole window as it is now, with a caption (facility, place, simulated time).",
            "view_png": f"The current view ({describe_view(self.engine, self.current_view)}) with a caption.",
            "chart_png": "The charts as shown (all of them, or one with its own time axis).",
            "racks_csv": f"{self.engine.n_racks:,} racks: temperatures, power, water, pumps, fans, service.",
            "gpus_csv": f"{self.engine.n_gpus:,} GPUs: junction and plate temperature, power, clock, state.",
            "events_csv": f"{len(self.engine.events):,} events: faults, repairs, throttling, interruptions, work orders.",
            "chart_csv": "Simulated seconds, ISO time and each curve in its unit, at full precision.",
            "alarms_csv": "Alarms: rule, component, severity, state, raised/acked/cleared times (simulated s and "
                          "ISO), value and limit with their unit, detail; this session and the workspace history.",
            "work_orders_csv": "Work orders: target, fault, priority, state, times (simulated s and ISO), "
                               "technician, parts, notes, step count, repair time; with the workspace history.",
        }
        self.note_label.setText(notes[kind])
        if self._auto_name:
            folder = Path(self.path_edit.text()).parent if self.path_edit.text() else remembered_folder("export")
            self.path_edit.setText(str(folder / self.default_name()))

    def default_name(self) -> str:
        kind = self.kind
        what = {"window_png": "window", "view_png": describe_view(self.engine, self.current_view),
                "racks_csv": "racks", "gpus_csv": "gpus", "events_csv": "events", "alarms_csv": "alarms",
                "work_orders_csv": "work-orders"}.get(kind)
        if what is None:  # a chart
            c = self.chart_combo.currentData()
            what = "charts" if c in (None, ALL_CHARTS) else f"chart-{c}"
            if kind == "chart_csv":
                what += "-data"
        return _safe_name(f"{self.engine.facility.name}-{what}-{_stamp(self.engine)}") + "." + self._ext()

    def _on_path_edit_edited(self, _text: str) -> None:
        self._auto_name = False

    def _on_browse_clicked(self) -> None:
        ext = self._ext()
        flt = "PNG image (*.png)" if ext == "png" else "CSV table (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), flt)
        if path:
            if not path.lower().endswith("." + ext):
                path += "." + ext
            self.set_path(path)

    def _on_buttons_accepted(self) -> None:
        if self.export() is not None:
            self.accept()

    # ---------------------------------------------------------------------------------------- writing
    def export(self) -> Path | None:
        """Write the chosen export. Returns the path, or None after telling the user what went wrong."""
        text = self.path_edit.text().strip()
        if not text:
            _critical(self, "Export", "Choose a file to write.")
            return None
        path = Path(text).expanduser()
        if not path.parent.is_dir():
            _critical(self, "Export failed", f"{path}: the folder {path.parent} does not exist. Nothing was written.")
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self._write(path)
        except (OSError, ValueError) as e:
            _critical(self, "Export failed", f"{path}: {_problem(e)}. Nothing was written.")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        remember_folder("export", path.parent)
        self.last_path = path
        self.exported.emit(str(path))
        return path

    def _write(self, path: Path) -> None:
        eng, kind = self.engine, self.kind
        scale = int(self.scale_combo.currentData())
        if kind == "window_png":
            save_png(render_image(self.window_widget, make_caption(eng, _window_location(self.window_widget)),
                                  scale), path)
        elif kind == "view_png":
            what = describe_view(eng, self.current_view)
            save_png(render_image(self.current_view, make_caption(eng, what), scale), path)
        elif kind == "chart_png":
            self._write_chart_png(path, scale)
        elif kind == "racks_csv":
            tables.write_rack_csv(eng, path)
        elif kind == "gpus_csv":
            tables.write_gpu_csv(eng, path)
        elif kind == "events_csv":
            tables.write_events_csv(eng, path)
        elif kind == "chart_csv":
            self._write_chart_csv(path)
        elif kind in OPS_KINDS:
            if self.ops is None:
                raise ValueError("alarms and work orders are not available here (no operations layer)")
            if kind == "alarms_csv":
                tables.write_alarms_csv(eng, path, alarm_rows(self.ops))
            else:
                tables.write_work_orders_csv(eng, path, work_order_rows(self.ops))
        else:  # pragma: no cover - the combo holds only ALL_KINDS
            raise ValueError(f"unknown export kind {kind!r}")

    def _write_chart_png(self, path: Path, scale: int) -> None:
        charts, eng = self.charts, self.engine
        name = self.chart_combo.currentData()
        if name in (None, ALL_CHARTS):
            if charts.isVisible() and charts.width() > 0:
                img = render_image(charts, make_caption(eng, "charts"), scale)
            else:  # docked away: draw the same panel off screen
                views = render.OffscreenViews(eng, width=1600, height=1000)
                try:
                    w = views.widget("charts")
                    if getattr(charts, "range_s", None) is not None:
                        w.set_range(charts.range_s)
                    img = render_image(w, make_caption(eng, "charts"), scale)
                finally:
                    views.close()
        else:
            title = next(s.title for s in chart_specs(charts) if s.name == name)
            w = chart_plot_widget(charts, name, max(900, charts.width()), line_px=1.5 * scale)
            try:
                render.prepare_offscreen(w, w.width(), w.height())
                img = render_image(w, make_caption(eng, f"chart: {title}"), scale)
            finally:
                w.close()
                w.deleteLater()
        save_png(img, path)

    def _chart_range(self) -> tuple[float | None, float | None]:
        if self.range_combo.currentData() != "visible" or self.charts is None:
            return None, None
        (x0, x1), _ = self.charts.master.getViewBox().viewRange()
        return float(x0), float(x1)

    def chart_channels(self) -> list[str]:
        """Telemetry channels of the chosen chart (every facility channel for 'All charts')."""
        name = self.chart_combo.currentData()
        specs = chart_specs(self.charts)
        if name in (None, ALL_CHARTS) or not specs:
            return [c for c in FACILITY_CHANNELS if c != "t_s"]
        spec = next(s for s in specs if s.name == name)
        return [c.key for c in spec.curves]

    def _write_chart_csv(self, path: Path) -> None:
        name = self.chart_combo.currentData()
        rack = getattr(self.charts, "rack", None)
        if name == "water" and rack is not None:  # the chart follows one rack: its own 10-s telemetry
            tables.write_rack_history_csv(self.engine, path, int(rack))
            return
        spec = next((s for s in chart_specs(self.charts) if s.name == name), None)
        source = getattr(spec, "source", "facility")
        if source in ("fabric", "storage"):  # the part's own series, every channel it records
            from ...io import network_tables
            (network_tables.write_fabric_csv if source == "fabric" else network_tables.write_storage_csv)(
                self.engine, path)
            return
        t0, t1 = self._chart_range()
        tables.write_chart_csv(self.engine, path, self.chart_channels(), t0, t1)


def export_dialog(parent: QWidget | None, engine, window: QWidget | None = None,
                  current_view_widget: QWidget | None = None, charts=None, ops=None) -> ExportDialog:
    """Open the export dialog (window-modal, non-blocking) and return it. ``ops``: the OpsManager, for the
    alarms and work-orders CSVs."""
    dlg = ExportDialog(engine, window, current_view_widget, charts, parent, ops=ops)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.open()
    return dlg


# ============================================================================================ snapshots
def default_snapshot_name(engine) -> str:
    return _safe_name(f"{engine.facility.name}-snapshot-{_stamp(engine)}") + ".zip"


def _snapshot_target(parent: QWidget | None, engine, path, window):
    """(path, window) of a snapshot: ``path`` as given or asked for (None if the user cancels), and the window
    to picture (default: the parent's main window, when shown)."""
    if path is None:
        start = remembered_folder("snapshot") / default_snapshot_name(engine)
        chosen, flt = QFileDialog.getSaveFileName(parent, "Save snapshot", str(start),
                                                  "Snapshot zip (*.zip);;Snapshot folder (*)")
        if not chosen:
            return None
        if flt.startswith("Snapshot zip") and not chosen.lower().endswith(".zip"):
            chosen += ".zip"
        path = chosen
    if window is None and parent is not None and isinstance(parent.window(), QMainWindow) \
            and parent.window().isVisible():
        window = parent.window()
    return Path(path).expanduser(), window


def save_snapshot(parent: QWidget | None, engine, driver=None, path: str | Path | None = None,
                  window: QWidget | None = None, images: bool = True, ops=None) -> Path | None:
    """Write a snapshot bundle (a folder, or a .zip when the name ends so) with a progress dialog.

    Asks for the target unless ``path`` is given. The driver is paused while writing and resumed after.
    ``window``: also include a picture of it (default: the parent's main window, when shown).
    ``ops``: also include the alarms and work orders (CSV).
    Returns the bundle's path, or None if cancelled or failed (the user has been told why)."""
    target = _snapshot_target(parent, engine, path, window)
    if target is None:
        return None
    path, window = target

    window_image = None
    if images and window is not None:  # drawn before pausing: the picture shows the window as the user saw it
        window_image = render_image(window, make_caption(engine, _window_location(window)))
    was_running = bool(driver is not None and getattr(driver, "running", False))
    if was_running:
        driver.pause()  # the engine must stand still between the state file and the last CSV
    progress = QProgressDialog("Writing the snapshot…", "Cancel", 0, 1000, parent)
    progress.setObjectName("snapshotProgressDialog")
    progress.setWindowTitle("Save snapshot")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(400)  # shown only if it takes a while (the usual bundle takes ~1-2 s)
    progress.setAutoClose(False)
    progress.setAutoReset(False)
    progress.setValue(0)

    def report(frac: float, label: str) -> None:
        progress.setLabelText(f"Writing the snapshot: {label}…")
        progress.setValue(int(frac * 1000))

    def cancelled() -> bool:
        QApplication.processEvents()  # the Cancel button, repaints; the driver is paused, so no steps
        return progress.wasCanceled()

    try:
        writers = {}
        if ops is not None:
            a_rows, w_rows = alarm_rows(ops), work_order_rows(ops)
            writers["alarms.csv"] = ("alarm history: raised, acknowledged, cleared (CSV)",
                                     lambda p: tables.write_alarms_csv(engine, p, a_rows))
            writers["work_orders.csv"] = ("work orders with their states, technicians, parts and times (CSV)",
                                          lambda p: tables.write_work_orders_csv(engine, p, w_rows))
        if images:
            if window_image is not None:
                writers["window.png"] = ("the application window as it was when the snapshot was taken",
                                         lambda p: save_png(window_image, p))
            writers.update(render.bundle_png_writers(engine))
        ops_state = ops.state_dict() if ops is not None else None
        out = write_bundle(engine, path, png_writers=writers, progress=Progress(report, cancelled),
                           ops_state=ops_state)
    except InterruptedError:
        return None
    except BundleError as e:
        _critical(parent, "Snapshot not saved", str(e))
        return None
    except (OSError, ValueError) as e:  # a writer failing outside write_bundle's own net
        _critical(parent, "Snapshot not saved", f"{path}: {_problem(e)}. Nothing was written.")
        return None
    finally:
        progress.close()
        progress.deleteLater()
        if was_running:
            driver.start()
    remember_folder("snapshot", out.parent)
    return out


def save_snapshot_async(parent: QWidget | None, engine, driver=None, path: str | Path | None = None,
                        window: QWidget | None = None, images: bool = True, ops=None, on_done=None):
    """``save_snapshot`` with the writing on a worker thread: the pictures are drawn first (on the UI thread,
    one view at a time), then the state, CSVs and PNG files are written by the thread pool with a progress
    dialog and Cancel. The driver stays paused until the bundle is written. ``on_done(path or None)``.
    Returns the task (None if the user cancelled the file dialog)."""
    from ..long_task import start_task
    from .render import BUNDLE_IMAGES, OffscreenViews, render_image

    target = _snapshot_target(parent, engine, path, window)
    if target is None:
        return None
    path, window = target
    was_running = bool(driver is not None and getattr(driver, "running", False))
    if was_running:
        driver.pause()  # the engine stands still until the last file is written
    writers: dict = {}
    if images:
        if window is not None:
            img = render_image(window, make_caption(engine, _window_location(window)))
            writers["window.png"] = ("the application window as it was when the snapshot was taken",
                                     lambda p, im=img: save_png(im, p))
        views = OffscreenViews(engine)
        try:
            for key, (name, _, desc) in BUNDLE_IMAGES.items():
                w = views.widget(key)
                QApplication.sendPostedEvents()
                from .render import ZOOM
                im = render_image(w, views.caption(key), scale=ZOOM.get(key, 1), dark=views.dark)
                views.discard(key)
                writers[name] = (desc, lambda p, im=im: save_png(im, p))  # QImage saves off the UI thread
        finally:
            views.close()
    ops_state = None
    if ops is not None:
        a_rows, w_rows = alarm_rows(ops), work_order_rows(ops)
        writers["alarms.csv"] = ("alarm history: raised, acknowledged, cleared (CSV)",
                                 lambda p: tables.write_alarms_csv(engine, p, a_rows))
        writers["work_orders.csv"] = ("work orders with their states, technicians, parts and times (CSV)",
                                      lambda p: tables.write_work_orders_csv(engine, p, w_rows))
        ops_state = ops.state_dict()

    def work(report, cancelled):
        return write_bundle(engine, path, png_writers=writers, progress=Progress(report, cancelled),
                            ops_state=ops_state)

    def finish(out):
        if was_running:
            driver.start()
        if out is not None:
            remember_folder("snapshot", out.parent)
        if on_done is not None:
            on_done(out)

    def failed(e):
        if isinstance(e, BundleError):
            _critical(parent, "Snapshot not saved", str(e))
        elif isinstance(e, (OSError, ValueError)):
            _critical(parent, "Snapshot not saved", f"{path}: {_problem(e)}. Nothing was written.")
        elif not isinstance(e, InterruptedError):
            finish(None)
            raise e
        finish(None)

    return start_task(work, parent, "Save snapshot", "Writing the snapshot…", finish, failed)


def open_snapshot(parent: QWidget | None, path: str | Path | None = None, with_ops: bool = False):
    """Ask for a snapshot (its .zip, or manifest.json inside its folder) and reopen it.
    Returns the new Engine (with ``with_ops``: the engine and the operations state the bundle carries, or
    None for it), or None (cancelled, or the user was told what is wrong; nothing changed)."""
    if path is None:
        chosen, _ = QFileDialog.getOpenFileName(
            parent, "Open snapshot", str(remembered_folder("snapshot")),
            "Snapshots (*.zip manifest.json);;All files (*)")
        if not chosen:
            return None
        path = chosen
    path = Path(path).expanduser()
    if path.name == "manifest.json":
        path = path.parent
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        engine = open_bundle(path)
        ops_state = read_ops_state(path) if with_ops else None
    except BundleError as e:
        _critical(parent, "Cannot open snapshot", str(e))
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:  # a damaged file the io layer did not foresee
        _critical(parent, "Cannot open snapshot", f"{path}: not a usable snapshot ({_problem(e)})")
        return None
    finally:
        QApplication.restoreOverrideCursor()
    remember_folder("snapshot", path.parent)
    return (engine, ops_state) if with_ops else engine


__all__ = ["ExportDialog", "export_dialog", "save_snapshot", "open_snapshot", "describe_view", "KINDS",
           "chart_plot_widget", "alarm_rows", "work_order_rows", "OPS_KINDS", "ALL_KINDS"]
