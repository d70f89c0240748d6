"""Nothing clipped at 1280×720 and 1920×1080 on both built-in facilities: every label's text fits its
rectangle, every button shows its whole text, the painted views keep their text inside their boxes and the
chart titles inside the charts."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetricsF, QTextDocument
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from colossus_gui.io.loader import load_facility
from colossus_gui.ui.main_window import MainWindow


def _label_problem(lab: QLabel) -> str | None:
    text = lab.text()
    if not text or lab.wordWrap() or not lab.isVisible() or lab.pixmap() is not None and not lab.pixmap().isNull():
        return None
    avail = lab.contentsRect().width() - 2 * lab.margin() - lab.indent() if lab.indent() > 0 else \
        lab.contentsRect().width() - 2 * lab.margin()
    if lab.textFormat() == lab.textFormat().RichText or ("<" in text and ">" in text):
        doc = QTextDocument()
        doc.setDefaultFont(lab.font())
        doc.setHtml(text)
        need = doc.idealWidth() - 2 * doc.documentMargin()
    else:
        need = max(QFontMetricsF(lab.font()).horizontalAdvance(line) for line in text.split("\n"))
    if need > avail + 1.5:
        return f"label {lab.objectName() or type(lab.parent()).__name__}: {text[:60]!r} needs {need:.0f} px, has {avail}"
    return None


def _button_problem(b: QAbstractButton) -> str | None:
    if not b.isVisible() or not b.text():
        return None
    fm = QFontMetricsF(b.font())
    need = fm.horizontalAdvance(b.text().replace("&", ""))
    if need > b.width() - 4:
        return f"button {b.objectName()}: {b.text()!r} needs {need:.0f} px, has {b.width()}"
    return None


def _painted_problems(view) -> list[str]:
    out = []
    for rect, text, box in view.drawn_text():
        if not box.adjusted(-1.5, -1.5, 1.5, 1.5).contains(rect):
            out.append(f"{view.objectName()}: {text!r} runs out of its box")
        if not view.rect().adjusted(-1, -1, 1, 1).contains(rect.toAlignedRect()):
            out.append(f"{view.objectName()}: {text!r} is cut by the view's edge")
        if text.endswith("…") and len(text) < 4:
            out.append(f"{view.objectName()}: {text!r} elided to nothing")
    return out


def _problems(win: MainWindow) -> list[str]:
    out = []
    for w in win.findChildren(QWidget):
        if not w.isVisible() or w.window() is not win:
            continue
        if isinstance(w, QLabel):
            p = _label_problem(w)
        elif isinstance(w, QAbstractButton):
            p = _button_problem(w)
        else:
            p = None
        if p:
            out.append(p)
    view = win.tabs.currentWidget()
    if hasattr(type(view), "drawn_text"):
        out += _painted_problems(view)
    if win.charts is not None and win.charts_dock.isVisible():
        bad = [name for name, ok in win.charts.title_fits().items() if not ok]
        if bad:
            out.append(f"chart titles cut: {bad}")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("facility", ["colossus", "colossus-200k"])
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_nothing_is_clipped(qtbot, facility, size):
    win = MainWindow(load_facility(facility), seed=1, paused=True)
    win.driver.set_timer_enabled(False)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    win.finish_startup()
    try:
        assert (win.width(), win.height()) == size, "the window fits the screen (no minimum size beyond it)"
        win.driver.set_running(True)
        for _ in range(12):
            win.driver.tick_once(1.0)
        win.driver.set_running(False)
        win.engine.inject("pump_failure", "H2-R014-CDU-P1")
        win.engine.inject("pump_failure", "H2-R014-CDU-P2")
        for _ in range(40):
            win.engine.step(1.0)
            win.ops.step(1.0)
        problems = []
        for where in ("SITE", "H2", "H2-R014", "H2-R014-T3", "gpus", "row"):
            if where == "gpus":
                win.tabs.setCurrentWidget(win.gpu_view)
            elif where == "row":
                win.show_row(1, 0)
            else:
                win.navigate(where)
            win.refresh_text()
            win.refresh_views(force=True)
            QApplication.processEvents()
            win.refresh_text()  # wrapped chart titles settle once the layout has its width
            QApplication.processEvents()
            win.grab()
            problems += [f"[{where}] {p}" for p in _problems(win)]
        assert not problems, "\n".join(problems)
    finally:
        win.shutdown()
