"""Offscreen rendering: PNGs of the views and charts, with or without a display.

``render_image(widget, caption, scale)`` draws a widget into a QImage (at 1x or 2x device pixels, so a 2x
export is sharp rather than upscaled) and adds a caption strip naming the facility, what is shown, the
simulated time and the app version, so a PNG pasted into a ticket still says what it is. ``save_png`` writes
it atomically (temp name in the target folder, then ``os.replace``).

``bundle_png_writers(engine)`` builds the snapshot bundle's images: the site, the hall holding the hottest
rack, every GPU, the hottest rack's elevation and tray, and the live charts. Each view is built once, offscreen
(``WA_DontShowOnScreen``: nothing flashes on a desktop), at a fixed 1920x1080 image size. Headless, the Qt
platform falls back to ``offscreen`` when there is no display, so ``colossus-gui snapshot`` runs from cron/CI.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

# imported at module level on purpose: without a usable Qt this import fails and the CLI says so
from PySide6.QtCore import QPoint, QRect, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QRegion
from PySide6.QtWidgets import QApplication, QWidget

from ... import __version__
from ...io.atomic import temp_file_beside
from ..sim_driver import format_clock

IMAGE_W, IMAGE_H = 1920, 1080  # bundle images, caption included (fits a slide and a report page)
PNG_QUALITY = -1  # zlib's default: faster levels saved little here (filtering dominates) and grew files 30 %
_QUIET = ("This plugin does not support propagateSizeHints",)  # offscreen platform noise on every show()


def ensure_app(dark: bool | None = None):
    """The running QApplication, or a new one (offscreen when there is no display). Returns the app."""
    app = QApplication.instance()
    if app is not None:
        return app
    if not os.environ.get("QT_QPA_PLATFORM") and not os.environ.get("DISPLAY") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        qInstallMessageHandler(_quiet_handler)
    app = QApplication(["colossus-gui"])
    _theme_app(app, True if dark is None else dark)
    return app


def _quiet_handler(mode, _context, message: str) -> None:
    """Headless runs (cron, CI) print only what matters: drop the offscreen platform's known chatter."""
    if mode == QtMsgType.QtDebugMsg or any(message.startswith(q) for q in _QUIET):
        return
    print(message, file=sys.stderr)


def _theme_app(app, dark: bool) -> None:
    try:
        from ..theme import apply_theme
    except ImportError:  # the app module is optional here: Fusion with its own palette still renders
        app.setStyle("Fusion")
        return
    apply_theme(app, dark)


def _palette(dark: bool):
    try:
        from ..theme import make_palette
    except ImportError:
        return None
    return make_palette(dark)


def app_is_dark() -> bool:
    """The theme in use: the app's (set by the main window), dark when nobody chose."""
    app = QApplication.instance()
    v = app.property("colossus_dark") if app is not None else None
    return True if v is None else bool(v)


# ============================================================================================== captions
def make_caption(engine, what: str) -> tuple[str, str]:
    """(left, right) caption texts: facility and what is shown; simulated time, seed and app version."""
    left = f"{engine.facility.name}  ·  {what}"
    right = f"simulated {format_clock(engine.t)}  ·  seed {engine.seed}  ·  Colossus GUI {__version__}"
    return left, right


def caption_height() -> int:
    """Height of the caption strip in logical pixels (depends on the application font)."""
    return int(QFontMetrics(_caption_font()).height() * 1.9)


def _caption_font():
    f = QFont(QApplication.font())
    f.setPointSizeF(max(9.0, f.pointSizeF() * 1.1))
    return f


# ============================================================================================== rendering
def prepare_offscreen(widget, width: int, height: int) -> None:
    """Size a widget that is not on screen and lay it out, without showing a window on a desktop."""
    if widget.isWindow() and not widget.isVisible():
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.resize(width, height)
    if not widget.isVisible():
        widget.show()  # views recolour and lay out on show; WA_DontShowOnScreen keeps it off the desktop
    QApplication.sendPostedEvents()  # layouts and resize events, but no timers or user input
    if widget.layout() is not None:
        widget.layout().activate()


