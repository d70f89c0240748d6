"""Lazy refresh for the facility views: recompute only when shown and when the engine has moved.

A view calls ``self._refresh_due(force, sig)`` at the top of its ``refresh()`` (after its own "nothing to
show" checks) with a signature of what it draws (``engine.revision``, its metric, its hall...). While the view
is hidden a refresh only marks it dirty; the next ``showEvent`` brings it up to date. ``force`` recomputes
whatever the signature says (a new engine, a new metric chosen by the user).
"""

from __future__ import annotations


class LazyRefreshMixin:
    """Put before the Qt widget class in the bases (``class V(LazyRefreshMixin, QWidget)``); the view keeps its
    own ``refresh(force=False)``, which this mixin's ``showEvent`` calls when a hidden refresh was skipped."""

    _sig = None  # signature of the last recompute
    _dirty = True  # a refresh was skipped while hidden (or nothing computed yet)

    def _refresh_due(self, force: bool, sig) -> bool:
        """True when the view must recompute now (it then records ``sig``); False when hidden (marked dirty) or
        when ``sig`` is that of the last recompute and nothing forces it."""
        if not self.isVisible() and not force:
            self._dirty = True
            return False
        if sig == self._sig and not force and not self._dirty:
            return False
        self._sig, self._dirty = sig, False
        return True

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        if self._dirty:
            self.refresh()
