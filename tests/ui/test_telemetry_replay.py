"""The app on recorded telemetry, as an engineer uses it: loading shows progress and can be cancelled; the
slider moves every view to a sample; GPUs without a sample are hatched and read "n/a", never a colour of
the scale; an XID error raises an alarm in the ordinary list and a work order can be opened for it."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton

from colossus_gui.io.dcgm import Cancelled, load_scrape_folder
from colossus_gui.sim.engine import Engine
from colossus_gui.sim.replay import ReplayEngine, record_engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.telemetry_window import attach_metrics, load_replay, open_replay_window

MISSING_RACK = 1  # H1-R002 stops reporting from sample 10
XID_GPU = 300     # H1-R005-T6-G5 reports XID 48 from sample 30


@pytest.fixture(scope="module")
def fac():
    return small_facility(halls=1, rows=2, racks_per_row=4)  # 512 GPUs


@pytest.fixture(scope="module")
def recording(fac):
    eng = Engine(fac, seed=2)
    eng.run(60)
    rec = record_engine(eng, 900, 15)
    rec.temp_c[10:, 64:128] = np.nan
    rec.power_w[10:, 64:128] = np.nan
    rec.xid[30:, XID_GPU] = 48
    return rec


@pytest.fixture
def win(qtbot, fac, recording):
    w = open_replay_window(ReplayEngine(fac, recording), dark=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    w.finish_startup()
    yield w
    w.shutdown()


def test_loading_reports_progress_and_returns_the_replay(qtbot, fac, tmp_path):
    from prometheus_client import CollectorRegistry, generate_latest

    from colossus_gui.io.metrics_endpoint import EngineMetrics
    eng = Engine(fac, seed=1)
    m = EngineMetrics(eng)
    reg = CollectorRegistry(auto_describe=False)
    reg.register(m)
    for k in range(6):
        eng.run(15)
        m.publish()
        (tmp_path / f"s-{1764590400 + 15 * k}.prom").write_bytes(generate_latest(reg))
    seen = []

    def loader(progress=None, cancelled=None):
        return load_scrape_folder(tmp_path, eng.topo, progress=lambda f: (seen.append(f), progress(f)),
                                  cancelled=cancelled)

    rep = load_replay(fac, loader)
    assert isinstance(rep, ReplayEngine) and rep.recording.n_samples == 6
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 6
    assert np.array_equal(rep.tj, rep.recording.temp_c[0].reshape(8, 64))
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible()]


def test_cancel_stops_a_slow_load(qtbot, fac):
    started = []

    def slow_loader(progress=None, cancelled=None):
        t0 = time.monotonic()
        for i in range(2000):  # bounded: at most ~20 s even if cancel never came
            if cancelled():
                raise Cancelled()
            progress(i / 2000)
            started.append(i)
            time.sleep(0.01)
        pytest.fail(f"not cancelled after {time.monotonic() - t0:.0f} s")

    def press_cancel():
        dlg = next((w for w in QApplication.topLevelWidgets() if w.objectName() == "telemetryProgress"), None)
        if dlg is None or not dlg.isVisible() or len(started) < 5:
            QTimer.singleShot(50, press_cancel)
            return
        shown.append(dlg.value())
        clicked_at.append(len(started))
        dlg.findChild(QPushButton).click()  # the user presses Cancel

    shown: list[int] = []
    clicked_at: list[int] = []
    QTimer.singleShot(50, press_cancel)
    assert load_replay(fac, slow_loader) is None
    assert shown and shown[0] > 0  # the bar had moved when the user pressed Cancel
    assert len(started) - clicked_at[0] <= 5  # the loader stopped at its next check, not at the end


def test_a_failed_load_raises_its_message(qtbot, fac):
    from colossus_gui.io.dcgm import TelemetryError

    def bad(progress=None, cancelled=None):
        raise TelemetryError("scrapes/x.prom: line 3: not Prometheus text format")

    with pytest.raises(ValueError, match="x.prom: line 3"):
        load_replay(fac, bad)


def _cell_colors(view, rect) -> int:
    img = view.grab().toImage()
    cols = {img.pixel(x, y) for x in range(rect.left() + 3, rect.right() - 3, 2)
            for y in range(rect.top() + 3, rect.bottom() - 3, 2)}
    return len(cols)


def test_slider_moves_every_view_and_missing_is_hatched(win, qtbot):
    sl = win.telemetry_slider
    eng = win.engine
    assert sl.slider.maximum() == 60 and eng.index == 0
    assert sl.missing_label.text() == "all GPUs reporting"
    sl.slider.setValue(40)
    assert eng.index == 40 and eng.t == 600
    assert "2025-12-01 12:11:00Z" in sl.time_label.text() and "sample 41/61" in sl.time_label.text()
    assert sl.missing_label.text() == "no data: 64 GPUs"
    assert np.isnan(eng.tj[MISSING_RACK]).all() and np.isfinite(eng.tj[0]).all()
    win.navigate("H1")
    win.refresh_views(force=True)
    hv = win.hall_view
    qtbot.waitUntil(lambda: hv.isVisible())
    # the silent rack: grey with hatching lines (many colours), its neighbour one flat colour plus text
    assert _cell_colors(hv, hv.rack_rect(MISSING_RACK)) >= 2
    assert np.isnan(hv._values[MISSING_RACK]) and np.isfinite(hv._values[0])
    assert hv.current_metric.format(float(hv._values[MISSING_RACK])) == "n/a"
    # the tray says n/a for every GPU
    win.navigate("H1-R002-T1")
    win.refresh_views(force=True)
    assert all("\nn/a\n" in t for t in win.tray_view.gpu_text)
    assert "hottest n/a" in win.tray_view.title.text()
    # back to a time when everyone reported
    sl.slider.setValue(5)
    win.refresh_views(force=True)
    assert eng.index == 5 and not any("n/a" in t for t in win.tray_view.gpu_text)


def test_xid_raises_an_alarm_and_opens_a_work_order(win):
    sl = win.telemetry_slider
    sl.slider.setValue(35)
    tray = win.engine.topo.tray_address(XID_GPU // 8)
    alarms = {a.component: a for a in win.ops.alarms.active()}
    assert tray in alarms and win.engine.topo.gpu_address(XID_GPU) in alarms[tray].detail
    wo = win.create_work_order(win.engine.topo.gpu_address(XID_GPU))
    assert wo is not None
    assert win.ops.work_orders.get(wo.id).target.startswith(tray)
    sl.slider.setValue(3)
    assert tray not in {a.component for a in win.ops.alarms.active()}


def test_play_moves_through_the_recording_and_stops_at_its_end(win):
    sl = win.telemetry_slider
    d = win.driver
    d.set_speed(100)
    sl.play_button.setChecked(True)
    assert d.running
    for _ in range(40):
        d.tick_once(0.5)  # 0.5 wall s at 100x = 50 recorded seconds
        if not d.running:
            break
    assert win.engine.at_end and not d.running and sl.play_button.text() == "Play"
    assert sl.slider.value() == 60


def test_metrics_port_serves_the_window_engine(qtbot):
    import requests

    from colossus_gui.ui.main_window import MainWindow
    w = MainWindow(small_facility(halls=1, rows=1, racks_per_row=2), seed=1, paused=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    srv = attach_metrics(w, 0)
    try:
        assert srv._server.server_address[0] == "127.0.0.1"
        w.driver.start()
        w.driver.tick_once(0.0)
        w.driver.tick_once(3.0)
        text = requests.get(f"http://127.0.0.1:{srv.port}/metrics", timeout=10).text
        assert text.count("DCGM_FI_DEV_GPU_TEMP{") == 128
        t_line = next(ln for ln in text.splitlines() if ln.startswith("colossus_sim_time_seconds "))
        assert float(t_line.split()[1]) == pytest.approx(w.engine.t)
    finally:
        srv.close()
        w.shutdown()
