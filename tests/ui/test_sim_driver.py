"""The real-time loop: speed x wall time in whole steps, a time budget, and no spiral when behind."""

from __future__ import annotations

import pytest

from colossus_gui.ui import sim_driver as sd
from colossus_gui.ui.sim_driver import SimDriver, format_clock


class FakeEngine:
    """A run of its own engine: counts steps; each step costs ``cost_s`` of the (fake) wall clock."""

    ended = False

    def __init__(self, clock=None, cost_s: float = 0.0):
        self.t = 0.0
        self.steps = 0
        self.clock, self.cost_s = clock, cost_s
        self.engine = self

    def step(self, dt: float = 1.0) -> None:
        self.t += dt
        self.steps += 1
        if self.clock is not None:
            self.clock[0] += self.cost_s


@pytest.fixture
def driver(qtbot):
    d = SimDriver(FakeEngine())
    yield d
    d.stop()


def test_fractional_speed_accumulates(driver):
    driver.set_speed(0.5)
    driver.start()
    assert driver.tick_once(1.0) == 0
    assert driver.tick_once(1.0) == 1
    assert driver.engine.t == 1.0


def test_debt_is_capped_instead_of_spiralling(driver):
    driver.set_speed(100)
    driver.start()
    steps = driver.tick_once(10.0)  # the app froze for 10 s: 1000 s owed
    assert steps == 50  # at most half a second of wall time at this speed
    assert driver.dropped_s == pytest.approx(950.0)
    assert driver.tick_once(0.0) == 0  # nothing left owed


def test_time_budget_carries_the_rest_over(qtbot, monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(sd.time, "perf_counter", lambda: clock[0])
    eng = FakeEngine(clock, cost_s=0.008)  # 8 ms per step, budget 20 ms
    d = SimDriver(eng, speed=20, budget_ms=20)
    d.start()
    assert d.tick_once(0.25) == 3  # 5 steps owed; 8, 16, 24 ms: stops after crossing the budget
    assert d.tick_once(0.0) == 2  # the carried steps follow on the next tick
    assert eng.t == 5.0 and d.dropped_s == 0.0
    # a machine too slow for the speed: the owed time stays bounded, the rest is dropped and measured
    for _ in range(50):
        d.tick_once(0.25)
    assert d._pending_s <= 10.0 and d.dropped_s > 0
    assert d.actual_speed() < 20.0
    d.stop()


def test_signals_and_presets(driver, qtbot):
    with qtbot.waitSignal(driver.running_changed) as run:
        driver.start()
    assert run.args == [True]
    with qtbot.waitSignal(driver.speed_changed) as sp:
        driver.speed_up()
    assert sp.args == [2.0]
    driver.set_speed(1000)
    driver.speed_up()
    driver.speed_up()
    assert driver.speed == 3000  # the top preset holds
    driver.set_speed(1)
    driver.speed_down()
    assert driver.speed == 1
    with qtbot.assertNotEmitted(driver.ticked):
        driver.tick_once(0.0001)  # no step, no redraw request
    with qtbot.waitSignal(driver.ticked):
        driver.tick_once(1.0)


def test_actual_speed_measures_simulated_per_wall_second(driver):
    driver.set_speed(30)
    driver.start()
    for _ in range(40):
        driver.tick_once(1 / 30)
    assert driver.actual_speed() == pytest.approx(30.0, rel=0.05)
    driver.pause()
    assert driver.actual_speed() == 0.0


def test_step_once_works_while_paused(driver):
    assert not driver.running
    driver.step_once()
    assert driver.engine.t == 1.0


def test_format_clock():
    assert format_clock(0) == "0d 00:00:00"
    assert format_clock(86400 + 3600 + 61) == "1d 01:01:01"
    assert format_clock(59.9) == "0d 00:00:59"
