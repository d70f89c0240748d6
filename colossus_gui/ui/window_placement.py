"""Where a second window goes: on another screen when there is one (the instructor's monitor), else beside
the main window if the screen has room, else over the part of the screen the main window leaves free."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget


def console_home(main: QWidget, min_w: int = 560) -> str:
    """Where a second window for ``main`` belongs without taking room from it: 'other screen' when there is
    one, 'beside' when ``main`` leaves ``min_w`` free on its screen, else 'docked' (one screen that the main
    window fills: the second window's content is better a dock of the main window than a window that halves
    the width of everything the trainee watches)."""
    main_screen = main.screen() if main.screen() is not None else QGuiApplication.primaryScreen()
    if any(s is not main_screen for s in QGuiApplication.screens()):
        return "other screen"
    if main_screen is None or not main.isVisible():
        return "docked"
    geo, frame = main_screen.availableGeometry(), main.frameGeometry()
    if geo.right() - frame.right() >= min_w or frame.left() - geo.left() >= min_w:
        return "beside"
    return "docked"


def place_beside(win: QWidget, main: QWidget, min_w: int = 560) -> str:
    """Move and size ``win`` so it does not cover ``main``. Returns how: 'other screen', 'beside', 'shared'."""
    screens = QGuiApplication.screens()
    main_screen = main.screen() if main.screen() is not None else QGuiApplication.primaryScreen()
    others = [s for s in screens if s is not main_screen]
    if others:
        geo = others[0].availableGeometry()
        win.setGeometry(geo.adjusted(40, 40, -40, -40))
        return "other screen"
    geo = main_screen.availableGeometry() if main_screen is not None else QRect(0, 0, 1920, 1080)
    frame = main.frameGeometry()
    right = geo.right() - frame.right()
    left = frame.left() - geo.left()
    h = min(geo.height(), max(frame.height(), 500))
    if right >= min_w:
        win.setGeometry(QRect(frame.right() + 1, frame.top(), right - 1, h))
        return "beside"
    if left >= min_w:
        win.setGeometry(QRect(geo.left(), frame.top(), left - 1, h))
        return "beside"
    # one screen, the main window fills it: the main window gives up its right part to the console
    need = max(min_w, win.minimumSizeHint().width(), geo.width() // 3)
    w = min(need, max(min_w, geo.width() - main.minimumSizeHint().width()))
    if main.isMaximized() or main.isFullScreen():
        main.showNormal()
    main.setGeometry(QRect(geo.left(), geo.top(), geo.width() - w, geo.height()))
    win.setGeometry(QRect(geo.right() - w + 1, geo.top(), w, geo.height()))
    return "shared"


def default_dock_widths(window) -> None:
    """The first-run layout: the navigator and inspector wide enough for their names, the charts a third of
    what is left (a dock size given before the window is shown is ignored by Qt)."""
    w = max(1, window.width())
    window.resizeDocks([window.navigator_dock, window.charts_dock], [max(240, w // 7), max(300, w // 4)],
                       Qt.Orientation.Horizontal)