def render_image(widget, caption: str | tuple[str, str] | None = None, scale: int = 1, dark: bool | None = None):
    """The widget as it looks now, drawn into a QImage of ``scale`` x its size, plus the caption strip.
    The image is ``scale * (width, height + caption_height())`` device pixels."""

    if scale not in (1, 2):
        raise ValueError(f"scale must be 1 or 2, not {scale!r}")
    dark = app_is_dark() if dark is None else dark
    w, h = widget.width(), widget.height()
    cap_h = caption_height() if caption else 0
    img = QImage(w * scale, (h + cap_h) * scale, QImage.Format.Format_RGB32)
    img.setDevicePixelRatio(scale)
    img.fill(widget.palette().color(widget.backgroundRole()))
    flags = QWidget.RenderFlag.DrawWindowBackground | QWidget.RenderFlag.DrawChildren
    # QWidget.render explicitly: QGraphicsView (pyqtgraph's plot widgets) overloads render() for scenes
    QWidget.render(widget, img, QPoint(0, 0), QRegion(), flags)
    if cap_h:
        left, right = (caption, "") if isinstance(caption, str) else caption
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        strip = QRect(0, h, w, cap_h)
        p.fillRect(strip, QColor("#0d1014") if dark else QColor("#e3e6ea"))
        p.fillRect(QRect(0, h, w, max(1, cap_h // 12)), QColor("#2f7fd1"))  # a rule: where the view ends
        p.setFont(_caption_font())
        p.setPen(QColor("#e8eaed") if dark else QColor("#15181c"))
        text_rect = strip.adjusted(12, 0, -12, 0)
        p.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight), right)
        right_w = p.fontMetrics().horizontalAdvance(right) + 24 if right else 0
        left_rect = text_rect.adjusted(0, 0, -right_w, 0)
        left = p.fontMetrics().elidedText(left, Qt.TextElideMode.ElideRight, left_rect.width())
        f = p.font()
        f.setBold(True)
        p.setFont(f)
        p.drawText(left_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), left)
        p.end()
    return img


def save_png(image, path: str | Path) -> Path:
    """Write a QImage as PNG atomically. Raises OSError naming the file when Qt cannot write it."""
    path = Path(path)
    fd, tmp = temp_file_beside(path, ".png")
    os.close(fd)
    try:
        if not image.save(tmp, "PNG", PNG_QUALITY):
            # Qt gives no reason; the usual ones are a full disk or a folder that vanished
            raise OSError(f"{path}: could not write the PNG (disk full or folder not writable?)")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return path


def render_png(widget, path: str | Path, caption: str | tuple[str, str] | None = None, scale: int = 1,
               dark: bool | None = None) -> Path:
    """Render ``widget`` (with its caption strip) to a PNG file at 1x or 2x; atomic."""
    return save_png(render_image(widget, caption, scale, dark), path)


