"""The window a first-time user meets: its title, the File menu (built-in facilities, recent files)."""

from __future__ import annotations

import json

import pytest

from colossus_gui.resources import builtin_facilities
from colossus_gui.testing import small_facility
from colossus_gui.ui.main_window import MainWindow


@pytest.fixture
def win(qtbot):
    w = MainWindow(small_facility(), seed=3, paused=True)
    w.driver.set_timer_enabled(False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def test_title_names_the_facility_once_and_the_app_once(win):
    title = win.windowTitle()
    assert title.startswith("small: ") and "GPUs in 2 halls" in title
    assert "Colossus GUI" not in title, "Qt adds the application name itself"


def test_file_menu_offers_the_built_in_facilities_and_recent_files(win, tmp_path, monkeypatch):
    fm = win.file_menus
    texts = [a.text() for a in fm.builtin_menu.actions()]
    assert set(builtin_facilities()) == {a.data() for a in fm.builtin_menu.actions()}
    assert any(t.startswith("colossus-200k — ") and "GPUs" in t for t in texts), texts
    menu_file = win.findChild(type(fm.builtin_menu), "menuFile")
    assert fm.builtin_menu.menuAction() in menu_file.actions() and fm.recent_menu.menuAction() in menu_file.actions()
    # nothing opened yet: the recent list says so
    fm.rebuild_recent()
    assert [a.text() for a in fm.recent_menu.actions()] == ["No recent files"]
    # a built-in opens with one click (stubbed: building the 100k engine is not what this test is about)
    opened = []
    monkeypatch.setattr(win, "open_facility", lambda ref: opened.append(ref) or True)
    next(a for a in fm.builtin_menu.actions() if a.data() == "colossus-200k").trigger()
    assert opened == ["colossus-200k"]
    monkeypatch.undo()
    # a facility file opened by the user appears in Recent files, newest first, and reopens from there
    f1 = tmp_path / "one.json"
    f1.write_text(json.dumps(small_facility(rows=1, name="one").model_dump(mode="json")))
    f2 = tmp_path / "two.json"
    f2.write_text(json.dumps(small_facility(rows=1, name="two").model_dump(mode="json")))
    assert win.open_facility(str(f1)) and win.open_facility(str(f2))
    fm.rebuild_recent()
    recent = [a.data() for a in fm.recent_menu.actions()]
    assert recent == [str(f2), str(f1)]
    next(a for a in fm.recent_menu.actions() if a.data() == str(f1)).trigger()
    assert win.engine.facility.name == "one"
    assert win.windowTitle().startswith("one: ")
    f2.unlink()  # a file that is gone is left out
    fm.rebuild_recent()
    assert [a.data() for a in fm.recent_menu.actions()] == [str(f1)]


def test_first_run_layout_gives_the_docks_room(win, qtbot):
    win.resize(1920, 1080)
    win.finish_startup()
    qtbot.waitUntil(lambda: win.charts is not None)
    from colossus_gui.ui.window_placement import default_dock_widths
    default_dock_widths(win)  # what a first run does once the window has its size
    qtbot.wait(20)
    nav = win.navigator
    item = nav.topLevelItem(0)
    need = nav.fontMetrics().horizontalAdvance(item.text(0)) + 40
    assert win.navigator_dock.width() >= need, "the navigator shows its site name whole"
    assert win.charts_dock.width() >= 300 and win.centralWidget().width() >= 800
