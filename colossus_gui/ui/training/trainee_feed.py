"""The instructor's live feed of what the trainee does: every action with its simulated time, result and
whether the scoring counts it as unnecessary, newest at the bottom; faults as they fire, for context.

It reads the session's own records (``session.records``, the same list the log and the debrief are made of),
so the instructor sees exactly what will be scored. ``refresh()`` at 1 Hz appends only what is new.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..colors import text_color
from ..sim_driver import format_clock


def action_text(rec) -> str:
    """'0d 00:02:10  trainee  assign H2-R014-CDU-P1 → Finley' (plus ✕ and the error when it failed)."""
    args = dict(rec.args or {})
    target = args.pop("target", None) or args.pop("address", None) or args.pop("alarm_id", None) or ""
    rest = ", ".join(f"{k} {v}" for k, v in args.items() if v not in (None, ""))
    text = f"{format_clock(rec.t_s)}  {rec.who}  {rec.action.replace('_', ' ')} {target}".rstrip()
    if rest:
        text += f" ({rest})"
    if not rec.ok:
        text += f"  ✕ {rec.error or 'refused'}"
    elif rec.unnecessary:
        text += f"  — unnecessary: {rec.unnecessary}"
    return text


class TraineeFeedWidget(QWidget):
    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("traineeFeed")
        self.session = session
        self._seen = 0
        self.list = QListWidget(objectName="traineeFeedList")
        self.list.setUniformItemSizes(True)
        head = QLabel("<b>Trainee's actions</b> (live; what the scoring sees)")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(head)
        lay.addWidget(self.list, 1)
        self.refresh()

    def refresh(self) -> int:
        """Append records added since the last call. Returns how many were added."""
        recs = self.session.records
        if len(recs) < self._seen:  # restored to an earlier point: the records list was rebuilt
            self.list.clear()
            self._seen = 0
        new = recs[self._seen:]
        for rec in new:
            item = QListWidgetItem(action_text(rec))
            dark = self.palette().color(self.palette().ColorRole.Base).value() < 128
            if not rec.ok:
                item.setForeground(QColor(*text_color("critical", dark)))
            elif rec.unnecessary:
                item.setForeground(QColor(*text_color("warning", dark)))
            self.list.addItem(item)
        self._seen = len(recs)
        if new:
            self.list.scrollToBottom()
        return len(new)

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]
