"""GUI performance figures: frame time (engine advance + redraw and paint of the visible view and the
charts) at 1920x1080, and the time from launching the application to its first painted window.

``gui_bench("colossus", speed=10, frames=200, view="hall")`` returns a dict; ``colossus-gui bench --gui``
prints it. Uses the offscreen platform unless a display is configured. The machine may be shared and
noisy: medians are reported, with the 90th percentile beside them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import numpy as np

VIEWS = ("site", "hall", "gpus", "rack", "tray")


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    from PySide6.QtWidgets import QApplication
    return QApplication.instance() or QApplication(["colossus-gui-bench"])


def frame_times(facility_name: str = "colossus", speed: float = 10.0, frames: int = 200, view: str = "hall",
                width: int = 1920, height: int = 1080, warmup_s: float = 600.0, seed: int = 1) -> dict:
    """Median/p90 frame ms for ``frames`` frames of 0.1 s wall time each (the redraw period)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}")
    app = _app()
    from ..io.loader import load_facility
    from .main_window import MainWindow
    win = MainWindow(load_facility(facility_name), seed=seed, speed=speed, paused=True, dark=True)
    try:
        win.resize(width, height)
        win.show()
        app.processEvents()
        win.engine.run(warmup_s)  # charts with minutes of history, as a user sees them
        if view == "rack":
            win.navigate(win.engine.topo.rack_address(0))
        elif view == "tray":
            win.navigate(win.engine.topo.tray_address(0))
        else:
            win.tabs.setCurrentIndex(VIEWS.index(view))
        win.driver.set_timer_enabled(False)  # frames are driven here, 0.1 s of wall time each
        win.driver.start()
        for _ in range(5):
            win.frame_once(0.1)
        t_sim0 = win.engine.t
        ts = np.array([win.frame_once(0.1) for _ in range(frames)]) * 1e3
        return {"facility": facility_name, "gpus": int(win.engine.n_gpus), "view": view, "speed": speed,
                "size": f"{win.width()}x{win.height()}", "frames": frames,
                "frame_ms_median": float(np.median(ts)), "frame_ms_p90": float(np.percentile(ts, 90)),
                "frame_ms_max": float(ts.max()), "simulated_s": float(win.engine.t - t_sim0),
                "chart_items": win.charts.item_count() if win.charts is not None else 0}
    finally:
        win.shutdown()
        win.close()
        win.deleteLater()
        app.processEvents()


