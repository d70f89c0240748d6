"""UI tests clean up after themselves: a test that leaves a top-level window shown or a QTimer running
fails (at teardown), as napari's fixtures do. Leaks make later tests flaky and PySide6 crash at exit."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_windows_or_timers(request, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    request.node._leak_before = {id(w) for w in app.topLevelWidgets() if w.isVisible()}
    started: list = []
    original = QTimer.start

    def start(self, *args):
        started.append(self)
        return original(self, *args)

    monkeypatch.setattr(QTimer, "start", start)
    request.node._leak_timers = started
    # a tick steps everything it owes: the wall-time budget is the real-time loop's, and a loaded CI machine
    # would otherwise cut ticks short at random (tests/ui/test_sim_driver.py tests the budget on a fake clock)
    from colossus_gui.ui.sim_driver import SimDriver
    monkeypatch.setattr(SimDriver, "DEFAULT_BUDGET_MS", float("inf"))
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield  # every fixture's teardown (qtbot closing its widgets) has run
    timers = getattr(item, "_leak_timers", None)
    if timers is None:
        return
    import shiboken6
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    app.processEvents()
    before = item._leak_before
    windows = [w for w in app.topLevelWidgets() if w.isVisible() and id(w) not in before]
    running = [t for t in timers if shiboken6.isValid(t) and t.isActive()]
    names = [f"window {w.objectName() or type(w).__name__}" for w in windows] + \
        [f"timer {t.objectName() or '(unnamed)'} of {type(t.parent()).__name__ if t.parent() else 'nothing'}"
         for t in running]
    for w in windows:  # clean up so the next test starts clean
        w.close()
    for t in running:
        t.stop()
    timers.clear()
    if names:
        pytest.fail(f"{item.nodeid} leaked: {', '.join(sorted(set(names)))}", pytrace=False)
