"""How long the UI thread is ever blocked while long timeline work runs on the thread pool: opening a
recorded session for replay, a replay seek, writing a snapshot bundle. A 5 ms QTimer on the UI thread stamps
every turn of the event loop; the longest gap between two stamps is the longest the window was frozen.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def _app():
    from .bench import _app as app
    return app()


class _Watch:
    def __init__(self):
        from PySide6.QtCore import QTimer
        self.stamps: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(lambda: self.stamps.append(time.perf_counter()))

    def run(self, start, done, tail_s: float = 0.0) -> float:
        """Start work with ``start()``, spin the event loop until ``done()`` and ``tail_s`` longer (the paints
        that follow); the longest gap in ms."""
        from PySide6.QtWidgets import QApplication
        self.stamps = [time.perf_counter()]
        self.timer.start()
        start()
        t0 = time.perf_counter()
        while not done() and time.perf_counter() - t0 < 600:
            QApplication.processEvents()
            time.sleep(0.001)
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < tail_s:
            QApplication.processEvents()
            time.sleep(0.001)
        self.timer.stop()
        self.stamps.append(time.perf_counter())
        return float(np.max(np.diff(self.stamps)) * 1e3) if len(self.stamps) > 1 else 0.0


def _settle(app, seconds: float = 0.5) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.01)


def ui_block_figures(hours: float = 1.0) -> dict:
    app = _app()
    from ..ops.bench_run import record_session
    from .export.export_dialog import save_snapshot_async
    from .long_task import freeze_startup_heap
    from .training.replay_widget import ReplayWidget
    freeze_startup_heap()  # as the app does at start-up, after its imports and before its first run
    out = {}
    with tempfile.TemporaryDirectory(prefix="colossus-bench-") as tmp:
        folder = Path(tmp)
        s, _ = record_session(folder, hours)
        w = ReplayWidget()
        w.resize(1000, 700)
        w.show()
        app.processEvents()
        watch = _Watch()
        # the process's first progress dialog sets up Qt's styles for it once (~0.1 s): measured apart, so
        # the figures below are what each piece of work costs the UI thread
        from PySide6.QtWidgets import QProgressDialog
        out["first_dialog_ms"] = watch.run(lambda: QProgressDialog("warm-up", "Cancel", 0, 10, w).setValue(1),
                                           lambda: True)
        # while the worker loads (until it hands over its result), then the drawing of the opened session
        out["replay_load_ms"] = watch.run(lambda: w.open_log_async(folder / "session.jsonl"),
                                          lambda: w.task is None or w.task.done)
        # and the charts' first paints of it (they come back one at a time, each in its own turn)
        out["replay_first_draw_ms"] = watch.run(lambda: None, lambda: w.session is not None and not w.busy
                                                and not w.drawing, tail_s=0.5)
        _settle(app)
        w.async_threshold = 0
        rng = np.random.default_rng(5)
        gaps = []
        for t in rng.uniform(0, w.end_t, 3).round():
            gaps.append(watch.run(lambda t=t: w.request_seek(float(t)), lambda: not w.busy and not w.drawing,
                                  tail_s=0.3))
            _settle(app)
        out["seek_ms"] = max(gaps)
        box = []
        out["bundle_ms"] = watch.run(
            lambda: save_snapshot_async(None, w.engine, path=folder / "snap.zip", images=False,
                                        ops=w.session.ops, on_done=box.append), lambda: bool(box))
        out["bundle_ok"] = bool(box and box[0] is not None)
        out["gpus"] = int(w.engine.n_gpus)
        w.close()
        w.deleteLater()
        app.processEvents()
    return out


def ui_block_lines(quick: bool = False) -> list[str]:
    f = ui_block_figures(hours=0.25 if quick else 1.0)
    return [f"longest UI-thread block, {f['gpus']:,} GPUs (target <= 100 ms): replay load {f['replay_load_ms']:.0f} ms "
            f"(then drawing the opened session {f['replay_first_draw_ms']:.0f} ms), seek {f['seek_ms']:.0f} ms, "
            f"bundle write (data) {f['bundle_ms']:.0f} ms; the process's first progress dialog "
            f"{f['first_dialog_ms']:.0f} ms once"]


__all__ = ["ui_block_figures", "ui_block_lines"]
