"""One run at a time in the window: a drill after a free run starts clean (empty board, cleared charts, 1x),
a reopened snapshot shows exactly its own orders, and no widget adds steps of its own."""

from __future__ import annotations

import pytest

from colossus_gui.testing import small_facility
from colossus_gui.ui.main_window import MainWindow


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr("colossus_gui.ui.training_mode.sessions_folder", lambda: tmp_path / "sessions")
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
    assert snap
    from colossus_gui.ui.export_dialog import save_snapshot
    path = save_snapshot(win, win.engine, win.driver, path=tmp_path / "snap.zip", images=False, ops=win.ops)
    win.engine.inject("pump_failure", "H2-R001-CDU-P2")
    win.engine.inject("gpu_failure", "H1-R004-T1-G1")
    _free_run(win, 3000, speed=300)
    assert len(win.ops.work_orders) > len(snap)
    assert win.open_snapshot_file(str(path))
    assert {w.id: (w.state, w.technician) for w in win.ops.work_orders.values()} == snap
    assert win.engine.t == pytest.approx(400, abs=1)


def test_no_step_hooks_anywhere():
    from colossus_gui.ui.sim_driver import SimDriver
    assert not hasattr(SimDriver, "step_hooks")
