"""A short training session in the GUI widgets: the instructor injects a fault from the console, the trainee
acknowledges and dispatches with the ordinary alarm and work-order panels, the score moves, the report is
written, and the replay widget scrubs the logged session."""

import json

import pytest
from PySide6.QtCore import Qt

from colossus_gui.model.training import TrainingScenario
from colossus_gui.ops.training import TrainingSession, read_log
from colossus_gui.testing import small_facility
from colossus_gui.ui.panels.alarm_panel import AlarmPanelWidget
from colossus_gui.ui.panels.work_order_panel import WorkOrderPanelWidget
from colossus_gui.ui.sim_driver import SimDriver
from colossus_gui.ui.training.instructor_console import InstructorConsoleWidget, ScorePanelWidget
from colossus_gui.ui.training.replay_widget import ReplayWidget


@pytest.fixture
def session(tmp_path):
    sc = TrainingScenario.model_validate({
        "title": "GUI drill", "seed": 5, "time_limit_s": 1500, "backtrack_every_s": 120,
        "briefing": "Watch hall H1.",
        "faults": [{"id": "late", "at": 1400, "kind": "fan_failure", "target": "H2-R003-RDHX-F1"}],
        "hints": [{"id": "look", "text": "Look at H1-R002.", "cost": 7}],
        "scoring": {"time_to_acknowledge": {"weight": 30, "target": 10, "worst": 200},
                    "time_to_dispatch": {"weight": 30, "target": 10, "worst": 300}},
    })
    s = TrainingSession(sc, small_facility(), trainee="ann", log_path=tmp_path / "session.jsonl")
    yield s
    s.close()


def _tick(qtbot, driver, seconds: int):
    for _ in range(seconds):
        driver.step_once()


def test_instructor_injects_trainee_acknowledges_and_dispatches(qtbot, session, tmp_path):
    driver = SimDriver(session.run)
    driver.set_timer_enabled(False)
    console = InstructorConsoleWidget(session, driver)
    score_panel = ScorePanelWidget(session)
    alarms = AlarmPanelWidget(session.ops, session.engine)
    board = WorkOrderPanelWidget(session.ops, session.engine)
    for w in (console, score_panel, alarms, board):
        qtbot.addWidget(w)
    driver.ticked.connect(score_panel.refresh)
    driver.ticked.connect(alarms.refresh)
    driver.ticked.connect(board.refresh)
    _tick(qtbot, driver, 60)
    assert session.t == 60
    assert console.fault_state("late") == "pending"
    start = score_panel.last_score.total

    # the instructor injects a pump failure from the console
    console.kind_box.setCurrentText("pump_failure")
    console.target_edit.setText("H1-R002-CDU-P1")
    qtbot.mouseClick(console.inject_button, Qt.MouseButton.LeftButton)
    assert console.last_error == ""
    assert not session.engine.pump_ok[session.topo.parse("H1-R002").index, 0]
    assert console.fault_state("inject-1") == "active"
    _tick(qtbot, driver, 30)
    assert alarms.model.rowCount() >= 1
    # unacknowledged alarms and an undispatched work order: the live score falls
    assert score_panel.last_score.total < start

    # the trainee acknowledges with the alarm panel and dispatches with the work-order board
    qtbot.mouseClick(alarms.ack_all_button, Qt.MouseButton.LeftButton)
    wo = next(w for w in session.raw_ops.work_orders.values() if w.target == "H1-R002-CDU-P1")
    assert board.select_order(wo.id)
    board.tech_box.setCurrentText("Finley")
    qtbot.mouseClick(board.assign_button, Qt.MouseButton.LeftButton)
    assert wo.technician == "Finley"
    _tick(qtbot, driver, 5)
    ack = score_panel.last_score.term("time_to_acknowledge")
    assert ack.detail.endswith("0 not acknowledged")
    assert score_panel.last_score.term("time_to_dispatch").value == pytest.approx(
        wo.assigned_t - wo.created_t)

    # a hint costs points, a note is logged, freeze stops the driver
    console.hint_box.setCurrentIndex(0)
    qtbot.mouseClick(console.hint_button, Qt.MouseButton.LeftButton)
    score_panel.refresh()
    assert score_panel.last_score.term("hints").points_lost == 7
    assert score_panel.hints.count() == 1
    console.note_edit.setText("trainee found the CDU quickly")
    qtbot.mouseClick(console.note_button, Qt.MouseButton.LeftButton)
    driver.start()
    qtbot.mouseClick(console.run_button, Qt.MouseButton.LeftButton)
    assert not driver.running and not session.running

    # every action is in the session log, time-stamped, with who did it
    log = [r for r in read_log(tmp_path / "session.jsonl") if r["type"] == "action"]
    acts = [(r["who"], r["action"]) for r in log]
    assert ("instructor", "inject") in acts and ("trainee", "acknowledge") in acts
    assert ("trainee", "assign") in acts and ("instructor", "hint") in acts and ("instructor", "note") in acts
    assert all(r["t_s"] >= 60 for r in log)

    # end the session and write the debrief
    final = console.end_session("drill over")
    assert final is not None and final.final
    paths = console.write_report(tmp_path / "report")
    assert (tmp_path / "report" / "report.html").is_file()
    assert any(p.suffix == ".png" for p in paths)
    assert json.loads((tmp_path / "report" / "score.json").read_text())["trainee"] == "ann"
    assert not console.inject_button.isEnabled()
    console.close()
    driver.stop()


