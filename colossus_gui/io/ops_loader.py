"""Load and validate the operations file (alarm rules, technicians, repair times, spares): same style as
``loader.py`` -- every problem one line naming file, field path and what is wrong."""

from __future__ import annotations

from pathlib import Path

from ..model.ops_config import OpsConfig, default_ops_path
from .loader import LoadError, _read_mapping, validate_data

__all__ = ["LoadError", "load_ops_config"]


def load_ops_config(path: str | Path | None = None) -> OpsConfig:
    """The ops file at ``path``, or the built-in ``resources/ops/default.yaml``."""
    p = Path(path) if path is not None else default_ops_path()
    return validate_data(OpsConfig, _read_mapping(p), str(p))
