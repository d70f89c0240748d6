"""The fabric and storage views share their frame: a click on a storage node selects it or opens its fault
menu, and each view's "Export CSV…" button writes its own time series."""

from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFileDialog

from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.views.fabric_view import FabricView
from colossus_gui.ui.views.storage_view import StorageView


@pytest.fixture
def engine():
    e = Engine(small_facility(), seed=1)
    e.run(5)
    return e


def _shown(qtbot, view, engine):
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_engine(engine)
    return view


def test_storage_node_click_selects_and_right_click_asks_for_its_fault_menu(qtbot, engine):
    view = _shown(qtbot, StorageView(), engine)
    view.canvas.grab()  # lay out the grids
    grid, first, n, cols = view.canvas._grids[0]
    cw, ch = grid.width() / cols, grid.height() / -(-n // cols)
    r, c = divmod(2, cols)
    pos = QPointF(grid.x() + (c + 0.5) * cw, grid.y() + (r + 0.5) * ch).toPoint()
    addr = engine.topo.net.node_address(first + 2)
    with qtbot.waitSignal(view.component_selected) as sig:
        qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=pos)
    assert sig.args == [addr] and view.selected == first + 2
    with qtbot.waitSignal(view.context_menu_requested) as sig:
        qtbot.mouseClick(view.canvas, Qt.MouseButton.RightButton, pos=pos)
    assert sig.args[0] == addr
    assert view.canvas.describe(first + 2).startswith(f"{addr}: in service")


@pytest.mark.parametrize(("cls", "column"), [(FabricView, "throughput_tbps"), (StorageView, "write_bw_gbs")])
def test_csv_button_writes_the_views_time_series(qtbot, monkeypatch, tmp_path, engine, cls, column):
    view = _shown(qtbot, cls(), engine)
    out = tmp_path / "series.csv"
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda parent, title, name, flt: asked.append((title, name)) or (str(out), flt))
    view.csv_button.click()
    assert asked == [(cls.CSV_TITLE, cls.CSV_FILE)]
    rows = [r for r in csv.reader(out.read_text().splitlines()) if r and not r[0].startswith("#")]
    assert any(h.startswith(column) for h in rows[0]) and len(rows) > 1
