"""Training in the main window: the instructor console in its own window, the trainee works the ordinary
alarm and work-order docks, the live score moves, and ending the session writes the debrief report."""

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
    w.resize(1500, 950)
    w.show()
    yield w
    w.shutdown()


def _tick_to(w, t_s: float) -> None:
    w.driver.start()
    while w.engine.t < t_s:
        w.driver.tick_once(1.0)
    w.driver.pause()


def test_a_drill_runs_in_the_window_and_the_trainee_is_scored(win, qtbot):
    assert win.start_training("cdu-pump-pair-failure", trainee="Sam")
    tc = win.training
    session = tc.session
    assert win.engine is session.engine and win.ops is session.ops
    assert win.engine.n_gpus == 100_352  # the drill's own facility
    tc.show_console()  # Training → Instructor console: its own window, or its tab on one screen the window fills
    assert tc.console_window.isVisible() and tc.score_dock is not None
    assert "manual" in tc.briefing_label.text()  # the briefing is on the trainee's side
    win.driver.set_speed(30)
    _tick_to(win, 200)  # both pumps of H2-R014 have failed
    win.refresh_text()
    assert win.ops.alarms.counts()["unacknowledged"] >= 1
    score_before = session.score().total
    # the trainee acknowledges from the alarm dock's path and dispatches from the board's
    assert win.acknowledge_alarms_at("H2-R014") >= 1
    orders = [wo for wo in win.ops.work_orders.values() if wo.target.startswith("H2-R014")]
    assert orders
    tech = next(t.name for t in win.ops.roster.techs if "mechanical" in t.skills and t.free)
    win.ops.assign(orders[0].id, tech)
    kinds = [r.action for r in session.records]
    assert "acknowledge" in kinds and "assign" in kinds  # every trainee action is in the session log
    _tick_to(win, 400)
    assert session.score().total != score_before
    # the instructor ends it: the report is written beside the session log
    paths = tc.end("end of the test drill")
    assert (tc.folder / "report.html").is_file() and (tc.folder / "session.jsonl").is_file()
    assert any(p.name == "report.html" for p in paths)
    assert "score" in win.statusBar().currentMessage()


def test_opening_a_facility_leaves_training_and_writes_the_report(win, tmp_path):
    assert win.start_training("grid-sag-during-training")
    folder = win.training.folder
    _tick_to(win, 30)
    path = tmp_path / "small.json"
    path.write_text(small_facility().model_dump_json())
    assert win.open_facility(str(path))
    assert win.training.session is None and win.ops is not None and not win._ops_external
    assert (folder / "report.html").is_file()


def test_a_bad_training_scenario_is_a_dialog_and_nothing_changes(win, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: broken\ntime_limit_s: 600\nfaults:\n  - {at: 5, kind: pump_failure, target: H9-R001-CDU-P1}\n")
    eng = win.engine
    assert not win.start_training(str(bad))
    assert win.engine is eng
    box = win.last_error_dialog
    assert box is not None and "H9" in box.informativeText()


def test_replay_shows_the_facility_as_it_was_at_the_chosen_moment(win, tmp_path):
    import subprocess
    import sys
    out = tmp_path / "drill"
    r = subprocess.run([sys.executable, "-m", "colossus_gui", "train", "cdu-pump-pair-failure", "--actions",
                        "reference", "--out", str(out), "--no-png", "--quiet"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    replay = win.open_replay(str(out / "session.jsonl"))
    assert win.engine is replay.engine and win.engine.n_gpus == 100_352
    rack = win.engine.parse("H2-R014").index
    replay.seek(100.0)  # before the pumps failed
    assert win.engine.t == 100.0 and win.engine.pump_ok[rack].all()
    replay.seek(300.0)  # both pumps down, the rack isolated by the trainee
    assert not win.engine.pump_ok[rack].any() and win.engine.rack_isolated[rack]
    assert win.engine is replay.engine  # the views stay bound to the one engine
    assert not win.driver.running
