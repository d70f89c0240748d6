"""The training layout on one screen, as a trainer judges it: every chart wide and tall enough to read with
y labels that never overlap, the trainee controls not cut off, the views keeping most of the window (the fault
stays in sight) and the instructor console not squeezing or covering them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from colossus_gui.testing import small_facility
from colossus_gui.ui.main_window import MainWindow
from colossus_gui.ui.panels.charts import ValueAxisItem


@pytest.fixture
def drill(qtbot, tmp_path, monkeypatch, request):
    """A drill in a window the size of the screen (``request.param``), run past the first pump failure."""
    monkeypatch.setattr("colossus_gui.ui.training.training_mode.sessions_folder", lambda: tmp_path / "sessions")
    width, height = request.param
    w = MainWindow(small_facility(), seed=1, paused=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    w.resize(width, height)
    w.requested = (width, height)
    w.move(0, 0)
    w.show()
    qtbot.waitExposed(w)
    w.finish_startup()
    assert w.start_training("cdu-pump-pair-failure", trainee="Sam")
    w.driver.set_speed(30)
    w.driver.start()
    while w.engine.t < 150:  # the first pump of H2-R014 failed at 2 min: curves move, alarms are up
        w.driver.tick_once(1.0)
    w.driver.pause()
    for _ in range(5):
        QApplication.processEvents()
    w.charts.redraw(force=True)
    w.charts.refresh_text()
    QApplication.processEvents()
    yield w
    w.shutdown()


def _y_labels(plot) -> list:
    """The left axis's tick labels as pyqtgraph lays them out to paint: (rect, text)."""
    axis = plot.getAxis("left")
    img = QImage(max(1, int(axis.width())), max(1, int(axis.height())), QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        _, _, texts = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [(rect, text) for rect, _, text in texts]


def _global_rect(widget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


SCREENS = [(1920, 1080), (1366, 768), (2560, 1440)]


@pytest.mark.parametrize("drill", SCREENS, indirect=True, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_chart_in_a_drill_is_readable(drill):
    w = drill
    charts = w.charts
    assert w.charts_dock.isVisible() and not w.charts_dock.visibleRegion().isEmpty()
    assert not w.tabifiedDockWidgets(w.charts_dock), "the charts stay in sight while the trainee acts"
    assert set(w.training.chart_names) <= set(charts.shown), "the drill's own charts are always shown"
    if w.height() >= 1000:
        assert len(charts.shown) == len(charts.specs), "a 1080-pixel screen has room for every chart"
    for name in charts.shown:
        plot = charts.plots[name]
        vb = plot.getViewBox()
        assert vb.width() >= 300, f"{name}: plot {vb.width():.0f} px wide"
        assert vb.height() >= 60, f"{name}: plot {vb.height():.0f} px tall"
        labels = _y_labels(plot)
        texts = [t for _, t in labels]
        assert len(labels) >= 2, f"{name}: a y scale needs two labels, has {texts}"
        rects = [r for r, _ in labels]
        for i, a in enumerate(rects):
            assert a.left() >= 0, f"{name}: label {texts[i]!r} cut at the axis's left edge"
            for j in range(i + 1, len(rects)):
                assert not a.intersects(rects[j]), f"{name}: labels {texts[i]!r} and {texts[j]!r} overlap"
    assert all(charts.title_fits().values())


@pytest.mark.parametrize("drill", SCREENS, indirect=True, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_views_keep_most_of_the_window_and_the_console_takes_none_of_it(drill):
    w = drill
    tc = w.training
    screen_w, screen_h = drill.requested
    assert w.width() == screen_w, "the main window was not shrunk for the console"
    central = w.centralWidget()
    assert central.width() >= 0.5 * screen_w and central.height() >= 0.55 * screen_h, central.size()
    # the rack with the failed pumps, in the view the trainee works in
    w.navigate("H2-R014")
    QApplication.processEvents()
    view = w.visible_view()
    assert view.width() >= 0.45 * screen_w and view.height() >= 0.45 * screen_h
    if tc.console_placement == "docked":  # one screen the window fills: a tab beside the alarms
        assert not tc.console_dock.isFloating() and w.alarms_dock in w.tabifiedDockWidgets(tc.console_dock)
        tc.show_console()
        QApplication.processEvents()
        assert tc.console_window.isVisible() and not tc.console_dock.visibleRegion().isEmpty()
        assert not _global_rect(tc.console_dock).intersects(_global_rect(central))
        area = tc.console_dock.widget()  # it scrolls up and down, never sideways: no button cut at the right
        assert area.widget().minimumSizeHint().width() <= area.viewport().width(), "the console cut at the side"
    else:
        assert not tc.console_window.frameGeometry().intersects(_global_rect(central))


@pytest.mark.parametrize("drill", SCREENS, indirect=True, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_trainee_sees_score_and_controls_without_cut_off_buttons(drill):
    w = drill
    tc = w.training
    for dock in (tc.score_dock, tc.controls_dock):
        assert dock.isVisible() and not dock.visibleRegion().isEmpty(), dock.objectName()
    area = tc.controls_dock.widget()
    assert tc.controls.sizeHint().width() <= area.viewport().width(), "a control cut off at the right"
    side = tc.score_dock.widget()
    assert side.widget().minimumSizeHint().width() <= side.viewport().width(), "the briefing cut off at the right"
    if w.width() >= 1900:  # the score beside the alarms: both in sight at once
        assert tc.score_dock not in w.tabifiedDockWidgets(w.alarms_dock)
        assert not w.alarms_dock.visibleRegion().isEmpty()
        assert tc.score_panel.table.columnWidth(0) >= 120, "the criteria of the score are readable"


def test_y_labels_keep_apart_on_a_short_plot(qtbot):
    """The axis alone: a 40-pixel plot over 0..150 gets round, separate labels; a 2.5 step keeps its decimal."""
    import pyqtgraph as pg

    win = pg.GraphicsLayoutWidget()
    qtbot.addWidget(win)
    axis = ValueAxisItem("left")
    plot = win.addPlot(axisItems={"left": axis})
    win.resize(300, 60)
    win.show()
    qtbot.waitExposed(win)
    plot.setYRange(0, 150, padding=0)
    QApplication.processEvents()
    (step, _), = axis.tickSpacing(0, 150, axis.height())
    assert step * axis.height() / 150 >= axis.label_pitch_px()
    rects = [r for r, _ in _y_labels(plot)]
    assert rects and not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert axis.tickStrings([0.0, 2.5, 5.0], 1.0, 2.5) == ["0.0", "2.5", "5.0"]
    assert axis.tickStrings([0.0, 20000.0, 40000.0], 1.0, 20000.0) == ["0", "20000", "40000"]
    assert axis.tickStrings([0.0, 250000.0], 1.0, 250000.0) == ["0k", "250k"]


def test_a_short_chart_dock_keeps_the_drills_charts_and_shows_all_on_demand(qtbot):
    from colossus_gui.sim.engine import Engine
    from colossus_gui.ui.panels.charts import ROW_MIN_PX, ChartPanelWidget

    eng = Engine(small_facility(), seed=2)
    panel = ChartPanelWidget(eng)
    qtbot.addWidget(panel)
    panel.resize(420, 1200)
    panel.show()
    qtbot.waitExposed(panel)
    eng.run(60)
    panel.redraw(force=True)
    every = [s.name for s in panel.specs]
    panel.set_preferred(["water", "gpu", "service"])
    assert panel.shown == every and not panel.all_button.isVisible(), "room for all: all are shown"
    panel.resize(420, len(every) * ROW_MIN_PX * 2 // 3)
    QApplication.processEvents()
    assert panel.shown == ["power", "water", "gpu", "service"] and panel.all_button.isVisible()
    last = panel.plots[panel.shown[-1]]
    assert last.getAxis("bottom").isVisible(), "the time axis stays under the last chart shown"
    assert all(panel.plots[n].getViewBox().height() >= 60 for n in panel.shown)
    panel.all_button.setChecked(True)
    assert panel.shown == every
    panel.all_button.setChecked(False)
    panel.set_preferred(None)  # the drill ended
    assert panel.shown == every and not panel.all_button.isVisible()