# ============================================================================================== bundles
class OffscreenViews:
    """The facility views built once for an engine, off screen, each sized so its image is IMAGE_W x IMAGE_H.

    Focus: the hottest rack (its hall, its elevation, the tray holding its hottest GPU) -- what a report on
    the facility's state would open first."""

    def __init__(self, engine, dark: bool | None = None, width: int = IMAGE_W, height: int = IMAGE_H):
        app = QApplication.instance()
        self._themed = app is not None and app.property("colossus_dark") is not None
        ensure_app(dark)
        self.engine = engine
        self.dark = app_is_dark() if dark is None else bool(dark)
        self.width = width
        self.height = height
        self._zoom = 1
        self.rack = int(np.argmax(engine.rack_hottest_c)) if engine.n_racks else 0
        topo = engine.topo
        tj = np.asarray(engine.tj)[self.rack]
        self.tray = self.rack * topo.trays_per_rack + int(np.argmax(tj)) // topo.gpus_per_tray
        self.hall = int(topo.rack_hall[self.rack])
        self._built: dict[str, object] = {}

    # ---- the views, built on first use ----------------------------------------------------------------
    def _own(self, w):
        pal = None if self._themed else _palette(self.dark)
        if pal is not None:  # a bare QApplication (tests, headless): give our widgets the app's look
            w.setPalette(pal)
        # image = zoom x (view + caption): a zoomed view is laid out at 1/zoom size and drawn at zoom x
        prepare_offscreen(w, self.width // self._zoom, self.height // self._zoom - caption_height())
        return w

    def site(self):
        from ..views.site_view import SiteView
        w = self._own(SiteView())
        w.set_engine(self.engine)
        w.refresh()
        return w

    def hall_view(self):
        from ..views.hall_view import HallView
        w = self._own(HallView())
        w.set_engine(self.engine)
        w.set_hall(self.hall)
        w.fit()
        w.select(self.rack)
        w.refresh(force=True)
        return w

    def gpus(self):
        from ..views.gpu_heatmap_view import GpuHeatmapView
        w = self._own(GpuHeatmapView())
        w.set_engine(self.engine)
        w.select(self.rack)
        w.fit()
        w.refresh(force=True)
        w.hover_label.hide()  # "point at a GPU ..." means nothing on paper
        return w

    def rack_view(self):
        from ..views.rack_view import RackView
        w = self._own(RackView())
        w.set_engine(self.engine)
        w.set_rack(self.rack)
        w.refresh(force=True)
        return w

    def tray_view(self):
        from ..views.tray_view import TrayView
        w = self._own(TrayView())
        w.set_engine(self.engine)
        w.set_tray(self.tray)
        w.refresh(force=True)
        # the tray's 5-minute history starts when the tray is opened; a fresh view has one sample, and two
        # empty plots would read as "no data" -- leave them out
        if getattr(w, "_hist_n", 2) < 2:
            w.plots.hide()
        return w

    def charts(self):
        from ..panels.charts import ChartPanelWidget
        w = ChartPanelWidget(dark=self.dark)
        w = self._own(w)
        w.set_engine(self.engine)
        w.set_range(None)  # the whole run the telemetry holds: a report wants the history, not 5 min
        w.redraw(force=True)
        w.refresh_text()
        follow = getattr(w, "follow_button", None)
        if follow is not None:
            follow.hide()  # "Following" is a live-mode control
        return w

    def fabric_view(self):
        from ..views.fabric_view import FabricView
        w = self._own(FabricView())
        w.set_engine(self.engine)
        w.refresh(force=True)
        return w

    def storage_view(self):
        from ..views.storage_view import StorageView
        w = self._own(StorageView())
        w.set_engine(self.engine)
        w.refresh(force=True)
        return w

    def widget(self, key: str):
        if key not in self._built:
            self._zoom = ZOOM.get(key, 1)
            self._built[key] = getattr(self, BUNDLE_IMAGES[key][1])()
        return self._built[key]

    def caption(self, key: str) -> tuple[str, str]:
        topo = self.engine.topo
        what = {
            "site": "site: power and cooling plant, halls",
            "hall": f"hall {topo.hall_names[self.hall]}, hottest rack {topo.rack_address(self.rack)} outlined",
            "gpus": "all GPUs: junction temperature",
            "rack": f"rack {topo.rack_address(self.rack)} (hottest rack): elevation and rear door",
            "tray": f"tray {topo.tray_address(self.tray)} (holds the hottest GPU)",
            "charts": "live charts, whole run",
            "fabric": "network fabric: switches and links by load and health",
            "storage": "storage: nodes, pool bandwidth, rebuilds, checkpoint bandwidth",
        }[key]
        return make_caption(self.engine, what)

    def write(self, key: str, path: Path) -> Path:
        w = self.widget(key)
        QApplication.sendPostedEvents()
        return render_png(w, path, self.caption(key), scale=ZOOM.get(key, 1), dark=self.dark)

    def discard(self, key: str) -> None:
        w = self._built.pop(key, None)
        if w is not None:
            w.close()
            w.deleteLater()

    def close(self) -> None:
        for key in list(self._built):
            self.discard(key)


# file name -> (key, builder method, description for the manifest)
BUNDLE_IMAGES = {
    "site": ("site.png", "site", "the site: grid, Megapacks, turbines, chillers and halls with live flows"),
    "hall": ("hall.png", "hall_view", "the hall holding the hottest rack, in three tiers (power, racks, cooling)"),
    "gpus": ("gpus.png", "gpus", "every GPU of the facility coloured by junction temperature"),
    "rack": ("rack.png", "rack_view", "elevation and rear door of the hottest rack"),
    "tray": ("tray.png", "tray_view", "the tray holding the hottest GPU: GPUs, CPUs, PSUs, NICs"),
    "charts": ("charts.png", "charts", "the live charts over the whole run: power, SoC, water, GPU temperatures, "
               "PUE, service"),
    "fabric": ("fabric.png", "fabric_view", "the network fabric: super-spines, spines, leaves, links; failed red"),
    "storage": ("storage.png", "storage_view", "the storage nodes by pool, bandwidth, rebuilds, checkpoint bandwidth"),
}

# Views with few, large elements (one tray, one rack) are laid out at half the size and drawn at 2x: the same
# 1920x1080 image, with text twice as large instead of tiles stretched around small print.
ZOOM = {"tray": 2, "rack": 2}


def bundle_png_writers(engine, dark: bool | None = None) -> dict[str, tuple[str, Callable[[Path], None]]]:
    """{file name: (description, writer(path))} for io.bundle.write_bundle. The views are built lazily by the
    first writer that needs them and closed after the last one; engine state is read at writing time."""
    views = OffscreenViews(engine, dark=dark)
    keys = list(BUNDLE_IMAGES)
    out: dict[str, tuple[str, Callable[[Path], None]]] = {}

    def writer_for(key: str):
        def write(path: Path) -> None:
            try:
                views.write(key, path)
            finally:
                views.discard(key)  # one view alive at a time: the 100k-GPU heatmap alone holds ~10 MB
                if key == keys[-1]:
                    views.close()
        return write

    for key in keys:
        name, _, desc = BUNDLE_IMAGES[key]
        out[name] = (desc, writer_for(key))
    return out


__all__ = ["ensure_app", "render_image", "render_png", "save_png", "make_caption", "caption_height",
           "OffscreenViews", "bundle_png_writers", "IMAGE_W", "IMAGE_H"]
