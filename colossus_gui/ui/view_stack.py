"""The view stack: the window's views in their tabs, which one shows a given address, and the heavy views
built only after the first paint.

The views themselves are declared once in ``views/view_factory.py``; this room only holds them, swaps a
deferred tab for its real view and routes an address to the view that shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTabWidget, QWidget

from ..model.addresses import Address
from .panels.inspector import SITE
from .views.view_factory import SPECS

# Views (and the charts) that need pyqtgraph, whose import alone takes ~0.6 s: with ``defer_heavy`` they are
# built right after the window's first paint, so the window shows in well under the 2.5 s launch budget.
DEFERRED_VIEWS = ("gpus", "tray", "fabric", "storage")

SITE_KINDS = ("site", "grid", "chiller", "megapack", "turbine")
NETWORK_KINDS = ("leaf", "spine", "superspine", "port", "storage_node", "drive", "fe_leaf")
RACK_KINDS = ("rack", "cdu", "pump", "rdhx", "fan")


class _Pending(QLabel):
    """Stands in for a view that is built just after the first paint (``defer_heavy``)."""

    def __init__(self, key: str):
        super().__init__("Loading…")
        self.key = key
        self.setObjectName(f"{SPECS[key].object_name}Pending")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)


def call_view(widget: QWidget, method: str, *args):
    """Call ``method`` on a built view; a view still pending (built after the first paint) takes it then."""
    if isinstance(widget, _Pending):
        return None
    return getattr(widget, method)(*args)


def is_built(widget: QWidget | None) -> bool:
    return widget is not None and not isinstance(widget, _Pending)


class ViewStack:
    """The views in one tab widget. ``create(key)`` builds a real view (signals wired by the window);
    the stack remembers the engine and the location it last showed, so a view built late starts there."""

    def __init__(self, create: Callable[[str], QWidget], defer: Iterable[str] = ()):
        self._create = create
        self.engine = None
        self.location: Address = SITE
        self.views: dict[str, QWidget] = {}
        self.tabs = QTabWidget()
        self.tabs.setObjectName("viewTabs")
        self.tabs.setDocumentMode(True)
        deferred = set(defer)
        for key, spec in SPECS.items():
            view = _Pending(key) if key in deferred else create(key)
            self.views[key] = view
            i = self.tabs.addTab(view, spec.tab)
            self.tabs.setTabToolTip(i, spec.tip)

    def __getitem__(self, key: str) -> QWidget:
        return self.views[key]

    def built(self) -> list[tuple[str, QWidget]]:
        """The views that exist (not pending)."""
        return [(k, v) for k, v in self.views.items() if is_built(v)]

    def current(self) -> QWidget:
        return self.tabs.currentWidget()

    def set_engine(self, engine) -> None:
        self.engine = engine
        for v in self.views.values():
            call_view(v, "set_engine", engine)

    def ensure(self, key: str) -> QWidget:
        """The real view for ``key`` (built now if it was deferred), with the current engine."""
        view = self.views[key]
        if not isinstance(view, _Pending):
            return view
        new = self._create(key)
        self.views[key] = new
        if self.engine is not None:
            call_view(new, "set_engine", self.engine)
        tabs = self.tabs
        idx = tabs.indexOf(view)
        current = tabs.currentIndex() == idx
        tabs.blockSignals(True)
        try:
            tabs.removeTab(idx)
            tabs.insertTab(idx, new, SPECS[key].tab)
            tabs.setTabToolTip(idx, SPECS[key].tip)
            if current:
                tabs.setCurrentIndex(idx)
        finally:
            tabs.blockSignals(False)
        view.deleteLater()
        loc = self.location
        if key == "tray" and loc.kind in ("tray", "gpu", "cpu", "psu", "nic"):
            call_view(new, "set_tray",
                      loc.index if loc.kind != "gpu" else loc.index // self.engine.topo.gpus_per_tray)
        return new

    def ensure_current(self) -> None:
        """The current tab's real view (a pending tab just chosen is built now)."""
        w = self.tabs.currentWidget()
        if isinstance(w, _Pending):
            self.ensure(w.key)

    def show(self, addr: Address) -> None:
        """Bring up the view that shows ``addr`` and point it there (rack, tray, hall, switch …)."""
        topo = self.engine.topo
        self.location = addr
        rack = topo.rack_of(addr) if addr.kind != "site" else None
        views = self.views
        if addr.kind in SITE_KINDS:
            self.tabs.setCurrentWidget(views["site"])
        elif addr.kind in NETWORK_KINDS:
            view = self.ensure("storage" if addr.kind in ("storage_node", "drive") else "fabric")
            call_view(view, "set_selected", addr.text)
            self.tabs.setCurrentWidget(view)
        elif addr.kind == "hall":
            call_view(views["hall"], "set_hall", addr.index)
            self.tabs.setCurrentWidget(views["hall"])
        elif addr.kind in RACK_KINDS:
            call_view(views["rack"], "set_rack", rack)
            call_view(views["hall"], "select", rack)
            self.tabs.setCurrentWidget(views["rack"])
        else:  # tray, gpu, cpu, psu, nic, fe_nic
            tray = addr.index if addr.kind != "gpu" else addr.index // topo.gpus_per_tray
            call_view(views["rack"], "set_rack", rack)
            self.ensure("tray")
            call_view(views["tray"], "set_tray", tray)
            call_view(views["tray"], "highlight", addr.text if addr.kind != "tray" else "")
            call_view(views["hall"], "select", rack)
            self.tabs.setCurrentWidget(views["tray"])


__all__ = ["DEFERRED_VIEWS", "ViewStack", "call_view", "is_built"]