def test_restore_from_the_console_rewinds_the_same_engine(qtbot, session):
    driver = SimDriver(session.run)
    driver.set_timer_enabled(False)
    console = InstructorConsoleWidget(session, driver)
    qtbot.addWidget(console)
    engine = session.engine
    _tick(qtbot, driver, 130)
    session.ops.create_work_order("H1-R004-CDU-P1")  # (unneeded) trainee action after the backtrack point
    _tick(qtbot, driver, 20)
    assert console.points.count() == 1
    console.points.setCurrentRow(0)
    with qtbot.waitSignal(console.restored, timeout=10000):
        qtbot.mouseClick(console.restore_button, Qt.MouseButton.LeftButton)
    assert session.engine is engine and session.t == pytest.approx(120)
    assert not session.raw_ops.work_orders  # the later work order is gone with its timeline
    _tick(qtbot, driver, 5)
    assert session.t == pytest.approx(125)
    console.close()
    driver.stop()


def test_a_console_restore_runs_on_a_worker_and_holds_the_console_meanwhile(qtbot, session):
    from colossus_gui.ui.long_task import wait_for
    driver = SimDriver(session.run)
    driver.set_timer_enabled(False)
    console = InstructorConsoleWidget(session, driver)
    qtbot.addWidget(console)
    driver.start()
    _tick(qtbot, driver, 150)
    console.points.setCurrentRow(0)
    held = []
    console.busy_changed.connect(held.append)
    task = console.restore(console.points.item(0).data(Qt.ItemDataRole.UserRole))
    # the rewind is on the thread pool: the window answers meanwhile, no action can interleave with it
    assert not console.isEnabled() and not driver.running and held == [True]
    with qtbot.waitSignal(console.restored, timeout=10000):
        wait_for(task)
    assert session.t == pytest.approx(120) and held == [True, False]
    assert console.isEnabled() and driver.running, "the run goes on as it was before the restore"
    assert "restore" in console.message.text()
    driver.stop()
    console.close()


def test_replay_widget_scrubs_a_logged_session(qtbot, session, tmp_path):
    session.run_until(100)
    session.do("inject", who="instructor", kind="pump_failure", target="H1-R002-CDU-P2")
    session.run_until(160)
    session.do("acknowledge", who="trainee", alarms="all")
    session.run_until(400)
    session.end("done")
    session.close()
    w = ReplayWidget()
    qtbot.addWidget(w)
    w.open_log(tmp_path / "session.jsonl")
    assert w.end_t == pytest.approx(400)
    assert 100.0 in w.markers() and 160.0 in w.markers()
    r = w.session.topo.parse("H1-R002").index
    w.seek(50)
    assert w.session.t == pytest.approx(50) and w.engine.pump_ok[r, 1]
    with qtbot.waitSignal(w.seeked, timeout=15000):  # a click or keys: one seek once they stop
        w.slider.setValue(200)
    assert w.session.t == pytest.approx(200) and not w.engine.pump_ok[r, 1]
    assert "inject-1" in w.state_label.text()
    w.close()


def test_trainee_controls_act_through_the_session(qtbot, session):
    from colossus_gui.ui.training.trainee_controls import TraineeControlsWidget
    w = TraineeControlsWidget(session)
    qtbot.addWidget(w)
    session.run_until(30)
    w.rack_edit.setText("H1-R002")
    qtbot.mouseClick(w.isolate_button, Qt.MouseButton.LeftButton)
    assert session.engine.rack_isolated[session.topo.parse("H1-R002").index]
    w.hall_box.setCurrentIndex(2)  # H2
    w.watts.setValue(500)
    qtbot.mouseClick(w.cap_button, Qt.MouseButton.LeftButton)
    assert session.engine.power_cap_w[1] == 500 and not (session.engine.power_cap_w[0] < 1e9)
    w.rack_edit.setText("H9-R001")
    qtbot.mouseClick(w.isolate_button, Qt.MouseButton.LeftButton)
    assert "H9" in w.last_error and "H9" in w.message.text()
    recs = [(r.who, r.action, r.ok) for r in session.records]
    assert recs == [("trainee", "isolate_rack", True), ("trainee", "power_cap", True),
                    ("trainee", "isolate_rack", False)]
    # neither control is in this drill's reference solution: both count as unnecessary, and so does the failure
    assert session.score().term("unnecessary_actions").value == 3
    w.close()


def test_replay_opened_on_a_worker_brings_its_charts_back_one_at_a_time_with_their_ranges_set(qtbot, session,
                                                                                              tmp_path):
    session.run_until(300)
    session.end("done")
    session.close()
    w = ReplayWidget()
    qtbot.addWidget(w)
    w.show()
    w.open_log_async(tmp_path / "session.jsonl")
    assert w.busy and not any(pw.updatesEnabled() for pw in w.plots)  # held while the worker loads
    qtbot.waitUntil(lambda: not w.busy, timeout=20000)
    seen = set()
    while w.drawing:  # never all at once: one chart's first paint per turn of the event loop
        seen.add(sum(pw.updatesEnabled() for pw in w.plots))
        qtbot.wait(1)
    assert seen and max(seen) < len(w.plots) and all(pw.updatesEnabled() for pw in w.plots)
    # ranges come from the data (no auto-range worked out in the first paint): the whole session, the data inside
    hot = w._series["hottest_gpu_c"]
    (x0, x1), (y0, y1) = w.plots[0].getPlotItem().vb.viewRange()
    assert x0 <= 1.0 and x1 >= 300.0 and y0 <= hot.min() and y1 >= hot.max() and y1 - y0 < 3 * (hot.max() - hot.min() + 1)
    w.close()