def launch_time(facility_name: str = "colossus", timeout_s: float = 60.0) -> dict:
    """Seconds from starting ``python -m colossus_gui`` to its first painted window (measured here, so the
    interpreter start and every import count), and the same seen from inside ``main()``."""
    env = dict(os.environ, COLOSSUS_GUI_REPORT_FIRST_PAINT="1", COLOSSUS_GUI_QUIT_AFTER="1.0",
               COLOSSUS_GUI_NO_SETTINGS="1")
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if not env.get("DISPLAY") else "xcb")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "colossus_gui", "--facility", facility_name, "--paused"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = inner = None
    try:
        for line in proc.stdout:
            m = re.match(r"first_paint_s=([\d.]+)", line)
            if m:
                first = time.perf_counter() - t0
                inner = float(m[1])
                break
        proc.wait(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if first is None:
        raise RuntimeError(f"the application did not report a first paint (exit {proc.returncode}): "
                           f"{proc.stderr.read()[-2000:]}")
    return {"first_paint_s": first, "first_paint_after_main_s": inner}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak(facility_name: str = "colossus", speed: float = 10.0, app_minutes: float = 10.0, view: str = "hall",
         seed: int = 1) -> dict:
    """Run the window for ``app_minutes`` of application time (frames of 0.1 s) and compare memory and the
    number of graphics items at the start (after a warm-up) and at the end."""
    app = _app()
    from ..io.loader import load_facility
    from .main_window import MainWindow
    win = MainWindow(load_facility(facility_name), seed=seed, speed=speed, paused=True, dark=True)
    try:
        win.resize(1920, 1080)
        win.show()
        app.processEvents()
        win.tabs.setCurrentIndex(VIEWS.index(view))
        win.driver.set_timer_enabled(False)
        win.driver.start()
        frames = int(app_minutes * 600)
        warm = min(300, frames // 5)
        for i in range(frames):
            win.frame_once(0.1)
            if i % 10 == 0:
                win.refresh_text()
            if i == warm:
                rss0, items0, kf0 = _rss_mb(), win.charts.item_count(), win.run.keyframe_bytes() / 2**20
        rss1, items1, kf1 = _rss_mb(), win.charts.item_count(), win.run.keyframe_bytes() / 2**20
        rest = (rss1 - kf1) - (rss0 - kf0)  # what grew besides the seek keyframes (bounded by their budget)
        return {"app_minutes": app_minutes, "simulated_s": float(win.engine.t), "rss_start_mb": rss0,
                "rss_end_mb": rss1, "rss_growth_pct": 100.0 * (rss1 - rss0) / rss0, "items_start": items0,
                "items_end": items1, "keyframes_start_mb": kf0, "keyframes_end_mb": kf1,
                "keyframe_budget_mb": win.run.keyframe_budget_bytes / 2**20,
                "growth_besides_keyframes_pct": 100.0 * rest / rss0}
    finally:
        win.shutdown()
        win.close()
        win.deleteLater()
        app.processEvents()


def gui_bench(facility_name: str = "colossus", speed: float = 10.0, frames: int = 200, view: str = "hall",
              launch: bool = True) -> dict:
    """Frame figures for one view, plus the launch-to-first-paint time (``launch=False`` skips it)."""
    out = frame_times(facility_name, speed=speed, frames=frames, view=view)
    if launch:
        out.update(launch_time(facility_name))
    return out


def fabric_redraw_ms(facility_name: str = "colossus-200k", redraws: int = 15) -> dict:
    """Median time of one fabric view refresh + paint after an engine step, with a spine down and a link
    flapping (the issue's target: <= 10 ms at 200k GPUs)."""
    _app()
    from ..io.loader import load_facility
    from ..sim.engine import Engine
    from .views.fabric_view import FabricView

    eng = Engine(load_facility(facility_name), seed=1, telemetry_capacity=2000)
    eng.run(5)
    eng.inject("switch_failure", "H1-SP02")
    eng.inject("link_flap", "H1-LF001-P01")
    view = FabricView()
    view.resize(1400, 800)
    view.show()
    _app().processEvents()
    view.set_engine(eng)
    times = []
    for _ in range(redraws):
        eng.step(1.0)
        t0 = time.perf_counter()
        view.refresh(force=True)  # as when shown: the lazy check would skip a hidden view
        view.repaint()
        view.canvas.repaint()
        times.append(time.perf_counter() - t0)
    view.close()
    return {"gpus": eng.n_gpus, "redraw_ms_median": float(np.median(times) * 1e3)}


def board_open_figures(n_orders: int = 10_000, n_open: int = 3_000) -> dict:
    """A relaunch on a workspace of ``n_orders`` work orders: load the open ones, build the board, first paint."""
    import tempfile
    from pathlib import Path

    app = _app()
    from ..ops.bench_ops import generated_workspace, open_workspace
    from .panels.work_order_panel import WorkOrderPanelWidget

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "workspace.sqlite"
        run_id = generated_workspace(path, n_orders, n_open)
        t0 = time.perf_counter()
        eng, store, ops = open_workspace(path, run_id)
        t1 = time.perf_counter()
        board = WorkOrderPanelWidget(ops, eng)
        board.resize(1200, 700)
        board.show()
        app.processEvents()
        board.grab()
        t2 = time.perf_counter()
        board.closed_box.setChecked(True)
        app.processEvents()
        board.grab()
        t3 = time.perf_counter()
        board.close()
        store.close()
    return {"orders": n_orders, "load_s": t1 - t0, "board_s": t2 - t1, "history_s": t3 - t2}


def gui_bench_lines(quick: bool = False):
    """Lines for ``colossus-gui bench --gui``: the issue's frame and launch targets, measured now."""
    frames = 40 if quick else 200
    for fac, view, target in (("colossus", "hall", 25.0), ("colossus", "site", 25.0), ("colossus-200k", "gpus", 35.0)):
        r = frame_times(fac, speed=10.0, frames=frames, view=view)
        yield (f"GUI frame, {r['gpus']:,} GPUs at 10x, {r['size']}, {view} view + charts: "
               f"{r['frame_ms_median']:.1f} ms median, p90 {r['frame_ms_p90']:.1f} ms (target <= {target:g} ms)")
    sk = soak("colossus", app_minutes=2.0 if quick else 10.0)
    yield (f"soak, {sk['app_minutes']:g} min of the window at 10x ({sk['simulated_s']:.0f} simulated s): RSS "
           f"{sk['rss_start_mb']:.0f} -> {sk['rss_end_mb']:.0f} MB ({sk['rss_growth_pct']:+.1f} %, target within 5 %), "
           f"chart items {sk['items_start']} -> {sk['items_end']}; of it the seek keyframes "
           f"{sk['keyframes_start_mb']:.0f} -> {sk['keyframes_end_mb']:.0f} MB (bounded at "
           f"{sk['keyframe_budget_mb']:.0f} MB), everything else {sk['growth_besides_keyframes_pct']:+.1f} %")
    fr = fabric_redraw_ms()
    yield (f"fabric view refresh + paint, {fr['gpus']:,} GPUs, a spine down: {fr['redraw_ms_median']:.1f} ms median "
           "(target <= 10 ms)")
    bo = board_open_figures()
    yield (f"work-order board on a workspace of {bo['orders']:,} orders: open orders loaded {bo['load_s']:.2f} s, "
           f"board first paint {bo['board_s']:.2f} s (target: both within 1 s), whole history shown "
           f"{bo['history_s']:.2f} s")
    lt = launch_time("colossus")
    yield (f"launch to first painted window (default facility): {lt['first_paint_s']:.2f} s "
           f"({lt['first_paint_after_main_s']:.2f} s after main()) (target <= 2.5 s)")


if __name__ == "__main__":  # python -m colossus_gui.ui.bench [facility] [view]
    fac = sys.argv[1] if len(sys.argv) > 1 else "colossus"
    v = sys.argv[2] if len(sys.argv) > 2 else "hall"
    for k, val in gui_bench(fac, view=v).items():
        print(f"{k:28s} {val:.2f}" if isinstance(val, float) else f"{k:28s} {val}")
