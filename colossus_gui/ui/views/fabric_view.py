"""The network fabric: three tiers of switches (super-spines, spines, leaves) and the GPU links below.

Each tier is one row of cells per hall (super-spines span the site). Thousands of switches fit in a few
hundred pixels, so every pixel column shows the worst switch it covers (a failed switch is never averaged
away): red down, amber with links down or flapping, otherwise the colour of its load (blue idle -> green ->
yellow at full rate). The bands between the tiers are the links of each hall, coloured the same way. The
row under the leaves is the GPU links of each leaf. Under it, the hall's front-end leaves (the hosts' storage
and management network): red down, amber with front-end NICs down, else the load of their uplinks. Select a
GPU, a port or a leaf to see its path up the tiers; selecting a leaf (or a front-end leaf) also highlights
its GPUs in the hall and all-GPU views (``gpus_highlighted``).

One ``paintEvent``; ``refresh()`` computes the per-pixel colours with a few numpy reductions.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from .. import colors
from .mini_chart import MiniChartWidget, ring_tail
from .network_view_base import NetworkPanelView, PickCanvas

DOWN_RGB = colors.CRITICAL[:3]
BAD_RGB = colors.WARNING[:3]
_UTIL_STOPS = [(0.0, (40, 70, 140)), (0.35, (40, 150, 200)), (0.7, (60, 180, 90)), (1.0, (235, 200, 40))]
TIERS = ("superspine", "spine", "leaf", "gpu", "frontend")
TIER_LABELS = {"superspine": "super-spines", "spine": "spines", "leaf": "leaves", "gpu": "GPU links",
               "frontend": "front end"}
CHART_SPAN_S = 900.0


def _util_lut() -> np.ndarray:
    x = np.linspace(0, 1, 256)
    xs = [s[0] for s in _UTIL_STOPS]
    rgb = np.stack([np.interp(x, xs, [s[1][i] for s in _UTIL_STOPS]) for i in range(3)], axis=1)
    return rgb.astype(np.uint32)


_LUT = _util_lut()


def _argb(rgb) -> np.uint32:
    return np.uint32(0xFF000000 | (rgb[0] << 16) | (rgb[1] << 8) | rgb[2])


def fabric_state(engine) -> dict:
    """Per switch: status (0 ok, 1 links down or flapping, 2 down) and load (0-1); per leaf: the status and
    load of its GPU links. Pure numpy (no Qt): what the view draws, and what a test can check."""
    fab, net = engine.fabric, engine.topo.net
    bad_links = ~fab.link_ok | fab.link_flapping
    bad_at = np.bincount(fab.link_switch[bad_links], minlength=net.n_switches)
    # a link is bad at both of its ends
    ls_bad = np.flatnonzero(bad_links[net.ls0:net.sl0])
    sl_bad = np.flatnonzero(bad_links[net.sl0:])
    bad_at += np.bincount(fab.ls_spine[ls_bad], minlength=net.n_switches)
    bad_at += np.bincount(fab.sl_ss[sl_bad], minlength=net.n_switches)
    status = np.where(~fab.switch_ok, 2, np.where(bad_at > 0, 1, 0)).astype(np.int8)
    traffic = fab.job_traffic()
    hall_load = np.zeros(net.n_halls)
    for j, halls in enumerate(fab.job_halls):
        hall_load[halls] = np.maximum(hall_load[halls], traffic[j])
    load = np.empty(net.n_switches)
    load[:net.spine0] = np.repeat(hall_load, net.hall_leaves)
    load[net.spine0:net.ss0] = np.repeat(hall_load, net.hall_spines)
    st = engine.storage
    ss_load = min(1.0, float(st.series("checkpoint_bw_gbs")[-1:].sum()) / max(fab.storage_uplink_gbs, 1.0)) \
        if len(st.ring) else 0.0
    multi = [traffic[j] for j, h in enumerate(fab.job_halls) if len(h) > 1]
    load[net.ss0:] = max([ss_load, *multi])
    gpu_bad = np.bincount(fab.gpu_leaf[bad_links[:net.n_gpus]], minlength=net.n_leaves)
    leaf_status = np.where(~fab.switch_ok[:net.spine0], 2, np.where(gpu_bad > 0, 1, 0)).astype(np.int8)
    hall_ls_bad = np.bincount(fab.ls_hall[ls_bad], minlength=net.n_halls)
    hall_sl_bad = np.bincount(fab.sl_hall[sl_bad], minlength=net.n_halls)
    # the front end: a leaf down (2) or front-end NICs down on it (1); load: its hall's checkpoint traffic
    # over the hall's front-end uplinks
    nic_down = np.bincount(net.tray_fe_leaf, weights=~fab.fe_nic_ok, minlength=net.n_fe_leaves)
    fe_status = np.where(~fab.fe_leaf_ok, 2, np.where(nic_down > 0, 1, 0)).astype(np.int8)
    ckpt = (engine.job_state == 1) * st.job_bw_gbs  # CHECKPOINTING (sim/engine.py)
    hall_fe_load = (ckpt @ fab.job_hall_frac) / np.maximum(fab.hall_fe_gbs, 1e-9)
    fe_load = np.clip(np.repeat(hall_fe_load, net.hall_fe_leaves), 0.0, 1.0)
    return {"status": status, "load": load, "gpu_status": leaf_status, "gpu_load": load[:net.spine0],
            "fe_status": fe_status, "fe_load": fe_load,
            "hall_ls_bad": hall_ls_bad, "hall_sl_bad": hall_sl_bad,
            "bad_at": bad_at}


def pixel_colors(status: np.ndarray, load: np.ndarray, width, counts=None) -> np.ndarray:
    """ARGB per pixel column for a row of cells: the worst status among the cells a pixel covers (so one
    failed switch among thousands still shows), else the colour of their mean load. With ``counts`` (cells
    per block) and ``width`` a list (pixels per block), several blocks (the halls of a tier) in one pass."""
    n = status.size
    if counts is None:
        counts, width = [n], [width]
    widths = [max(1, int(w)) for w in width]
    if n == 0:
        return np.zeros(sum(widths), dtype=np.uint32)
    parts, off = [], 0
    for c, w in zip(counts, widths, strict=True):
        parts.append(off + (np.arange(w, dtype=np.int64) * int(c)) // w)
        off += int(c)
    starts = np.concatenate(parts)
    starts = np.minimum(starts, n - 1)
    ends = np.append(starts[1:], n)
    span = ends - starts
    worst = np.maximum.reduceat(status, starts)
    sums = np.add.reduceat(load, starts)
    mean = np.where(span > 0, sums / np.maximum(span, 1), load[starts])
    rgb = _LUT[np.clip((mean * 255).astype(np.int64), 0, 255)]
    out = (0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)
    out[worst == 1] = _argb(BAD_RGB)
    out[worst == 2] = _argb(DOWN_RGB)
    return out


class FabricView(NetworkPanelView):
    """Signals: ``component_selected(str)`` on a click on a switch, ``context_menu_requested(str, QPoint)``
    on right-click (the fault menu), ``gpus_highlighted(object)`` with the GPUs of a selected leaf (None to
    clear)."""

    gpus_highlighted = Signal(object)

    CSV_TITLE, CSV_FILE = "Export fabric time series", "fabric.csv"

    def __init__(self, parent: QWidget | None = None):
        super().__init__("fabric", _FabricCanvas, parent)
        self.selected: str | None = None
        self._sel_switch = -1
        self._sel_gpu = -1
        self._path: tuple[int, np.ndarray, np.ndarray] | None = None  # leaf, its spines, their super-spines
        self._rows: dict = {}
        self._hall_widths: list[int] = []
        self._state: dict = {}
        self.chart = MiniChartWidget("% of design", self)
        self.chart.setObjectName("fabricChart")
        self.csv_button.setToolTip("Fabric throughput, bisection, links and switches down, power (one row a step)")
        self.layout().addWidget(self.chart)

    # ------------------------------------------------------------------ API
    def set_engine(self, engine) -> None:
        self.engine = engine
        self.selected = None
        self._sel_switch = self._sel_gpu = -1
        self._path = None
        self.refresh(force=True)

    def set_selected(self, address: str | None) -> None:
        """Select a switch, a port (its link) or a GPU (its link): draw its path up the tiers."""
        eng = self.engine
        self.selected, self._sel_switch, self._sel_gpu, self._path = None, -1, -1, None
        highlight = None
        if eng is not None and address:
            a = eng.parse(address)
            net = eng.topo.net
            self.selected = a.text
            if a.kind in ("fe_leaf", "fe_nic"):  # the front end: cells after the switches (canvas ids)
                fe = a.index if a.kind == "fe_leaf" else int(net.tray_fe_leaf[a.index])
                self._sel_switch = net.n_switches + fe
                trays = net.trays_of_fe_leaf(fe) if a.kind == "fe_leaf" else np.array([a.index])
                highlight = (trays[:, None] * net.gpus_per_tray + np.arange(net.gpus_per_tray)).ravel()
            elif a.kind in ("leaf", "spine", "superspine"):
                self._sel_switch = a.index
                if a.kind == "leaf":
                    self._path = self._path_of_leaf(a.index)
                    highlight = net.gpus_of_leaf(a.index)
            elif a.kind == "port" and a.index < net.ls0 or a.kind == "gpu":
                self._sel_gpu = a.index
                leaf = int(eng.fabric.gpu_leaf[a.index])
                self._sel_switch = leaf
                self._path = self._path_of_leaf(leaf)
                highlight = np.array([a.index])
            elif a.kind == "port":
                self._sel_switch = int(eng.fabric.link_switch[a.index])
        self.gpus_highlighted.emit(highlight)
        self.canvas.update()

    def _path_of_leaf(self, leaf: int):
        fab, net = self.engine.fabric, self.engine.topo.net
        ups = slice(leaf * net.leaf_up, (leaf + 1) * net.leaf_up)
        spines = np.unique(fab.ls_spine[ups])
        sl = (spines - net.spine0)[:, None] * net.spine_up + np.arange(net.spine_up)[None, :]
        ss = np.unique(fab.sl_ss[sl.ravel()])
        return leaf, spines, ss

    def refresh(self, force: bool = False) -> None:
        eng = self.engine
        if eng is None:
            return
        if not self._refresh_due(force, self.refresh_signature()):
            return
        self._state = fabric_state(eng)
        self._rows = {}
        self._update_text()
        self._update_chart()
        self.canvas.update()

    def _update_text(self) -> None:
        eng = self.engine
        fab, net = eng.fabric, eng.topo.net
        tel = fab.ring
        tput = float(fab.series("throughput_tbps")[-1]) if len(tel) else 0.0
        hb = " · ".join(f"{n} {b:.1%}" for n, b in zip(net.hall_names, fab.hall_bisection, strict=True))
        self.summary.setText(
            f"{net.n_leaves:,} leaves · {net.n_spines:,} spines · {net.n_superspines:,} super-spines · "
            f"{net.n_links:,} links   |   down: {fab.n_switches_down} switches, {fab.n_links_down} links, "
            f"{len(fab.flap_next)} flapping   |   throughput {tput:,.1f} Tb/s · power {fab.power_w / 1e6:.2f} MW"
            f"\nbisection available: {hb}   |   front end: {net.n_fe_leaves:,} leaves, {fab.n_fe_leaves_down} down, "
            f"{fab.n_fe_nics_down} NICs down")

    def _update_chart(self) -> None:
        ring = self.engine.fabric.ring
        rows = ring_tail(ring, int(CHART_SPAN_S / max(1e-9, self._dt())))
        if not len(rows):
            return
        i = self.engine.fabric.index
        f = self.engine.facility.fabric
        full_tbps = self.engine.n_gpus * f.gpu_link_gbps * f.throughput_efficiency / 1e3
        t = rows[:, i["t_s"]]
        self.chart.set_series([
            ("fabric throughput", "#5aa9ff", t, rows[:, i["throughput_tbps"]] * (100.0 / max(full_tbps, 1e-9)),
             "{:.0f} %"),
            ("bisection available", "#ffb347", t, rows[:, i["bisection_frac"]] * 100.0, "{:.1f} %")],
            y_range=(0.0, 105.0))

    def _dt(self) -> float:
        ring = self.engine.fabric.ring
        if len(ring) < 2:
            return 1.0
        t = ring_tail(ring, 2)[:, 0]
        return max(1e-3, float(t[1] - t[0]))

    def row_pixels(self, tier: str, hall: int, width: int) -> np.ndarray:
        """ARGB per pixel of one tier's cells in one hall (hall -1: the super-spines)."""
        return self.tier_pixels(tier, [width] if hall < 0 else None, hall)

    def tier_pixels(self, tier: str, widths, hall: int = -1) -> np.ndarray:
        """ARGB per pixel of a whole tier, halls side by side (``widths`` pixels each), computed once per
        refresh; with ``hall`` >= 0 the part of that hall (the widths are those of the last layout)."""
        net, s = self.engine.topo.net, self._state
        if hall >= 0:
            widths = self._hall_widths
        key = (tier, tuple(widths))
        px = self._rows.get(key)
        if px is None:
            if tier == "superspine":
                sl = slice(net.ss0, net.n_switches)
                px = pixel_colors(s["status"][sl], s["load"][sl], widths[0])
            elif tier == "spine":
                sl = slice(net.spine0, net.ss0)
                px = pixel_colors(s["status"][sl], s["load"][sl], widths, net.hall_spines)
            elif tier == "leaf":
                px = pixel_colors(s["status"][:net.spine0], s["load"][:net.spine0], widths, net.hall_leaves)
            elif tier == "frontend":
                px = pixel_colors(s["fe_status"], s["fe_load"], widths, net.hall_fe_leaves)
            else:
                px = pixel_colors(s["gpu_status"], s["gpu_load"], widths, net.hall_leaves)
            self._rows[key] = px
        if hall < 0 or tier == "superspine":
            return px
        a = int(sum(widths[:hall]))
        return px[a:a + int(widths[hall])]

    def switch_at(self, pos: QPointF) -> str | None:
        """Address of the switch (or, in the GPU-link row, the leaf) under a widget position."""
        hit = self.canvas.hit(pos)
        return None if hit is None else self.canvas.item_address(hit)

    def write_csv(self, path) -> None:
        from ...io.network_tables import write_fabric_csv
        write_fabric_csv(self.engine, path)


