"""The theme: Fusion with explicit dark and light palettes (the platform's colours never leak in) and one
style sheet (``resources/style/theme.qss``) keyed on dynamic properties, as PyDM does for alarm severity:
a widget says what it shows (``set_severity(label, 2)``) and the style sheet says how that looks.

Kept apart from ``app`` (the entry point) so that views, renderers and the main window can use the theme
without importing the application module (which imports them: a cycle).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from ..resources import resource
from .colors import severity_fill, severity_hex

SEVERITY_PROPERTY = "alarmSeverity"


def make_palette(dark: bool) -> QPalette:
    """An explicit palette (Fusion): the platform's colours never leak in."""
    R = QPalette.ColorRole
    if dark:
        c = {R.Window: "#1f2328", R.WindowText: "#d8dbe0", R.Base: "#16191d", R.AlternateBase: "#23272e",
             R.ToolTipBase: "#2b3038", R.ToolTipText: "#e6e8eb", R.PlaceholderText: "#8a919b", R.Text: "#d8dbe0",
             R.Button: "#2a2f36", R.ButtonText: "#d8dbe0", R.BrightText: "#ff6b6b", R.Light: "#3a4048",
             R.Midlight: "#31363e", R.Mid: "#262a31", R.Dark: "#121418", R.Shadow: "#000000",
             R.Highlight: "#2a70b9", R.HighlightedText: "#ffffff", R.Link: "#6cb2ff", R.LinkVisited: "#b18cff"}
        disabled = "#6a707a"
    else:
        c = {R.Window: "#eff1f4", R.WindowText: "#1d2125", R.Base: "#ffffff", R.AlternateBase: "#f4f6f8",
             R.ToolTipBase: "#ffffe8", R.ToolTipText: "#1d2125", R.PlaceholderText: "#60666e", R.Text: "#1d2125",
             R.Button: "#e4e7eb", R.ButtonText: "#1d2125", R.BrightText: "#c62828", R.Light: "#ffffff",
             R.Midlight: "#e9ecef", R.Mid: "#b8bec6", R.Dark: "#8d949c", R.Shadow: "#5f656c",
             R.Highlight: "#1f6fc5", R.HighlightedText: "#ffffff", R.Link: "#1f5fbf", R.LinkVisited: "#6a1b9a"}
        disabled = "#9aa0a8"
    pal = QPalette()
    for role, col in c.items():
        pal.setColor(role, QColor(col))
    for role in (R.WindowText, R.Text, R.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return pal


@cache
def style_sheet(dark: bool) -> str:
    """The style sheet's rules for one theme (the file's @DARK or @LIGHT block)."""
    text = resource("style", "theme.qss").read_text(encoding="utf-8")
    dark_part, _, light_part = text.partition("/* @LIGHT */")
    part = dark_part.split("/* @DARK */", 1)[-1] if dark else light_part
    return part.replace("@WARNING@", severity_hex(1, dark)).replace("@CRITICAL@", severity_hex(2, dark))


def apply_theme(app: QApplication, dark: bool) -> None:
    app.setStyle("Fusion")
    app.setPalette(make_palette(dark))
    app.setStyleSheet(style_sheet(dark))
    app.setProperty("colossus_dark", bool(dark))


def set_severity(widget: QWidget, severity: int) -> None:
    """Show ``widget`` at an alarm severity (0 normal, 1 warning, 2 critical): the style sheet colours it."""
    value = str(int(severity))
    if widget.property(SEVERITY_PROPERTY) == value:
        return
    widget.setProperty(SEVERITY_PROPERTY, value)
    st = widget.style()
    st.unpolish(widget)  # a dynamic property changed: re-apply the style sheet's rules
    st.polish(widget)


def severity_color(severity: int, dark: bool) -> QColor:
    """A severity as text (or a thin line) where a style sheet cannot reach: painted views, table models,
    rich text. The same colour the style sheet gives a widget with ``set_severity``; 0 is the 'ok' green."""
    return QColor(severity_hex(severity, dark))


def severity_frame_color(severity: int) -> QColor:
    """A severity as an area or a frame (alarm frames round racks, tiles)."""
    return QColor(*severity_fill(severity))


def is_dark(widget: QWidget) -> bool:
    """Whether ``widget`` is shown in the dark theme (its palette's base is dark)."""
    return widget.palette().color(QPalette.ColorRole.Base).value() < 128


__all__ = ["SEVERITY_PROPERTY", "apply_theme", "is_dark", "make_palette", "set_severity", "severity_color",
           "severity_frame_color", "style_sheet"]
