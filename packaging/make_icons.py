"""Render the app icon from resources/icons/colossus-gui.svg.

    uv run python packaging/make_icons.py                 # refresh resources/icons/colossus-gui.png (256x256)
    uv run python packaging/make_icons.py --platform DIR  # also DIR/colossus-gui.ico and DIR/colossus-gui.icns

The SVG is the source of truth; the PNG is committed because a .desktop icon theme, the wheel and the
bundle all want a raster at hand. The .ico/.icns are build products for the Windows and macOS recipes
(packaging/README.md); Qt's own image plugins write them, so no Pillow is needed.
Build tooling only: this file is not part of the colossus_gui package, so importing Qt here is allowed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSize, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "colossus-gui.svg"
PNG = ROOT / "resources" / "icons" / "colossus-gui.png"


def render(svg: Path, size_px: int) -> QImage:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG for QtSvg")
    img = QImage(QSize(size_px, size_px), QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(p)
    p.end()
    return img


def save(img: QImage, path: Path, fmt: str) -> None:
    # temp file + replace: a failed write never leaves a truncated icon behind
    tmp = path.with_name(path.name + ".tmp")
    writer = QImageWriter(str(tmp), fmt.encode())
    if not writer.write(img):
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"{path}: could not write {fmt}: {writer.errorString()}")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--platform", metavar="DIR", help="also write colossus-gui.ico and colossus-gui.icns here")
    args = ap.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage text/fonts need it)
    save(render(SVG, 256), PNG, "png")
    print(f"wrote {PNG}")
    if args.platform:
        out = Path(args.platform)
        out.mkdir(parents=True, exist_ok=True)
        formats = {bytes(f).decode() for f in QImageWriter.supportedImageFormats()}
        # Windows shows 256 px in Explorer's large views; macOS wants 1024 px for Retina Finder/Dock
        for fmt, size_px in (("ico", 256), ("icns", 1024)):
            if fmt not in formats:
                print(f"skipped {fmt}: this Qt has no {fmt} image plugin", file=sys.stderr)
                continue
            path = out / f"colossus-gui.{fmt}"
            save(render(SVG, size_px), path, fmt)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
