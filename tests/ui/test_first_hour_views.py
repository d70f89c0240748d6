"""The views a facility engineer uses in the first hour: the tray view (click, Ctrl+L, one moment, history),
the hall view (fills its pane, Fit, labels that never overlap) and the work-order board."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QToolButton

from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.main_window import MainWindow
from colossus_gui.ui.panels.work_order_panel import WorkOrderPanelWidget
from colossus_gui.ui.views.hall_view import HallView


@pytest.fixture
def win(qtbot):
    w = MainWindow(small_facility(), seed=3, paused=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def _tick(win, n: int) -> None:
    win.driver.set_running(True)
    for _ in range(n):
        win.driver.tick_once(1.0)
        win.refresh_views(force=False)
    win.driver.set_running(False)


def _inspector(win) -> dict[str, str]:
    t = win.inspector.table
    return {t.item(r, 0).text(): t.item(r, 1).text() for r in range(t.rowCount())}


def test_tray_view_click_and_ctrl_l_highlight_a_gpu(win, qtbot):
    win.navigate("H1-R002-T4-G3")  # what Ctrl+L does
    tray = win.tray_view
    assert win.tabs.currentWidget() is tray and tray.highlighted == "H1-R002-T4-G3"
    rect = next(r for r, kind, a in tray.tiles.regions if a == "H1-R002-T4-G3")
    img = tray.tiles.grab().toImage()
    hl = tray.palette().color(tray.palette().ColorRole.Highlight)
    edge = img.pixelColor(QPointF(rect.center().x(), rect.top() - 1).toPoint())
    assert abs(edge.red() - hl.red()) + abs(edge.green() - hl.green()) + abs(edge.blue() - hl.blue()) < 60, \
        "the GPU reached with Ctrl+L is outlined"
    # double-click another GPU: it is inspected and outlined
    other = next(r for r, kind, a in tray.tiles.regions if a == "H1-R002-T4-G6")
    qtbot.mouseDClick(tray.tiles, Qt.MouseButton.LeftButton, pos=other.center().toPoint())
    assert win.selection.text == "H1-R002-T4-G6" and tray.highlighted == "H1-R002-T4-G6"


def test_tray_tiles_and_inspector_show_the_same_moment(win):
    win.navigate("H1-R001-T2-G1")
    _tick(win, 12)
    for _ in range(4):  # views redrawn at 10 Hz between two text refreshes: the tiles keep the text moment
        win.driver.set_running(True)
        win.driver.tick_once(0.37)
        win.refresh_views(force=False)
        win.refresh_text()
        tile_w = win.tray_view.gpu_text[0].split("\n")[2]
        assert _inspector(win)["Power"] == tile_w, "tiles and inspector from the same step"
        win.driver.tick_once(0.4)
        win.refresh_views(force=False)
        assert win.tray_view.gpu_text[0].split("\n")[2] == tile_w, "tile figures change with the text clock only"


def test_tray_history_is_kept_across_openings_and_drawn_inside_the_gpu_boxes(win):
    win.navigate("H1-R001-T1")
    _tick(win, 40)
    tray = win.tray_view
    n_a = len(tray.history()[0])
    assert n_a >= 30
    win.navigate("H1-R003-T5")
    _tick(win, 10)
    assert len(tray.history()[0]) <= 11, "another tray: its own history"
    win.navigate("H1-R001-T1")
    _tick(win, 2)
    t, tj, _ = tray.history()
    assert len(t) >= n_a + 1 and t[0] <= 2.0, "the first tray's history is still there"
    # the curve is drawn inside each GPU tile, in the GPU's curve colour
    tray.refresh(force=True)
    img = tray.tiles.grab().toImage()
    rect = next(r for r, kind, a in tray.tiles.regions if kind == "gpu")
    box = tray.tiles.history_rect(rect)
    from colossus_gui.ui import colors
    want = colors.CURVE_COLORS[0]
    hits = 0
    for x in range(int(box.left()) + 2, int(box.right()) - 1, 2):
        for y in range(int(box.top()) + 1, int(box.bottom())):
            c = img.pixelColor(x, y)
            if abs(c.red() - want[0]) + abs(c.green() - want[1]) + abs(c.blue() - want[2]) < 70:
                hits += 1
                break
    from colossus_gui.ui.views.tray_view import HISTORY_S
    t = tray.history()[0]
    span_cols = (t[-1] - t[0]) / HISTORY_S * box.width() / 2  # the recorded span, in tested columns
    assert hits >= 0.6 * span_cols, "the history line runs across the box for the time recorded"


def test_hall_view_fills_its_pane_fit_works_and_labels_never_overlap(qtbot):
    eng = Engine(small_facility(halls=1, rows=14, racks_per_row=28), seed=3)
    eng.run(5)
    hall = HallView()
    qtbot.addWidget(hall)
    hall.set_engine(eng)
    for size in ((1100, 620), (760, 700), (1800, 900)):
        hall.resize(*size)
        hall.show()
        qtbot.waitExposed(hall)
        hall.fit()
        hall.grab()
        first, last = hall.rack_rect(0), hall.rack_rect(27)
        used = (last.right() - first.left()) / hall.width()
        assert used > 0.75, f"the hall uses {used:.0%} of the width at {size}"
        bottom = max(r.bottom() for r, _t, _b in hall.drawn_text())
        assert bottom <= hall.height(), "nothing below the pane"
        texts = hall.drawn_text()
        for rect, text, _box in texts:
            assert hall.rect().adjusted(-1, -1, 1, 1).contains(rect.toAlignedRect()), f"{text!r} clipped"
        labels = [(r, t) for r, t, _ in texts if t.startswith("R") and t[1:].isdigit()]
        for i, (a, ta) in enumerate(labels):
            for b, tb in labels[i + 1:]:
                inter = a.intersected(b)
                assert inter.width() < 1 or inter.height() < 1, f"{ta} overlaps {tb}"
    # zoom in, then Fit brings the whole hall back
    before = hall.rack_rect(27)
    hall._zoom = 3.0
    hall.update()
    assert hall.rack_rect(27) != before
    hall.findChild(QToolButton, "hallFitButton").click()
    assert hall.rack_rect(27) == before


def test_work_order_board_fills_its_pane_and_the_picker_shows_whom_it_assigns(qtbot):
    eng = Engine(small_facility(), seed=3)
    eng.run(5)
    ops = OpsManager(eng)
    ops.set_dispatch_mode("manual")
    wos = [ops.create_work_order(a) for a in ("H1-R001-T1", "H1-R002-T2", "H2-R001-T3", "H2-R002-T4")]
    board = WorkOrderPanelWidget(ops, eng)
    qtbot.addWidget(board)
    board.resize(900, 420)
    board.show()
    qtbot.waitExposed(board)
    board.refresh()
    assert board.table.height() > 0.55 * board.height(), "the order list takes the pane's height"
    assert board.table.verticalHeader().length() <= board.table.viewport().height(), "every order visible"
    board.select_order(wos[0].id)
    board.refresh()
    names = [board.tech_box.itemText(i) for i in range(board.tech_box.count())]
    assert len(names) >= 2
    board.tech_box.setCurrentIndex(1)
    picked = board.tech_box.currentText()
    # the picked technician is taken by another order meanwhile: the picker shows no one, never someone else
    ops.assign(wos[1].id, picked)
    board.refresh()
    assert board.tech_box.currentText() == "" and not board.assign_button.isEnabled()
    board.tech_box.setCurrentIndex(0)
    chosen = board.tech_box.currentText()
    board.assign_button.click()
    assert ops.work_orders.get(wos[0].id).technician == chosen
    assert chosen in board.message.text(), "the board says whom it assigned"
    assert np.all([board.tech_box.itemText(i) != chosen for i in range(board.tech_box.count())])


def test_all_gpus_overview_fits_every_hall_with_its_name(qtbot):
    from colossus_gui.ui.views.gpu_heatmap_view import GpuHeatmapView
    eng = Engine(small_facility(halls=8, rows=14, racks_per_row=28), seed=3)
    eng.run(3)
    view = GpuHeatmapView()
    qtbot.addWidget(view)
    view.resize(620, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_engine(eng)
    view.fit()
    qtbot.wait(20)
    vb = view.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    lay = view.layout_map
    assert x0 <= 0 and x1 >= lay.width and y0 <= 0 and y1 >= lay.height, "every hall in view"
    vr = vb.mapRectToScene(vb.boundingRect())
    for label in view._hall_labels:
        r = label.mapRectToScene(label.boundingRect())
        assert vr.adjusted(-1, -1, 1, 1).contains(r), f"{label.textItem.toPlainText()} cut off"


def test_hall_cells_and_gaps_are_even_at_any_size(qtbot):
    """Every rack cell the same width and every gap between cells alike: whole-pixel pitches (a fractional
    pitch makes every few gaps a pixel wider, which reads as a pattern that is not there)."""
    from PySide6.QtGui import QPalette
    eng = Engine(small_facility(halls=1, rows=6, racks_per_row=28), seed=3)
    eng.run(5)
    hall = HallView()
    qtbot.addWidget(hall)
    hall.set_engine(eng)
    for size in ((1100, 620), (1333, 771), (1917, 1013)):
        hall.resize(*size)
        hall.show()
        qtbot.waitExposed(hall)
        hall.fit()
        img = hall.grab().toImage()
        base = hall.palette().color(QPalette.ColorRole.Base).rgb()
        r0, r27 = hall.rack_rect(0), hall.rack_rect(27)
        y = r0.center().y()
        xs = range(r0.left() - 1, r27.right() + 2)
        is_gap = [img.pixel(x, y) == base for x in xs]
        runs, cur, n = [], is_gap[0], 0
        for g in is_gap:
            if g == cur:
                n += 1
            else:
                runs.append((cur, n))
                cur, n = g, 1
        runs.append((cur, n))
        cells = [n for g, n in runs if not g]
        gaps = [n for g, n in runs[1:-1] if g]  # between cells (the outer runs are the margins)
        assert len(cells) == 28, f"{len(cells)} cells drawn in a row of 28 at {size}"
        assert len(set(cells)) == 1, f"cell widths {sorted(set(cells))} px at {size}"
        assert len(set(gaps)) == 1 and gaps[0] >= 1, f"gap widths {sorted(set(gaps))} px at {size}"
        pitches = {hall.rack_rect(k + 1).left() - hall.rack_rect(k).left() for k in range(27)}
        assert len(pitches) == 1, f"rack pitches {sorted(pitches)} px at {size}"
