"""The facility window: views (site, hall, all GPUs, rack, tray), navigator, inspector, charts, event log,
toolbar and status bar, driven in real time by a :class:`SimDriver`.

The window composes rooms with one job each: the view stack (``view_stack.py``: the views in their tabs),
navigation and history (``navigation.py``: go to an address, back/forward, breadcrumbs, the address box) and
refresh scheduling (``refresh_scheduler.py``: the driver advances the engine at ~30 Hz; the visible view and the
charts redraw at most at 10 Hz and only when something changed; text at 1 Hz; hidden views and docks do no work).
"""

from __future__ import annotations

import os
import platform
import sqlite3
import time
import traceback

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..io.loader import LoadError, check_scenario_targets, load_facility, load_scenario
from ..io.ops_loader import load_ops_config
from ..model.addresses import Address, AddressError
from ..model.faults import FAULTS
from ..ops.run import Run
from ..ops.workflow import OpsManager
from ..sim.engine import Engine, SimError
from ..sim.health import failed_part_count
from .figures import status_speed_text, swing, swing_text
from .navigation import Navigation
from .panels.alarm_panel import AlarmPanelWidget
from .panels.event_log import EventLogView
from .panels.inspector import InspectorWidget
from .panels.navigator import NavigatorWidget
from .panels.work_order_panel import WorkOrderPanelWidget
from .refresh_scheduler import REDRAW_MS, RefreshScheduler
from .sim_driver import SPEED_PRESETS, SimDriver, format_clock
from .theme import set_severity
from .view_stack import DEFERRED_VIEWS, ViewStack, is_built
from .view_stack import call_view as _call
from .views.view_factory import SPECS, attach_alarms, build_view
from .window_placement import default_dock_widths

LAYOUT_VERSION = 2   # bump when docks change: an older saved layout is then ignored, not half-applied
KEYFRAME_EVERY_S = 60.0  # a keyframe of the whole run every simulated minute (seek, backtrack, reopen)
SETTINGS_ORG, SETTINGS_APP = "ColossusGUI", "colossus-gui"

# Parameters and labels of the faults the context menu injects: from the fault registry (model/faults.py).
FAULT_DEFAULTS: dict[str, dict] = {k: ft.menu_values() for k, ft in FAULTS.items() if ft.params}
FAULT_LABELS: dict[str, str] = {k: ft.menu_label() for k, ft in FAULTS.items()}
# The views (class, tab, signals): ui/view_factory.py
VIEW_SPECS = SPECS


def settings_enabled() -> bool:
    return os.environ.get("COLOSSUS_GUI_NO_SETTINGS", "") not in ("1", "true", "yes")


def fault_options(engine, address: str) -> list[tuple[str | None, str, str, str, dict]]:
    """Fault menu entries valid for ``address``: (submenu or None, label, kind, target, params).

    A rack offers its pumps, door fans and a coolant leak; a tray offers its GPUs (GPU and HBM failure),
    PSUs and NICs; site components offer what the fault registry (model/faults.py) allows for their kind."""
    topo = engine.topo
    if address.upper() == "SITE":
        a = Address("site", 0, text="SITE")
    else:
        a = topo.parse(address)
    out: list[tuple[str | None, str, str, str, dict]] = []
    if a.kind in ("rack", "cdu", "rdhx"):
        r = a.index
        ra = topo.rack_address(r)
        if a.kind in ("rack", "cdu"):
            for p in range(topo.pumps_per_cdu):
                out.append((None, f"Pump failure P{p + 1}", "pump_failure", topo.pump_address(r, p), {}))
        if a.kind in ("rack", "rdhx"):
            for f in range(topo.fans_per_door):
                out.append(("Door fan failure", f"F{f + 1}", "fan_failure", topo.fan_address(r, f), {}))
        if a.kind in ("rack", "cdu"):
            out.append((None, "Coolant leak", "coolant_leak", ra, {}))
        return out
    if a.kind == "tray":
        ta = a.text
        for kind in ("gpu_failure", "hbm_failure"):
            for g in range(topo.gpus_per_tray):
                out.append((FAULT_LABELS[kind], f"G{g + 1}", kind, f"{ta}-G{g + 1}", {}))
        for p in range(topo.psus_per_tray):
            out.append(("PSU failure", f"PSU{p + 1}", "psu_failure", f"{ta}-PSU{p + 1}", {}))
        out.append((None, "NIC failure (tray)", "nic_failure", ta, {}))
        out.append((None, FAULT_LABELS["frontend_nic_failure"], "frontend_nic_failure", f"{ta}-FE", {}))
        return out
    for kind, ft in FAULTS.items():
        if a.kind in ft.targets:
            out.append((None, FAULT_LABELS[kind], kind, a.text, dict(FAULT_DEFAULTS.get(kind, {}))))
    for kind, ft in FAULTS.items():  # site-wide what-ifs are offered on site parts too
        if a.kind in ft.menu and "site" in ft.targets:
            out.append((None, FAULT_LABELS[kind], kind, "GRID", dict(FAULT_DEFAULTS.get(kind, {}))))
    return out


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(rows), 2, self)
        table.setObjectName("shortcutsTable")
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, (keys, what) in enumerate(rows):
            table.setItem(i, 0, QTableWidgetItem(keys))
            table.setItem(i, 1, QTableWidgetItem(what))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
        self.table = table
        self.resize(520, min(720, 80 + 26 * len(rows)))


