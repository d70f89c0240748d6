"""Alarm severity has one set of colours: the theme's. Widgets carry it as a dynamic property the style sheet
colours; painted views, table models and charts ask ``theme.severity_color``. No view defines its own."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QLabel

from colossus_gui.ui import colors
from colossus_gui.ui.theme import apply_theme, set_severity, severity_color, severity_frame_color

UI = Path(colors.__file__).parent
SEVERITY_HEX = {colors.TEXT_COLORS[t][k].lower() for t in ("dark", "light") for k in colors.SEVERITY_KEYS} | {
    "#{:02x}{:02x}{:02x}".format(*colors.severity_fill(s)[:3]) for s in range(3)}
SEVERITY_NAMED = re.compile(
    r"""(\b\w*(WARN|CRIT|SEVER|ALARM)\w*\s*=\s*(QColor\()?["']#[0-9a-f]{6})"""
    r"""|(["'](warn\w*|crit\w*|severity\w*|alarm\w*)["']\s*:\s*["']#[0-9a-f]{6})""", re.IGNORECASE)
# Files of another change in progress (chart series and limit lines); each must still need its exemption.
PENDING = {"panels/charts.py", "views/storage_view.py"}


def _violations(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found = [f"{h} (a severity colour of the theme)" for h in re.findall(r"#[0-9a-fA-F]{6}\b", text)
             if h.lower() in SEVERITY_HEX]
    found += [f"{m.group(0)!r} (a severity colour defined here)" for m in SEVERITY_NAMED.finditer(text)]
    return found


def test_no_view_panel_or_training_widget_defines_its_own_severity_colour():
    files = sorted(p for d in ("views", "panels", "training") for p in (UI / d).glob("*.py"))
    assert len(files) > 20
    bad = {}
    for p in files:
        rel = p.relative_to(UI).as_posix()
        v = _violations(p)
        if rel in PENDING:
            assert v, f"{rel} no longer defines severity colours: drop it from PENDING"
        elif v:
            bad[rel] = v
    assert not bad, f"severity colours belong to ui/colors.py via ui/theme.py, found: {bad}"


def test_the_scan_catches_a_hard_coded_severity_colour(tmp_path):
    p = tmp_path / "view.py"
    crit = colors.severity_hex(2, True)
    p.write_text(f'CRIT_COLOR = QColor("#f04848")\nx = QColor("{crit}")\n')
    assert len(_violations(p)) == 2


def _pixels(label: QLabel) -> np.ndarray:
    img = label.grab().toImage()
    img = img.convertToFormat(img.Format.Format_RGB32)
    ptr = img.constBits()
    a = np.frombuffer(ptr, dtype=np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return a[:, :img.width(), [2, 1, 0]].reshape(-1, 3).astype(int)  # BGRA in memory -> RGB


@pytest.mark.parametrize("dark", [True, False])
def test_a_label_at_severity_critical_renders_in_the_themes_critical_colour(qtbot, dark):
    app = QApplication.instance()
    before_sheet, before_palette, before_style = app.styleSheet(), app.palette(), app.style().name()
    before_dark = app.property("colossus_dark")
    apply_theme(app, dark)
    try:
        lab = QLabel("ALARM CRITICAL ████")
        qtbot.addWidget(lab)
        lab.resize(320, 40)
        crit = severity_color(2, dark)
        want = np.array([crit.red(), crit.green(), crit.blue()])
        set_severity(lab, 0)
        normal = _pixels(lab)
        assert np.abs(normal - want).sum(axis=1).min() > 60, "normal text is not in the critical colour"
        set_severity(lab, 2)
        px = _pixels(lab)
        close = np.abs(px - want).sum(axis=1) <= 12
        assert close.sum() >= 20, f"the label's glyphs are drawn in {crit.name()}"
    finally:
        app.setStyleSheet(before_sheet)
        app.setPalette(before_palette)
        app.setStyle(before_style)
        app.setProperty("colossus_dark", before_dark)  # the theme flag too: later tests read it


def test_painted_frames_and_text_read_the_same_definition():
    for s in (1, 2):
        assert severity_frame_color(s).getRgb()[:3] == colors.severity_fill(s)[:3]
        for dark in (True, False):
            assert severity_color(s, dark).name() == colors.severity_hex(s, dark)
    assert severity_color(2, True) != severity_color(1, True)
