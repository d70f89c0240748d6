"""Every text colour reads in both themes: WCAG AA (4.5:1) against the background it is drawn on."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui import colors
from colossus_gui.ui.app import apply_theme, make_palette
from colossus_gui.ui.panels.alarm_panel import AlarmPanelWidget
from colossus_gui.ui.panels.charts import _COLORS
from colossus_gui.ui.views.site_view import SiteView

AA = 4.5
R = QPalette.ColorRole


def _rgb(c) -> tuple[int, int, int]:
    return c.red(), c.green(), c.blue()


def _hex(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@pytest.fixture
def restore_theme():
    yield
    apply_theme(QApplication.instance(), True)


@pytest.mark.parametrize("dark", [True, False])
def test_palette_text_roles_pass_aa(dark):
    pal = make_palette(dark)
    pairs = [(R.Text, R.Base), (R.Text, R.AlternateBase), (R.WindowText, R.Window), (R.ButtonText, R.Button),
             (R.ToolTipText, R.ToolTipBase), (R.HighlightedText, R.Highlight), (R.PlaceholderText, R.Base),
             (R.PlaceholderText, R.Window)]
    for fg, bg in pairs:
        ratio = colors.contrast_ratio(_rgb(pal.color(fg)), _rgb(pal.color(bg)))
        assert ratio >= AA, f"{'dark' if dark else 'light'}: {fg.name} on {bg.name} is {ratio:.2f}:1"


@pytest.mark.parametrize("dark", [True, False])
def test_status_text_colours_pass_aa_on_every_background(dark):
    pal = make_palette(dark)
    for key, value in colors.TEXT_COLORS["dark" if dark else "light"].items():
        for bg in (R.Base, R.Window, R.AlternateBase):
            ratio = colors.contrast_ratio(_hex(value), _rgb(pal.color(bg)))
            assert ratio >= AA, f"{key} {value} on {bg.name}: {ratio:.2f}:1"


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_chart_legend_colours_pass_aa_on_the_chart_background(theme):
    c = _COLORS[theme]
    for key, value in c.items():
        if key in ("bg", "grid_lines"):
            continue
        ratio = colors.contrast_ratio(_hex(value), _hex(c["bg"]))
        assert ratio >= AA, f"{theme} chart {key} {value}: {ratio:.2f}:1"


def test_light_theme_site_view_and_alarm_list_text_is_readable(qtbot, restore_theme):
    apply_theme(QApplication.instance(), False)
    eng = Engine(small_facility(), seed=3)
    eng.facility.failures.auto_repair = False
    eng.run(20)
    eng.inject("grid_outage", "GRID", duration=120)  # the Megapacks discharge
    eng.inject("pump_failure", "H1-R002-CDU-P1")
    eng.inject("pump_failure", "H1-R002-CDU-P2")
    ops = OpsManager(eng)
    for _ in range(40):
        eng.step(1.0)
        ops.step(1.0)
    site = SiteView()
    qtbot.addWidget(site)
    site.resize(1200, 700)
    site.set_engine(eng)
    site.show()
    qtbot.waitExposed(site)
    site.refresh()
    site.grab()
    box_bg = _rgb(site.palette().color(R.AlternateBase))
    coloured = {t: c for t, c in site.text_pens.items() if t.startswith(("discharging", "charging", "throttled"))}
    assert any(t.startswith("discharging") for t in coloured), list(site.text_pens)
    for text, pen in coloured.items():
        ratio = colors.contrast_ratio(_rgb(pen), box_bg)
        assert ratio >= AA, f"{text!r} {pen.name()} on the light panel: {ratio:.2f}:1"
    panel = AlarmPanelWidget(ops, eng)
    qtbot.addWidget(panel)
    panel.refresh(force=True)
    base = _rgb(QApplication.palette().color(R.Base))
    assert panel.model.rowCount() >= 1
    for r in range(panel.model.rowCount()):
        fg = panel.model.index(r, 0).data(0x0009)  # ForegroundRole
        assert colors.contrast_ratio(_rgb(fg), base) >= AA, panel.model.index(r, 0).data()
