"""The window's views are declared in one table; a view missing a signal the window connects fails loudly."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from colossus_gui.ui.views import view_factory
from colossus_gui.ui.views.view_factory import SPECS, build_view


class _Window(QObject):
    ops = None

    def __getattr__(self, name):  # any slot the specs name
        if name.startswith("_on_") or name in ("show_fault_menu", "show_row"):
            return lambda *a: None
        raise AttributeError(name)


def test_every_declared_view_builds_with_every_declared_signal(qtbot):
    win = _Window()
    for key, spec in SPECS.items():
        view = build_view(key, win)
        qtbot.addWidget(view)
        assert type(view).__name__ == spec.cls().__name__
        for signal, _slot in spec.signals:
            assert hasattr(view, signal)


def test_a_view_without_a_declared_signal_is_an_error_not_a_silent_skip(qtbot, monkeypatch):
    class Renamed(QWidget):
        rack_chosen = Signal(int)  # was rack_selected

    spec = dataclasses.replace(SPECS["hall"], cls=lambda: Renamed, alarm_frames=False)
    monkeypatch.setitem(view_factory.SPECS, "hall", spec)
    with pytest.raises(AttributeError, match="no signal 'rack_selected'"):
        build_view("hall", _Window())
