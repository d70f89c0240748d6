"""PNG copies of the debrief's SVG charts (Qt's SVG renderer; offscreen when there is no display)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from .render import ensure_app, save_png


def svg_to_png(svg: str, path: str | Path, scale: float = 1.0) -> Path:
    """Render SVG text to a PNG file (atomic). Raises ValueError for SVG Qt cannot read."""
    ensure_app(dark=False)
    r = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not r.isValid():
        raise ValueError(f"{path}: the chart's SVG could not be read")
    size = r.defaultSize()
    img = QImage(int(size.width() * scale), int(size.height() * scale), QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.white)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    r.render(p)
    p.end()
    return save_png(img, path)
