"""The real-time loop: one QTimer advances the engine by ``speed x wall-dt`` in fixed sub-steps.

The driver advances a ``Run`` (ops/run.py: engine, operations and training in their one fixed order); the
run never knows Qt or the wall clock: the driver measures wall time (here, in the UI layer) and hands the
run whole steps of ``dt_s`` simulated seconds. Nothing else adds steps: there are no step hooks. Work per tick is bounded by a time budget; what is not
done is carried over, but the carry is capped so a slow machine runs slower than asked instead of spiralling
(each tick trying to catch up on more than the last). The actual speed is measured and shown to the user.
"""

from __future__ import annotations

import math
import time
from collections import deque

from PySide6.QtCore import QObject, Qt, QTimer, Signal

SPEED_PRESETS: tuple[float, ...] = (1, 2, 5, 10, 30, 100, 300, 1000, 3000)
MIN_SPEED, MAX_SPEED = 0.1, 10000.0


class SimDriver(QObject):
    """Owns the simulation clock of the GUI. ``ticked`` is emitted once per tick that advanced the engine."""

    ticked = Signal()
    running_changed = Signal(bool)
    speed_changed = Signal(float)

    DEFAULT_BUDGET_MS = 20.0  # wall time one tick may spend stepping (the rest is carried over)

    def __init__(self, run, speed: float = 1.0, dt_s: float = 1.0, interval_ms: int = 33,
                 budget_ms: float | None = None, parent: QObject | None = None):
        """``run``: a Run (or an Engine, which gets a Run of its own without operations); ``budget_ms``:
        :attr:`DEFAULT_BUDGET_MS` unless given."""
        super().__init__(parent)
        self.setObjectName("simDriver")
        self.run = _as_run(run, dt_s)
        self.dt_s = float(dt_s)
        self.budget_s = (self.DEFAULT_BUDGET_MS if budget_ms is None else budget_ms) / 1000.0
        self._speed = float(speed)
        self._running = False
        self._pending_s = 0.0          # simulated seconds owed but not yet stepped
        self._wall_s = 0.0             # wall seconds seen by the driver while running (virtual in tests)
        self._last_tick: float | None = None
        self._samples: deque[tuple[float, float]] = deque(maxlen=256)  # (driver wall s, engine.t)
        self.last_steps = 0
        self.last_tick_ms = 0.0
        self.dropped_s = 0.0           # simulated time given up because the machine could not keep up
        self._timer = QTimer(self)
        self._timer.setObjectName("simDriverTimer")
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer_enabled = True

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._running

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def engine(self):
        return self.run.engine

    def set_run(self, run) -> None:
        """Drive another run (a new facility, a reopened snapshot, a drill)."""
        self.run = _as_run(run, self.dt_s)
        self._pending_s = 0.0
        self._samples.clear()

    def set_engine(self, engine) -> None:
        self.set_run(engine)

    def set_timer_enabled(self, enabled: bool) -> None:
        """Benchmarks and tests drive ``tick_once`` themselves: keep the running state, drop the timer."""
        self._timer_enabled = bool(enabled)
        if not enabled:
            self._timer.stop()
        elif self._running:
            self._timer.start()

    def set_running(self, running: bool) -> None:
        running = bool(running)
        if running == self._running:
            return
        self._running = running
        self._last_tick = None
        self._pending_s = 0.0
        self._samples.clear()
        if running and self._timer_enabled:
            self._timer.start()
        else:
            self._timer.stop()
        self.running_changed.emit(running)

    def start(self) -> None:
        self.set_running(True)

    def pause(self) -> None:
        self.set_running(False)

    def toggle(self) -> None:
        self.set_running(not self._running)

    def stop(self) -> None:
        """Stop the timer for good (window closing, test teardown)."""
        self._timer.stop()
        self._running = False

    def set_speed(self, speed: float) -> None:
        speed = float(min(MAX_SPEED, max(MIN_SPEED, speed)))
        if speed == self._speed:
            return
        self._speed = speed
        self._samples.clear()
        self.speed_changed.emit(speed)

    def speed_up(self) -> None:
        nxt = [s for s in SPEED_PRESETS if s > self._speed + 1e-9]
        self.set_speed(nxt[0] if nxt else self._speed)

    def speed_down(self) -> None:
        prev = [s for s in SPEED_PRESETS if s < self._speed - 1e-9]
        self.set_speed(prev[-1] if prev else self._speed)

    # ------------------------------------------------------------------ advancing
    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        wall_dt = 0.0 if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        # a stall (modal dialog, a long redraw) is not owed to the user afterwards
        self.tick_once(min(wall_dt, 0.25))

    def tick_once(self, wall_dt: float) -> int:
        """Advance by ``speed x wall_dt`` simulated seconds (if running). Returns the number of steps."""
        self.last_steps = 0
        if not self._running or wall_dt < 0:
            return 0
        self._wall_s += wall_dt
        self._pending_s += self._speed * wall_dt
        # Cap the debt at ~half a second of wall time (at least two steps): beyond that we drop it.
        cap = max(2.0 * self.dt_s, self._speed * 0.5)
        if self._pending_s > cap:
            self.dropped_s += self._pending_s - cap
            self._pending_s = cap
        n = int(math.floor(self._pending_s / self.dt_s + 1e-9))
        steps = 0
        t0 = time.perf_counter()
        run = self.run
        while steps < n and not run.ended:
            run.step()
            steps += 1
            if time.perf_counter() - t0 > self.budget_s:
                break
        self._pending_s -= steps * self.dt_s
        self.last_steps = steps
        self.last_tick_ms = (time.perf_counter() - t0) * 1e3
        self._samples.append((self._wall_s, float(self.engine.t)))
        if steps:
            self.ticked.emit()
        return steps

    def step_once(self) -> None:
        """One engine step now, running or paused (the Step button)."""
        if self.run.ended:
            return
        self.run.step()
        self.last_steps = 1
        self.ticked.emit()

    def actual_speed(self, window_s: float = 2.0) -> float:
        """Simulated seconds per wall second over the last ``window_s`` of driver time (0 when paused)."""
        if not self._running or len(self._samples) < 2:
            return 0.0
        w_end, t_end = self._samples[-1]
        w0, t0 = self._samples[0]
        for w, t in reversed(self._samples):
            w0, t0 = w, t
            if w_end - w >= window_s:
                break
        span = w_end - w0
        return (t_end - t0) / span if span > 0 else 0.0


def _as_run(run, dt_s: float):
    """A Run (anything with ``step()``, ``engine`` and ``ended``), or a Run made for a bare engine."""
    if all(hasattr(run, a) for a in ("step", "engine", "ended")):
        return run
    from ..ops.run import Run
    return Run(run, dt=dt_s)


def format_clock(t_s: float) -> str:
    """Simulated time as ``d hh:mm:ss`` (e.g. ``0d 01:02:03``)."""
    t = max(0, int(t_s))
    d, rem = divmod(t, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return f"{d}d {h:02d}:{m:02d}:{s:02d}"
