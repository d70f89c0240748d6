"""What the hall view and the row-section view do alike with the mouse: the tooltip of what is under it,
a click that selects a rack, a double-click that opens it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF
from PySide6.QtWidgets import QToolTip


class RackPointerMixin:
    """Put before the Qt widget class in the bases. The view gives ``tooltip_at(pos)`` (HTML, "" for none),
    ``rack_at(pos)`` (global rack index, -1 for none), ``selected`` and the ``rack_selected``/``rack_activated``
    signals."""

    def tooltip_at(self, pos: QPointF) -> str:
        raise NotImplementedError

    def event(self, ev) -> bool:  # noqa: D401
        if ev.type() == QEvent.Type.ToolTip:
            html = self.tooltip_at(QPointF(ev.pos()))
            if html:
                QToolTip.showText(ev.globalPos(), html, self)
            else:
                QToolTip.hideText()
                ev.ignore()
            return True
        return super().event(ev)

    def _pick_rack(self, rack: int, signal) -> None:
        """Outline ``rack`` and tell the window (``rack_selected`` on a click, ``rack_activated`` to open it)."""
        self.selected = rack
        self.update()
        signal.emit(rack)

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802
        r = self.rack_at(ev.position())
        if r >= 0:
            self._pick_rack(r, self.rack_activated)
