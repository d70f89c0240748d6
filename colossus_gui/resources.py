"""Find the top-level ``resources/`` folder from a checkout, an installed wheel or a PyInstaller bundle."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


@cache
def resources_dir() -> Path:
    here = Path(__file__).resolve().parent
    candidates = [
        here / "_resources",                                   # installed wheel (force-included)
        here.parent / "resources",                             # source checkout / editable install
    ]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "resources")      # PyInstaller one-folder bundle
    for c in candidates:
        if (c / "facilities").is_dir():
            return c
    raise FileNotFoundError("Colossus GUI resources not found; looked in: " + ", ".join(map(str, candidates)))


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def builtin_facilities() -> dict[str, Path]:
    return {p.stem: p for p in sorted(resource("facilities").glob("*.yaml"))}


def builtin_scenarios() -> dict[str, Path]:
    d = resource("scenarios")
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}
