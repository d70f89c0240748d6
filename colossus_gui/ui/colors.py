"""Colour lookup tables shared by the facility views (numpy only, no Qt).

Every LUT is a ``(256, 4)`` uint8 RGBA table. Indices ``0 .. N_LEVELS-1`` carry the continuous scale; the
last four indices are reserved for states that are not a value on the scale, so one uint8 index image can
show "this GPU is out of service" next to temperatures without a second layer:

``IDX_OFFLINE`` grey (out of service: drained, isolated, unpowered), ``IDX_SLID_OUT`` near-black (tray slid
out of the rack), ``IDX_FAILED`` magenta-red (failed part: not a temperature, so not on the red of the scale),
``IDX_BACKGROUND`` transparent (gaps between cells).

Choices: the thermal scale runs blue -> teal -> green -> yellow -> orange -> red with luminance rising to
yellow and falling to red, so neighbouring classes differ in lightness as well as hue (readable for the
common red-green deficiencies, and on a dark control-room wall). The status colours follow the DCIM habit
(green / amber / red) but use an orange-leaning amber and a bluish green for the same reason.
"""

from __future__ import annotations

import numpy as np

N_LEVELS = 252
IDX_OFFLINE = 252
IDX_SLID_OUT = 253
IDX_FAILED = 254
IDX_BACKGROUND = 255

# ---- status palette (RGBA) -------------------------------------------------------------------------------
OK = (46, 184, 114, 255)  # bluish green
WARNING = (242, 169, 0, 255)  # amber
CRITICAL = (222, 45, 38, 255)  # red
OUT_OF_SERVICE = (128, 128, 136, 255)  # grey
SLID_OUT = (44, 44, 52, 255)  # dark: the slot is empty
FAILED = (200, 40, 120, 255)  # failed part, distinct from "hot"
BACKGROUND = (0, 0, 0, 0)

# cooling: pipes and components
SUPPLY_BLUE = (52, 128, 235, 255)
RETURN_RED = (230, 70, 60, 255)
PUMP_RUNNING = OK
PUMP_FAILED = CRITICAL
PUMP_SWITCHING = WARNING
FAN_HEALTHY = (64, 156, 255, 255)  # the doors' fans are lit blue when healthy
FAN_BAD = CRITICAL  # ... and red when failed or due for replacement

# eight distinguishable curve colours (Okabe-Ito + two), for per-GPU history plots
CURVE_COLORS = [
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (190, 170, 20),
    (0, 114, 178), (213, 94, 0), (204, 121, 167), (150, 110, 220),
]

_THERMAL_STOPS = [
    (0.00, (40, 70, 180)),
    (0.22, (40, 130, 220)),
    (0.42, (30, 175, 150)),
    (0.58, (110, 200, 80)),
    (0.72, (245, 220, 50)),
    (0.86, (245, 140, 30)),
    (1.00, (215, 35, 35)),
]
# green at "fine", amber at the warning mark, red at critical: for health-like (badness) scales
_SEVERITY_STOPS = [
    (0.00, OK[:3]),
    (0.35, (150, 200, 60)),
    (0.55, WARNING[:3]),
    (0.80, (240, 100, 30)),
    (1.00, CRITICAL[:3]),
]
# pipes: cool blue to hot red through violet (supply reads blue, return reads red)
_PIPE_STOPS = [
    (0.00, (40, 110, 240)),
    (0.30, (80, 120, 235)),
    (0.50, (170, 90, 190)),
    (0.65, (225, 70, 110)),
    (1.00, (240, 40, 30)),
]


def _ramp(stops: list[tuple[float, tuple[int, int, int]]], n: int) -> np.ndarray:
    x = np.linspace(0.0, 1.0, n)
    pos = np.array([s[0] for s in stops])
    rgb = np.array([s[1] for s in stops], dtype=np.float64)
    out = np.empty((n, 3))
    for c in range(3):
        out[:, c] = np.interp(x, pos, rgb[:, c])
    return np.round(out).astype(np.uint8)


def make_lut(stops: list[tuple[float, tuple[int, int, int]]], reverse: bool = False) -> np.ndarray:
    """A (256, 4) RGBA LUT: the ramp in the first N_LEVELS entries, then the reserved state colours."""
    lut = np.zeros((256, 4), dtype=np.uint8)
    ramp = _ramp(stops, N_LEVELS)
    if reverse:
        ramp = ramp[::-1]
    lut[:N_LEVELS, :3] = ramp
    lut[:N_LEVELS, 3] = 255
    lut[IDX_OFFLINE] = OUT_OF_SERVICE
    lut[IDX_SLID_OUT] = SLID_OUT
    lut[IDX_FAILED] = FAILED
    lut[IDX_BACKGROUND] = BACKGROUND
    return lut


