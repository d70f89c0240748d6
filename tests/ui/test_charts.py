"""Live charts: time window, follow/pause, rack following, thresholds — what a user sees on the axes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.panels.charts import ChartPanelWidget, ring_tail


@pytest.fixture
def panel(qtbot):
    eng = Engine(small_facility(), seed=2)
    w = ChartPanelWidget(eng)
    qtbot.addWidget(w)
    w.resize(520, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def _xrange(w):
    return w.master.getViewBox().viewRange()[0]


def test_fresh_run_grows_from_the_left_then_scrolls(panel):
    eng = panel.engine
    eng.run(10)
    panel.redraw()
    x0, x1 = _xrange(panel)
    assert x0 == pytest.approx(1.0) and x1 == pytest.approx(301.0)  # 5-minute window, first row at t = 1 s
    eng.run(600)
    panel.redraw()
    x0, x1 = _xrange(panel)
    assert x1 == pytest.approx(eng.t) and x1 - x0 == pytest.approx(300.0)
    panel.set_range(60.0)
    x0, x1 = _xrange(panel)
    assert x1 - x0 == pytest.approx(60.0)
    panel.set_range(None)
    assert _xrange(panel)[0] == pytest.approx(1.0)


def test_zooming_a_chart_pauses_following_and_the_button_resumes(panel, qtbot):
    eng = panel.engine
    eng.run(400)
    panel.redraw()
    vp = panel.canvas.viewport()
    pos = QPointF(vp.width() / 2, 60)
    ev = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)
    assert not panel.follow and "click to follow" in panel.follow_button.text()
    held = _xrange(panel)
    eng.run(50)
    panel.redraw()
    assert _xrange(panel) == pytest.approx(held)  # stays where the user put it
    qtbot.mouseClick(panel.follow_button, Qt.MouseButton.LeftButton)
    assert panel.follow and _xrange(panel)[1] == pytest.approx(eng.t)


def test_water_chart_follows_the_selected_rack(panel):
    eng = panel.engine
    eng.inject("pump_failure", "H1-R003-CDU-P1")
    eng.inject("pump_failure", "H1-R003-CDU-P2")
    eng.run(300)
    panel.set_rack(2)
    t, hottest = eng.telemetry.rack_series("hottest_c", 2)
    x, y = panel.curves["water"][2].getData()
    assert np.array_equal(x, t[-len(x):]) and np.allclose(y, hottest[-len(y):])
    assert y.max() > 80  # the rack without coolant shows its own heat, not the facility's
    panel.refresh_text()
    assert "Rack H1-R003" in panel.plots["water"].titleLabel.text
    panel.set_rack(None)
    x, y = panel.curves["water"][0].getData()
    assert np.allclose(y, ring_tail(eng.telemetry.facility, len(y))[:, eng.telemetry.index["supply_c"]])


def test_gpu_chart_keeps_the_limits_in_view(panel):
    panel.engine.run(120)
    panel.redraw()
    y0, y1 = panel.plots["gpu"].getViewBox().viewRange()[1]
    assert y0 < panel.engine.telemetry.latest()["mean_gpu_c"] and y1 > 89.0
    assert [line.value() for line in panel.thresholds["gpu"]] == [85.0, 89.0]  # the gpu_temp alarm limits


def test_ring_tail_is_in_time_order_after_wrapping():
    from colossus_gui.sim.telemetry import Ring
    r = Ring(5, (1,))
    for i in range(12):
        r.push([i])
    assert ring_tail(r, 3)[:, 0].tolist() == [9, 10, 11]
    assert ring_tail(r, None)[:, 0].tolist() == [7, 8, 9, 10, 11]
    assert ring_tail(r, 50)[:, 0].tolist() == [7, 8, 9, 10, 11]


def test_dense_data_is_peak_downsampled_keeping_extremes(panel, qtbot):
    eng = panel.engine
    panel.resize(230, 900)  # a narrow dock: an hour of 1-s samples is many points per pixel column
    qtbot.wait(1)
    eng.run(3700)
    panel.set_range(3600.0)
    x, y = panel.curves["power"][0].getData()  # what is drawn
    raw = ring_tail(eng.telemetry.facility, 3602)
    it = raw[:, eng.telemetry.index["it_mw"]]
    assert len(x) < 0.6 * len(it)  # fewer points than samples: a min/max pair per pixel column
    shown = it[raw[:, 0] >= x[0]]
    # the peaks survive: the drawn extremes are real samples, at least as far out as every sample shown
    # (a column's first sample may lie just before x[0], where its pair is drawn)
    assert y.max() >= shown.max() - 1e-9 and np.isclose(it, y.max(), rtol=0, atol=1e-9).any()
    assert y.min() <= shown.min() + 1e-9 and np.isclose(it, y.min(), rtol=0, atol=1e-9).any()
    panel.set_range(60.0)
    x, _ = panel.curves["power"][0].getData()
    assert len(x) >= 60  # a short window: every sample drawn


def test_fabric_and_storage_charts_follow_a_spine_and_a_storage_node_failure(panel):
    eng = panel.engine
    eng.run(120)
    panel.redraw()
    _, bis = panel.curves["fabric"][1].getData()
    t, tp = panel.curves["fabric"][0].getData()
    assert t[-1] == eng.t and (bis == 100.0).all()
    # throughput: a share of every GPU link's line rate, swinging with the jobs' compute and communication phases
    tp_before = tp[-60:].max()
    assert 0 < tp.min() < tp_before <= 100.0
    _, bw = panel.curves["storage"][0].getData()
    bw_before = bw[-1]
    assert bw_before == pytest.approx(eng.storage.design_gbs)
    n_spines = int(eng.topo.net.hall_spines[0])
    eng.inject("switch_failure", "H1-SP03")
    eng.inject("storage_node_failure", "ST001")
    eng.run(120)
    panel.redraw()
    panel.refresh_text()
    t, bis = panel.curves["fabric"][1].getData()
    assert t[-1] == eng.t
    assert bis[-1] == pytest.approx(100.0 * (n_spines - 1) / n_spines)  # one spine of the hall's lost
    assert bis[t < eng.t - 120].max() == 100.0  # before the failure: all of it
    _, tp = panel.curves["fabric"][0].getData()
    # the communication phase now runs at the bisection left: the throughput's peaks fall by that share
    assert tp[-60:].max() < tp_before
    _, bw = panel.curves["storage"][0].getData()
    assert bw[-1] < bw_before and bw[-1] == pytest.approx(eng.storage.write_bw_gbs)
    t, stall = panel.curves["stall"][0].getData()
    assert len(stall) == len(t) and t[-1] == eng.t and (stall >= 0).all()
    title = panel.plots["fabric"].titleLabel.text
    assert "bisection available" in title and f"{100.0 * (n_spines - 1) / n_spines:.1f}" in title
    assert "Tb/s" in title


def test_a_gap_in_the_data_is_drawn_as_a_gap_not_handed_to_qt_unchecked(panel):
    """A reading that went missing (NaN in the ring, as a recording without a channel has) breaks its curve
    there; the points either side are still drawn and the chart keeps painting."""
    eng = panel.engine
    eng.run(120)
    ring, col = eng.telemetry.facility, eng.telemetry.index["it_mw"]
    pos = (ring.count - 30) % ring.capacity
    ring.data[pos, col] = np.nan
    panel.redraw(force=True)
    curve = next(c for c, cs in zip(panel.curves["power"], panel.specs[0].curves, strict=True) if cs.key == "it_mw")
    assert curve.opts["connect"] == "finite" and not curve.opts["skipFiniteCheck"]
    assert not panel.canvas.grab().isNull()
    x, y = curve.getData()
    assert np.isnan(y).sum() == 1 and np.isfinite(y).sum() == len(y) - 1
    eng.run(300)  # the gap scrolls out of the window: back to the fast path
    panel.redraw(force=True)
    assert curve.opts["connect"] == "all" and curve.opts["skipFiniteCheck"]
