"""The facility window as a user drives it: build, run/pause, speed, search, faults, files, theme."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QMenu

from colossus_gui.io.loader import LoadError, load_facility
from colossus_gui.testing import small_facility
from colossus_gui.ui.main_window import MainWindow, fault_options


@pytest.fixture
def win(qtbot):
    w = MainWindow(small_facility(), seed=3, paused=True)
    w.driver.set_timer_enabled(False)  # tests tick the driver themselves, never on wall-clock time
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def _menu_action(menu: QMenu, *path: str):
    """Find an action by its menu path of texts (submenus first)."""
    for text in path[:-1]:
        sub = next(a.menu() for a in menu.actions() if a.text() == text and a.menu() is not None)
        menu = sub
    return next(a for a in menu.actions() if a.text() == path[-1])


def test_window_builds_with_every_view_and_dock(win):
    assert "small" in win.windowTitle()
    assert [win.tabs.tabText(i) for i in range(win.tabs.count())] == ["Site", "Hall", "All GPUs", "Rack", "Tray",
                                                                      "Row section", "Fabric", "Storage"]
    for name in ("navigatorDock", "inspectorDock", "chartsDock", "eventLogDock", "mainToolBar", "addressSearch",
                 "speedCombo", "hallMetricCombo", "clockLabel", "speedLabel"):
        assert win.findChild(object, name) is not None, name
    tree = win.navigator
    site = tree.topLevelItem(0)
    labels = [site.child(i).text(0) for i in range(site.childCount())]
    assert any(label.startswith("Hall H1") for label in labels) and any(label.startswith("Hall H2") for label in labels)
    # the real views are embedded, not placeholders
    assert type(win.hall_view).__name__ == "HallView"
    assert type(win.rack_view).__name__ == "RackView"
    assert type(win.tray_view).__name__ == "TrayView"
    assert type(win.gpu_view).__name__ == "GpuHeatmapView"


def test_pause_stops_the_clock(win):
    d = win.driver
    assert not d.running
    t0 = win.engine.t
    assert d.tick_once(1.0) == 0
    assert win.engine.t == t0
    win.act_run.trigger()  # Space
    assert d.running and win.act_run.text() == "Pause"
    d.tick_once(1.0)
    assert win.engine.t == pytest.approx(t0 + 1.0)
    win.act_run.trigger()
    assert not d.running
    d.tick_once(5.0)
    assert win.engine.t == pytest.approx(t0 + 1.0)
    win.act_step.trigger()  # single step while paused
    assert win.engine.t == pytest.approx(t0 + 2.0)


def test_speed_changes_the_rate(win):
    d = win.driver
    d.start()
    d.set_speed(10)
    t0 = win.engine.t
    d.tick_once(0.1)
    assert win.engine.t - t0 == pytest.approx(1.0)
    d.set_speed(100)
    t1 = win.engine.t
    d.tick_once(0.1)
    assert win.engine.t - t1 == pytest.approx(10.0)
    for _ in range(20):
        d.tick_once(0.1)
    assert d.actual_speed() == pytest.approx(100.0, rel=0.1)
    # the keys walk the presets; the combo follows
    win.act_faster.trigger()
    assert d.speed == 300 and win.speed_combo.currentText() == "300×"
    win.act_slower.trigger()
    win.act_slower.trigger()
    assert d.speed == 30


def test_search_jumps_to_an_address(win, qtbot):
    win.act_search.trigger()  # Ctrl+L
    qtbot.keyClicks(win.search_edit, "H1-R003")
    qtbot.keyClick(win.search_edit, Qt.Key.Key_Return)
    assert win.tabs.currentWidget() is win.rack_view
    assert win.rack_view.rack == 2
    assert win.inspector.address.text == "H1-R003"
    assert "H1-R003" in win.inspector.header.text()
    assert win.inspector.value_of("Pumps") is not None
    assert win.breadcrumbs() == ["Site", "H1", "R003"]
    assert win.charts.rack == 2  # the water chart follows the rack
    # deeper: a GPU opens its tray and is inspected
    win.search_edit.clear()
    qtbot.keyClicks(win.search_edit, "h2-r005-t3-g7")
    qtbot.keyClick(win.search_edit, Qt.Key.Key_Return)
    assert win.tabs.currentWidget() is win.tray_view
    tray = win.engine.topo.parse("H2-R005-T3").index
    assert win.tray_view.tray == tray
    assert win.inspector.address.kind == "gpu" and win.inspector.value_of("Junction").endswith("°C")


def test_invalid_address_is_a_status_message(win, qtbot):
    win.navigate("H1")
    qtbot.keyClicks(win.search_edit, "H1-R999")
    qtbot.keyClick(win.search_edit, Qt.Key.Key_Return)
    assert "R999" in win.statusBar().currentMessage()
    assert win.location.text == "H1"
    assert not win.navigate("not an address")
    assert "not an address" in win.statusBar().currentMessage()


def test_back_forward_and_drill_down(win):
    win.navigate("H1")
    win.hall_view.rack_activated.emit(5)  # double-click on a rack in the hall view
    assert win.tabs.currentWidget() is win.rack_view and win.rack_view.rack == 5
    win.rack_view.tray_activated.emit(5 * 8 + 2)  # click on a tray in the rack elevation
    assert win.tabs.currentWidget() is win.tray_view and win.tray_view.tray == 42
    assert win.location.text == "H1-R006-T3"
    win.go_back()
    assert win.location.text == "H1-R006"
    win.go_back()
    assert win.location.text == "H1" and win.tabs.currentWidget() is win.hall_view
    win.go_forward()
    assert win.location.text == "H1-R006"
    win.hall_view.rack_selected.emit(1)  # a click selects: inspector and charts follow, view stays
    assert win.tabs.currentWidget() is win.rack_view
    assert win.inspector.address.text == "H1-R002" and win.charts.rack == 1


def test_context_menu_fails_a_pump_and_logs_it(win):
    eng = win.engine
    opts = fault_options(eng, "H1-R003")
    kinds = {(o[2], o[3]) for o in opts}
    assert ("pump_failure", "H1-R003-CDU-P2") in kinds and ("coolant_leak", "H1-R003") in kinds
    assert ("fan_failure", "H1-R003-RDHX-F6") in kinds
    tray_kinds = {o[2] for o in fault_options(eng, "H1-R003-T1")}
    assert {"gpu_failure", "hbm_failure", "psu_failure", "nic_failure"} <= tray_kinds
    assert {o[2] for o in fault_options(eng, "CH2")} >= {"chiller_trip"}
    assert {o[2] for o in fault_options(eng, "GRID")} >= {"grid_sag", "grid_outage", "heat_wave"}

    menu = win.fault_menu("H1-R003")
    _menu_action(menu, "Inject fault", "Pump failure P1").trigger()
    assert not eng.pump_ok[2, 0] and eng.pump_ok[2, 1]
    rows = win.event_log.log_model
    last = rows.event_at(rows.rowCount() - 1)
    assert (last.kind, last.address) == ("fault_started", "H1-R003-CDU-P1")
    # the pump's rack shows it in the inspector, and a repair from the menu clears it
    win.select("H1-R003")
    assert "P1 FAILED" in win.inspector.value_of("Pumps")
    menu.close()
    menu = win.fault_menu("H1-R003-CDU-P1")
    _menu_action(menu, "Repair").trigger()
    assert eng.pump_ok[2].all()
    assert rows.event_at(rows.rowCount() - 1).kind == "fault_cleared"
    menu.close()


def test_bad_injection_is_a_message_not_a_crash(win, qtbot):
    assert not win.inject_fault("pump_failure", "H1-R003")  # a rack is not a pump
    box = win.last_error_dialog
    assert box is not None and "pump" in box.text()
    box.close()


def test_open_invalid_facility_lists_every_problem(win, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: broken\nhalls:\n  - name: X1\n    rows: 0\n  - name: H2\n    racks_per_row: -3\n"
                   "site:\n  grid:\n    import_limit_mw: -5\n", encoding="utf-8")
    with pytest.raises(LoadError) as info:
        load_facility(bad)
    problems = info.value.problems
    assert len(problems) >= 3
    before = win.engine
    t_before = before.t
    assert not win.open_facility(str(bad))
    assert win.engine is before and win.engine.t == t_before
    box = win.last_error_dialog
    assert box is not None and box.isVisible() and box.objectName() == "loadErrorDialog"
    for line in problems:
        assert line in box.informativeText()
    assert "stays open" in box.text()
    box.close()


def test_open_valid_facility_replaces_the_engine(win, tmp_path):
    good = tmp_path / "tiny.yaml"
    good.write_text(small_facility(halls=1, rows=1, racks_per_row=3).model_dump_json(), encoding="utf-8")
    good = good.rename(tmp_path / "tiny.json")
    assert win.open_facility(str(good))
    assert win.engine.n_racks == 3
    assert win.hall_view.engine is win.engine and win.charts.engine is win.engine
    assert win.navigator.topLevelItem(0).childCount() >= 1


def test_theme_switch(win):
    win.set_theme(False)
    pal = QApplication.instance().palette()
    assert pal.color(QPalette.ColorRole.Window).lightness() > 200
    assert pal.color(QPalette.ColorRole.Text).lightness() < 80
    assert win.charts.canvas.backgroundBrush().color().lightness() > 200
    assert not win.act_dark.isChecked()
    win.act_dark.trigger()
    assert win.dark and QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert win.charts.canvas.backgroundBrush().color().lightness() < 80
    img = win.grab().toImage()  # renders in the new theme without error
    assert img.width() > 0


def test_frame_once_advances_and_redraws(win):
    win.driver.set_speed(10)
    win.driver.start()
    t0 = win.engine.t
    drawn = win.charts.redraw_count
    dt = win.frame_once(0.1)
    assert dt > 0 and win.engine.t == pytest.approx(t0 + 1.0)
    assert win.charts.redraw_count == drawn + 1
    assert win.clock_label.text() == "0d 00:00:01" or win.clock_label.text().startswith("0d 00:00")


def test_charts_mark_faults_and_do_not_grow(win):
    win.driver.start()
    win.driver.set_speed(30)
    for _ in range(20):
        win.frame_once(0.1)
    n_items = win.charts.item_count()
    t_fault = win.engine.t
    assert t_fault > 30
    win.inject_fault("chiller_trip", "CH1")
    for _ in range(30):
        win.frame_once(0.1)
    markers = [m for m in win.charts.markers["power"] if m.isVisible()]
    assert len(markers) == 1 and markers[0].value() == t_fault
    assert "CH1" in markers[0].toolTip()
    assert win.charts.item_count() == n_items
    # the power curve holds the last 5 minutes of IT load from telemetry
    x, y = win.charts.curves["power"][0].getData()
    it = win.engine.telemetry.series("it_mw")
    assert y[-1] == pytest.approx(it[-1])
    assert np.all(np.diff(x) > 0)


def test_shortcuts_and_about_dialogs(win):
    rows = win.shortcut_rows()

    def keys_for(word: str) -> str:
        return next(keys for keys, what in rows if word.lower() in what.lower())

    assert keys_for("pause") == "Space"
    assert keys_for("jump to any address") == "Ctrl+L"
    assert keys_for("one engine step") == "."
    assert keys_for("halve the speed") == "[" and keys_for("increase the speed") == "]"
    assert keys_for("back to the previous") == "Alt+Left" and keys_for("open a facility") == "Ctrl+O"
    assert keys_for("quit") == "Ctrl+Q" and keys_for("every keyboard shortcut") == "F1"
    dlg = win.show_shortcuts()
    assert dlg.table.rowCount() == len(win.shortcut_rows())
    dlg.close()
    v = win.versions()
    for key in ("Colossus GUI", "Python", "Qt", "PySide6", "pyqtgraph", "numpy", "pydantic"):
        assert v[key]
    box = win.show_about()
    assert "PySide6" in box.text() and v["pyqtgraph"] in box.text()
    box.close()


def test_exception_hook_shows_words_not_a_traceback(win, monkeypatch, capsys):
    from PySide6.QtWidgets import QMessageBox

    from colossus_gui.ui import app as app_mod

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append((self.text(), self.detailedText())) or 0)
    app_mod.install_excepthook(win)
    win.driver.start()
    try:
        raise ValueError("pump curve table is empty")
    except ValueError as e:
        app_mod._excepthook(type(e), e, e.__traceback__)
    text, details = shown[0]
    assert "pump curve table is empty" in text and "Traceback" not in text + details
    assert "ValueError" in details and "test_main_window.py" in details
    assert not win.driver.running  # paused so an error per tick cannot flood the user
    assert "Traceback" in capsys.readouterr().err  # the full report goes to stderr


def test_deferred_startup_builds_charts_and_views_after_first_paint(qtbot):
    w = MainWindow(small_facility(), seed=1, paused=True, defer_heavy=True)
    qtbot.addWidget(w)
    assert w.charts is None and type(w.tray_view).__name__ == "_Pending"
    w.navigate("H1-R002-T4")  # going to a deferred view builds it on the spot
    assert type(w.tray_view).__name__ == "TrayView" and w.tray_view.tray == 1 * 8 + 3
    assert w.tabs.currentWidget() is w.tray_view
    w.show()
    qtbot.waitUntil(lambda: w.charts is not None, timeout=15000)  # after the first paint
    assert type(w.gpu_view).__name__ == "GpuHeatmapView" and w.gpu_view.engine is w.engine
    assert w.charts.engine is w.engine and w.charts.rack == 1
    assert w.tabs.count() == 8 and w.tabs.tabText(2) == "All GPUs"
    w.shutdown()


def test_settings_remember_theme_layout_and_facility(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from colossus_gui.ui.main_window import SETTINGS_APP, SETTINGS_ORG

    monkeypatch.delenv("COLOSSUS_GUI_NO_SETTINGS", raising=False)
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    fac_file = tmp_path / "mine.json"
    fac_file.write_text(small_facility(halls=1, rows=1, racks_per_row=2).model_dump_json(), encoding="utf-8")
    w = MainWindow(small_facility(), seed=1, paused=True)
    qtbot.addWidget(w)
    assert w.settings is not None
    w.set_theme(False)
    assert w.open_facility(str(fac_file))
    w.events_dock.hide()
    w.close()  # saves geometry, dock state, theme, last facility
    s = QSettings(SETTINGS_ORG, SETTINGS_APP)
    assert s.value("theme") == "light" and s.value("lastFacility") == str(fac_file)
    w2 = MainWindow(small_facility(), seed=1, paused=True)
    qtbot.addWidget(w2)
    assert not w2.dark and w2.restored_geometry
    assert w2.events_dock.isHidden()
    w2.set_theme(True, save=False)
    w2.shutdown()


def test_open_scenario_restarts_with_timed_faults(win, tmp_path):
    fac = tmp_path / "small.json"
    fac.write_text(small_facility().model_dump_json(), encoding="utf-8")
    sc = tmp_path / "pump.yaml"
    sc.write_text(f"title: pump pair\nfacility: {fac}\nseed: 5\nfaults:\n"
                  "  - {at: 20, kind: pump_failure, target: H1-R002-CDU-P1}\n", encoding="utf-8")
    assert win.open_scenario(str(sc))
    assert win.engine.scenario.title == "pump pair" and win.engine.seed == 5 and win.engine.t == 0
    assert "pump pair" in win.windowTitle()
    win.engine.run(25)
    assert not win.engine.pump_ok[1, 0]
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"facility: {fac}\nfaults:\n  - {{at: 5, kind: pump_failure, target: H1-R002}}\n"
                   "  - {at: 6, kind: chiller_trip, target: CH99}\n", encoding="utf-8")
    engine = win.engine
    assert not win.open_scenario(str(bad))
    assert win.engine is engine
    text = win.last_error_dialog.informativeText()
    assert "faults.0.target" in text and "faults.1.target" in text
    win.last_error_dialog.close()


def test_pump_failure_raises_an_alarm_and_a_work_order_on_the_board(win):
    win.driver.set_speed(10)
    win.driver.start()
    win.inject_fault("pump_failure", "H1-R002-CDU-P1")
    win.inject_fault("pump_failure", "H1-R002-CDU-P2")
    for _ in range(12):
        win.driver.tick_once(1.0)  # 120 simulated s, every step seen by the alarms
    win.refresh_text()
    assert win.ops.alarms.counts()["critical"] >= 1
    win.alarm_panel.refresh(force=True)
    assert any(a.component.startswith("H1-R002") for a in win.alarm_panel.visible_alarms())
    assert "critical" in win.alarm_label.text()
    win.work_order_panel.refresh()
    assert any(wo.target.startswith("H1-R002") for wo in win.work_order_panel.visible_orders())
    # acknowledging from the context-menu path clears the unacknowledged alarms of that rack
    assert win.acknowledge_alarms_at("H1-R002") >= 1
    assert not [a for a in win.ops.alarms.alarms() if a.component.startswith("H1-R002") and not a.acked]
    # and a manual work order for another rack lands on the board, selected
    wo = win.create_work_order("H2-R001-RDHX-F3")
    assert wo is not None and win.work_order_panel.selected_id() == wo.id


def test_file_menu_has_export_and_snapshot_shortcuts(win):
    assert win.act_export.shortcut().toString() == "Ctrl+E"
    assert win.act_save_snapshot.shortcut().toString() == "Ctrl+Shift+S"
    keys = [k for k, _ in win.shortcut_rows()]
    assert "Ctrl+E" in keys and "Ctrl+Shift+S" in keys


def _is_red(c) -> bool:
    from colossus_gui.ui import colors
    red = colors.CRITICAL[:3]
    return abs(c.red() - red[0]) < 40 and c.green() < 90 and c.blue() < 90


def test_hall_view_frames_racks_with_critical_alarms_in_red(win):
    win.navigate("H1")
    win.inject_fault("pump_failure", "H1-R003-CDU-P1")
    win.inject_fault("pump_failure", "H1-R003-CDU-P2")
    win.driver.set_speed(10)
    win.driver.start()
    for _ in range(12):
        win.driver.tick_once(1.0)
    hall = win.hall_view
    r = win.engine.parse("H1-R003").index
    assert win.ops.alarms.rack_severity()[r] == 2
    hall.refresh()
    img = hall.grab().toImage()
    rect = hall.rack_rect(r).adjusted(-2, -2, 2, 2)
    assert any(_is_red(img.pixelColor(rect.left() + k, rect.top())) for k in range(2, rect.width() - 2))
    other = hall.rack_rect(r + 2).adjusted(-2, -2, 2, 2)
    assert not any(_is_red(img.pixelColor(other.left() + k, other.top())) for k in range(2, other.width() - 2))
    assert "Alarms:" in hall._tooltip(("rack", r))
    # the rack elevation wears the same red frame
    win.navigate("H1-R003")
    rack = win.views["rack"]
    rack.refresh()
    rimg = rack.grab().toImage()
    fr = rack._geom["rack"].toAlignedRect().adjusted(-4, -4, 4, 4)
    assert sum(_is_red(rimg.pixelColor(fr.left() + k, fr.top())) for k in range(0, fr.width(), 2)) > 10


def test_pump_pair_failed_from_the_menu_turns_the_rack_hot_when_the_engine_says(win):
    """The hall view's colour for the rack crosses the warning colour at the simulated time a headless copy
    of the engine predicts, and the rack elevation draws both pumps red."""
    from colossus_gui.sim.engine import Engine
    from colossus_gui.ui.views.metrics import RACK_METRICS

    eng = win.engine
    win.navigate("H1")
    r = eng.parse("H1-R004").index
    warn = RACK_METRICS["hottest_gpu"].warn
    # prediction: a copy of the engine, same state, same faults
    twin = Engine(eng.facility, seed=eng.seed)
    twin.restore(eng.snapshot())
    twin.inject("pump_failure", "H1-R004-CDU-P1")
    twin.inject("pump_failure", "H1-R004-CDU-P2")
    t0 = twin.t
    while twin.rack_hottest_c[r] < warn:
        twin.step(1.0)
        assert twin.t - t0 < 300, "the engine should predict overheating within minutes"
    t_pred = twin.t

    hall = win.hall_view
    hall.refresh()
    before = hall.grab().toImage().pixelColor(hall.rack_center(r))
    for pump in ("Pump failure P1", "Pump failure P2"):
        menu = win.fault_menu("H1-R004")
        _menu_action(menu, "Inject fault", pump).trigger()
        menu.close()
    win.driver.set_speed(1)
    win.driver.start()
    while eng.t < t_pred:
        win.driver.tick_once(1.0)
    assert eng.rack_hottest_c[r] >= warn
    hall.refresh()
    after = hall.grab().toImage().pixelColor(hall.rack_center(r))
    assert before.blue() > before.red()                     # cool: the blue-green end of the scale
    assert after.red() > 180 and after.red() > after.blue() + 80  # at or past warning: amber to red
    # the rack elevation draws both pumps red
    win.navigate("H1-R004")
    rack = win.views["rack"]
    rack.refresh()
    assert not eng.pump_ok[r].any()
    img = rack.grab().toImage()
    reds = sum(_is_red(img.pixelColor(x, y)) for x in range(0, img.width(), 3) for y in range(0, img.height(), 3))
    assert reds > 50


def test_snapshot_from_the_window_holds_alarms_and_work_orders(win, tmp_path):
    import csv
    import json

    from colossus_gui.io.bundle import open_bundle

    win.inject_fault("pump_failure", "H1-R002-CDU-P1")
    win.inject_fault("pump_failure", "H1-R002-CDU-P2")
    win.driver.set_speed(10)
    win.driver.start()
    for _ in range(12):
        win.driver.tick_once(1.0)
    win.driver.pause()
    from colossus_gui.ui.export.export_dialog import save_snapshot
    path = save_snapshot(win, win.engine, win.driver, path=tmp_path / "snap", images=False, ops=win.ops)
    manifest = json.loads((path / "manifest.json").read_text())
    assert "alarms.csv" in manifest["files"] and "work_orders.csv" in manifest["files"]
    with open(path / "alarms.csv", newline="") as fh:
        alarms = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert any(a["component"].startswith("H1-R002") and a["severity_name"] == "critical" for a in alarms)
    with open(path / "work_orders.csv", newline="") as fh:
        orders = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert any(o["target"].startswith("H1-R002") for o in orders)
    assert open_bundle(path).t == win.engine.t
