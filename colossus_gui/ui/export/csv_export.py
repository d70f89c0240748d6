"""Export one view's time series as CSV: ask where, write it (the writers are atomic), say why if it failed."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


def export_csv(parent: QWidget, title: str, default_name: str, write: Callable[[str], object]) -> str | None:
    """Ask for a file name and ``write(path)``; returns the path, or None if cancelled or failed (the user has
    been told why)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, default_name, "CSV (*.csv)")
    if not path:
        return None
    try:
        write(path)
    except OSError as e:
        QMessageBox.warning(parent, "Export failed", f"{path}: {e.strerror or e}")
        return None
    return path


__all__ = ["export_csv"]
