"""The Fabric and Storage views as a network or storage engineer uses them: failed parts red, a leaf's GPUs
highlighted, faults from the context menu, navigation, inspector, CSV export, and the redraw budget."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from colossus_gui.io.network_tables import write_fabric_csv, write_storage_csv
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui import colors
from colossus_gui.ui.main_window import MainWindow, fault_options
from colossus_gui.ui.views.fabric_view import FabricView, fabric_state, pixel_colors
from colossus_gui.ui.views.storage_view import NODE_DOWN, StorageView, node_states


@pytest.fixture
def win(qtbot):
    w = MainWindow(small_facility(halls=2, rows=2, racks_per_row=8), seed=3, paused=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def _near(c: QColor, rgb, tol=40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip((c.red(), c.green(), c.blue()), rgb, strict=True))


def test_pixel_colours_never_average_a_failed_switch_away():
    status = np.zeros(3000, dtype=np.int8)
    status[1234] = 2
    px = pixel_colors(status, np.zeros(3000), 300)
    red = 0xFF000000 | (colors.CRITICAL[0] << 16) | (colors.CRITICAL[1] << 8) | colors.CRITICAL[2]
    assert (px == red).sum() == 1 and px[123] == red  # 10 switches a pixel: the failed one's pixel is red


def test_failed_spine_is_red_and_a_flapping_link_amber_in_the_fabric_view(qtbot):
    eng = Engine(small_facility(), seed=1)
    eng.run(10)
    eng.inject("switch_failure", "H1-SP03")
    eng.inject("link_flap", "H2-LF005-P09")
    view = FabricView()
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    view.set_engine(eng)
    st = fabric_state(eng)
    sp = eng.parse("H1-SP03").index
    leaf = eng.parse("H2-LF005").index
    assert st["status"][sp] == 2 and st["status"][leaf] == 1 and st["gpu_status"][leaf] == 1
    assert (st["status"] == 2).sum() == 1
    img = view.canvas.grab().toImage()
    x, y = view.canvas.switch_x(sp)
    assert _near(img.pixelColor(int(x), int(y)), colors.CRITICAL[:3])
    x, y = view.canvas.switch_x(leaf)
    assert _near(img.pixelColor(int(x), int(y)), colors.WARNING[:3])
    x, y = view.canvas.switch_x(eng.parse("H1-SP04").index)
    assert not _near(img.pixelColor(int(x), int(y)), colors.CRITICAL[:3])
    assert view.switch_at(QPointF(*view.canvas.switch_x(sp))) == "H1-SP03"


def test_selecting_a_leaf_highlights_its_gpus_in_the_hall_and_all_gpu_views(win, qtbot):
    win.navigate("H1-LF003")
    fab = win.views["fabric"]
    assert win.tabs.currentWidget() is fab
    gpus = win.engine.topo.net.gpus_of_leaf(win.engine.parse("H1-LF003").index)
    np.testing.assert_array_equal(win.views["gpus"].highlighted, gpus)
    racks = np.unique(gpus // 64)
    np.testing.assert_array_equal(win.hall_view.highlighted_racks, racks)
    assert racks.size == 8  # one array of 8 racks: rail 3 of each of its 64 servers
    assert win.inspector.value_of("GPUs").startswith("64: H1-R001-T1-G3")
    # a click on a leaf cell does the same from the view
    leaf = win.engine.parse("H1-LF010").index
    fab.refresh(force=True)
    x, y = fab.canvas.switch_x(leaf)
    with qtbot.waitSignal(fab.component_selected) as sig:
        qtbot.mouseClick(fab.canvas, Qt.MouseButton.LeftButton, pos=QPointF(x, y).toPoint())
    assert sig.args == ["H1-LF010"]
    assert win.selection.text == "H1-LF010"
    # a GPU's port: its path up the tiers
    win.navigate("H1-LF001-P02")
    assert fab._path is not None and fab._path[0] == win.engine.parse("H1-LF001").index
    assert len(fab._path[1]) == win.engine.topo.net.hall_spines[0] and len(fab._path[2]) >= 1  # all its spines


def test_context_menu_faults_on_fabric_and_storage_raise_alarms(win):
    eng = win.engine
    kinds = {o[2] for o in fault_options(eng, "H1-SP02")}
    assert kinds == {"switch_failure"}
    assert {o[2] for o in fault_options(eng, "H1-LF001-P07")} == {"link_failure", "link_flap"}
    assert {o[2] for o in fault_options(eng, "ST003")} == {"storage_node_failure"}
    assert {o[2] for o in fault_options(eng, "ST003-D04")} == {"drive_failure"}
    assert win.inject_fault("switch_failure", "H1-SP02")
    assert win.inject_fault("storage_node_failure", "ST003")
    win.driver.step_once()
    win.driver.step_once()
    rules = {(a.rule, a.component) for a in win.ops.alarms.alarms()}
    assert ("switch_state", "H1-SP02") in rules and ("storage_degraded", "STORAGE") in rules
    win.navigate("ST003")
    sv = win.views["storage"]
    assert win.tabs.currentWidget() is sv and sv.selected == eng.parse("ST003").index
    sv.refresh(force=True)
    assert node_states(eng)[sv.selected] == NODE_DOWN
    assert win.inspector.value_of("State") == "DOWN"
    assert "1 nodes" in sv.summary.text() or "1 node" in sv.summary.text()


def test_storage_view_colours_a_down_node_red_and_lists_rebuilds(qtbot):
    eng = Engine(small_facility(), seed=1)
    eng.inject("storage_node_failure", "ST004")
    eng.inject("drive_failure", "ST001-D02")
    eng.run(5)
    view = StorageView()
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_engine(eng)
    states = node_states(eng)
    assert states[3] == NODE_DOWN and states[0] != 0 and (states[4:] == 0).all()
    assert [r[0] for r in eng.storage.rebuild_progress()] == ["ST004", "ST001-D02"]
    img = view.canvas.grab().toImage()
    grid, first, n, cols = view.canvas._grids[0]
    cw, ch = grid.width() / cols, grid.height() / -(-n // cols)
    r, c = divmod(3, cols)
    px = img.pixelColor(int(grid.x() + (c + 0.5) * cw), int(grid.y() + (r + 0.5) * ch))
    assert _near(px, colors.CRITICAL[:3])
    assert view.canvas.node_at(QPointF(grid.x() + (c + 0.5) * cw, grid.y() + (r + 0.5) * ch)) == 3


def test_fabric_and_storage_csv_exports_reload(tmp_path):
    eng = Engine(small_facility(), seed=2)
    eng.run(20)
    eng.inject("switch_failure", "H1-SP01")
    eng.run(10)
    p = write_fabric_csv(eng, tmp_path / "fabric.csv")
    rows = list(csv.DictReader(open(p, newline="")))
    assert len(rows) == 30 and "bisection_frac [fraction]" in rows[0]
    assert float(rows[5]["bisection_frac [fraction]"]) == 1.0
    assert float(rows[-1]["bisection_frac [fraction]"]) == pytest.approx(7 / 8)
    q = write_storage_csv(eng, tmp_path / "storage.csv")
    rows = list(csv.DictReader(open(q, newline="")))
    assert len(rows) == 30 and float(rows[-1]["write_bw_gbs [GB/s]"]) == pytest.approx(eng.storage.design_gbs)


@pytest.mark.slow
def test_at_200k_gpus_a_failed_spine_still_shows_red_among_thousands_of_switches(qtbot):
    """Thousands of switches share a pixel column here: the failed spine must not be averaged away, and the
    view stays correct through refreshes (its redraw time is a bench figure, not a test)."""
    from colossus_gui.io.loader import load_facility
    eng = Engine(load_facility("colossus-200k"), seed=1, telemetry_capacity=2000)
    eng.run(5)
    eng.inject("switch_failure", "H3-SP12")
    eng.inject("link_flap", "H1-LF001-P01")
    view = FabricView()
    qtbot.addWidget(view)
    view.resize(1400, 800)
    view.show()
    qtbot.waitExposed(view)
    view.set_engine(eng)
    view.set_selected("H2-LF100")
    for _ in range(5):
        eng.step(1.0)
        view.refresh()
        view.canvas.repaint()
    img = view.canvas.grab().toImage()
    sp = eng.parse("H3-SP12").index
    x, y = view.canvas.switch_x(sp)
    assert _near(img.pixelColor(int(x), int(y)), colors.CRITICAL[:3])
    x, y = view.canvas.switch_x(eng.parse("H1-LF001").index)
    assert _near(img.pixelColor(int(x), int(y)), colors.WARNING[:3])
    assert view.switch_at(QPointF(*view.canvas.switch_x(sp))) == "H3-SP12"


def test_snapshot_bundle_holds_the_fabric_and_storage_and_reopens_with_them(tmp_path):
    from colossus_gui.io.bundle import open_bundle, write_bundle
    from colossus_gui.ui.export.render import bundle_png_writers

    eng = Engine(small_facility(), seed=4)
    eng.run(20)
    eng.inject("switch_failure", "H2-SP05")
    eng.inject("link_flap", "H1-LF002-P03")
    eng.inject("drive_failure", "ST003-D07")
    eng.run(10)
    out = write_bundle(eng, tmp_path / "snap", bundle_png_writers(eng))
    for name in ("fabric.png", "storage.png", "fabric.csv", "storage.csv"):
        assert (out / name).stat().st_size > 0, name
    again = open_bundle(out)
    assert not again.fabric.switch_ok[again.parse("H2-SP05").index]
    assert again.fabric.link_flapping[again.parse("H1-LF002-P03").index]
    assert again.storage.n_drives_down == 1 and again.fabric.hall_bisection[1] == pytest.approx(7 / 8)
    again.step(1.0)
    eng.step(1.0)
    assert again.goodput() == eng.goodput()


def test_front_end_leaf_down_is_red_in_the_front_end_row_and_its_faults_are_on_the_context_menus(win, qtbot):
    eng = win.engine
    assert {o[2] for o in fault_options(eng, "H1-FL02")} == {"frontend_leaf_failure"}
    tray_opts = {(o[2], o[3]) for o in fault_options(eng, "H2-R003-T4")}
    assert ("frontend_nic_failure", "H2-R003-T4-FE") in tray_opts
    assert win.inject_fault("frontend_leaf_failure", "H2-FL02")
    assert win.inject_fault("frontend_nic_failure", "H1-R001-T2-FE")
    win.driver.step_once()
    win.navigate("H2-FL02")
    fab = win.views["fabric"]
    assert win.tabs.currentWidget() is fab
    assert win.inspector.value_of("State") == "DOWN"
    fab.refresh(force=True)
    st = fabric_state(eng)
    fl02, fl01 = eng.parse("H2-FL02").index, eng.parse("H1-FL01").index
    assert st["fe_status"].tolist() == [1 if i == fl01 else 2 if i == fl02 else 0 for i in range(st["fe_status"].size)]
    img = fab.canvas.grab().toImage()
    n = eng.topo.net.n_switches
    x, y = fab.canvas.switch_x(n + fl02)
    assert _near(img.pixelColor(int(x), int(y)), colors.CRITICAL[:3])
    x1, y1 = fab.canvas.switch_x(n + fl01)
    assert _near(img.pixelColor(int(x1), int(y1)), colors.WARNING[:3])
    # its servers' GPUs are highlighted; a click on the cell selects it
    assert win.views["gpus"].highlighted.size == 48 * 8
    with qtbot.waitSignal(fab.component_selected) as sig:
        qtbot.mouseClick(fab.canvas, Qt.MouseButton.LeftButton, pos=QPointF(x1, y1).toPoint())
    assert sig.args == ["H1-FL01"]
    rules = {(a.rule, a.component) for a in win.ops.alarms.alarms() if a.active}
    assert ("frontend_state", "H2-FL02") in rules and ("frontend_state", "H1-FL01") in rules
    win.navigate("H1-R001-T2-FE")
    assert win.inspector.value_of("Front-end NIC") == "H1-R001-T2-FE DOWN on H1-FL01 up"
    assert win.inspector.value_of("In job pool") == "no"
    tv = win.views["tray"]  # the tray view marks the server's front-end link
    tv.refresh(force=True)
    assert tv.nic_names[-1] == "FE" and tv.nic_address[-1] == "H1-R001-T2-FE" and not tv.nic_ok[-1]
    assert tv.nic_ok[:-1].all()
