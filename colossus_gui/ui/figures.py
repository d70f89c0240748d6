"""Figures as an operator should read them (Qt-free numpy over the engine's telemetry rings).

- Quantities that swing with the training iterations (IT and facility power swing by a third every few
  seconds) are shown as their mean and range over the last swing window ("IT 72 MW, 58–83"): a single
  sample misleads, and two panes refreshed a moment apart would show two different numbers.
- Goodput over a rolling window (one interruption early in a run must not read as a 25 % goodput for
  hours); the cumulative figure is shown too, labelled "so far".
- Before the engine's first step there are no figures at all: :func:`warming_up` says so, and panes show
  "–" and a warm-up note instead of 0.0 MW.

Every pane reads the same telemetry rows, which end at the same engine step, so one screen shows one moment.
"""

from __future__ import annotations

import numpy as np

SWING_WINDOW_S = 10.0  # covers two or more training iterations (3-5 s each)
GOODPUT_WINDOW_S = 600.0  # rolling goodput: the last 10 minutes
WARMUP_TEXT = "Warming up: no simulated second yet; figures appear once the simulation runs (Space)"


def warming_up(engine) -> bool:
    """True before the engine's first step: every power and flow is still zero."""
    return engine.step_count == 0 or len(engine.telemetry.facility) == 0


def _tail(engine, seconds: float) -> np.ndarray:
    ring = engine.telemetry.facility
    n = len(ring)
    if n == 0:
        return ring.data[:0]
    t_col = engine.telemetry.index["t_s"]
    last = ring.data[(ring.count - 1) % ring.capacity]
    prev = ring.data[(ring.count - 2) % ring.capacity] if n > 1 else last
    dt = float(last[t_col] - prev[t_col]) or 1.0
    k = min(n, int(seconds / dt) + 1)
    pos = np.arange(ring.count - k, ring.count) % ring.capacity
    return ring.data[pos]


def swing(engine, channel: str, window_s: float = SWING_WINDOW_S) -> tuple[float, float, float] | None:
    """(mean, min, max) of a telemetry channel over the last ``window_s``; None while warming up."""
    rows = _tail(engine, window_s)
    if not len(rows):
        return None
    y = rows[:, engine.telemetry.index[channel]]
    y = y[np.isfinite(y)]
    if not y.size:
        return None
    return float(y.mean()), float(y.min()), float(y.max())


def swing_text(engine, channel: str, unit: str = "MW", decimals: int = 1, window_s: float = SWING_WINDOW_S,
               range_decimals: int | None = None) -> str:
    """'72.1 MW, 58–83' (mean, then lowest–highest when they differ at the shown precision); '–' while
    warming up."""
    s = swing(engine, channel, window_s)
    if s is None:
        return "–"
    mean, lo, hi = s
    if range_decimals is None:  # '58–83' for tens of MW, '0.5–0.9' for a small facility
        rd = 0 if max(abs(lo), abs(hi)) >= 10 else decimals
    else:
        rd = range_decimals
    text = f"{mean:,.{decimals}f} {unit}"
    lo_s, hi_s = f"{lo:,.{rd}f}", f"{hi:,.{rd}f}"
    if lo_s != hi_s:
        text += f", {lo_s}–{hi_s}"
    return text


def rolling_goodput(t: np.ndarray, goodput_so_far: np.ndarray, window_s: float = GOODPUT_WINDOW_S) -> np.ndarray:
    """Goodput over the last ``window_s`` at every sample, from the cumulative goodput telemetry.

    The engine's goodput so far is useful GPU-seconds / (GPUs × seconds since the start), so useful work to
    time t is ``g(t) × t`` per GPU and the window's goodput is the difference over the window's length. Early
    in a run (less history than the window) it is the goodput since the start."""
    t = np.asarray(t, dtype=np.float64)
    g = np.asarray(goodput_so_far, dtype=np.float64)
    if not t.size:
        return g
    useful = g * t
    j = np.searchsorted(t, t - window_s, side="left")
    span = t - t[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 0, (useful - useful[j]) / np.where(span > 0, span, 1.0), g)
    out = np.where(t - window_s < t[0], g, out)  # less history than the window: the goodput since the start
    return np.clip(out, 0.0, 1.0)


def goodput_now(engine, window_s: float = GOODPUT_WINDOW_S) -> float | None:
    """The rolling goodput at the latest step (None while warming up)."""
    rows = _tail(engine, window_s + 2.0)
    if not len(rows):
        return None
    idx = engine.telemetry.index
    return float(rolling_goodput(rows[:, idx["t_s"]], rows[:, idx["goodput"]], window_s)[-1])


def goodput_text(engine, window_s: float = GOODPUT_WINDOW_S) -> str:
    """'99.2 % (last 10 min) · 97.8 % so far'."""
    now = goodput_now(engine, window_s)
    if now is None:
        return "–"
    return f"{now:.1%} (last {window_s / 60:g} min) · {engine.goodput():.1%} so far"


def status_speed_text(engine, running: bool, speed: float, actual: float) -> str:
    """The status bar's run state: 'running · set 10× · actual 9.8×'; while the achieved speed is not yet
    measured, 'measuring', never 'actual 0×'; before the first step, the warm-up."""
    state = "running" if running else "paused"
    text = f"{state} · set {speed:g}×"
    if warming_up(engine):
        return text + (" · warming up" if running else " · press Run (Space) to start")
    if running:
        text += f" · actual {actual:.3g}×" if actual > 0 else " · measuring speed"
    return text
