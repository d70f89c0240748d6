"""Crash canary for the live charts (DEVELOPERS guide): several hundred real redraws in a child process.

PySide6 point releases have broken pyqtgraph before (a ``Fatal Python error: none_dealloc`` segfault while
feeding curves). In-process, that would kill pytest with no report; in a subprocess it fails this test with
the child's stderr in the message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, time
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from colossus_gui.sim.engine import Engine
    from colossus_gui.testing import small_facility
    from colossus_gui.ui.panels.charts import TIME_RANGES, ChartPanelWidget

    eng = Engine(small_facility(), seed=7)
    w = ChartPanelWidget(eng)
    w.resize(520, 900)
    w.show()
    app.processEvents()
    items0 = w.item_count()
    deadline = time.perf_counter() + 10.0
    n = 0
    while n < 400 and time.perf_counter() < deadline:
        eng.step()
        if n % 50 == 10:
            eng.inject("fan_failure", "H1-R001-RDHX-F%d" % (n // 50 % 6 + 1))
        if n % 97 == 0:
            w.set_range(TIME_RANGES[(n // 97) % len(TIME_RANGES)][1])
        if n % 113 == 0:
            w.set_rack(None if w.rack is not None else n % eng.n_racks)
        if n % 151 == 0:
            w.apply_theme(n % 2 == 0)
        if n % 131 == 0:
            w.set_follow(False)
            w.master.setXRange(0, max(1.0, eng.t / 2))
            w.set_follow(True)
        if n % 10 == 0:
            w.refresh_text()
        assert w.redraw(force=True), "nothing drawn"
        app.processEvents()
        n += 1
    items1 = w.item_count()
    w.close()
    app.processEvents()
    assert n >= 150, f"only {n} redraws in 10 s"
    assert items1 == items0, f"graphics items grew from {items0} to {items1}"
    print(f"SOAK OK {n} redraws, {items1} items")
""")


def test_live_charts_survive_hundreds_of_redraws():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COLOSSUS_GUI_NO_SETTINGS="1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and "SOAK OK" in proc.stdout, (
        f"live-plot soak failed (exit code {proc.returncode}; a negative code is a signal, e.g. -11 a segfault)\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-6000:]}")
