"""Navigation: where the window is (its location), what it inspects (its selection), how it got there (back
and forward), the breadcrumb bar and the go-to-address box with its completions.

:class:`Navigation` parses an address against the current engine, asks the :class:`ViewStack` to show it
and records it in a :class:`History`. It tells the window what happened by signals (location, selection,
history, a message for the status bar); the window decides what else follows (inspector, charts, redraw).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from ..model.addresses import Address, AddressError
from .panels.inspector import SITE
from .view_stack import SITE_KINDS, ViewStack


class History:
    """Back/forward over visited addresses, as a browser keeps it: visiting after going back drops the
    forward part; visiting the current address again adds nothing."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.pos = -1

    def clear(self) -> None:
        self.items.clear()
        self.pos = -1

    def record(self, text: str) -> None:
        del self.items[self.pos + 1:]
        if not self.items or self.items[-1] != text:
            self.items.append(text)
        self.pos = len(self.items) - 1

    @property
    def can_back(self) -> bool:
        return self.pos > 0

    @property
    def can_forward(self) -> bool:
        return self.pos < len(self.items) - 1

    def back(self) -> str | None:
        if not self.can_back:
            return None
        self.pos -= 1
        return self.items[self.pos]

    def forward(self) -> str | None:
        if not self.can_forward:
            return None
        self.pos += 1
        return self.items[self.pos]


def breadcrumb_chain(addr: Address) -> list[tuple[str, str]]:
    """[(label, address)] from the site down to ``addr``."""
    chain = [("Site", "SITE")]
    text = addr.text
    if addr.kind in ("site",):
        return chain
    if addr.kind in SITE_KINDS:
        return chain + [(text, text)]
    parts = text.split("-")
    chain.append((parts[0], parts[0]))
    if len(parts) >= 2:
        chain.append((parts[1], "-".join(parts[:2])))
    for i in range(2, len(parts)):
        chain.append((parts[i], "-".join(parts[:i + 1])))
    return chain


class BreadcrumbBar(QWidget):
    """Site › H1 › R003 › T2: each crumb goes there."""

    address_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("breadcrumbBar")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(6, 2, 6, 2)
        self._layout.setSpacing(2)
        self._crumbs: list[QToolButton] = []

    def set_address(self, addr: Address) -> None:
        lay = self._layout
        while lay.count():
            w = lay.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        self._crumbs = []
        chain = breadcrumb_chain(addr)
        for i, (label, target) in enumerate(chain):
            if i:
                sep = QLabel("›")
                sep.setObjectName(f"crumbSep{i}")
                lay.addWidget(sep)
            b = QToolButton()
            b.setObjectName(f"crumb{i}")
            b.setText(label)
            b.setAutoRaise(True)
            b.setToolTip(f"Go to {target}")
            if i == len(chain) - 1:
                f = b.font()
                f.setBold(True)
                b.setFont(f)
            b.clicked.connect(lambda _c=False, t=target: self.address_activated.emit(t))
            lay.addWidget(b)
            self._crumbs.append(b)
        lay.addStretch(1)

    def texts(self) -> list[str]:
        return [b.text() for b in self._crumbs]


