"""The window's views, declared once: the class, the tab, and the signals the window listens to.

A view that lacks a signal its declaration names fails when it is built (AttributeError naming the view and
the signal): no placeholder standing in silently for a view that did not import, no ``hasattr`` wiring that
quietly skips a renamed signal. Heavy views may still be built after the first paint (the window's
``_Pending`` tab), which is a deliberate delay, not a fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget


def _site():
    from .site_view import SiteView
    return SiteView


def _hall():
    from .hall_view import HallView
    return HallView


def _gpus():
    from .gpu_heatmap_view import GpuHeatmapView
    return GpuHeatmapView


def _rack():
    from .rack_view import RackView
    return RackView


def _tray():
    from .tray_view import TrayView
    return TrayView


def _row():
    from .row_section_view import RowSectionView
    return RowSectionView


def _fabric():
    from .fabric_view import FabricView
    return FabricView


def _storage():
    from .storage_view import StorageView
    return StorageView


@dataclass(frozen=True)
class ViewSpec:
    key: str
    cls: Callable[[], type]
    object_name: str
    what: str
    tab: str
    tip: str
    signals: tuple[tuple[str, str], ...]  # (the view's signal, the window's slot)
    alarm_frames: bool = False  # takes alarm_severity_fn / alarm_text_fn from the operations

    def as_tuple(self) -> tuple[str, str, str, str, str, str]:
        """The older (module, class, objectName, what, tab, tip) shape."""
        cls = self.cls()
        return (cls.__module__.rsplit(".", 1)[-1], cls.__name__, self.object_name, self.what, self.tab, self.tip)


_MENU = ("context_menu_requested", "show_fault_menu")
SPECS: dict[str, ViewSpec] = {s.key: s for s in (
    ViewSpec("site", _site, "siteView", "site view", "Site", "Grid, Megapacks, turbines, chillers and halls",
             (("hall_activated", "_on_site_hall_activated"), ("component_selected", "_on_view_address_selected"),
              _MENU)),
    ViewSpec("hall", _hall, "hallView", "hall view", "Hall", "One hall in three tiers: power, racks, cooling",
             (("rack_selected", "_on_view_rack_selected"), ("rack_activated", "_on_view_rack_activated"),
              ("row_activated", "show_row"), _MENU),
             alarm_frames=True),
    ViewSpec("gpus", _gpus, "gpuHeatmapView", "all-GPUs heatmap", "All GPUs",
             "Every GPU of the facility by the chosen metric",
             (("rack_selected", "_on_view_rack_selected"), ("rack_activated", "_on_view_rack_activated"), _MENU)),
    ViewSpec("rack", _rack, "rackView", "rack view", "Rack", "Rack elevation: trays, CDU, manifolds, door fans",
             (("tray_activated", "_on_rack_tray_activated"), _MENU), alarm_frames=True),
    ViewSpec("tray", _tray, "trayView", "tray view", "Tray", "One tray: GPUs, CPUs, PSUs, NICs",
             (("component_selected", "_on_view_component_selected"), _MENU)),
    ViewSpec("row", _row, "rowSectionView", "row section", "Row section",
             "One row cut from the side: busway, racks with trays and doors, CDUs, supply and return headers",
             (("rack_selected", "_on_view_rack_selected"), ("rack_activated", "_on_view_rack_activated"), _MENU),
             alarm_frames=True),
    ViewSpec("fabric", _fabric, "fabricView", "fabric view", "Fabric",
             "Network fabric: super-spines, spines, leaves and links by load and health",
             (("component_selected", "_on_view_component_selected"), ("gpus_highlighted", "_on_gpus_highlighted"),
              _MENU)),
    ViewSpec("storage", _storage, "storageView", "storage view", "Storage",
             "Storage nodes, pool bandwidth, rebuilds and checkpoint bandwidth",
             (("component_selected", "_on_view_component_selected"), _MENU)),
)}


def build_view(key: str, window) -> QWidget:
    """Build the ``key`` view and connect the signals its spec names to ``window``'s slots."""
    spec = SPECS[key]
    view = spec.cls()()
    for signal, slot in spec.signals:
        try:
            sig = getattr(view, signal)
        except AttributeError:
            raise AttributeError(f"the {spec.what} ({type(view).__name__}) has no signal {signal!r}, which the "
                                 "window connects (view_factory.SPECS)") from None
        sig.connect(getattr(window, slot))
    if spec.alarm_frames:
        attach_alarms(view, window)
    return view


def attach_alarms(view: QWidget, window) -> None:
    """Alarm frames and alarm lines in tooltips, from the window's current operations (if any yet)."""
    ops = getattr(window, "ops", None)
    view.alarm_severity_fn = ops.alarms.rack_severity if ops is not None else None
    view.alarm_text_fn = window._rack_alarm_text if ops is not None else None


__all__ = ["SPECS", "ViewSpec", "attach_alarms", "build_view"]