class _FabricCanvas(PickCanvas):
    """The drawing: tiers as rows, links as bands, the selected path as lines."""

    MARGIN_L = 96

    def __init__(self, view: FabricView):
        super().__init__(view, "fabricCanvas", 480, 180)
        self._geom: dict = {}

    # geometry: x range per hall (leaves and spines), y of each tier
    def _layout(self) -> dict:
        eng = self.view.engine
        net = eng.topo.net
        w, h = self.width(), self.height()
        x0, x1 = self.MARGIN_L, w - 12
        gap = 12
        total = float(net.hall_leaves.sum())
        usable = max(10.0, x1 - x0 - gap * (net.n_halls - 1))
        xs, x = [], float(x0)
        for n in net.hall_leaves:
            ww = usable * float(n) / total
            xs.append((x, x + ww))
            x += ww + gap
        row_h = max(10.0, min(28.0, h / 12))
        ys = {"superspine": h * 0.08, "spine": h * 0.36, "leaf": h * 0.64, "gpu": h * 0.64 + row_h + 6}
        ys["frontend"] = ys["gpu"] + row_h * 0.6 + 4
        geom = {"halls": xs, "ys": ys, "row_h": row_h, "ss": (float(x0), float(x1)), "size": (w, h)}
        self._geom = geom
        return geom

    def _x_of(self, tier: str, hall: int, i: int, n: int) -> float:
        g = self._geom
        a, b = g["ss"] if tier == "superspine" else g["halls"][hall]
        return a + (i + 0.5) * (b - a) / max(n, 1)

    def switch_x(self, s: int) -> tuple[float, float]:
        """(x, y centre) of a switch's cell."""
        net = self.view.engine.topo.net
        g = self._layout() if self._geom.get("size") != (self.width(), self.height()) else self._geom
        rh = g["row_h"]
        if s >= net.n_switches:  # a front-end leaf
            fe = s - net.n_switches
            h = int(net.fe_leaf_hall[fe])
            i = fe - int(net.hall_fe_start[h])
            return self._x_of("frontend", h, i, int(net.hall_fe_leaves[h])), g["ys"]["frontend"] + rh * 0.3
        tier = net.switch_tier(s)
        if tier == "superspine":
            return self._x_of(tier, -1, s - net.ss0, net.n_superspines), g["ys"][tier] + rh / 2
        h = net.switch_hall(s)
        if tier == "spine":
            i = s - net.spine0 - int(net.hall_spine_start[h])
            return self._x_of(tier, h, i, int(net.hall_spines[h])), g["ys"][tier] + rh / 2
        i = s - int(net.hall_leaf_start[h])
        return self._x_of(tier, h, i, int(net.hall_leaves[h])), g["ys"][tier] + rh / 2

    def switch_xs(self, ids: np.ndarray) -> np.ndarray:
        """x centres of many switches of one tier at once (the selected path)."""
        ids = np.asarray(ids, dtype=np.int64)
        if not ids.size:
            return np.zeros(0)
        net = self.view.engine.topo.net
        g = self._layout() if self._geom.get("size") != (self.width(), self.height()) else self._geom
        if ids[0] >= net.ss0:
            a, b = g["ss"]
            return a + (ids - net.ss0 + 0.5) * (b - a) / net.n_superspines
        spine = ids[0] >= net.spine0
        start = net.hall_spine_start if spine else net.hall_leaf_start
        count = net.hall_spines if spine else net.hall_leaves
        local = ids - (net.spine0 if spine else 0)
        h = np.searchsorted(start, local, side="right") - 1
        ab = np.array(g["halls"])
        return ab[h, 0] + (local - start[h] + 0.5) * (ab[h, 1] - ab[h, 0]) / count[h]

    def hit(self, pos: QPointF) -> int | None:
        eng = self.view.engine
        if eng is None:
            return None
        net = eng.topo.net
        g = self._layout() if self._geom.get("size") != (self.width(), self.height()) else self._geom
        rh = g["row_h"]
        x, y = pos.x(), pos.y()
        fy = g["ys"]["frontend"]
        if fy - 1 <= y <= fy + rh * 0.6 + 1:  # the front-end row: ids after the switches
            for h, (a, b) in enumerate(g["halls"]):
                if a <= x < b:
                    n = int(net.hall_fe_leaves[h])
                    return net.n_switches + int(net.hall_fe_start[h]) + min(n - 1, int((x - a) / (b - a) * n))
            return None
        for tier, y0 in g["ys"].items():
            if tier == "frontend" or not y0 - 2 <= y <= y0 + rh + 2:
                continue
            if tier == "superspine":
                a, b = g["ss"]
                if a <= x < b:
                    return net.ss0 + min(net.n_superspines - 1, int((x - a) / (b - a) * net.n_superspines))
                return None
            for h, (a, b) in enumerate(g["halls"]):
                if a <= x < b:
                    if tier == "spine":
                        n = int(net.hall_spines[h])
                        return net.spine0 + int(net.hall_spine_start[h]) + min(n - 1, int((x - a) / (b - a) * n))
                    n = int(net.hall_leaves[h])
                    return int(net.hall_leaf_start[h]) + min(n - 1, int((x - a) / (b - a) * n))
        return None

    def paintEvent(self, ev) -> None:  # noqa: N802
        view = self.view
        eng = view.engine
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        if eng is None or not view._state:
            p.end()
            return
        net, fab = eng.topo.net, eng.fabric
        g = self._layout()
        rh = g["row_h"]
        text = pal.color(QPalette.ColorRole.Text)
        # links: a band per hall between leaves and spines, and from the spines up to the super-spines
        p.setPen(Qt.PenStyle.NoPen)
        ys = g["ys"]
        ss_a, ss_b = g["ss"]
        ls_bad, sl_bad = view._state["hall_ls_bad"], view._state["hall_sl_bad"]
        load = view._state["load"]
        base = pal.color(QPalette.ColorRole.Base)

        def dim(rgb, alpha: float) -> QColor:  # opaque blend with the background: much faster than alpha
            return QColor(*(int(alpha * c + (1 - alpha) * b) for c, b in zip(
                rgb, (base.red(), base.green(), base.blue()), strict=True)))

        for h, (a, b) in enumerate(g["halls"]):
            lo = float(load[int(net.hall_leaf_start[h])]) if net.hall_leaves[h] else 0.0
            p.fillRect(QRectF(a, ys["spine"] + rh, b - a, ys["leaf"] - ys["spine"] - rh),
                       dim(BAD_RGB if ls_bad[h] else _LUT[int(lo * 255)], 0.43))
            p.setBrush(dim(BAD_RGB if sl_bad[h] else _LUT[int(float(load[net.ss0]) * 255)], 0.31))
            n = net.n_halls
            sa = ss_a + (ss_b - ss_a) * h / n
            sb = ss_a + (ss_b - ss_a) * (h + 1) / n
            p.drawPolygon(QPolygonF([QPointF(a, ys["spine"]), QPointF(b, ys["spine"]),
                                     QPointF(sb, ys["superspine"] + rh), QPointF(sa, ys["superspine"] + rh)]))
        # the tiers
        w_ss = max(1, int(ss_b - ss_a))
        self._draw_row(p, view.row_pixels("superspine", -1, w_ss), QRectF(ss_a, ys["superspine"], ss_b - ss_a, rh))
        view._hall_widths = [max(1, int(b - a)) for a, b in g["halls"]]
        for tier in ("spine", "leaf", "gpu", "frontend"):
            px = view.tier_pixels(tier, view._hall_widths)
            x0 = 0
            for h, (a, b) in enumerate(g["halls"]):
                w = view._hall_widths[h]
                self._draw_row(p, px[x0:x0 + w], QRectF(a, ys[tier], b - a,
                                                        rh * (0.6 if tier in ("gpu", "frontend") else 1)))
                x0 += w
        for h, (a, b) in enumerate(g["halls"]):
            p.setPen(text)
            p.drawText(QRectF(a, ys["frontend"] + rh * 0.6 + 2, b - a, 16), int(Qt.AlignmentFlag.AlignHCenter),
                       f"{net.hall_names[h]}  {fab.hall_bisection[h]:.1%}")
        p.setPen(text)
        for tier in TIERS:
            p.drawText(QRectF(4, ys[tier], self.MARGIN_L - 8, rh), int(Qt.AlignmentFlag.AlignVCenter),
                       TIER_LABELS[tier])
        # the selected path: GPU -> leaf -> its spines -> their super-spines
        if view._path is not None:
            leaf, spines, ss = view._path
            pen = QPen(text, 1)
            pen.setCosmetic(True)
            p.setPen(pen)
            lx, ly = self.switch_x(leaf)
            if view._sel_gpu >= 0:
                p.drawLine(QPointF(lx, ys["gpu"] + rh * 0.6), QPointF(lx, ly))
            sp_x = self.switch_xs(spines)
            for sx in np.unique(sp_x.astype(np.int64)):  # one line per pixel column, not per spine
                p.drawLine(QPointF(lx, ys["leaf"]), QPointF(float(sx), ys["spine"] + rh))
            ss_x = self.switch_xs(ss)
            if sp_x.size * ss_x.size <= 1024:
                for sx in sp_x:
                    for tx in ss_x:
                        p.drawLine(QPointF(sx, ys["spine"]), QPointF(tx, ys["superspine"] + rh))
            # ticks above the cells (the cells keep their colours): one image row per tier
            tick = np.uint32(0xFF000000 | (text.red() << 16) | (text.green() << 8) | text.blue())
            for xs, tier in ((sp_x, "spine"), (ss_x, "superspine")):
                w = self.width()
                row = np.zeros(w, dtype=np.uint32)
                row[np.clip(xs.astype(np.int64), 0, w - 1)] = tick
                self._draw_row(p, row, QRectF(0, ys[tier] - 7, w, 5))
        if view._sel_switch >= 0:
            x, y = self.switch_x(view._sel_switch)
            pen = QPen(text, 2)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(x - 4, y - rh / 2 - 3, 8, rh + 6))
        p.end()

    @staticmethod
    def _draw_row(p: QPainter, px: np.ndarray, rect: QRectF) -> None:
        img = QImage(px.data, px.size, 1, px.size * 4, QImage.Format.Format_ARGB32)
        p.drawImage(rect, img)

    # ------------------------------------------------------------------ mouse (tooltip and clicks: PickCanvas)
    def item_at(self, pos: QPointF) -> int | None:
        return self.hit(pos)

    def item_address(self, s: int) -> str:
        net = self.view.engine.topo.net
        return net.fe_leaf_address(s - net.n_switches) if s >= net.n_switches else net.switch_address(s)

    def describe(self, s: int) -> str:
        eng = self.view.engine
        net, fab = eng.topo.net, eng.fabric
        st = self.view._state
        if s >= net.n_switches:  # a front-end leaf
            fe = s - net.n_switches
            trays = net.trays_of_fe_leaf(fe)
            nics = int((~fab.fe_nic_ok[trays]).sum())
            state = "DOWN" if not fab.fe_leaf_ok[fe] else f"{nics} front-end NIC(s) down" if nics else "up"
            return (f"{net.fe_leaf_address(fe)} (front-end leaf): {state}, uplinks {st['fe_load'][fe]:.0%} loaded"
                    f"\nservers {eng.topo.tray_address(int(trays[0]))} … {eng.topo.tray_address(int(trays[-1]))}")
        state = ("DOWN" if not fab.switch_ok[s] else
                 f"{int(st['bad_at'][s])} link(s) down or flapping" if st["bad_at"][s] else "up")
        extra = ""
        if s < net.spine0:
            gpus = net.gpus_of_leaf(s)
            extra = f"\nGPUs {eng.topo.gpu_address(int(gpus[0]))} … {eng.topo.gpu_address(int(gpus[-1]))}"
        return f"{net.switch_address(s)} ({net.switch_tier(s)}): {state}, load {st['load'][s]:.0%}{extra}"
