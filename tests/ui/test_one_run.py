"""One run at a time in the window: a drill after a free run starts clean (empty board, cleared charts, 1x),
a reopened snapshot shows exactly its own orders, and no widget adds steps of its own."""

from __future__ import annotations

import pytest

from colossus_gui.testing import small_facility
from colossus_gui.ui.main_window import MainWindow


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("colossus_gui.ui.training.training_mode.sessions_folder", lambda: tmp_path / "sessions")
    w = MainWindow(small_facility(), seed=1, paused=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    w.finish_startup()
    yield w
    w.shutdown()


def _free_run(w, until_s: float, speed: float = 300.0) -> None:
    w.driver.set_speed(speed)
    w.driver.start()
    while w.engine.t < until_s:
        w.driver.tick_once(0.1)
    w.driver.pause()


def _curve_points(w) -> int:
    return sum(len(c.getData()[0] if c.getData()[0] is not None else []) for cs in w.charts.curves.values()
               for c in cs)


def test_a_drill_after_a_free_run_starts_with_an_empty_board_clean_charts_and_1x(win, qtbot):
    win.engine.inject("nic_failure", "H1-R003-T2-N1")
    win.engine.inject("pump_failure", "H2-R001-CDU-P2")
    _free_run(win, 600)
    win.refresh_views(force=True)
    assert win.ops.work_orders and _curve_points(win) > 0 and win.driver.speed == 300
    free_run_id = win.run.run_id
    assert win.start_training("cdu-pump-pair-failure", trainee="Sam")
    session = win.training.session
    assert win.run is session.run and win.driver.run is session.run and win.run.run_id != free_run_id
    assert win.driver.speed == 1.0
    assert not win.ops.work_orders and win.work_order_panel.model.rowCount() == 0
    assert _curve_points(win) == 0  # the free run's curves are gone before the first step
    assert win.engine.t == 0.0


def test_a_reopened_snapshot_shows_exactly_its_orders_in_the_window(win, qtbot, tmp_path):
    win.engine.inject("nic_failure", "H1-R003-T2-N1")
    _free_run(win, 400, speed=100)
    snap = {w.id: (w.state, w.technician) for w in win.ops.work_orders.values()}
    t_snap = win.engine.t
    assert snap
    from colossus_gui.ui.export.export_dialog import save_snapshot
    path = save_snapshot(win, win.engine, win.driver, path=tmp_path / "snap.zip", images=False, ops=win.ops)
    win.engine.inject("pump_failure", "H2-R001-CDU-P2")
    win.engine.inject("gpu_failure", "H1-R004-T1-G1")
    _free_run(win, 3000, speed=300)
    assert len(win.ops.work_orders) > len(snap)
    assert win.open_snapshot_file(str(path))
    assert {w.id: (w.state, w.technician) for w in win.ops.work_orders.values()} == snap
    assert win.engine.t == t_snap


def test_no_step_hooks_anywhere():
    from colossus_gui.ui.sim_driver import SimDriver
    assert not hasattr(SimDriver, "step_hooks")


def _recorded(tmp_path):
    from colossus_gui.model.training import TrainingScenario
    from colossus_gui.ops.training import TrainingSession
    sc = TrainingScenario.model_validate({
        "title": "pump", "seed": 4, "time_limit_s": 600,
        "faults": [{"id": "p1", "at": 120, "kind": "pump_failure", "target": "H1-R002-CDU-P1"}]})
    s = TrainingSession(sc, small_facility(), log_path=tmp_path / "session.jsonl")
    s.play([])
    s.close()
    return tmp_path / "session.jsonl"


def test_a_long_replay_seek_runs_on_a_worker_while_the_window_holds_its_views(win, qtbot, tmp_path):
    log = _recorded(tmp_path)
    replay = win.open_replay(str(log))
    replay.open_log(log)
    assert win.engine is replay.engine and win.engine.t == 600
    replay.async_threshold = 0  # every seek goes to the worker
    seeks = []
    replay.seeked.connect(seeks.append)
    busy = []
    replay.busy_changed.connect(busy.append)
    replay.request_seek(100)
    assert replay.busy and win.busy and not replay.slider.isEnabled()
    qtbot.waitUntil(lambda: not replay.busy, timeout=20000)
    assert seeks == [100.0] and busy == [True, False] and not win.busy
    r = win.engine.topo.parse("H1-R002").index
    assert win.engine.t == 100 and win.engine.pump_ok[r, 0]


def test_replay_keys_are_debounced_into_one_seek(win, qtbot, tmp_path):
    log = _recorded(tmp_path)
    replay = win.open_replay(str(log))
    replay.open_log(log)
    seeks = []
    replay.seeked.connect(seeks.append)
    for v in range(590, 500, -10):  # nine presses of PageDown
        replay.slider.setValue(v)
    assert seeks == []
    qtbot.waitUntil(lambda: seeks != [], timeout=15000)
    qtbot.wait(400)
    assert seeks == [510.0]


def test_the_window_writes_its_snapshot_on_a_worker_and_resumes(win, qtbot, tmp_path):
    from colossus_gui.io.bundle import read_ops_state
    win.engine.inject("nic_failure", "H1-R003-T2-N1")
    _free_run(win, 120, speed=30)
    win.driver.start()
    out = []
    task = win.save_snapshot(str(tmp_path / "snap.zip"), on_done=out.append)
    assert task is not None and not win.driver.running  # the engine stands still while it is written
    qtbot.waitUntil(lambda: out != [], timeout=60000)
    assert out[0] is not None and out[0].is_file() and win.driver.running
    assert read_ops_state(out[0])["run_id"] == win.run.run_id
    win.driver.pause()


def test_alarm_severity_is_a_dynamic_property_the_theme_style_sheet_colours(win, qtbot):
    from PySide6.QtWidgets import QApplication

    from colossus_gui.ui.theme import style_sheet
    assert '[alarmSeverity="2"]' in style_sheet(True) and '[alarmSeverity="2"]' in style_sheet(False)
    assert style_sheet(True) != style_sheet(False)
    win.set_theme(True, save=False)
    assert QApplication.instance().styleSheet() == style_sheet(True)
    win.refresh_text()
    assert win.alarm_label.property("alarmSeverity") == "0"
    for i in (1, 2):
        win.engine.inject("pump_failure", f"H1-R002-CDU-P{i}")
    _free_run(win, 120, speed=30)
    win.refresh_text()
    assert win.alarm_label.property("alarmSeverity") in ("1", "2")
    img = win.alarm_label.grab().toImage()
    reds = sum(1 for x in range(img.width()) for y in range(img.height())
               if img.pixelColor(x, y).red() > 200 and img.pixelColor(x, y).green() < 190)
    assert reds > 0  # drawn in the style sheet's warning or critical colour
    assert not win.alarm_label.styleSheet()  # no colour set on the widget itself


def test_the_event_log_panel_shows_work_order_events_and_rewinds_with_the_run(win, qtbot):
    win.engine.inject("nic_failure", "H1-R003-T2-N1")
    _free_run(win, 400, speed=100)
    win.event_log.pull()
    model = win.event_log.log_model
    rows = [model.event_at(i) for i in range(model.rowCount())]
    nic = [e.kind for e in rows if e.address == "H1-R003-T2-N1"]
    assert nic[:3] == ["fault_started", "wo_created", "wo_assigned"]  # the failure, then the people's answer
    assert [e.seq for e in rows] == list(range(len(win.engine.events)))
    t_arrived = next(e.t_s for e in rows if e.kind == "tech_arrived")
    win.run.seek(t_arrived - 30)  # back to before the technician arrived
    win.event_log.pull()
    rows = [model.event_at(i) for i in range(model.rowCount())]
    assert rows == list(win.engine.events) and "tech_arrived" not in [e.kind for e in rows]
    assert all(w.state == "assigned" for w in win.ops.work_orders.values() if w.target == "H1-R003-T2-N1")
