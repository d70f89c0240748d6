"""A trainer's first hour: the drill launcher, where the briefing is, the instructor console beside the
trainee's window with a live feed, charts visible while acting, and the debrief one click away."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog, QPushButton

from colossus_gui.io.session_store import SessionStore
from colossus_gui.io.store import Store
from colossus_gui.testing import small_facility
from colossus_gui.ui.main_window import MainWindow
from colossus_gui.ui.training.drill_launcher_dialog import DIFFICULTIES, DrillLauncherDialog, drill_infos
from colossus_gui.ui.training.training_mode import training_scenarios

_REST = {"aborted": False, "ended": None, "seed": 1, "log_path": None, "report_path": None, "terms": []}


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("colossus_gui.ui.training.training_mode.sessions_folder", lambda: tmp_path / "sessions")
    w = MainWindow(small_facility(), seed=1, paused=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.move(0, 0)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def test_the_launcher_shows_each_drill_and_the_trainees_history(qtbot, tmp_path):
    drills = drill_infos(training_scenarios())
    assert len(drills) == len(training_scenarios()) >= 7 and not [d for d in drills if d.problem]
    assert {d.difficulty for d in drills} <= set(DIFFICULTIES) and len({d.difficulty for d in drills}) >= 2
    with SessionStore(Store(tmp_path / "ws.sqlite")) as ss:
        ss.add(trainee="Sam", scenario="coolant-leak", title="A coolant leak", started="2026-11-30T10:00:00",
               sim_s=1800, score=71.5, **_REST)
        ss.add(trainee="Sam", scenario="cdu-pump-pair-failure", title="Both pumps", started="2026-11-29T09:00:00",
               sim_s=2700, score=88.0, **_REST)
        trainees, hist = ss.trainees(), ss.sessions
        dlg = DrillLauncherDialog(training_scenarios(), trainees, lambda n: hist(trainee=n), last_trainee="Sam")
        qtbot.addWidget(dlg)
        dlg.show()
        dlg.select("coolant-leak")
        d = dlg.current_drill()
        assert dlg.title.text() == d.title and d.description
        dlg.select("cdu-pump-pair-failure")
        assert dlg.description.text() == "Both pumps of one CDU fail a minute apart (colossus)."
        dlg.select("coolant-leak")
        d = dlg.current_drill()
        assert f"{d.duration_s / 60:.0f} min" in dlg.facts.text() and d.difficulty in dlg.facts.text()
        assert d.briefing.splitlines()[0].strip()[:30] in dlg.briefing.toPlainText()
        assert "2 earlier session(s)" in dlg.history.text() and "72" in dlg.history.text()
        assert "1 of this drill" in dlg.history.text()
        item_text = dlg.list.item(dlg.list.currentRow()).text()
        assert d.title in item_text and d.difficulty in item_text
        assert dlg.chosen() == (d.path, "Sam") and dlg.start_button.isEnabled()
        dlg.trainee_box.setCurrentText("  ")
        assert dlg.chosen() is None and not dlg.start_button.isEnabled()
        dlg.trainee_box.setCurrentText("Robin")
        assert "no earlier sessions" in dlg.history.text()


def test_a_drill_from_the_launcher_runs_with_charts_visible_and_a_live_feed(win, qtbot, monkeypatch):
    def fake_exec(dlg):
        dlg.select("cdu-pump-pair-failure")
        dlg.trainee_box.setCurrentText("Sam")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(DrillLauncherDialog, "exec", fake_exec)
    assert win.start_training()  # Training → Start training session (Ctrl+T)
    tc = win.training
    assert tc.session.trainee == "Sam" and tc.session.scenario_name == "cdu-pump-pair-failure"
    msg = win.statusBar().currentMessage()
    assert "Score dock" in msg and "instructor console" not in msg, "the briefing is on the trainee's side"
    assert "manual" in tc.briefing_label.text()
    # separate docks: charts, score and trainee controls are all on screen at once
    assert not win.tabifiedDockWidgets(win.charts_dock)
    qtbot.waitUntil(lambda: all(d.isVisible() and not d.visibleRegion().isEmpty()
                                for d in (tc.score_dock, tc.controls_dock)), timeout=15000)
    for dock in (win.charts_dock, tc.score_dock, tc.controls_dock):
        assert dock.isVisible() and not dock.visibleRegion().isEmpty(), dock.objectName()
    # the instructor console was placed (another screen, beside, or a tab beside the alarms when the window
    # fills the one screen), not dropped on top; Training → Instructor console brings it to the front
    cw = tc.console_window
    assert tc.console_placement in ("other screen", "beside", "docked")
    if tc.console_placement == "docked":
        assert win.alarms_dock in win.tabifiedDockWidgets(tc.console_dock)
        assert not cw.isVisible() or tc.score_dock in win.tabifiedDockWidgets(win.alarms_dock)
        tc.show_console()
    assert cw.isVisible()
    assert win.minimumSizeHint().width() <= 1280, "the training docks still fit a 1280-pixel screen"
    # the live feed shows what the trainee does
    win.driver.set_speed(30)
    win.driver.start()
    while win.engine.t < 200:
        win.driver.tick_once(1.0)
    win.driver.pause()
    assert win.acknowledge_alarms_at("H2-R014") >= 1
    tc.refresh()
    assert any("acknowledge" in t for t in tc.feed.texts())
    # end: the debrief is one click away
    opened = []
    monkeypatch.setattr("PySide6.QtGui.QDesktopServices.openUrl", lambda url: opened.append(url) or True)
    tc.end("end of the test drill")
    button = win.statusBar().findChild(QPushButton, "openDebriefButton")
    assert button is not None and button.isVisible() and button.text() == "Open debrief"
    button.click()
    assert opened and opened[0].toLocalFile().endswith("report.html")
    assert "…" not in win.statusBar().currentMessage() and "score" in win.statusBar().currentMessage()


def test_the_console_goes_beside_the_main_window_when_the_screen_has_room(qtbot):
    from PySide6.QtWidgets import QWidget

    from colossus_gui.ui.window_placement import place_beside
    main, console = QWidget(), QWidget()
    qtbot.addWidget(main)
    qtbot.addWidget(console)
    screen = main.screen().availableGeometry()
    main.setGeometry(screen.left(), screen.top(), screen.width() // 4, screen.height() // 2)
    main.show()
    qtbot.waitExposed(main)
    how = place_beside(console, main, min_w=screen.width() // 3)
    assert how in ("beside", "other screen")
    assert not console.geometry().intersects(main.frameGeometry())
    assert console.width() >= screen.width() // 3
