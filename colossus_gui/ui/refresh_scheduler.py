"""When the window redraws: at most 10 Hz for the visible view and the charts, and only when something
changed; 1 Hz for text (status bar, inspector, chart titles); nothing while minimised or while a worker
thread is stepping the run (the views would read a state half-way through a step).

One frame draws everything on screen from the same engine step ("one moment per screen"): the scheduler
calls the window's ``draw_frame(force)`` once per due frame and ``draw_text()`` once per second, and the
window draws every visible part in that one call.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

REDRAW_MS = 100  # views and charts: at most 10 Hz
TEXT_MS = 1000   # status bar, inspector, chart titles: 1 Hz


class RefreshScheduler(QObject):
    """The dirty flag, the busy hold and the two timers of one window."""

    def __init__(self, window: QWidget, draw_frame: Callable[[bool], None], draw_text: Callable[[], None],
                 redraw_ms: int = REDRAW_MS, text_ms: int = TEXT_MS):
        super().__init__(window)
        self.setObjectName("refreshScheduler")
        self._window = window
        self._draw_frame = draw_frame
        self._draw_text = draw_text
        self._dirty = True
        self._busy = False
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setObjectName("redrawTimer")
        self.redraw_timer.setInterval(redraw_ms)
        self.redraw_timer.timeout.connect(self._on_redraw_timer_timeout)
        self.text_timer = QTimer(self)
        self.text_timer.setObjectName("textTimer")
        self.text_timer.setInterval(text_ms)
        self.text_timer.timeout.connect(self._on_text_timer_timeout)

    # ---- state
    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_dirty(self, *_args) -> None:
        """Something on screen changed (a step, a navigation, a dock shown): the next frame redraws."""
        self._dirty = True

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """Hold the redraws while a worker thread steps the run; on release the next frame redraws."""
        self._busy = bool(busy)
        if not busy:
            self._dirty = True

    # ---- timers
    def start(self) -> None:
        self.redraw_timer.start()
        self.text_timer.start()

    def stop(self) -> None:
        self.redraw_timer.stop()
        self.text_timer.stop()

    def _on_redraw_timer_timeout(self) -> None:
        if not self._busy:
            self.refresh_views()

    def _on_text_timer_timeout(self) -> None:
        if not self._busy:
            self.refresh_text()

    # ---- frames
    def refresh_views(self, force: bool = False) -> bool:
        """Draw a frame if anything changed (or ``force``) and the window is not minimised; True if drawn."""
        if not (self._dirty or force) or self._window.isMinimized():
            return False
        self._dirty = False
        self._draw_frame(force)
        return True

    def refresh_text(self) -> None:
        self._draw_text()


__all__ = ["REDRAW_MS", "TEXT_MS", "RefreshScheduler"]