THERMAL_LUT = make_lut(_THERMAL_STOPS)
SEVERITY_LUT = make_lut(_SEVERITY_STOPS)
PIPE_LUT = make_lut(_PIPE_STOPS)
LUTS: dict[str, np.ndarray] = {"thermal": THERMAL_LUT, "severity": SEVERITY_LUT, "pipe": PIPE_LUT}


def to_index(values: np.ndarray, vmin: float, vmax: float, reverse: bool = False,
             out: np.ndarray | None = None) -> np.ndarray:
    """Map values onto LUT indices 0..N_LEVELS-1 (uint8), clipped at the ends; NaN -> IDX_OFFLINE.
    ``reverse`` flips the scale (for figures where low is bad: flow, GPUs in service, clock)."""
    v = np.asarray(values, dtype=np.float32)
    span = float(vmax - vmin) or 1.0
    scale = (N_LEVELS - 1) / span
    if reverse:
        f = (np.float32(vmax) - v) * np.float32(scale)
    else:
        f = (v - np.float32(vmin)) * np.float32(scale)
    np.clip(f, 0.0, N_LEVELS - 1, out=f)
    nan = np.isnan(f)
    if nan.any():
        f[nan] = IDX_OFFLINE
    if out is None:
        return f.astype(np.uint8)
    np.copyto(out, f, casting="unsafe")
    return out


def colors_for(values: np.ndarray, vmin: float, vmax: float, lut: np.ndarray, reverse: bool = False) -> np.ndarray:
    """RGBA (..., 4) uint8 for the values."""
    return lut[to_index(values, vmin, vmax, reverse)]


def color_at(value: float, vmin: float, vmax: float, lut: np.ndarray, reverse: bool = False) -> tuple[int, ...]:
    """One RGBA tuple (for legends, pipes and single components)."""
    return tuple(int(c) for c in lut[int(to_index(np.array([value]), vmin, vmax, reverse)[0])])


def text_on(rgba) -> tuple[int, int, int]:
    """Black or white text, whichever reads better on the given fill (WCAG relative luminance)."""
    r, g, b = (float(c) / 255.0 for c in rgba[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return (0, 0, 0) if lum > 0.22 else (255, 255, 255)


def darker(rgba, factor: float = 0.55) -> tuple[int, int, int, int]:
    """The colour scaled toward black (tile backgrounds that must carry text)."""
    return (int(rgba[0] * factor), int(rgba[1] * factor), int(rgba[2] * factor), int(rgba[3]))


# ---- text colours per theme ------------------------------------------------------------------------------
# Status colours drawn as *text* (alarm rows, "discharging", "throttled 64", supply / return figures). Each
# reaches WCAG AA (4.5:1) on the theme's Base, Window and AlternateBase colours (tests/ui/test_first_hour_theme):
# the fills above are for areas, and pale amber text on white was unreadable.
TEXT_COLORS: dict[str, dict[str, str]] = {
    "dark": {"ok": "#3fb950", "warning": "#f0a020", "critical": "#ff6b6b", "power": "#f2b635",
             "charge": "#4cc3d9", "supply": "#6ea8ff", "return": "#ff7a7a", "out_of_service": "#9aa1ab"},
    "light": {"ok": "#1b7a30", "warning": "#a04d00", "critical": "#c62828", "power": "#8a5a00",
              "charge": "#006d80", "supply": "#1f5fbf", "return": "#b3261e", "out_of_service": "#5f656c"},
}


def text_color(key: str, dark: bool) -> tuple[int, int, int]:
    """RGB of a semantic text colour in the given theme."""
    h = TEXT_COLORS["dark" if dark else "light"][key].lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


# ---- alarm severity (0 normal, 1 warning, 2 critical): the one definition ---------------------------------
# Text (labels, table rows, the status bar through the style sheet) uses the theme's readable text colour;
# areas and frames (alarm frames round racks, tiles) use the fill. Views never define their own.
SEVERITY_KEYS = ("ok", "warning", "critical")
SEVERITY_FILLS = (OK, WARNING, CRITICAL)


def _severity_index(severity: int) -> int:
    return min(max(int(severity), 0), 2)


def severity_hex(severity: int, dark: bool) -> str:
    """'#rrggbb' of a severity as text in the given theme (0 is the 'ok' green)."""
    return TEXT_COLORS["dark" if dark else "light"][SEVERITY_KEYS[_severity_index(severity)]]


def severity_fill(severity: int) -> tuple[int, int, int, int]:
    """RGBA of a severity as an area or frame (the same in both themes: it is drawn on the view's own fill)."""
    return SEVERITY_FILLS[_severity_index(severity)]


def relative_luminance(rgb) -> float:
    def lin(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])


def contrast_ratio(fg, bg) -> float:
    """WCAG contrast ratio of two RGB colours (1 .. 21; AA asks 4.5 for text)."""
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
