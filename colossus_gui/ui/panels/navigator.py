"""Navigator: site -> halls -> rows -> racks -> trays and parts, filled lazily as branches open.

A 200k-GPU facility has ~3,000 racks and ~200,000 parts below them; only the branches a user opens are built.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

ADDR_ROLE = Qt.ItemDataRole.UserRole
_PLACEHOLDER = "…"


class NavigatorWidget(QTreeWidget):
    """Signals: ``address_selected(str)`` on click, ``address_activated(str)`` on double-click/Enter,
    ``context_menu_requested(str, QPoint)`` on right-click."""

    address_selected = Signal(str)
    address_activated = Signal(str)
    row_activated = Signal(int, int)  # (hall, row): a row item opens the row section
    context_menu_requested = Signal(str, QPoint)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("navigatorTree")
        self.setHeaderHidden(True)
        self.setUniformRowHeights(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.engine = None
        self._hall_items: list[QTreeWidgetItem] = []
        self.itemExpanded.connect(self._on_item_expanded)
        self.itemClicked.connect(self._on_item_clicked)
        self.itemActivated.connect(self._on_item_activated)
        self.customContextMenuRequested.connect(self._on_context_menu)

    # ------------------------------------------------------------------ building
    def set_engine(self, engine) -> None:
        self.engine = engine
        self.clear()
        self._hall_items = []
        topo = engine.topo
        site = self._item(None, f"Site: {engine.facility.name}", "SITE")
        self._item(site, "Grid & substation", "GRID")
        self._item(site, f"Megapack yard ({topo.n_megapacks} units)", "MP001")
        if topo.n_turbines:
            gts = self._item(site, f"Gas turbines ({topo.n_turbines})", "GT1")
            for i in range(topo.n_turbines):
                self._item(gts, topo.turbine_address(i), topo.turbine_address(i))
        chs = self._item(site, f"Chillers ({topo.n_chillers})", "CH1")
        for i in range(topo.n_chillers):
            self._item(chs, topo.chiller_address(i), topo.chiller_address(i))
        for h, name in enumerate(topo.hall_names):
            spec = engine.facility.halls[h]
            it = self._item(site, f"Hall {name} ({spec.rows} rows × {spec.racks_per_row} racks)", name)
            it.setData(0, ADDR_ROLE + 1, ("hall", h))
            self._lazy(it)
            self._hall_items.append(it)
        # network fabric and storage (branches filled when opened)
        net = topo.net
        fab = self._item(site, f"Network fabric ({net.n_switches:,} switches, {net.n_links:,} links)", "")
        for h, name in enumerate(topo.hall_names):
            for tier, n in (("leaves", net.hall_leaves[h]), ("spines", net.hall_spines[h])):
                it = self._item(fab, f"{name} {tier} ({int(n)})", "")
                it.setData(0, ADDR_ROLE + 1, ("net", (tier, h)))
                self._lazy(it)
        it = self._item(fab, f"Super-spines ({net.n_superspines})", "")
        it.setData(0, ADDR_ROLE + 1, ("net", ("superspines", -1)))
        self._lazy(it)
        sto = self._item(site, f"Storage ({net.n_storage_nodes:,} nodes, {net.n_drives:,} drives)", "")
        for p, name in enumerate(net.pool_names):
            it = self._item(sto, f"Pool {name} ({int(net.pool_nodes[p])} nodes)", "")
            it.setData(0, ADDR_ROLE + 1, ("pool", p))
            self._lazy(it)
        site.setExpanded(True)

    def _item(self, parent, text: str, address: str) -> QTreeWidgetItem:
        it = QTreeWidgetItem([text])
        it.setData(0, ADDR_ROLE, address)
        it.setToolTip(0, address)
        if parent is None:
            self.addTopLevelItem(it)
        else:
            parent.addChild(it)
        return it

    @staticmethod
    def _lazy(item: QTreeWidgetItem) -> None:
        item.addChild(QTreeWidgetItem([_PLACEHOLDER]))

    def _on_item_expanded(self, item: QTreeWidgetItem) -> None:
        self._fill(item)

    def _fill(self, item: QTreeWidgetItem) -> None:
        if item.childCount() != 1 or item.child(0).text(0) != _PLACEHOLDER or self.engine is None:
            return
        item.takeChild(0)
        topo = self.engine.topo
        what = item.data(0, ADDR_ROLE + 1)
        if what is None:
            return
        kind, idx = what
        if kind == "hall":
            spec = self.engine.facility.halls[idx]
            for row in range(spec.rows):
                first = row * spec.racks_per_row + 1
                ri = self._item(item, f"Row {row + 1}  (R{first:03d}–R{first + spec.racks_per_row - 1:03d})",
                                f"{topo.hall_names[idx]}-R{first:03d}")
                ri.setToolTip(0, "Double-click: the row section (busway, racks, CDUs, headers)")
                ri.setData(0, ADDR_ROLE + 1, ("row", (idx, row)))
                self._lazy(ri)
        elif kind == "row":
            h, row = idx
            spec = self.engine.facility.halls[h]
            r0 = int(topo.hall_rack_start[h]) + row * spec.racks_per_row
            for r in range(r0, r0 + spec.racks_per_row):
                addr = topo.rack_address(r)
                ri = self._item(item, addr, addr)
                ri.setData(0, ADDR_ROLE + 1, ("rack", r))
                self._lazy(ri)
        elif kind == "rack":
            r = idx
            ra = topo.rack_address(r)
            for t in range(topo.trays_per_rack):
                tray = r * topo.trays_per_rack + t
                ti = self._item(item, f"{ra}-T{t + 1}  tray", f"{ra}-T{t + 1}")
                ti.setData(0, ADDR_ROLE + 1, ("tray", tray))
                self._lazy(ti)
            cdu = self._item(item, f"{ra}-CDU  coolant distribution", f"{ra}-CDU")
            for p in range(topo.pumps_per_cdu):
                self._item(cdu, topo.pump_address(r, p), topo.pump_address(r, p))
            door = self._item(item, f"{ra}-RDHX  rear door", f"{ra}-RDHX")
            for fan in range(topo.fans_per_door):
                self._item(door, topo.fan_address(r, fan), topo.fan_address(r, fan))
        elif kind == "net":
            net = topo.net
            tier, h = idx
            if tier == "leaves":
                ids = range(int(net.hall_leaf_start[h]), int(net.hall_leaf_start[h + 1]))
            elif tier == "spines":
                a = net.spine0 + int(net.hall_spine_start[h])
                ids = range(a, a + int(net.hall_spines[h]))
            else:
                ids = range(net.ss0, net.n_switches)
            for s in ids:
                self._item(item, net.switch_address(s), net.switch_address(s))
        elif kind == "pool":
            net = topo.net
            for n in range(int(net.pool_node_start[idx]), int(net.pool_node_start[idx + 1])):
                self._item(item, net.node_address(n), net.node_address(n))
        elif kind == "tray":
            ta = topo.tray_address(idx)
            for g in range(topo.gpus_per_tray):
                self._item(item, f"{ta}-G{g + 1}", f"{ta}-G{g + 1}")
            for c in range(topo.cpus_per_tray):
                self._item(item, f"{ta}-C{c + 1}", f"{ta}-C{c + 1}")
            for p in range(topo.psus_per_tray):
                self._item(item, f"{ta}-PSU{p + 1}", f"{ta}-PSU{p + 1}")
            for n in range(topo.nics_per_tray):
                self._item(item, f"{ta}-N{n + 1}", f"{ta}-N{n + 1}")

    # ------------------------------------------------------------------ revealing an address
    def reveal(self, address: str) -> bool:
        """Select the item for a hall, rack or tray address (opening the branches above it)."""
        if self.engine is None:
            return False
        topo = self.engine.topo
        try:
            a = topo.parse(address)
        except ValueError:
            return False
        rack = topo.rack_of(a)
        if a.kind == "hall":
            target = self._hall_items[a.index]
        elif rack is not None:
            h = int(topo.rack_hall[rack])
            hall_item = self._hall_items[h]
            self._fill(hall_item)
            row_item = hall_item.child(int(topo.rack_row[rack]))
            self._fill(row_item)
            target = row_item.child(int(topo.rack_pos[rack]))
            if a.kind in ("tray", "gpu", "cpu", "psu", "nic"):
                self._fill(target)
                tray = a.index if a.kind != "gpu" else a.index // topo.gpus_per_tray
                target = target.child(tray % topo.trays_per_rack)
            hall_item.setExpanded(True)
            row_item.setExpanded(True)
        else:
            return False
        self.blockSignals(True)
        try:
            self.setCurrentItem(target)
        finally:
            self.blockSignals(False)
        self.scrollToItem(target)
        return True

    # ------------------------------------------------------------------ interaction
    def _on_item_clicked(self, item: QTreeWidgetItem, _col: int) -> None:
        addr = item.data(0, ADDR_ROLE)
        if addr:
            self.address_selected.emit(addr)

    def _on_item_activated(self, item: QTreeWidgetItem, _col: int) -> None:
        addr = item.data(0, ADDR_ROLE)
        what = item.data(0, ADDR_ROLE + 1)
        if what is not None and what[0] == "row":
            self.row_activated.emit(*what[1])
        elif addr:
            self.address_activated.emit(addr)

    def _on_context_menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is not None and item.data(0, ADDR_ROLE):
            self.context_menu_requested.emit(item.data(0, ADDR_ROLE), self.viewport().mapToGlobal(pos))
