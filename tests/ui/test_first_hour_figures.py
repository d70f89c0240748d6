"""One moment per screen, the warm-up, goodput over a window, units on the alarms, one set of limits."""

from __future__ import annotations

import numpy as np
import pytest

from colossus_gui.model.ops_config import AlarmConfig
from colossus_gui.model.thresholds import DEFAULT_LIMITS, Limits
from colossus_gui.ops.alarms import AlarmManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.figures import WARMUP_TEXT, goodput_now, rolling_goodput, swing
from colossus_gui.ui.main_window import MainWindow
from colossus_gui.ui.panels.alarm_panel import AlarmPanelWidget
from colossus_gui.ui.panels.charts import ChartPanelWidget
from colossus_gui.ui.views.hall_view import HallView
from colossus_gui.ui.views.metrics import GPU_METRICS, RACK_METRICS
from colossus_gui.ui.views.site_view import SiteView


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


def test_the_first_seconds_show_the_warm_up_not_zeros(win, qtbot):
    win.refresh_text()
    win.refresh_views(force=True)
    assert win.it_label.text() == "IT –", "no 0.0 MW before the first step"
    assert "press Run" in win.speed_label.text() and "actual" not in win.speed_label.text()
    site: SiteView = win.site_view
    site.grab()
    assert WARMUP_TEXT in [t for _, t, _ in site.drawn_text()]
    qtbot.waitUntil(lambda: win.charts is not None)
    win.charts.refresh_text()
    assert "warming up" in win.charts.context_label.text()
    # once it runs: figures, and no warm-up note
    win.driver.set_running(True)
    for _ in range(3):
        win.driver.tick_once(1.0)
    win.refresh_text()
    win.refresh_views(force=True)
    site.grab()
    assert win.it_label.text().startswith("IT ") and "MW" in win.it_label.text()
    assert WARMUP_TEXT not in [t for _, t, _ in site.drawn_text()]
    assert "actual 0" not in win.speed_label.text()
    win.charts.refresh_text()
    assert "warming up" not in win.charts.context_label.text() and "so far" in win.charts.context_label.text()


def test_one_moment_per_screen_swinging_power_shows_mean_and_range(win):
    win.driver.set_running(True)
    for _ in range(25):
        win.driver.tick_once(1.0)
    win.refresh_text()
    win.site_view.refresh()
    win.site_view.grab()
    eng = win.engine
    mean, lo, hi = swing(eng, "it_mw")
    assert hi - lo > 0.05 * mean, "the training swing moves IT power"
    status = win.it_label.text().removeprefix("IT ")
    site_line = next(t for _, t, _ in win.site_view.drawn_text() if t.startswith("IT "))
    assert site_line.removeprefix("IT ") == status, "site totals and status bar show the same figure"
    assert f"{mean:.1f} MW" in status and f"{lo:.1f}–{hi:.1f}" in status  # below 10 MW: one decimal
    win.navigate("SITE")
    win.inspector.refresh()
    rows = {win.inspector.table.item(r, 0).text(): win.inspector.table.item(r, 1).text()
            for r in range(win.inspector.table.rowCount())}
    assert rows["IT power"] == status, "the inspector shows the same moment too"
    assert "so far" in rows["Goodput"] and "last 10 min" in rows["Goodput"]


def test_goodput_over_a_rolling_window_recovers_after_an_early_interruption():
    # cumulative goodput g(t) with a 30 s loss at t = 40 s: so far stays low for long, the window recovers
    t = np.arange(1.0, 1201.0)
    useful = np.where(t < 40, t, np.where(t < 70, 40.0, t - 30.0))
    g = useful / t
    roll = rolling_goodput(t, g, 600.0)
    assert g[-1] < 0.98 and roll[-1] == pytest.approx(1.0)
    assert roll[100] == pytest.approx(g[100]), "before a full window: the goodput since the start"
    # the real engine: a job interruption early on
    eng = Engine(small_facility(), seed=3)
    eng.run(40)
    eng.inject("gpu_failure", "H1-R001-T1-G1")
    eng.run(800)
    assert eng.goodput() < goodput_now(eng) <= 1.0


