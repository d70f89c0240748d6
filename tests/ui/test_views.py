"""The facility views driven as a user would: click a rack, open a tray, break a pump and look at the colours.

Pixels are read from ``widget.grab()`` and compared with the colours the views promise (status palette, the
thermal scale), with a tolerance; no golden screenshots.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

from colossus_gui.io.loader import load_facility
from colossus_gui.model.facility import HallSpec
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui import colors
from colossus_gui.ui.views.gpu_heatmap_view import GpuHeatmapView, heatmap_layout
from colossus_gui.ui.views.hall_view import HallView
from colossus_gui.ui.views.metrics import (
    GPU_METRICS,
    RACK_METRICS,
    gpu_overlay_index,
    rack_health,
    row_busway_load,
)
from colossus_gui.ui.views.rack_view import SLIDE_FRAC, RackView
from colossus_gui.ui.views.tray_view import TrayView

RACK = 1  # H1-R002: the rack the tests break


@pytest.fixture
def engine():
    e = Engine(small_facility(), seed=3)
    e.facility.failures.auto_repair = False  # the faults we inject stay until we repair them
    e.run(60)  # warm: jobs running, temperatures settled
    return e


def _show(qtbot, w, size=(900, 700)):
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def _pixel(widget, pt) -> tuple[int, int, int]:
    c = widget.grab().toImage().pixelColor(QPointF(pt).toPoint())
    return c.red(), c.green(), c.blue()


def _close(rgb, rgba, tol=40) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(rgb, rgba[:3], strict=False))


def _thermal_position(rgb) -> int:
    """Where a colour lies on the thermal scale (nearest LUT entry)."""
    lut = colors.THERMAL_LUT[: colors.N_LEVELS, :3].astype(int)
    return int(np.argmin(((lut - np.array(rgb)) ** 2).sum(axis=1)))


def _fail_both_pumps(e, rack=RACK):
    for i in range(e.topo.pumps_per_cdu):
        e.inject("pump_failure", e.topo.pump_address(rack, i))


# ================================================================================== hall view
def test_clicking_a_rack_cell_selects_that_rack(qtbot, engine):
    view = _show(qtbot, HallView())
    view.set_engine(engine)
    for rack in (0, 6):  # H1-R001 and H1-R007 (second row)
        with qtbot.waitSignal(view.rack_selected, timeout=15000) as sig:
            qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.rack_center(rack))
        assert sig.args == [rack]
        assert view.selected == rack
    # the second hall: its first rack is global rack 8
    view.set_hall(1)
    with qtbot.waitSignal(view.rack_selected, timeout=15000) as sig:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.rack_center(8))
    assert sig.args == [8]
    with qtbot.waitSignal(view.rack_activated, timeout=15000) as sig:
        qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=view.rack_center(9))
    assert sig.args == [9]


def test_clicking_between_racks_selects_nothing(qtbot, engine):
    view = _show(qtbot, HallView())
    view.set_engine(engine)
    a, b = view.rack_rect(0), view.rack_rect(1)
    gap = QPoint((a.right() + b.left()) // 2, a.center().y())
    assert view.rack_at(gap) == -1
    with qtbot.assertNotEmitted(view.rack_selected):
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=gap)


def test_pump_failure_turns_the_rack_cell_hotter(qtbot, engine):
    view = _show(qtbot, HallView())
    view.set_engine(engine)
    assert view.metric_name() == "hottest_gpu"
    before = _thermal_position(_pixel(view, view.rack_center(RACK)))
    neighbour_before = _thermal_position(_pixel(view, view.rack_center(RACK + 1)))
    _fail_both_pumps(engine)
    engine.run(90)
    view.refresh()
    hot = engine.rack_hottest_c[RACK]
    assert hot >= RACK_METRICS["hottest_gpu"].warn, "no flow for 90 s must push the hottest GPU past the warning limit"
    after = _thermal_position(_pixel(view, view.rack_center(RACK)))
    neighbour_after = _thermal_position(_pixel(view, view.rack_center(RACK + 1)))
    m = view.current_metric
    expected = int(m.index(np.array([hot]))[0])
    assert after > before + 60, (before, after)
    assert abs(after - expected) <= 12, "the cell shows the engine's hottest GPU on the scale"
    # the fault's heat stays in its rack (the first GPU shutdown interrupts the hall's job, so the
    # neighbour may idle cooler, never hotter)
    assert neighbour_after - neighbour_before <= 15, "the fault stays in its rack"


def test_cooling_tier_and_flow_metric_show_the_lost_pumps(qtbot, engine):
    view = _show(qtbot, HallView())
    view.set_engine(engine)
    assert _close(_pixel(view, view.cdu_center(RACK)), colors.OK)
    _fail_both_pumps(engine)
    engine.run(10)
    view.refresh()
    assert _close(_pixel(view, view.cdu_center(RACK)), colors.CRITICAL)
    combo = view.findChild(type(view.metric_combo), "metricCombo")
    combo.setCurrentIndex(combo.findData("flow"))
    assert view.metric_name() == "flow"
    assert _close(_pixel(view, view.rack_center(RACK)), colors.CRITICAL)
    assert _close(_pixel(view, view.rack_center(RACK + 1)), colors.OK)


def test_hall_tooltip_and_context_menu_name_the_rack(qtbot, engine):
    view = _show(qtbot, HallView())
    view.set_engine(engine)
    _fail_both_pumps(engine)
    engine.run(5)
    view.refresh()
    tip = view._tooltip(("rack", RACK))
    assert "H1-R002" in tip and "failed pump ×2" in tip and "kW" in tip and "85.0" in tip
    got = []
    view.context_menu_requested.connect(lambda a, p: got.append(a))
    for pt, addr in ((view.rack_center(RACK), "H1-R002"), (view.cdu_center(RACK), "H1-R002-CDU")):
        ev = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pt, view.mapToGlobal(pt))
        QApplication.sendEvent(view, ev)
        assert got[-1] == addr


def test_busway_bar_length_follows_row_power(qtbot, engine):
    view = _show(qtbot, HallView())
    view.set_engine(engine)
    power, rating = row_busway_load(engine)
    rid = engine.topo.rack_row[:8]
    assert np.allclose(power[:2], [engine.rack_power_w[:8][rid == r].sum() for r in range(2)])
    pct = 100 * power[0] / rating[0]
    rect = view.busway_rect(0)
    img = view.grab().toImage()
    y = rect.center().y()
    filled = [x for x in range(rect.left(), rect.right()) if _close(
        (img.pixelColor(x, y).red(), img.pixelColor(x, y).green(), img.pixelColor(x, y).blue()), colors.OK, 25)]
    assert filled, "the bar is drawn in the ok colour"
    frac = (max(filled) - rect.left()) / rect.width()
    assert abs(frac - pct / 100) < 0.05


def test_hidden_hall_view_does_no_work_until_shown(qtbot, engine):
    view = HallView()
    qtbot.addWidget(view)
    view.set_engine(engine)
    sig = view._sig
    engine.step(1.0)
    view.refresh()
    assert view._sig == sig, "hidden: nothing recomputed"
    view.show()
    qtbot.waitExposed(view)
    assert view._sig != sig, "shown: brought up to date"


# ================================================================================== rack view
def test_rack_view_shows_eight_trays_and_opens_one(qtbot, engine):
    view = _show(qtbot, RackView(), (640, 660))
    view.set_engine(engine)
    view.set_rack(RACK)
    rects = [view.tray_rect(t) for t in range(8)]
    assert len(rects) == 8
    assert all(rects[i].bottom() <= rects[i + 1].top() + 1 for i in range(7)), "T1 on top, T8 at the bottom"
    assert all(view.rect().contains(r.toRect()) for r in rects)
    # every tray is in service: its status strip is the ok colour
    for r in rects:
        assert _close(_pixel(view, QPointF(r.left() + 5, r.center().y())), colors.OK)
    with qtbot.waitSignal(view.tray_activated, timeout=15000) as sig:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=rects[2].center().toPoint())
    assert sig.args == [RACK * 8 + 2]


def test_rack_view_draws_failed_pumps_red(qtbot, engine):
    view = _show(qtbot, RackView(), (640, 660))
    view.set_engine(engine)
    view.set_rack(RACK)
    for i in range(2):
        assert _close(_pixel(view, view.pump_center(i)), colors.PUMP_RUNNING)
    engine.inject("pump_failure", engine.topo.pump_address(RACK, 0))
    engine.step(1.0)
    view.refresh()
    assert _close(_pixel(view, view.pump_center(0)), colors.PUMP_FAILED)
    assert _close(_pixel(view, view.pump_center(1)), colors.PUMP_SWITCHING), "the spare is taking over"
    engine.inject("pump_failure", engine.topo.pump_address(RACK, 1))
    engine.run(90)
    view.refresh()
    for i in range(2):
        assert _close(_pixel(view, view.pump_center(i)), colors.PUMP_FAILED)


def test_rack_view_draws_a_failed_fan_red(qtbot, engine):
    view = _show(qtbot, RackView(), (640, 660))
    view.set_engine(engine)
    view.set_rack(RACK)
    # sample off-centre: the fan's blades are drawn through the middle
    off = QPointF(-view._geom["fans"][0].width() * 0.25, view._geom["fans"][0].height() * 0.2)
    assert all(_close(_pixel(view, view.fan_center(i) + off), colors.FAN_HEALTHY) for i in range(6))
    engine.inject("fan_failure", engine.topo.fan_address(RACK, 3))
    engine.step(1.0)
    view.refresh()
    assert _close(_pixel(view, view.fan_center(3) + off), colors.FAN_BAD)
    assert _close(_pixel(view, view.fan_center(2) + off), colors.FAN_HEALTHY)
    got = []
    view.context_menu_requested.connect(lambda a, p: got.append(a))
    pt = view.fan_center(3).toPoint()
    QApplication.sendEvent(view, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pt, view.mapToGlobal(pt)))
    assert got == ["H1-R002-RDHX-F4"]
    assert "FAILED" in view._tooltip(view.region_at(view.fan_center(3)))


def test_a_fan_due_for_replacement_is_drawn_red(qtbot, engine):
    view = _show(qtbot, RackView(), (640, 660))
    view.set_engine(engine)
    view.set_rack(RACK)
    engine.fan_age0_h[RACK, 5] = engine.facility.rack.rdhx.fan_l10_h + 10.0  # past its L10 life
    engine.step(1.0)
    view.refresh()
    off = QPointF(-view._geom["fans"][0].width() * 0.25, view._geom["fans"][0].height() * 0.2)
    assert _close(_pixel(view, view.fan_center(5) + off), colors.FAN_BAD)


def test_slid_out_tray_is_drawn_slid_out(qtbot, engine):
    view = _show(qtbot, RackView(), (640, 660))
    view.set_engine(engine)
    view.set_rack(RACK)
    in_place = view.tray_rect(4)
    addr = engine.topo.tray_address(RACK * 8 + 4)
    engine.set_tray_service(addr, drained=True)
    engine.set_tray_service(addr, slid_out=True)
    engine.step(1.0)
    view.refresh()
    out = view.tray_rect(4)
    assert out.left() == pytest.approx(in_place.left() - SLIDE_FRAC * in_place.width(), abs=1)
    assert view.tray_rect(3).left() == pytest.approx(in_place.left(), abs=1), "the others stay in"
    # the slot it left is dark (empty)
    slot = QPointF(in_place.right() - 4, in_place.center().y() - 6)
    assert _close(_pixel(view, slot), colors.SLID_OUT, 30)
    assert "slid out" in view._tooltip(view.region_at(out.center()))


# ================================================================================== tray view
def _temps(labels):
    return [float(re.search(r"(-?\d+\.\d) °C", s).group(1)) for s in labels]


def test_tray_view_shows_eight_gpus_with_live_values(qtbot, engine):
    view = _show(qtbot, TrayView(), (760, 560))
    view.set_engine(engine)
    tray = RACK * 8 + 2
    view.set_tray(tray)
    labels = view.gpu_labels()
    assert len(labels) == 8
    assert [s.split()[0] for s in labels] == [f"G{i + 1}" for i in range(8)]
    assert _temps(labels) == pytest.approx(engine.tj[RACK, 16:24].round(1), abs=0.051)
    _fail_both_pumps(engine)  # make the values move for sure
    for _ in range(30):
        engine.step(1.0)
        view.refresh()
    later = view.gpu_labels()
    assert later != labels
    assert _temps(later) == pytest.approx(engine.tj[RACK, 16:24].round(1), abs=0.051)
    assert all(re.search(r"\d+ W", s) for s in later)
    # the history holds one sample per refresh, 31 in all, and the plot curves show them
    x, y = view._tj_curves[0].getData()
    assert len(x) == 31 and x[-1] == 0 and y[-1] == pytest.approx(engine.tj[RACK, 16])


def test_tray_view_shows_failed_gpu_psu_and_nic(qtbot, engine):
    view = _show(qtbot, TrayView(), (760, 560))
    view.set_engine(engine)
    tray = RACK * 8 + 1
    ta = engine.topo.tray_address(tray)
    engine.inject("hbm_failure", ta + "-G5")
    engine.inject("psu_failure", ta + "-PSU3")
    engine.inject("nic_failure", ta + "-N2")
    engine.step(1.0)
    view.set_tray(tray)
    labels = view.gpu_labels()
    assert "failed" in labels[4] and "HBM/GPU failed" in labels[4]
    assert "HBM ok" in labels[0]
    assert list(view.psu_ok) == [True, True, False, True]
    assert not view.nic_ok[1] and view.nic_ok.sum() == 9  # 8 of the 9 NICs, and the front-end link
    got = []
    view.context_menu_requested.connect(lambda a, p: got.append(a))
    rect = next(r for r, kind, a in view.tiles.regions if a == ta + "-PSU3")
    assert _close(_pixel(view.tiles, rect.topLeft() + QPointF(0, rect.height() / 2)), colors.CRITICAL)
    pt = rect.center().toPoint()
    QApplication.sendEvent(view.tiles, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pt,
                                                         view.tiles.mapToGlobal(pt)))
    assert got == [ta + "-PSU3"]



def test_tray_view_shows_the_host_cpus_off_once_they_trip_on_heat(qtbot):
    """A stagnant loop heats the host CPUs until they trip and their trays lose power: the tray view then
    says the CPUs are off at 0 W, as the alarm and the engine do (not 'on ~300 W')."""
    eng = Engine(small_facility(), seed=3)
    eng.run(10)
    view = _show(qtbot, TrayView(), (760, 560))
    view.set_engine(eng)
    rack = eng.parse("H1-R002").index
    for p in ("P1", "P2"):
        eng.inject("pump_failure", f"H1-R002-CDU-{p}")
    for _ in range(1800):
        eng.step(1.0)
        if eng.rack_cpu_tripped[rack]:
            break
    assert eng.rack_cpu_tripped[rack], "the host CPUs of a rack without coolant flow trip within 30 min"
    view.set_tray(rack * eng.topo.trays_per_rack)
    view.refresh(force=True)
    assert view.cpu_on == [False] * eng.topo.cpus_per_tray
    assert all("off" in t and "~0 W" in t for t in view.cpu_text)
    from colossus_gui.ui.panels.inspector import component_properties
    cpu = eng.parse(eng.topo.tray_address(rack * eng.topo.trays_per_rack) + "-C1")
    assert dict(component_properties(eng, cpu))["CPU"] == "off", "the inspector agrees with the tray view"


# ================================================================================== heatmap
def test_heatmap_layout_puts_every_gpu_in_one_pixel():
    fac = small_facility(halls=3, rows=4, racks_per_row=6)
    e = Engine(fac)
    topo = e.topo
    lay = heatmap_layout(topo, fac.halls)
    g = np.arange(topo.n_gpus)
    assert (lay.src[lay.gpu_y, lay.gpu_x] == g).all(), "pixel -> GPU inverts GPU -> pixel"
    assert (lay.src >= 0).sum() == topo.n_gpus, "no GPU drawn twice, none missing"
    # inside a tray GPUs run left to right; trays run top to bottom; racks sit by row and position
    gpu = topo.parse("H2-R008-T3-G4").index
    assert topo.gpu_address(lay.gpu_at(lay.gpu_x[gpu] + 1, lay.gpu_y[gpu])) == "H2-R008-T3-G5"
    assert topo.gpu_address(lay.gpu_at(lay.gpu_x[gpu], lay.gpu_y[gpu] + 1)) == "H2-R008-T4-G4"
    r8, r9 = topo.parse("H2-R008").index, topo.parse("H2-R009").index  # R008, R009: same row, side by side
    x8, y8, w, h = lay.rack_rect(topo, r8)
    x9, y9, _, _ = lay.rack_rect(topo, r9)
    assert (w, h) == (8, 8) and y9 == y8 and x9 == x8 + 9
    assert lay.gpu_at(x8 + 8, y8) == -1, "a gap between racks"
    halls_x = {x for x, y, _, _ in lay.hall_rects}
    assert len(lay.hall_rects) == 3 and len(halls_x) >= 2, "halls tiled side by side"


def test_heatmap_hover_names_the_gpu_and_clicks_select_its_rack(qtbot):
    fac = small_facility(halls=3, rows=4, racks_per_row=6)
    e = Engine(fac)
    e.run(20)
    view = _show(qtbot, GpuHeatmapView(), (1000, 600))
    view.set_engine(e)
    view.fit()
    QApplication.processEvents()
    gpu = e.topo.parse("H3-R014-T7-G2").index
    rack = e.topo.parse("H3-R014").index
    sp = view.gpu_scene_pos(gpu)
    assert view.gpu_at_scene(sp) == gpu
    vp = view.graphics.mapFromScene(sp)
    viewport = view.graphics.viewport()
    # A real mouse-move event sent to the viewport: QTest.mouseMove is flaky offscreen (it may be swallowed
    # when the synthetic cursor already sits there from an earlier test).
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(vp), QPointF(viewport.mapToGlobal(vp)), Qt.MouseButton.NoButton,
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, ev)
    qtbot.waitUntil(lambda: "H3-R014-T7-G2" in view.hover_label.text(), timeout=15000)
    assert f"{e.tj.ravel()[gpu]:.1f} °C" in view.hover_label.text()
    with qtbot.waitSignal(view.rack_selected, timeout=15000) as sig:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=vp)
    assert sig.args == [rack] and view.selected == rack
    with qtbot.waitSignal(view.rack_activated, timeout=15000) as sig:
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=vp)
    assert sig.args == [rack]
    with qtbot.waitSignal(view.context_menu_requested, timeout=15000) as sig:
        qtbot.mouseClick(viewport, Qt.MouseButton.RightButton, pos=vp)
    assert sig.args[0] == "H3-R014-T7-G2"


def test_heatmap_shows_a_hot_rack_and_a_slid_out_tray(qtbot, engine):
    view = _show(qtbot, GpuHeatmapView(), (1000, 600))
    view.set_engine(engine)
    _fail_both_pumps(engine, 3)
    t = engine.topo.tray_address(5 * 8 + 6)
    engine.set_tray_service(t, drained=True)
    engine.set_tray_service(t, slid_out=True)
    engine.run(40)  # hot, before its GPUs shut down and its hosts trip (then the rack draws as off)
    view.refresh()
    lay = view.layout_map
    img = view._img
    m = GPU_METRICS["gpu_temp"].resolved(engine)
    hot = img[lay.gpu_y[3 * 64:4 * 64], lay.gpu_x[3 * 64:4 * 64]]
    cool = img[lay.gpu_y[4 * 64:5 * 64], lay.gpu_x[4 * 64:5 * 64]]
    assert hot.mean() > cool.mean() + 60
    assert int(hot.max()) == int(m.index(np.array([engine.tj[3].max()]))[0])
    slid = img[lay.gpu_y[5 * 64 + 48:5 * 64 + 56], lay.gpu_x[5 * 64 + 48:5 * 64 + 56]]
    assert (slid == colors.IDX_SLID_OUT).all()
    # then its GPUs shut down and its host CPUs trip: the trays have no power and the rack reads offline
    for _ in range(600):
        engine.step(1.0)
        if engine.rack_cpu_tripped[3]:
            break
    assert engine.rack_cpu_tripped[3]
    view.refresh()
    assert (view._img[lay.gpu_y[3 * 64:4 * 64], lay.gpu_x[3 * 64:4 * 64]] == colors.IDX_OFFLINE).all()


def test_heatmap_of_200k_gpus_places_every_gpu_once(qtbot):
    e = Engine(load_facility("colossus-200k"))
    assert e.n_gpus >= 200_000
    e.run(3)
    view = _show(qtbot, GpuHeatmapView(), (1600, 900))
    view.set_engine(e)
    assert (view.layout_map.src >= 0).sum() == e.n_gpus
    for _ in range(3):  # its refresh time is a bench figure (GUI frame, gpus view), not a test
        e.step(1.0)
        view.refresh()
    last = e.n_gpus - 1
    assert view.gpu_at_scene(view.gpu_scene_pos(last)) == last


# ================================================================================== metrics
def test_health_rates_lost_redundancy_and_lost_cooling(engine):
    assert rack_health(engine).max() == 0.0
    engine.inject("pump_failure", engine.topo.pump_address(2, 0))
    engine.inject("pump_failure", engine.topo.pump_address(3, 0))
    engine.inject("pump_failure", engine.topo.pump_address(3, 1))
    engine.inject("fan_failure", engine.topo.fan_address(4, 0))
    h = rack_health(engine)
    m = RACK_METRICS["health"]
    assert list(m.severity(h[2:5])) == [1, 2, 1]  # one pump: warning; both: critical; one fan: warning
    assert h[0] == 0.0


def test_gpu_overlay_marks_failed_drained_and_slid_out(engine):
    assert gpu_overlay_index(engine) is None
    topo = engine.topo
    engine.inject("gpu_failure", topo.gpu_address(70))
    engine.set_tray_service(topo.tray_address(3), drained=True)
    t = topo.tray_address(4)
    engine.set_tray_service(t, drained=True)
    engine.set_tray_service(t, slid_out=True)
    ov = gpu_overlay_index(engine).ravel()
    assert ov[70] == colors.IDX_FAILED and ov[71] == 0
    assert (ov[24:32] == colors.IDX_OFFLINE).all() and (ov[32:40] == colors.IDX_SLID_OUT).all()
    assert (ov[:24] == 0).all()


def test_metric_colours_follow_their_limits(engine):
    flow = RACK_METRICS["flow"]
    # low is bad: full flow green, at the warning mark amber, none red
    assert _close(flow.color_of(100.0), colors.OK, 5)
    assert _close(flow.color_of(flow.warn), colors.WARNING, 20)
    assert _close(flow.color_of(0.0), colors.CRITICAL, 5)
    hot = RACK_METRICS["hottest_gpu"].resolved(engine)
    assert hot.warn == 85.0 and hot.crit == 89.0  # the gpu_temp alarm's limits: one truth for colour and alarm
    assert hot.limits_text() == "warning ≥ 85.0 °C, critical ≥ 89.0 °C"
    v = np.array([50.0, 86.0, 90.0])
    assert list(hot.severity(v)) == [0, 1, 2]
    assert np.all(np.diff(hot.index(np.array([40.0, 60.0, 80.0]))) > 0), "hotter is further up the scale"


def test_views_accept_a_facility_with_odd_sized_halls(qtbot):
    fac = small_facility(halls=1, rows=3, racks_per_row=5)
    fac = fac.model_copy(update={"halls": [HallSpec(name="H1", rows=3, racks_per_row=5),
                                           HallSpec(name="H2", rows=1, racks_per_row=2)]})
    e = Engine(fac)
    e.run(3)
    hv = _show(qtbot, HallView())
    hv.set_engine(e)
    hv.set_hall(1)
    assert hv.rack_at(hv.rack_center(16)) == 16
    hm = _show(qtbot, GpuHeatmapView())
    hm.set_engine(e)
    assert (hm.layout_map.src >= 0).sum() == e.n_gpus
