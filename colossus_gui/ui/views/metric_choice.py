"""The metric a view colours by, chosen in its header's combo: the one handler the hall, row-section and
all-GPU views share."""

from __future__ import annotations


class MetricChoiceMixin:
    """Put before the Qt widget class in the bases. The view gives ``metric_combo`` (item data: the metric's
    name), ``_metric_name``, ``_metric_resolved()`` (its colours and legend for the metric) and ``refresh(force)``."""

    def metric_name(self) -> str:
        return self._metric_name

    def _on_metric_combo_changed(self, i: int) -> None:
        name = self.metric_combo.itemData(i)
        if name:
            self._metric_name = name
            self._metric_resolved()
            self.refresh(force=True)