def test_alarms_show_units_when_raised_peak_and_now(qtbot):
    eng = Engine(small_facility(), seed=3)
    eng.facility.failures.auto_repair = False
    eng.run(30)
    mgr_ops = _ops(eng)
    eng.inject("pump_failure", "H1-R002-CDU-P1")
    eng.inject("pump_failure", "H1-R002-CDU-P2")
    for _ in range(120):
        eng.step(1.0)
        mgr_ops.step(1.0)
    alarms = {a.rule: a for a in mgr_ops.alarms.alarms() if a.component.startswith("H1-R002")}
    flow, temp = alarms["coolant_flow"], alarms["gpu_temp"]
    assert flow.fmt(flow.value).endswith("% of design") and flow.fmt(flow.limit) == "50 % of design"
    assert temp.fmt(temp.value).endswith(" °C") and "C" not in temp.fmt(temp.value).replace("°C", "")
    assert temp.peak_value >= temp.raised_value and temp.peak_value >= temp.value - 1e-9
    panel = AlarmPanelWidget(mgr_ops, eng)
    qtbot.addWidget(panel)
    panel.refresh(force=True)
    headers = [panel.model.headerData(c, _horizontal()) for c in range(panel.model.columnCount())]
    assert {"When raised", "Peak", "Now", "Limit"} <= set(headers)
    row = next(r for r in range(panel.model.rowCount()) if panel.model.alarm_at(r) is temp)
    cells = {h: panel.model.index(row, c).data() for c, h in enumerate(headers)}
    assert cells["Limit"] == "89.0 °C" and cells["Peak"].endswith("°C") and cells["Now"].endswith("°C")
    assert "85.0 °C" in temp.detail and "warning limit" in temp.detail
    # a cleared alarm's detail says it describes the raise
    eng.repair("H1-R002-CDU-P1")
    eng.repair("H1-R002-CDU-P2")
    for _ in range(300):
        eng.step(1.0)
        mgr_ops.step(1.0)
    cleared = [a for a in mgr_ops.alarms.alarms() if a.component.startswith("H1-R002") and not a.active]
    assert cleared and all(a.detail == "" or a.detail.startswith("when raised") for a in cleared)


def _horizontal():
    from PySide6.QtCore import Qt
    return Qt.Orientation.Horizontal


def _ops(eng):
    from colossus_gui.ops.workflow import OpsManager
    return OpsManager(eng)


def test_one_definition_of_each_limit_for_colours_alarms_charts_and_tooltips(qtbot):
    eng = Engine(small_facility(), seed=3)
    eng.run(5)
    th = DEFAULT_LIMITS["gpu_temp"]
    mgr = AlarmManager(eng)
    assert (mgr.thresholds["gpu_temp"].warning, mgr.thresholds["gpu_temp"].critical) == (th.warning, th.critical)
    hot = RACK_METRICS["hottest_gpu"].resolved(eng)
    junction = GPU_METRICS["gpu_temp"].resolved(eng)
    assert (hot.warn, hot.crit) == (junction.warn, junction.crit) == (th.warning, th.critical)
    flow = RACK_METRICS["flow"].resolved(eng)
    ft = DEFAULT_LIMITS["coolant_flow"]
    assert (flow.warn, flow.crit) == (ft.warning * 100, ft.critical * 100)
    ret = RACK_METRICS["return_temp"].resolved(eng)
    assert (ret.warn, ret.crit) == (DEFAULT_LIMITS["rack_return_temp"].warning,
                                    DEFAULT_LIMITS["rack_return_temp"].critical)
    # the hall legend (what a user reads) and the chart lines say the same
    hall = HallView()
    qtbot.addWidget(hall)
    hall.set_engine(eng)
    assert f"warning ≥ {th.warning:.1f} °C, critical ≥ {th.critical:.1f} °C" in hall.legend.toolTip()
    charts = ChartPanelWidget()
    qtbot.addWidget(charts)
    charts.set_engine(eng)
    assert [line.value() for line in charts.thresholds["gpu"]] == [th.warning, th.critical]
    from colossus_gui.ui.views.metrics import rack_key_figures
    flow_row = dict(rack_key_figures(eng, 0))["Coolant flow"]
    lpm = eng.facility.rack.cdu.design_flow_lpm * eng.flow_frac[0]
    assert flow_row == f"{eng.flow_frac[0] * 100:.0f} % ({lpm:.0f} L/min)", "flow in % and L/min"
    from colossus_gui.ui.panels.inspector import component_properties
    rows = dict(component_properties(eng, eng.topo.parse("H1-R001-T1-G1")))
    assert rows["Alarm limits"] == th.text() == "warning ≥ 85.0 °C, critical ≥ 89.0 °C"
    # another alarm configuration moves every one of them together
    cfg = AlarmConfig.model_validate({"rules": {"gpu_temp": {"warning": 80, "critical": 86}}})
    custom = Limits(cfg)
    hall.limits = custom
    hall.set_metric("power")
    hall.set_metric("hottest_gpu")
    assert (hall.current_metric.warn, hall.current_metric.crit) == (80, 86)
    assert (AlarmManager(eng, cfg).thresholds["gpu_temp"].warning) == 80