class AddressBox(QLineEdit):
    """The go-to-address box: completes the site's parts and racks, and a rack's parts once one is typed
    (a full list of 100k+ GPU addresses would cost launch time)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("addressSearch")
        self.setPlaceholderText("Go to address (Ctrl+L): H1-R003, H1-R003-T2-G5, CH1 …")
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(300)
        self.topo = None
        self._prefix: str | None = None
        self._base: list[str] = []
        self.model = QStringListModel(self)
        self.address_completer = QCompleter(self.model, self)
        self.address_completer.setObjectName("addressCompleter")
        self.address_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.address_completer.setMaxVisibleItems(16)
        self.setCompleter(self.address_completer)
        self.textEdited.connect(self._on_text_edited)

    def set_topology(self, topo) -> None:
        self.topo = topo
        self._prefix = None
        base = ["SITE", "GRID", *topo.hall_names, *(topo.chiller_address(i) for i in range(topo.n_chillers)),
                *(topo.turbine_address(i) for i in range(topo.n_turbines)), "MP001"]
        net = topo.net  # fabric switches and storage nodes too
        self._base = base + [topo.rack_address(r) for r in range(topo.n_racks)] + [
            net.switch_address(s) for s in range(net.n_switches)] + [
            net.node_address(n) for n in range(net.n_storage_nodes)] + [
            net.fe_leaf_address(i) for i in range(net.n_fe_leaves)]
        self.model.setStringList(self._base)

    def _on_text_edited(self, text: str) -> None:
        t = text.strip().upper()
        parts = t.split("-")
        prefix = "-".join(parts[:2]) if len(parts) >= 3 else None
        if prefix == self._prefix:
            return
        self._prefix = prefix
        if prefix is None:
            self.model.setStringList(self._base)
            return
        topo = self.topo
        try:
            a = topo.parse(prefix)
        except AddressError:
            return
        if a.kind != "rack":
            return
        r = a.index
        items = [f"{prefix}-CDU", *(topo.pump_address(r, p) for p in range(topo.pumps_per_cdu)), f"{prefix}-RDHX",
                 *(topo.fan_address(r, f) for f in range(topo.fans_per_door))]
        for t_i in range(topo.trays_per_rack):
            ta = f"{prefix}-T{t_i + 1}"
            items.append(ta)
            items += [f"{ta}-G{g + 1}" for g in range(topo.gpus_per_tray)]
            items += [f"{ta}-C{c + 1}" for c in range(topo.cpus_per_tray)]
            items += [f"{ta}-PSU{p + 1}" for p in range(topo.psus_per_tray)]
            items += [f"{ta}-N{n + 1}" for n in range(topo.nics_per_tray)] + [f"{ta}-FE"]
        self.model.setStringList(items)


class Navigation(QObject):
    """Go to an address, inspect one, go back and forward. ``topo()`` gives the current engine's topology."""

    location_changed = Signal(str)  # an address now shown (after the view, crumbs and box follow it)
    selection_changed = Signal(object)  # the Address now inspected
    history_changed = Signal(bool, bool)  # can go back, can go forward
    message = Signal(str, int)  # for the status bar: text, milliseconds

    def __init__(self, stack: ViewStack, topo: Callable[[], object], parent: QObject | None = None):
        super().__init__(parent)
        self.stack = stack
        self._topo = topo
        self.history = History()
        self._selection: Address = SITE
        self.breadcrumb_bar = BreadcrumbBar()
        self.breadcrumb_bar.address_activated.connect(self.navigate)
        self.search_edit = AddressBox()
        self.completer = self.search_edit.address_completer
        self.completer.activated.connect(self.navigate)
        self.search_edit.returnPressed.connect(self._on_search_return_pressed)

    @property
    def location(self) -> Address:
        return self.stack.location

    @property
    def selection(self) -> Address:
        return self._selection

    def reset(self) -> None:
        """A new run: no history; the address box completes the new facility's addresses."""
        self.history.clear()
        self.search_edit.set_topology(self._topo())

    def parse(self, text: str) -> Address:
        t = text.strip().upper()
        if t in ("", "SITE"):
            return SITE
        return self._topo().parse(t)

    def navigate(self, text: str, record: bool = True) -> bool:
        """Go to an address: open the view that shows it and inspect it. Invalid -> a message, False."""
        try:
            addr = self.parse(text)
        except AddressError as e:
            self.message.emit(f"Cannot go there: {e}", 10000)
            return False
        self._show(addr)
        if record:
            self.history.record(addr.text)
        self.history_changed.emit(self.history.can_back, self.history.can_forward)
        return True

    def _show(self, addr: Address) -> None:
        self.stack.show(addr)
        self.set_selection(addr)
        self.breadcrumb_bar.set_address(addr)
        box = self.search_edit
        if box.text().strip().upper() != addr.text and not box.hasFocus():
            box.setText("" if addr.kind == "site" else addr.text)
        self.location_changed.emit(addr.text)

    def select(self, text: str) -> bool:
        """Inspect an address without changing the view."""
        try:
            addr = self.parse(text)
        except AddressError as e:
            self.message.emit(f"Cannot select: {e}", 10000)
            return False
        self.set_selection(addr)
        return True

    def set_selection(self, addr: Address) -> None:
        self._selection = addr
        self.selection_changed.emit(addr)

    def go_back(self) -> None:
        text = self.history.back()
        if text is not None:
            self.navigate(text, record=False)

    def go_forward(self) -> None:
        text = self.history.forward()
        if text is not None:
            self.navigate(text, record=False)

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def _on_search_return_pressed(self) -> None:
        box = self.search_edit
        if self.navigate(box.text()):
            box.clearFocus()
            loc = self.location
            box.setText(loc.text if loc.kind != "site" else "")
        else:
            box.selectAll()

    def breadcrumbs(self) -> list[str]:
        return self.breadcrumb_bar.texts()


__all__ = ["AddressBox", "BreadcrumbBar", "History", "Navigation", "breadcrumb_chain"]
