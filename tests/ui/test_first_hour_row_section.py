"""The row section: one row cut from the side (busway and tap-offs, racks with trays and doors, CDUs, supply
and return headers), live, reached from the hall view's row labels and from the navigator."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui import colors
from colossus_gui.ui.main_window import MainWindow
from colossus_gui.ui.views.hall_view import HallView
from colossus_gui.ui.views.row_section_view import RowSectionView


@pytest.fixture
def engine():
    e = Engine(small_facility(rows=3, racks_per_row=8), seed=3)
    e.facility.failures.auto_repair = False
    e.run(30)
    return e


def _show(qtbot, w, size=(1100, 650)):
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def _rgb(img, pt: QPointF) -> tuple[int, int, int]:
    c = img.pixelColor(pt.toPoint())
    return c.red(), c.green(), c.blue()


def _texts_fit(view: RowSectionView) -> None:
    texts = view.drawn_text()
    assert texts, "the section labels its parts"
    for rect, text, box in texts:
        assert box.adjusted(-1, -1, 1, 1).contains(rect), f"{text!r} runs out of its box"
        assert view.rect().adjusted(-1, -1, 1, 1).contains(rect.toAlignedRect()), f"{text!r} is clipped"
    for i, (a, ta, _) in enumerate(texts):
        for b, tb, _ in texts[i + 1:]:
            inter = a.intersected(b)
            assert inter.width() < 1.5 or inter.height() < 1.5, f"{ta!r} overlaps {tb!r}"


def test_headers_are_coloured_by_temperature_and_show_the_engines_figures(qtbot, engine):
    rack = 2  # H1-R003: both CDU pumps fail, its loop heats up
    engine.inject("pump_failure", "H1-R003-CDU-P1")
    engine.inject("pump_failure", "H1-R003-CDU-P2")
    engine.run(90)
    v = _show(qtbot, RowSectionView())
    v.set_engine(engine)
    v.set_rack(rack)
    assert list(v.racks()) == list(range(8)) and v.selected == rack
    img = v.grab().toImage()
    sup, ret = v.pipe_rect("supply"), v.pipe_rect("return")
    healthy = 6

    def at(pipe, i):  # the pipe's pixel under rack i, above its label
        r = v.rack_rect(i)
        return _rgb(img, QPointF(r.left() + 2, pipe.top() + 2))

    s_ok, r_ok, r_hot = at(sup, healthy), at(ret, healthy), at(ret, rack)
    assert s_ok[2] > s_ok[0], "a healthy rack's supply reads blue"
    assert r_ok[0] > r_ok[2], "its return reads red"
    assert engine.t_ret[rack] > engine.t_ret[healthy] + 3
    assert r_hot[0] >= r_ok[0] - 5 and r_hot[2] <= r_ok[2] + 5, "the rack without flow has the hottest return"
    # figures along the headers are the engine's, with units
    texts = [t for _, t, _ in v.drawn_text()]
    assert f"{engine.t_ret[rack]:.1f} °C" in texts or any(f"{engine.t_ret[rack]:.1f}" in t for t in texts)
    assert any(t.startswith("busway") and "MW" in t for t in texts)
    # the CDU shows both pumps failed (red dots) and the tooltip says so
    cdu = v.cdu_rect(rack)
    assert "FAILED" in v.tooltip_at(cdu.center())
    pump_px = _rgb(img, QPointF(cdu.left() + cdu.width() / 4, cdu.center().y()))
    assert abs(pump_px[0] - colors.PUMP_FAILED[0]) < 40 and pump_px[1] < 120
    _texts_fit(v)


def test_trays_are_coloured_by_the_chosen_metric_and_follow_the_engine(qtbot, engine):
    v = _show(qtbot, RowSectionView())
    v.set_engine(engine)
    v.set_row(0, 1)  # second row of H1
    assert list(v.racks()) == list(range(8, 16))
    r = v.rack_rect(0)
    tray_px = _rgb(v.grab().toImage(), QPointF(r.left() + 5, r.top() + 6))
    want = v.current_metric.color_of(float(engine.tj[8, :8].max()))
    assert all(abs(a - b) <= 30 for a, b in zip(tray_px, want[:3], strict=False)), (tray_px, want)
    # live: the next step's figures are shown after a refresh
    before = v.data["t_ret"].copy()
    engine.inject("pump_failure", "H1-R009-CDU-P1")
    engine.inject("pump_failure", "H1-R009-CDU-P2")
    engine.run(60)
    v.refresh()
    assert v.data["t_ret"][0] > before[0] + 1
    np.testing.assert_allclose(v.data["t_ret"], engine.t_ret[8:16])
    v.set_metric("flow")
    assert v.current_metric.name == "flow" and v.data["rack_value"][0] < 10  # no flow in the broken rack
    # slid-out tray drawn dark
    engine.set_tray_service("H1-R010-T3", drained=True, slid_out=True)
    v.refresh(force=True)
    assert tuple(v.data["tray_rgba"][1, 2]) == colors.SLID_OUT


def test_nothing_overlaps_or_clips_at_any_size(qtbot, engine):
    v = _show(qtbot, RowSectionView())
    v.set_engine(engine)
    for size in ((520, 340), (640, 420), (900, 560), (1280, 600), (1900, 900)):
        v.resize(*size)
        v.grab()
        _texts_fit(v)


def test_hall_row_label_and_navigator_open_the_row_section(qtbot):
    w = MainWindow(small_facility(rows=3, racks_per_row=8), seed=3, paused=True)
    w.driver.set_timer_enabled(False)
    _show(qtbot, w, (1500, 950))
    try:
        w.navigate("H2")
        hall: HallView = w.hall_view
        qtbot.waitUntil(lambda: hall.isVisible())
        rr = hall.rack_rect(int(w.engine.topo.hall_rack_start[1]) + 8)  # H2 row 2, first rack
        label_pt = QPointF(rr.left() - 12, rr.center().y())
        assert hall._hit(label_pt) == ("row_label", 1)
        assert "row section" in hall._tooltip(("row_label", 1))
        qtbot.mouseClick(hall, Qt.MouseButton.LeftButton, pos=label_pt.toPoint())
        row_view = w.views["row"]
        assert w.tabs.currentWidget() is row_view
        assert (row_view.hall, row_view.row) == (1, 1)
        assert "Hall H2 · row 2" in row_view._title.text()
        # the navigator: a row item opens the same section
        nav = w.navigator
        hall_item = nav._hall_items[0]
        hall_item.setExpanded(True)
        row_item = hall_item.child(2)
        nav.itemActivated.emit(row_item, 0)
        assert (row_view.hall, row_view.row) == (0, 2) and w.tabs.currentWidget() is row_view
        # double-click a rack: its rack elevation
        qtbot.mouseDClick(row_view, Qt.MouseButton.LeftButton, pos=row_view.rack_rect(3).center().toPoint())
        assert w.tabs.currentWidget() is w.rack_view
        assert w.location.text == w.engine.topo.rack_address(int(row_view.racks()[3]))
    finally:
        w.shutdown()


def test_the_section_shows_hall_air_and_the_facility_water_gradient_along_the_header(qtbot, engine):
    view = _show(qtbot, RowSectionView())
    view.set_engine(engine)
    view.set_row(0, 1)
    view.refresh()
    view.grab()  # paint once: the drawn texts are recorded
    d = view.data
    h = int(engine.topo.rack_hall[view._racks[0]])
    assert d["hall_air_c"] == pytest.approx(float(engine.hall_air_c[h]))
    np.testing.assert_allclose(d["inlet_c"], engine.rack_inlet_c[view._racks])
    np.testing.assert_allclose(d["fw_c"], engine.rack_fw_c[view._racks])
    texts = " ".join(t for _, t, _ in view.drawn_text())
    assert f"hall air {engine.hall_air_c[h]:.1f} °C" in texts
    assert f"at the CDUs {engine.rack_fw_c[view._racks].min():.1f}" in texts
    _texts_fit(view)
