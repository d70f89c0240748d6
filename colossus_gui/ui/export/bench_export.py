"""Export figures for ``colossus-gui bench --gui``: window PNG, per-GPU CSV, snapshot bundle and reopening.
(Apart from ``render`` because it builds the main window, which itself uses ``render``.)"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

from .render import (
    OffscreenViews,
    bundle_png_writers,
    caption_height,
    ensure_app,
    make_caption,
    prepare_offscreen,
    render_png,
)


def _median_s(fn, n: int) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def export_figures(quick: bool = False, folder: str | Path | None = None) -> dict:
    """Measure the export figures of issue 7 on this machine (seconds)."""
    import shutil

    from ...io.bundle import open_bundle, write_bundle
    from ...io.loader import load_facility
    from ...io.tables import write_gpu_csv
    from ...sim.engine import Engine

    ensure_app()
    n = 2 if quick else 5
    own = folder is None
    tmp = Path(tempfile.mkdtemp(prefix="colossus-export-bench.")) if own else Path(folder)
    fig: dict = {}
    try:
        eng = Engine(load_facility("colossus"), seed=1)
        eng.run(60 if quick else 300)
        fig["gpus"] = eng.n_gpus
        # the whole main window when it can be built, else the busiest single view
        win = None
        try:
            os.environ.setdefault("COLOSSUS_GUI_NO_SETTINGS", "1")
            from ..main_window import MainWindow
            win = MainWindow(engine=eng, paused=True)
            prepare_offscreen(win, 1920, 1080)
            win.refresh_views(force=True)
            QApplication.processEvents()
            target, fig["window_what"] = win, "main window"
        except Exception:  # main window unavailable (being rebuilt): measure a 1920x1080 hall view instead
            views = OffscreenViews(eng, width=1920, height=1080 + caption_height())
            target, fig["window_what"] = views.widget("hall"), "hall view"
        cap = make_caption(eng, "bench")
        fig["window_png_s"] = _median_s(lambda: render_png(target, tmp / "window.png", cap), n)
        fig["window_png_2x_s"] = _median_s(lambda: render_png(target, tmp / "window2x.png", cap, scale=2), max(1, n // 2))
        if win is not None:
            with contextlib.suppress(Exception):
                win.shutdown()
            win.close()
            win.deleteLater()
        else:
            views.close()
        QApplication.processEvents()

        def bundle(e=eng):
            write_bundle(e, tmp / "bundle", png_writers=bundle_png_writers(e))
            QApplication.processEvents()  # deleteLater of the offscreen views, as the GUI loop would

        fig["bundle_s"] = _median_s(bundle, max(1, n // 2 + 1))
        fig["bundle_mb"] = sum(f.stat().st_size for f in (tmp / "bundle").iterdir()) / 1e6
        fig["reopen_s"] = _median_s(lambda: open_bundle(tmp / "bundle"), max(1, n // 2 + 1))
        eng = None  # free the 100k engine before building the 200k one
        big = Engine(load_facility("colossus-200k"), seed=1)
        big.run(10)
        fig["gpu_csv_gpus"] = big.n_gpus
        fig["gpu_csv_s"] = _median_s(lambda: write_gpu_csv(big, tmp / "gpus.csv"), n)
    finally:
        if own:
            shutil.rmtree(tmp, ignore_errors=True)
    return fig


def export_bench_lines(quick: bool = False) -> list[str]:
    """Printable lines with the export figures and their targets (for ``colossus-gui bench --gui``)."""
    f = export_figures(quick)
    return [
        f"PNG of a 1920x1080 {f['window_what']}: {f['window_png_s'] * 1e3:.0f} ms median "
        f"(2x: {f['window_png_2x_s'] * 1e3:.0f} ms) (target <= 300 ms)",
        f"per-GPU CSV of {f['gpu_csv_gpus']:,} GPUs: {f['gpu_csv_s']:.2f} s median (target <= 1 s)",
        f"full snapshot bundle of the default {f['gpus']:,}-GPU facility (data + 6 images, "
        f"{f['bundle_mb']:.0f} MB): {f['bundle_s']:.2f} s (target <= 3 s)",
        f"reopening that bundle: {f['reopen_s']:.2f} s (target <= 2 s)",
    ]


__all__ = ["export_bench_lines", "export_figures"]
