"""File menu entries a first-time user looks for: the built-in facilities (the 200k expansion is one click, not
a command line) and the recently opened files.

The recent list lives in QSettings (``recentFiles``), or in memory when settings are off (tests); entries
that no longer exist are left out when the menu opens.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import QMenu, QWidget

from ..io.loader import load_facility
from ..resources import builtin_facilities

MAX_RECENT = 8


def facility_summary(name: str) -> str:
    """'colossus — 100,352 GPUs in 4 halls' (the name alone when the file cannot be read)."""
    try:
        f = load_facility(name)
    except Exception:  # noqa: BLE001 -- a menu label must never stop the menu from opening
        return name
    return f"{name} — {f.n_gpus:,} GPUs in {len(f.halls)} halls"


class FileMenus:
    """Adds 'Built-in facilities' and 'Recent files' submenus to a File menu. ``window`` opens files with
    ``open_facility(ref)`` / ``open_scenario(path)`` / ``open_snapshot_file(path)``."""

    def __init__(self, window: QWidget, file_menu: QMenu, before=None):
        self.window = window
        self.settings = window.settings  # None when settings are off (tests): the list is kept in memory
        self._memory: list[str] = []
        self.builtin_menu = QMenu("Built-in &facilities", file_menu)
        self.builtin_menu.setObjectName("menuBuiltinFacilities")
        for name in builtin_facilities():
            act = self.builtin_menu.addAction(facility_summary(name))
            act.setObjectName(f"actionBuiltin_{name}")
            act.setData(name)
            act.triggered.connect(lambda _c=False, n=name: self.window.open_facility(n))
        self.recent_menu = QMenu("&Recent files", file_menu)
        self.recent_menu.setObjectName("menuRecentFiles")
        self.recent_menu.aboutToShow.connect(self.rebuild_recent)
        if before is not None:
            file_menu.insertMenu(before, self.builtin_menu)
            file_menu.insertMenu(before, self.recent_menu)
        else:
            file_menu.addMenu(self.builtin_menu)
            file_menu.addMenu(self.recent_menu)
        self.rebuild_recent()

    # ------------------------------------------------------------------ the list
    def recent(self) -> list[str]:
        if self.settings is None:
            return list(self._memory)
        v = self.settings.value("recentFiles", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or [])]

    def add_recent(self, path: str) -> None:
        """Remember a file the user opened (built-in names are in their own menu and are not added)."""
        if not path or str(path) in builtin_facilities():
            return
        path = os.path.abspath(str(path))
        items = [p for p in self.recent() if p != path]
        items.insert(0, path)
        items = items[:MAX_RECENT]
        if self.settings is None:
            self._memory = items
        else:
            self.settings.setValue("recentFiles", items)
        self.rebuild_recent()

    def rebuild_recent(self) -> None:
        self.recent_menu.clear()
        items = [p for p in self.recent() if os.path.exists(p)]
        for i, path in enumerate(items):
            act = self.recent_menu.addAction(f"&{i + 1}  {os.path.basename(path)}")
            act.setToolTip(path)
            act.setStatusTip(path)
            act.setData(path)
            act.triggered.connect(lambda _c=False, p=path: self.open(p))
        if not items:
            none = self.recent_menu.addAction("No recent files")
            none.setEnabled(False)

    def open(self, path: str) -> bool:
        """Open a recent file by what it holds: a snapshot bundle, a scenario or a facility."""
        from ..io.loader import sniff_kind
        if os.path.isdir(path) or path.endswith(".zip"):
            return bool(self.window.open_snapshot_file(path))
        try:
            kind = sniff_kind(path)
        except Exception:  # noqa: BLE001 -- unreadable: let open_facility report it in its dialog
            kind = "facility"
        if kind == "scenario":
            return bool(self.window.open_scenario(path))
        return bool(self.window.open_facility(path))