class MainWindow(QMainWindow):
    """The application window. ``MainWindow(facility, seed)`` builds an engine; ``engine=`` reuses one."""

    engine_changed = Signal()
    location_changed = Signal(str)

    def __init__(self, facility=None, seed: int = 0, scenario=None, engine: Engine | None = None,
                 speed: float = 1.0, paused: bool = False, dark: bool | None = None,
                 facility_ref: str | None = None, defer_heavy: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.seed = int(seed)
        self.facility_ref = facility_ref
        if engine is None:
            if facility is None:
                facility = load_facility("colossus")
            engine = Engine(facility, seed=self.seed, scenario=scenario)
        self.engine = engine
        self.settings = QSettings(SETTINGS_ORG, SETTINGS_APP) if settings_enabled() else None
        if dark is None:
            dark = True
            if self.settings is not None:
                dark = str(self.settings.value("theme", "dark")) != "light"
        self.dark = dark
        self._last_error_dialog: QMessageBox | None = None
        self.frame_count = 0
        self.charts = None
        self._startup_done = False
        self.ops: OpsManager | None = None
        self._ops_external = False
        self.training = None  # TrainingController, made on first use
        self.store = None
        self.ops_config = load_ops_config()
        self.studies_window = None

        self.run = Run(engine, keyframes=False)  # replaced by set_engine with the run of engine + operations
        self.driver = SimDriver(self.run, speed=speed, parent=self)
        self.driver.ticked.connect(self._on_driver_ticked)
        self.driver.running_changed.connect(self._on_driver_running_changed)
        self.driver.speed_changed.connect(self._on_driver_speed_changed)

        self.refresh = RefreshScheduler(self, self._draw_frame, self._draw_text)
        self._build_views(defer_heavy)
        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_statusbar()

        self.resize(1600, 1000)
        self._restore_settings()
        self.set_engine(engine)
        self.set_theme(self.dark, save=False)
        self._on_tabs_current_changed(self.tabs.currentIndex())
        self.refresh.start()
        if not paused:
            self.driver.start()
        self._update_run_action()
        if defer_heavy:  # the tab bar is painted in the window's first frame, whichever view is current
            self.tabs.tabBar().installEventFilter(self)
            QTimer.singleShot(3000, self.finish_startup)  # in case the window is never painted (minimised)
        else:
            self.finish_startup()

    def eventFilter(self, obj, ev):  # noqa: N802
        if ev.type() == QEvent.Type.Paint and obj is self.tabs.tabBar() and not self._startup_done:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self.finish_startup)
        return super().eventFilter(obj, ev)

    def finish_startup(self) -> None:
        """Build what was deferred past the first paint: the charts and the pyqtgraph-based views."""
        if self._startup_done:
            return
        self._startup_done = True
        from .panels.charts import ChartPanelWidget
        self.charts = ChartPanelWidget(dark=self.dark)
        if self.ops is not None:
            self.charts.limits = self.ops.alarms.thresholds
        old = self.charts_dock.widget()
        self.charts_dock.setWidget(self.charts)
        if old is not None:
            old.deleteLater()
        self.charts.set_engine(self.engine)
        sel = self.nav.selection
        self.charts.set_rack(self.engine.topo.rack_of(sel) if sel.kind != "site" else None)
        for key in DEFERRED_VIEWS:
            self._ensure_view(key)
        if not self.restored_state:  # the default layout, now that the window has its size (ignored before)
            default_dock_widths(self)
        self._mark_dirty()

    # ================================================================== construction
    def _build_views(self, defer_heavy: bool) -> None:
        """The view stack (the views in their tabs) and the navigation that moves through it."""
        self.stack = ViewStack(self._create_view, DEFERRED_VIEWS if defer_heavy else ())
        self.views = self.stack.views
        self.tabs = self.stack.tabs
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.nav = Navigation(self.stack, lambda: self.engine.topo, self)
        self.nav.location_changed.connect(self._on_nav_location_changed)
        self.nav.selection_changed.connect(self._on_nav_selection_changed)
        self.nav.history_changed.connect(self._on_nav_history_changed)
        self.nav.message.connect(self.statusBar().showMessage)
        self.search_edit = self.nav.search_edit
        self.completer = self.nav.completer
        self.breadcrumb_bar = self.nav.breadcrumb_bar

    def _create_view(self, key: str) -> QWidget:
        view = build_view(key, self)  # signals wired as view_factory.SPECS declares them; a missing one fails
        if self.ops is not None:
            view.limits = self.ops.alarms.thresholds  # one set of limits everywhere
        return view

    def _ensure_view(self, key: str) -> QWidget:
        """The real view for ``key`` (built now if it was deferred), with the current engine."""
        return self.stack.ensure(key)

    site_view = property(lambda self: self.views["site"])
    hall_view = property(lambda self: self.views["hall"])
    gpu_view = property(lambda self: self.views["gpus"])
    rack_view = property(lambda self: self.views["rack"])
    tray_view = property(lambda self: self.views["tray"])

    def _build_central(self) -> None:
        central = QWidget()
        central.setObjectName("centralArea")
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.breadcrumb_bar)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.addDockWidget(area, d)
        return d

    def _build_docks(self) -> None:
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.navigator = NavigatorWidget()
        self.navigator.address_selected.connect(self.select)
        self.navigator.address_activated.connect(self.navigate)
        self.navigator.row_activated.connect(self.show_row)
        self.navigator.context_menu_requested.connect(self.show_fault_menu)
        self.navigator_dock = self._dock("Navigator", "navigatorDock", self.navigator, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector = InspectorWidget()
        self.inspector.context_menu_requested.connect(self.show_fault_menu)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector, Qt.DockWidgetArea.LeftDockWidgetArea)
        pending = QLabel("Loading charts…")
        pending.setObjectName("chartPanelPending")
        pending.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.charts_dock = self._dock("Charts", "chartsDock", pending, Qt.DockWidgetArea.RightDockWidgetArea)
        self.event_log = EventLogView()
        self.event_log.address_activated.connect(self.navigate)
        self.events_dock = self._dock("Event log", "eventLogDock", self.event_log, Qt.DockWidgetArea.BottomDockWidgetArea)
        # alarm list and work-order board: their widgets are (re)built with each engine's OpsManager
        self.alarms_dock = self._dock("Alarms", "alarmsDock", QWidget(), Qt.DockWidgetArea.BottomDockWidgetArea)
        self.work_orders_dock = self._dock("Work orders", "workOrdersDock", QWidget(),
                                           Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.events_dock, self.alarms_dock)
        self.tabifyDockWidget(self.alarms_dock, self.work_orders_dock)
        self.alarms_dock.raise_()
        self.alarm_panel: AlarmPanelWidget | None = None
        self.work_order_panel: WorkOrderPanelWidget | None = None
        self.resizeDocks([self.navigator_dock, self.inspector_dock], [420, 480], Qt.Orientation.Vertical)
        self.resizeDocks([self.navigator_dock, self.charts_dock], [330, 540], Qt.Orientation.Horizontal)
        self.resizeDocks([self.events_dock], [230], Qt.Orientation.Vertical)
        self.charts_dock.visibilityChanged.connect(lambda _v: self._mark_dirty())

    def _action(self, name: str, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        a = QAction(text, self)
        a.setObjectName(name)
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(s) for s in seqs])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setToolTip(tip + (f" ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                                if shortcut is not None else ""))
            a.setStatusTip(tip)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work even when the toolbar is hidden
        return a

    def _build_actions(self) -> None:
        A = self._action
        self.act_run = A("actionRunPause", "Run", self._on_run_triggered, "Space", "Run or pause the simulation")
        self.act_step = A("actionStep", "Step", self._on_step_triggered, ".", "Advance one engine step (1 s)")
        self.act_slower = A("actionSlower", "Slower", lambda: self.driver.speed_down(), "[", "Halve the speed (presets)")
        self.act_faster = A("actionFaster", "Faster", lambda: self.driver.speed_up(), "]", "Increase the speed (presets)")
        self.act_back = A("actionBack", "Back", self.go_back, "Alt+Left",
                          "Back to the previous location")
        self.act_forward = A("actionForward", "Forward", self.go_forward, "Alt+Right", "Forward")
        self.act_search = A("actionSearch", "Go to address…", self.focus_search, "Ctrl+L",
                            "Jump to any address (H1, H1-R003, H1-R003-T2-G5, CH1, GT3, GRID)")
        self.act_open = A("actionOpenFacility", "Open facility…", self._on_open_facility_triggered, "Ctrl+O",
                          "Open a facility file (YAML or JSON)")
        self.act_open_scenario = A("actionOpenScenario", "Open scenario…", self._on_open_scenario_triggered,
                                   "Ctrl+Shift+O", "Open a scenario file with timed faults (restarts the run)")
        self.act_quit = A("actionQuit", "Quit", self.close, "Ctrl+Q", "Quit Colossus GUI")
        self.act_train = A("actionStartTraining", "Start training session…", lambda: self.start_training(), "Ctrl+T",
                           "Play a fault-injection drill: the instructor console opens in its own window (one screen: a tab "
                           "beside the alarms)")
        self.act_console = A("actionInstructorConsole", "Instructor console", self.show_instructor_console,
                             "Ctrl+I", "Show the instructor console of the running session")
        self.act_end_training = A("actionEndTraining", "End training session", self.end_training, None,
                                  "End the session and write the debrief report")
        self.act_replay = A("actionReplay", "Replay a session…", lambda: self.open_replay(), None,
                            "Open a past session and scrub its timeline; the views show the facility then")
        self.act_export = A("actionExport", "Export…", self.export, "Ctrl+E",
                            "Export a PNG of any view or chart, or CSV of racks, GPUs, events, chart data")
        self.act_save_snapshot = A("actionSaveSnapshot", "Save snapshot bundle…", self.save_snapshot,
                                   "Ctrl+Shift+S", "One folder or zip: PNGs, CSVs, manifest and the engine state "
                                   "(reopen it to resume exactly here)")
        self.act_open_snapshot = A("actionOpenSnapshot", "Open snapshot…", lambda: self.open_snapshot_file(),
                                   "Ctrl+Shift+P", "Resume from a snapshot bundle")
        self.act_dark = A("actionDarkTheme", "Dark theme", self._on_dark_triggered, None,
                          "Dark theme for a control-room wall; light for printed reports", checkable=True)
        self.act_shortcuts = A("actionShortcuts", "Keyboard shortcuts", self.show_shortcuts, "F1",
                               "List every keyboard shortcut")
        self.act_about = A("actionAbout", "About Colossus GUI", self.show_about, None, "Versions")
        # Undo/Redo follow the work-order board's undo stack (a new board per engine: the group tracks it)
        self.undo_group = QUndoGroup(self)
        self.act_undo = self.undo_group.createUndoAction(self, "Undo")
        self.act_redo = self.undo_group.createRedoAction(self, "Redo")
        for act, name, key, tip in (
                (self.act_undo, "actionUndo", "Ctrl+Z", "Undo the last work-order edit (until it reaches the simulation)"),
                (self.act_redo, "actionRedo", "Ctrl+Shift+Z", "Redo the work-order edit just undone")):
            act.setObjectName(name)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.setStatusTip(tip)
            self.addAction(act)
        self.act_wo_details = A("actionWorkOrderDetails", "Work order details…", self.show_work_order_details, None,
                                "Open the selected work order: steps, progress, notes, audit log "
                                "(or double-click it on the board)")
        self.view_actions: list[QAction] = []
        for i, (key, label) in enumerate((("site", "Site"), ("hall", "Hall"), ("gpus", "All GPUs"),
                                          ("rack", "Rack"), ("tray", "Tray"), ("row", "Row section"))):
            act = A(f"actionShow{key.capitalize()}", f"{label} view",
                    lambda _c=False, i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}", f"Show the {label} view")
            self.view_actions.append(act)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        mb.setObjectName("menuBar")
        m = mb.addMenu("&File")
        m.setObjectName("menuFile")
        m.addActions([self.act_open, self.act_open_scenario, self.act_open_snapshot])
        from .file_menu import FileMenus
        self.file_menus = FileMenus(self, m)  # built-in facilities and recent files
        m.addSeparator()
        m.addActions([self.act_export, self.act_save_snapshot])
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        m.setObjectName("menuEdit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addAction(self.act_wo_details)
        m = mb.addMenu("&Simulation")
        m.setObjectName("menuSimulation")
        m.addActions([self.act_run, self.act_step, self.act_slower, self.act_faster])
        m.addSeparator()
        self.act_studies = m.addAction("Studies…", self.open_studies)
        self.act_studies.setObjectName("actionStudies")
        m = mb.addMenu("&Training")
        m.setObjectName("menuTraining")
        m.addActions([self.act_train, self.act_console, self.act_end_training])
        m.addSeparator()
        m.addAction(self.act_replay)
        m = mb.addMenu("&View")
        m.setObjectName("menuView")
        m.addActions(self.view_actions)
        m.addSeparator()
        for d in (self.navigator_dock, self.inspector_dock, self.charts_dock, self.events_dock):
            act = d.toggleViewAction()
            act.setObjectName(f"toggle_{d.objectName()}")
            m.addAction(act)
        m.addSeparator()
        m.addActions([self.act_back, self.act_forward, self.act_search])
        m.addSeparator()
        m.addAction(self.act_dark)
        m = mb.addMenu("&Help")
        m.setObjectName("menuHelp")
        m.addActions([self.act_shortcuts, self.act_about])

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Simulation")
        tb.setObjectName("mainToolBar")
        tb.setMovable(False)
        tb.addActions([self.act_back, self.act_forward])
        tb.addSeparator()
        tb.addActions([self.act_run, self.act_step])
        tb.addSeparator()
        tb.addAction(self.act_slower)
        self.speed_combo = QComboBox()
        self.speed_combo.setObjectName("speedCombo")
        self.speed_combo.setToolTip("Simulation speed: simulated seconds per wall-clock second ([ and ])")
        for s in SPEED_PRESETS:
            self.speed_combo.addItem(f"{s:g}×", float(s))
        self.speed_combo.activated.connect(self._on_speed_combo_activated)
        i = self.speed_combo.findData(float(self.driver.speed))
        if i >= 0:
            self.speed_combo.setCurrentIndex(i)
        tb.addWidget(self.speed_combo)
        tb.addAction(self.act_faster)
        tb.addSeparator()
        self.metric_label = QLabel(" Colour racks by ")
        self.metric_label.setObjectName("hallMetricLabel")
        tb.addWidget(self.metric_label)
        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("hallMetricCombo")
        self.metric_combo.setToolTip("Metric that colours the racks in the Hall view")
        try:
            from .views.metrics import RACK_METRICS
            for name, m in RACK_METRICS.items():
                self.metric_combo.addItem(m.label + (f" ({m.unit})" if m.unit else ""), name)
        except ImportError:
            self.metric_combo.setEnabled(False)
        self.metric_combo.activated.connect(self._on_metric_combo_activated)
        tb.addWidget(self.metric_combo)
        # one metric control: the toolbar's; the hall view's own chooser would duplicate it
        self.hall_view.metric_combo.hide()
        spacer = QWidget()
        spacer.setObjectName("toolbarSpacer")
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.search_edit.setToolTip(self.act_search.toolTip())
        tb.addWidget(self.search_edit)
        for act in tb.actions():
            w = tb.widgetForAction(act)
            if w is not None and not w.objectName() and act.objectName():
                w.setObjectName(act.objectName().replace("action", "button", 1))
        self.toolbar = tb

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        sb.setObjectName("statusBar")

        def label(name: str, tip: str, min_chars: int) -> QLabel:
            lab = QLabel()
            lab.setObjectName(name)
            lab.setToolTip(tip)
            lab.setMinimumWidth(self.fontMetrics().horizontalAdvance("0" * min_chars))
            lab.setContentsMargins(6, 0, 6, 0)
            sb.addPermanentWidget(lab)
            return lab

        self.clock_label = label("clockLabel", "Simulated time (days hh:mm:ss)", 12)
        self.speed_label = label("speedLabel", "Set speed and the speed actually achieved on this machine", 22)
        self.it_label = label("itLabel", "IT load of the facility: mean, lowest–highest over the last 10 s", 20)
        self.pue_label = label("pueLabel", "Power usage effectiveness: facility power / IT power", 10)
        self.alarm_label = label("alarmLabel", "Alarms (critical, warning, not yet acknowledged), open work orders, "
                                 "throttled GPUs and failed parts (GPUs, PSUs, NICs, pumps, fans, leaks, chillers, "
                                 "turbines, switches, links, storage)", 36)

    # ================================================================== engine
    def set_engine(self, engine: Engine, ops=None, keep_view: bool = False, run=None, ops_state: dict | None = None
                   ) -> None:
        """Show another engine (a newly opened facility, scenario or snapshot): a new run. ``run`` and
        ``ops``: a run made elsewhere and the operations it steps (a training session's); otherwise the window
        makes a Run of the engine and a new OpsManager. ``ops_state``: the operations of a reopened snapshot
        (that run's orders at that moment). ``keep_view``: the same run rewound in place (a training restore):
        stay where the user is."""
        if self.training is not None and self.training.session is not None and ops is None:
            self.training.stop(write_report=True)  # another facility, scenario or snapshot ends the drill
        self.engine = engine
        self._install_ops(engine, ops, ops_state)
        if run is None:
            run = Run(engine, None if self._ops_external else self.ops, keyframe_every_s=KEYFRAME_EVERY_S)
        self.run = run
        self.driver.set_run(run)
        self.stack.set_engine(engine)
        if self.charts is not None:
            self.charts.set_engine(engine)
        self.navigator.set_engine(engine)
        self.inspector.set_engine(engine)
        self.event_log.set_engine(engine)
        self._install_panels(engine)
        if keep_view:
            self._mark_dirty()
            self.refresh_text()
            return
        self.nav.reset()
        f = engine.facility
        # Qt appends the application's display name ("… — Colossus GUI"): the title names only the facility
        self.setWindowTitle(f"{f.name}: {engine.n_gpus:,} GPUs in {engine.topo.n_halls} halls"
                            + (f" — scenario {engine.scenario.title}" if engine.scenario is not None else ""))
        self.navigate("SITE")
        self._mark_dirty()
        self.refresh_text()
        self.engine_changed.emit()

    # ================================================================== navigation (navigation.py)
    def navigate(self, text: str, record: bool = True) -> bool:
        """Go to an address: open the view that shows it and inspect it. Invalid -> status message, False."""
        return self.nav.navigate(text, record)

    def select(self, text: str) -> bool:
        """Inspect an address (and let the charts follow its rack) without changing the view."""
        return self.nav.select(text)

    def go_back(self) -> None:
        self.nav.go_back()

    def go_forward(self) -> None:
        self.nav.go_forward()

    def focus_search(self) -> None:
        self.nav.focus_search()

    def breadcrumbs(self) -> list[str]:
        return self.nav.breadcrumbs()

    @property
    def selection(self) -> Address:
        return self.nav.selection

    @property
    def location(self) -> Address:
        return self.nav.location

    def _on_nav_location_changed(self, text: str) -> None:
        if self.nav.location.kind != "site":
            self.navigator.reveal(text)
        self.refresh.mark_dirty()
        self.location_changed.emit(text)

    def _on_nav_selection_changed(self, addr: Address) -> None:
        self.inspector.set_address(addr)
        if self.charts is not None:
            self.charts.set_rack(self.engine.topo.rack_of(addr) if addr.kind != "site" else None)

    def _on_nav_history_changed(self, can_back: bool, can_forward: bool) -> None:
        self.act_back.setEnabled(can_back)
        self.act_forward.setEnabled(can_forward)

    # ---- view signals
    def show_row(self, hall: int, row: int) -> None:
        """The row section of one row (from a hall view row label or a navigator row)."""
        view = self._ensure_view("row")
        view.set_row(hall, row)
        sel = self.nav.selection
        if sel.kind != "site":
            rack = self.engine.topo.rack_of(sel)
            if rack is not None:
                view.select(rack)
        self.tabs.setCurrentWidget(view)
        self._mark_dirty()

    def _on_site_hall_activated(self, h: int) -> None:
        self.navigate(self.engine.topo.hall_names[h])

    def _on_view_address_selected(self, address: str) -> None:
        self.select(address)

    def _on_view_component_selected(self, what) -> None:
        if isinstance(what, int):  # a GPU index from the tray view
            what = self.engine.topo.gpu_address(what)
        self.select(str(what))

    def _on_gpus_highlighted(self, gpus) -> None:
        """A leaf (or a GPU's link) chosen in the fabric view: show its GPUs in the all-GPU and hall views."""
        _call(self.views["gpus"], "highlight_gpus", gpus)
        racks = None if gpus is None else np.unique(np.asarray(gpus) // self.engine.topo.gpus_per_rack)
        _call(self.hall_view, "highlight_racks", racks)

    def _on_view_rack_selected(self, r: int) -> None:
        if 0 <= r < self.engine.n_racks:
            self.select(self.engine.topo.rack_address(r))

    def _on_view_rack_activated(self, r: int) -> None:
        if 0 <= r < self.engine.n_racks:
            self.navigate(self.engine.topo.rack_address(r))

    def _on_rack_tray_activated(self, tray: int) -> None:
        if 0 <= tray < self.engine.n_trays:
            self.navigate(self.engine.topo.tray_address(tray))

    def _on_tabs_current_changed(self, _i: int) -> None:
        self.stack.ensure_current()
        self.metric_combo.setEnabled(self.tabs.currentWidget() is self.hall_view and self.metric_combo.count() > 0)
        self.metric_label.setEnabled(self.metric_combo.isEnabled())
        self._mark_dirty()
        self.refresh_views()

    def _on_metric_combo_activated(self, i: int) -> None:
        name = self.metric_combo.itemData(i)
        if name:
            _call(self.hall_view, "set_metric", name)
            self._mark_dirty()

    # ================================================================== faults
    def fault_menu(self, address: str) -> QMenu | None:
        try:
            options = fault_options(self.engine, address)
        except AddressError as e:
            self.statusBar().showMessage(str(e), 8000)
            return None
        menu = QMenu(self)
        menu.setObjectName("faultMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        title = menu.addAction(address)
        title.setEnabled(False)
        inject = menu.addMenu("Inject fault")
        inject.setObjectName("injectFaultMenu")
        subs: dict[str, QMenu] = {}
        for group, label, kind, target, params in options:
            parent = inject
            if group is not None:
                parent = subs.get(group)
                if parent is None:
                    parent = subs[group] = inject.addMenu(group)
            act = parent.addAction(label)
            act.setToolTip(f"{kind} on {target}")
            act.triggered.connect(lambda _c=False, k=kind, t=target, p=params: self.inject_fault(k, t, **p))
        inject.setEnabled(bool(options))
        if address.upper() != "SITE":
            rep = menu.addAction("Repair")
            rep.setObjectName("repairAction")
            rep.setToolTip("Restore it at once (a what-if; technicians use work orders)")
            rep.triggered.connect(lambda _c=False, a=address: self.repair(a))
            if self.ops is not None:
                wo = menu.addAction("Create work order")
                wo.setObjectName("createWorkOrderAction")
                wo.triggered.connect(lambda _c=False, a=address: self.create_work_order(a))
                ack = menu.addAction("Acknowledge alarms here")
                ack.setObjectName("acknowledgeHereAction")
                ack.triggered.connect(lambda _c=False, a=address: self.acknowledge_alarms_at(a))
        menu.addSeparator()
        go = menu.addAction("Go to " + address)
        go.triggered.connect(lambda _c=False, a=address: self.navigate(a))
        return menu

    def show_fault_menu(self, address: str, global_pos: QPoint) -> None:
        menu = self.fault_menu(address)
        if menu is not None:
            menu.popup(global_pos)

    def inject_fault(self, kind: str, target: str, **params) -> bool:
        """Inject a fault now (what the context menu's actions call). Errors -> a message box."""
        try:
            self.engine.inject(kind, target, **params)
        except SimError as e:
            self._error_box("Cannot inject the fault", str(e))
            return False
        self.statusBar().showMessage(f"Injected {kind.replace('_', ' ')} on {target}", 6000)
        self._after_user_action()
        return True

    def repair(self, address: str) -> bool:
        try:
            changed = self.engine.repair(address)
        except SimError as e:
            self._error_box("Cannot repair", str(e))
            return False
        self.statusBar().showMessage(f"Repaired {address}" if changed else f"{address}: nothing to repair", 6000)
        self._after_user_action()
        return changed

    def _after_user_action(self) -> None:
        self._mark_dirty()
        self.event_log.pull()
        self.refresh_views(force=True)
        self.inspector.refresh()

    def _error_box(self, title: str, text: str, details: str = "") -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("errorDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if details:
            box.setDetailedText(details)
        self._last_error_dialog = box
        box.open()  # window-modal, does not block the caller (nor a test)
        return box

    # ================================================================== operations
    def _install_ops(self, engine: Engine, ops=None, ops_state: dict | None = None) -> None:
        """A new OpsManager (alarms, work orders, technicians, spares) for ``engine``, with the workspace
        database when settings are enabled. A foreign or damaged database: a message, and no persistence.
        With ``ops`` given (a training session's logging manager) the panels use it and the session steps it."""
        self._ops_external = ops is not None
        store = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if settings_enabled():
            from PySide6.QtCore import QStandardPaths

            from ..io.store import Store, StoreError
            folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            from ..model.limits import safe_file_stem
            from ..ops.work_orders import WorkOrder
            path = os.path.join(folder, f"{safe_file_stem(engine.facility.name)}.sqlite")  # stays in the folder
            try:
                store = Store(path)
                bad = store.quarantine_bad_rows(engine.topo, {"work_orders": WorkOrder.from_row})
                if bad:  # the rest loads; the damaged rows are kept in the quarantine table
                    QTimer.singleShot(0, lambda b=bad, p=path: self._error_box(
                        "Damaged rows set aside", f"{p}: {len(b)} damaged row(s) moved to its quarantine table ("
                        + "; ".join(b[:3]) + ("; ..." if len(b) > 3 else "") + "). The rest of the workspace "
                        "loaded.", "\n".join(b)))
            except (StoreError, sqlite3.Error) as e:
                if store is not None:
                    store.close()
                    store = None
                QTimer.singleShot(0, lambda m=str(e): self._error_box(
                    "Workspace database not used", m + "\nThe file was left untouched; alarms and work orders "
                    "will not be saved this session."))
        self.store = store
        if ops is None:
            run_id = ops_state["run_id"] if ops_state is not None else None
            ops = OpsManager(engine, self.ops_config, store=store, seed=self.seed, run_id=run_id, state=ops_state)
        self.ops = ops

    def _install_panels(self, engine: Engine) -> None:
        """The alarm list and the work-order board, (re)built with each run's OpsManager."""
        for attr, dock, cls in (("alarm_panel", self.alarms_dock, AlarmPanelWidget),
                                ("work_order_panel", self.work_orders_dock, WorkOrderPanelWidget)):
            panel = cls(self.ops, engine)
            panel.address_activated.connect(self.navigate)
            old = dock.widget()
            dock.setWidget(panel)
            if old is not None:
                old.deleteLater()
            setattr(self, attr, panel)
        for key, spec in SPECS.items():  # alarm frames and alarm lines in tooltips
            view = self.views.get(key)
            if spec.alarm_frames and is_built(view):
                attach_alarms(view, self)
        for v in (*self.views.values(), self.charts, self.inspector):  # one set of limits everywhere
            if is_built(v):
                v.limits = self.ops.alarms.thresholds
        self.work_order_panel.message_shown.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.work_order_panel.work_order_changed.connect(lambda _i: self._after_user_action())
        self.alarm_panel.acknowledged.connect(lambda _ids: self.refresh_text())
        self.undo_group.addStack(self.work_order_panel.undo_stack)
        self.undo_group.setActiveStack(self.work_order_panel.undo_stack)

    def _rack_alarm_text(self, rack: int) -> str:
        if self.ops is None:
            return ""
        found = [a for a in self.ops.alarms.active() if a.rack == rack]
        return "; ".join(f"{a.severity_name} {a.message}" for a in found[:4]) + (" …" if len(found) > 4 else "")

    def create_work_order(self, address: str):
        """A work order by hand for any component (context menu); shows it on the board."""
        if self.work_order_panel is None:
            return None
        wo = self.work_order_panel.create_for(address)
        if wo is not None:
            self.work_orders_dock.show()
            self.work_orders_dock.raise_()
            self.work_order_panel.select_order(wo.id)
        return wo

    def show_work_order_details(self, wo_id: int | None = None):
        """The detail dialog of ``wo_id`` (default: the order selected on the board)."""
        if self.work_order_panel is None:
            return None
        if wo_id is None and self.work_order_panel.selected_id() is None:
            self.statusBar().showMessage("Select a work order on the board first", 6000)
            self.work_orders_dock.show()
            self.work_orders_dock.raise_()
            return None
        return self.work_order_panel.open_details(wo_id)

    def acknowledge_alarms_at(self, address: str) -> int:
        if self.ops is None:
            return 0
        a = address.upper()
        ids = [al.id for al in self.ops.alarms.alarms() if not al.acked and
               (al.component == a or al.component.startswith(a + "-"))]
        if ids:
            self.ops.acknowledge(ids, who="operator")
        self.statusBar().showMessage(f"Acknowledged {len(ids)} alarm(s) at {address}", 6000)
        self.refresh_text()
        return len(ids)

    # ================================================================== training
    def _training_controller(self):
        if self.training is None:
            from .training.training_mode import TrainingController
            self.training = TrainingController(self)
        return self.training

    def start_training(self, scenario: str | None = None, trainee: str = "trainee") -> bool:
        """Start a drill: a bundled training scenario name or file (a chooser when None)."""
        tc = self._training_controller()
        if scenario is None:
            return tc.choose_and_start()
        from .training.training_mode import training_scenarios
        return tc.start(str(training_scenarios().get(scenario, scenario)), trainee)

    def show_instructor_console(self) -> None:
        if self.training is None or self.training.session is None:
            self.statusBar().showMessage("No training session: start one with Training → Start (Ctrl+T)", 8000)
            return
        self.training.show_console()

    def open_replay(self, log_path: str | None = None):
        return self._training_controller().open_replay(log_path)

    def end_training(self) -> None:
        if self.training is not None:
            self.training.question_end()

    # ================================================================== export
    def export(self) -> None:
        from .export.export_dialog import export_dialog
        export_dialog(self, self.engine, self, self.visible_view(), self.charts, ops=self.ops)

    def save_snapshot(self, path: str | None = None, on_done=None):
        """Write a snapshot bundle on a worker thread (progress, Cancel); returns the task."""
        from .export.export_dialog import save_snapshot_async

        def done(out):
            if out is not None:
                self.statusBar().showMessage(f"Snapshot written: {out}", 8000)
            if on_done is not None:
                on_done(out)
        return save_snapshot_async(self, self.engine, self.driver, path=path, ops=self.ops, on_done=done)

    def open_snapshot_file(self, path: str | None = None) -> bool:
        from .export.export_dialog import open_snapshot
        opened = open_snapshot(self, path, with_ops=True)
        if opened is None:
            return False
        eng, ops_state = opened
        self.set_engine(eng, ops_state=ops_state)  # that run's orders at that moment, nothing of any other
        if path:
            self.file_menus.add_recent(str(path))
        self.statusBar().showMessage(f"Opened snapshot at {format_clock(eng.t)}", 8000)
        return True

    # ================================================================== files
    def _on_open_facility_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open facility", "", "Facility files (*.yaml *.yml *.json);;All files (*)")
        if path:
            self.open_facility(path)

    def _on_open_scenario_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scenario", "", "Scenario files (*.yaml *.yml *.json);;All files (*)")
        if path:
            self.open_scenario(path)

    def show_problems(self, title: str, what: str, problems: list[str]) -> QMessageBox:
        """A dialog listing every problem of a file; the current facility stays open."""
        shown = problems[:40]
        more = f"\n… and {len(problems) - len(shown)} more (see details)" if len(problems) > len(shown) else ""
        box = QMessageBox(QMessageBox.Icon.Critical, title, f"{what}\nThe current facility stays open.",
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("loadErrorDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setInformativeText("\n".join(shown) + more)
        box.setDetailedText("\n".join(problems))
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._last_error_dialog = box
        box.open()
        return box

    @property
    def last_error_dialog(self) -> QMessageBox | None:
        return self._last_error_dialog

    def open_facility(self, path: str) -> bool:
        try:
            fac = load_facility(path)
        except LoadError as e:
            n = len(e.problems)
            self.show_problems("Cannot open facility", f"{path} has {n} problem{'s' if n != 1 else ''}:", e.problems)
            return False
        was_running = self.driver.running
        self.driver.pause()
        self.facility_ref = str(path)
        self.set_engine(Engine(fac, seed=self.seed))
        if self.settings is not None:
            self.settings.setValue("lastFacility", os.path.abspath(path) if os.path.exists(path) else str(path))
        self.file_menus.add_recent(str(path))
        self.statusBar().showMessage(f"Opened facility {fac.name!r}: {fac.n_gpus:,} GPUs", 8000)
        self.driver.set_running(was_running)
        return True

    def open_scenario(self, path: str) -> bool:
        try:
            sc = load_scenario(path)
            fac = self.engine.facility
            if sc.facility and sc.facility not in (fac.name, self.facility_ref):
                fac = load_facility(sc.facility)
            check_scenario_targets(sc, fac, str(path))
        except LoadError as e:
            n = len(e.problems)
            self.show_problems("Cannot open scenario", f"{path} has {n} problem{'s' if n != 1 else ''}:", e.problems)
            return False
        was_running = self.driver.running
        self.driver.pause()
        self.set_engine(Engine(fac, seed=sc.seed if sc.seed is not None else self.seed, scenario=sc))
        self.file_menus.add_recent(str(path))
        self.statusBar().showMessage(f"Scenario {sc.title!r}: {len(sc.faults)} timed faults; the run restarted", 8000)
        self.driver.set_running(was_running)
        return True

    # ================================================================== running
    def _on_run_triggered(self) -> None:
        if not self.busy:  # a worker thread is stepping the run
            self.driver.toggle()

    def _on_step_triggered(self) -> None:
        self.driver.step_once()
        self.refresh_views(force=True)
        self.refresh_text()

    def _on_driver_running_changed(self, running: bool) -> None:
        self._update_run_action()
        self.refresh_text()

    def _update_run_action(self) -> None:
        running = self.driver.running
        self.act_run.setText("Pause" if running else "Run")
        self.act_run.setToolTip(("Pause" if running else "Run") + " the simulation (Space)")
        self.act_step.setEnabled(not running)

    def _on_driver_speed_changed(self, speed: float) -> None:
        i = self.speed_combo.findData(float(speed))
        if i >= 0:
            self.speed_combo.setCurrentIndex(i)
        else:
            self.speed_combo.setEditText(f"{speed:g}×")
        self.refresh_text()

    def _on_speed_combo_activated(self, i: int) -> None:
        self.driver.set_speed(float(self.speed_combo.itemData(i)))

    # ================================================================== refresh (refresh_scheduler.py)
    def _on_driver_ticked(self) -> None:
        self.refresh.mark_dirty()

    def _mark_dirty(self) -> None:
        self.refresh.mark_dirty()

    @property
    def busy(self) -> bool:
        return self.refresh.busy

    def set_busy(self, busy: bool) -> None:
        """A worker thread is stepping the run (a long seek, a replay opening): hold the views and the clock
        (they would read a state half-way through a step); the window stays responsive."""
        self.refresh.set_busy(busy)
        if busy:
            self.driver.pause()
            self.statusBar().showMessage("Working… (views resume when done)")
        else:
            self.statusBar().clearMessage()

    def refresh_views(self, force: bool = False) -> None:
        """Redraw the visible view and the charts if anything changed (or ``force``)."""
        self.refresh.refresh_views(force)

    def refresh_text(self) -> None:
        """The 1 Hz text: status bar, inspector, chart titles."""
        self.refresh.refresh_text()

    def _draw_frame(self, force: bool) -> None:
        """One frame, every visible part from the same engine step: the current view, the charts, the event
        log and the clock (the scheduler calls it when a frame is due)."""
        view = self.tabs.currentWidget()
        _call(view, "refresh")
        if self.charts is not None and self.charts.isVisible():
            self.charts.redraw(force=force)
        if self.event_log.isVisible():
            self.event_log.pull()
        self.clock_label.setText(format_clock(self.engine.t))

    def _draw_text(self) -> None:
        """The 1 Hz text: status bar, inspector, tray figures, chart titles, training and the ops panels."""
        eng = self.engine
        self.clock_label.setText(format_clock(eng.t))
        actual = self.driver.actual_speed()
        self.speed_label.setText(status_speed_text(eng, self.driver.running, self.driver.speed, actual))
        self.it_label.setText(f"IT {swing_text(eng, 'it_mw')}")
        pue = swing(eng, "pue")
        self.pue_label.setText(f"PUE {pue[0]:.3f}" if pue is not None and pue[0] > 0 else "PUE –")
        throttled = int(eng.rack_throttled.sum())
        failed = self.failed_parts()
        text = f"throttled {throttled:,} · failed {failed:,}"
        bad = throttled > 0 or failed > 0
        critical = False
        if self.ops is not None:
            c = self.ops.alarms.counts()
            wo = self.ops.backlog()
            open_wo = sum(wo.get(k, 0) for k in ("open", "assigned", "in_progress", "testing"))
            text = (f"alarms {c['critical']} critical · {c['warning']} warning · {c['unacknowledged']} unacked · "
                    f"orders {open_wo} · " + text)
            bad = bad or c["critical"] > 0 or c["unacknowledged"] > 0
            critical = c["critical"] > 0
        self.alarm_label.setText(text)
        set_severity(self.alarm_label, 2 if critical else (1 if bad else 0))  # colours: the theme's style sheet
        if self.inspector.isVisible():
            self.inspector.refresh()
        _call(self.views["tray"], "refresh_text")  # tile figures from the same step as the inspector
        if self.charts is not None and self.charts.isVisible():
            self.charts.refresh_text()
        if self.training is not None:
            self.training.refresh()
        if self.alarm_panel is not None and self.alarm_panel.isVisible():
            self.alarm_panel.refresh()
        if self.work_order_panel is not None and self.work_order_panel.isVisible():
            self.work_order_panel.refresh()

    def failed_parts(self) -> int:
        e = self.engine
        return failed_part_count(e)

    def frame_once(self, wall_dt: float = REDRAW_MS / 1000.0) -> float:
        """One frame as the user sees it: a driver tick of ``wall_dt`` wall seconds, then the visible view and
        the charts redrawn and painted. Returns the wall seconds it took (benchmarks)."""
        t0 = time.perf_counter()
        self.driver.tick_once(wall_dt)
        self.refresh.mark_dirty()
        self.refresh_views()
        QApplication.processEvents()
        self.frame_count += 1
        return time.perf_counter() - t0

    def visible_view(self) -> QWidget:
        return self.tabs.currentWidget()

    # ================================================================== theme, help
    def _on_dark_triggered(self, checked: bool) -> None:
        self.set_theme(bool(checked))

    def set_theme(self, dark: bool, save: bool = True) -> None:
        from .theme import apply_theme
        self.dark = bool(dark)
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self.dark)
        self.act_dark.setChecked(self.dark)
        if self.charts is not None:
            self.charts.apply_theme(self.dark)
        self.event_log.log_model.dark = self.dark
        for v in self.views.values():  # the views read the theme when they paint
            v.update()
        if save and self.settings is not None:
            self.settings.setValue("theme", "dark" if self.dark else "light")
        self.refresh_views(force=True)

    def shortcut_rows(self) -> list[tuple[str, str]]:
        rows = []
        for a in self.actions():
            keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts())
            if keys:
                rows.append((keys, a.statusTip() or a.text().replace("&", "").rstrip("…")))
        rows += [("Double-click a rack", "Open its rack elevation"), ("Click a tray", "Open the tray"),
                 ("Right-click a component", "Inject a fault / repair"),
                 ("Mouse wheel / drag on a chart", "Zoom / pan time (pauses scrolling)")]
        return rows

    def show_shortcuts(self) -> ShortcutsDialog:
        dlg = ShortcutsDialog(self.shortcut_rows(), self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg

    @staticmethod
    def versions() -> dict[str, str]:
        import pydantic
        import pyqtgraph
        import PySide6
        from PySide6.QtCore import qVersion
        return {"Colossus GUI": __version__, "Python": platform.python_version(), "Qt": qVersion(),
                "PySide6": PySide6.__version__, "pyqtgraph": pyqtgraph.__version__, "numpy": np.__version__,
                "pydantic": pydantic.VERSION, "Platform": platform.platform(terse=True)}

    def show_about(self) -> QMessageBox:
        v = self.versions()
        text = ("<h3>Colossus GUI</h3><p>See, simulate and train on a 100,000-GPU liquid-cooled AI training "
                "facility.</p><table>" + "".join(f"<tr><td>{k}&nbsp;&nbsp;</td><td>{val}</td></tr>"
                                                  for k, val in v.items()) + "</table>")
        box = QMessageBox(QMessageBox.Icon.Information, "About Colossus GUI", text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("aboutDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    # ================================================================== settings, teardown
    def _restore_settings(self) -> None:
        self.restored_geometry = False
        self.restored_state = False
        if self.settings is None:
            return
        geo = self.settings.value("geometry")
        if isinstance(geo, QByteArray | bytes):
            self.restored_geometry = bool(self.restoreGeometry(geo))
        state = self.settings.value("windowState")
        if isinstance(state, QByteArray | bytes):
            self.restored_state = bool(self.restoreState(state, LAYOUT_VERSION))

    def save_settings(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState(LAYOUT_VERSION))
        self.settings.setValue("theme", "dark" if self.dark else "light")
        if self.facility_ref:
            self.settings.setValue("lastFacility", self.facility_ref)
        self.settings.sync()

    def open_studies(self):
        """The Studies window (one per main window): many seeded runs; opens a run back here."""
        from .studies_window import StudiesWindow
        if self.studies_window is None:
            self.studies_window = StudiesWindow(main_window=self)
        self.studies_window.show()
        self.studies_window.raise_()
        return self.studies_window

    def shutdown(self) -> None:
        """Stop every timer (deterministic teardown: PySide6 may crash at exit otherwise)."""
        if self.studies_window is not None:
            self.studies_window.shutdown()
        self.driver.stop()
        self.refresh.stop()
        if self.training is not None and self.training.session is not None:
            self.training.stop(write_report=not self.training.session.ended)
        if self.training is not None:
            self.training.close_replay()
        for box in self.findChildren(QMessageBox):  # dialogs the window opened and nobody answered
            box.close()
        if self.store is not None:
            self.store.close()
            self.store = None

    def closeEvent(self, e):  # noqa: N802
        try:
            self.save_settings()
        except Exception:  # settings must never block quitting
            traceback.print_exc()
        self.shutdown()
        super().closeEvent(e)
