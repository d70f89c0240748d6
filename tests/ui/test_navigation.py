"""The window's navigation and refresh rooms on their own: browser-like history, and frames drawn only when
something changed, never while minimised or while a worker steps the run."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from colossus_gui.ui.navigation import History
from colossus_gui.ui.refresh_scheduler import RefreshScheduler


def test_history_goes_back_and_forward_and_a_new_visit_drops_the_forward_part():
    h = History()
    for a in ("SITE", "H1", "H1-R003", "H1-R003"):  # the same address twice: one entry
        h.record(a)
    assert h.items == ["SITE", "H1", "H1-R003"] and not h.can_forward
    assert h.back() == "H1" and h.back() == "SITE" and h.back() is None
    assert h.forward() == "H1"
    h.record("CH1")  # visiting after going back: H1-R003 is no longer ahead
    assert h.items == ["SITE", "H1", "CH1"] and not h.can_forward and h.can_back


def test_frames_are_drawn_only_when_dirty_and_the_timers_hold_while_busy(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    frames: list[bool] = []
    texts: list[int] = []
    rs = RefreshScheduler(w, frames.append, lambda: texts.append(1))
    assert rs.refresh_views() and frames == [False]  # dirty at start
    assert not rs.refresh_views(), "nothing changed: no frame"
    assert rs.refresh_views(force=True) and frames == [False, True]
    rs.mark_dirty()
    rs.set_busy(True)
    rs._on_redraw_timer_timeout()
    rs._on_text_timer_timeout()
    assert frames == [False, True] and texts == [], "a worker is stepping the run: nothing drawn"
    rs.set_busy(False)
    rs._on_redraw_timer_timeout()
    rs._on_text_timer_timeout()
    assert len(frames) == 3 and texts == [1]
    w.show()
    qtbot.waitExposed(w)
    w.showMinimized()
    qtbot.waitUntil(w.isMinimized, timeout=15000)
    rs.mark_dirty()
    assert not rs.refresh_views(), "minimised: no frame"
    assert rs.dirty, "the change is drawn once the window shows again"
