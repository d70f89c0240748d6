"""Long work off the UI thread: a seek past the keyframes, loading a replay, writing a bundle.

``start_task(fn, ...)`` runs ``fn(report, cancelled)`` on the global ``QThreadPool``; ``report(fraction,
label)`` moves a progress dialog, ``cancelled()`` says whether the user pressed Cancel (the work stops at
its next check and raises; the caller's ``on_cancelled`` runs). Results and errors come back to the UI thread
by queued signals; the worker never touches a widget. While a task runs, the simulation it works on must not
be stepped or drawn by the UI thread: the caller pauses the driver and holds its views (``busy``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

WORKER_SWITCH_INTERVAL_S = 0.0002


class _Signals(QObject):
    progressed = Signal(float, str)
    finished = Signal(object)
    failed = Signal(object)


class LongTask(QRunnable):
    """One piece of work for the thread pool (see ``start_task``)."""

    def __init__(self, fn: Callable[[Callable[[float, str], None], Callable[[], bool]], object]):
        super().__init__()
        self.setAutoDelete(False)  # the UI side keeps it until it has read the result
        self.fn = fn
        self.signals = _Signals()
        self._cancel = False
        self.done = False

    def cancel(self) -> None:
        self._cancel = True

    def cancelled(self) -> bool:
        return self._cancel

    def _report(self, frac: float, label: str = "") -> None:
        self.signals.progressed.emit(float(frac), str(label))

    def run(self) -> None:
        # While a worker computes, the UI thread's paint code crosses into Qt and back hundreds of times per
        # frame, each time waiting for the GIL; a short switch interval keeps those waits short (a frame of
        # the replay charts took ~120 ms with the default 5 ms, and ~15 ms with this).
        old = sys.getswitchinterval()
        sys.setswitchinterval(WORKER_SWITCH_INTERVAL_S)
        try:
            result = self.fn(self._report, self.cancelled)
        except BaseException as e:  # handed to the UI thread, which tells the user
            self.done = True
            self.signals.failed.emit(e)
            return
        finally:
            sys.setswitchinterval(old)
        self.done = True
        self.signals.finished.emit(result)


_running: set[LongTask] = set()  # alive until their result reached the UI thread
_finishing: set[LongTask] = set()  # and a little longer (see finish())


def start_task(fn, parent: QWidget | None, title: str, label: str, on_done: Callable[[object], None],
               on_failed: Callable[[BaseException], None] | None = None, show_after_ms: int = 200,
               cancellable: bool = True) -> LongTask:
    """Run ``fn(report, cancelled)`` on the thread pool with a progress dialog (shown only if it takes more
    than ``show_after_ms``). ``on_done(result)`` / ``on_failed(exception)`` run on the UI thread.
    ``cancellable=False``: work that must run to its end (a restore) shows no Cancel button."""
    task = LongTask(fn)
    dlg = QProgressDialog(label, "Cancel", 0, 1000, parent)
    dlg.setObjectName("longTaskProgressDialog")
    dlg.setWindowTitle(title)
    # not modal: a modal dialog's setValue runs a nested event loop, which could deliver the result (and
    # delete the dialog) in the middle of a progress update; the caller holds what must not be touched
    dlg.setWindowModality(Qt.WindowModality.NonModal)
    dlg.setMinimumDuration(show_after_ms)
    dlg.setAutoClose(False)
    dlg.setAutoReset(False)
    dlg.setValue(0)
    if cancellable:
        dlg.canceled.connect(task.cancel)
    else:
        dlg.setCancelButton(None)
    task.dialog = dlg

    def progressed(frac: float, text: str) -> None:
        if task not in _running:
            return  # a late update after the result
        if text:
            dlg.setLabelText(f"{label} {text}")
        dlg.setValue(int(min(1.0, max(0.0, frac)) * 1000))

    def finish() -> None:
        _running.discard(task)
        # The pool's thread may still be returning from run() when this result arrives: keep the runnable
        # alive a while longer, so it is never freed under the thread that ran it.
        _finishing.add(task)
        QTimer.singleShot(2000, lambda: _finishing.discard(task))
        dlg.close()
        dlg.deleteLater()

    def finished(result) -> None:
        finish()
        on_done(result)

    def failed(e) -> None:
        finish()
        if on_failed is not None:
            on_failed(e)
        else:
            raise e

    task.signals.progressed.connect(progressed)
    task.signals.finished.connect(finished)
    task.signals.failed.connect(failed)
    _running.add(task)
    QThreadPool.globalInstance().start(task)
    return task


def freeze_startup_heap() -> None:
    """Once, at start-up, after the imports and before the first run: collect, then move everything alive
    (modules, classes, functions, the loaded facility: all of it lives as long as the process) out of the
    garbage collector's sight. Otherwise the first full collection of the process scans those ~90,000 objects
    (~60 ms, holding the interpreter); it came due while a worker was opening a replay and froze the window.
    Later full collections scan only what was made since (runs, sessions), which are freed as before."""
    import gc
    gc.collect()
    gc.freeze()


def wait_for(task: LongTask, timeout_ms: int = 60_000) -> None:
    """Tests and the bench: process events until ``task`` has delivered its result."""
    import time

    from PySide6.QtWidgets import QApplication
    t0 = time.monotonic()
    while task in _running and (time.monotonic() - t0) * 1000 < timeout_ms:
        QApplication.processEvents()
        time.sleep(0.002)
    if task in _running:
        raise TimeoutError("the task did not finish in time")


__all__ = ["LongTask", "freeze_startup_heap", "start_task", "wait_for"]
