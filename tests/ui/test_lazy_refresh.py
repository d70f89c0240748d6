"""Every facility view does no work while hidden, catches up when shown, and skips a refresh when the engine
has not moved: the one lazy-refresh rule they share."""

from __future__ import annotations

import pytest

from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.views.fabric_view import FabricView
from colossus_gui.ui.views.gpu_heatmap_view import GpuHeatmapView
from colossus_gui.ui.views.hall_view import HallView
from colossus_gui.ui.views.rack_view import RackView
from colossus_gui.ui.views.row_section_view import RowSectionView
from colossus_gui.ui.views.tray_view import TrayView


@pytest.fixture
def engine():
    e = Engine(small_facility(), seed=3)
    e.run(30)
    return e


def _open(view, engine):
    view.set_engine(engine)
    if isinstance(view, RackView):
        view.set_rack(0)
    elif isinstance(view, TrayView):
        view.set_tray(0)


# the view and the method that does its recompute (counted to see whether a refresh did any work)
VIEWS = [(HallView, "_recolor"), (RowSectionView, "_compute"), (GpuHeatmapView, "update_image"),
         (RackView, "_layout"), (TrayView, "_update_plot"), (FabricView, "_update_chart")]
# StorageView (same frame and rule as FabricView) is left out: shown here after the views above, with the
# fabric tests in the same session, its MiniChartWidget.paintEvent crashes inside drawPolyline (the same on the
# code before the lazy-refresh mixin); to be looked into on its own.


@pytest.mark.parametrize(("cls", "work"), VIEWS, ids=[c.__name__ for c, _ in VIEWS])
def test_view_recomputes_only_when_shown_and_changed(qtbot, monkeypatch, engine, cls, work):
    view = cls()
    qtbot.addWidget(view)
    _open(view, engine)
    calls = []
    real = getattr(view, work)
    monkeypatch.setattr(view, work, lambda *a, **k: calls.append(1) or real(*a, **k))
    engine.step(1.0)
    view.refresh()
    assert calls == [], "hidden: the step is not recomputed"
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    assert calls, "shown: brought up to date with the step missed while hidden"
    n = len(calls)
    view.refresh()
    assert len(calls) == n, "shown, engine unchanged: nothing recomputed"
    view.refresh(force=True)
    assert len(calls) > n, "forced: recomputed even though the engine has not moved"
    n = len(calls)
    engine.step(1.0)
    view.refresh()
    assert len(calls) > n, "shown, engine moved: recomputed"
