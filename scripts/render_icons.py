"""Render resources/icons/dictation-app.svg to the PNG sizes, the Windows .ico and the macOS .icns.

Run as `.venv/bin/python scripts/render_icons.py` after editing the SVG, and commit the
outputs: builds and installers use the committed files and never need Qt's SVG renderer.
The ICO and ICNS containers are written here rather than with Pillow or png2icns so the
output is the same on every machine and needs nothing beyond PySide6: both are a small
header, a table and PNG-compressed images (PNG entries are valid in ICO since Windows
Vista and in ICNS since macOS 10.7).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICON_DIR = ROOT / "resources" / "icons"
SVG = ICON_DIR / "dictation-app.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# ICO tops out at 256 px (the size byte 0 means 256); Windows picks the nearest entry.
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS types holding PNG data, by pixel size. Retina variants ("@2x") reuse the doubled
# size: ic11 is 16@2x (32 px), ic12 32@2x (64 px), ic13 128@2x, ic14 256@2x, ic10 512@2x.
ICNS_TYPES: Sequence[tuple[bytes, int]] = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
    (b"ic09", 512), (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256),
    (b"ic14", 512),
)


def png_path(size: int, icon_dir: Path = ICON_DIR) -> Path:
    return icon_dir / f"dictation-app-{size}.png"


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn on a transparent size x size canvas, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    # PySide6's stub types the format as bytes, but the binding accepts only str.
    if not argb.save(buffer, "PNG"):  # type: ignore[call-overload]
        raise SystemExit(f"render_icons: could not encode the {size} px PNG")
    buffer.close()
    return bytes(data.data())


def build_ico(images: Mapping[int, bytes]) -> bytes:
    """An ICO file with one PNG-compressed entry per size (sizes up to 256)."""
    header = struct.pack("<HHH", 0, 1, len(images))  # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(images)
    entries = []
    payload = []
    for size, png in sorted(images.items()):
        if not 1 <= size <= 256:
            raise ValueError(f"ICO sizes are 1..256 px, not {size}")
        dim = size % 256  # 256 is stored as 0
        # width, height, palette colours, reserved, colour planes, bits per pixel, bytes, offset
        entries.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset))
        payload.append(png)
        offset += len(png)
    return header + b"".join(entries) + b"".join(payload)


def build_icns(entries: Iterable[tuple[bytes, bytes]]) -> bytes:
    """An ICNS file from (type, PNG bytes) pairs; lengths are big-endian and include headers."""
    body = b"".join(kind + struct.pack(">I", 8 + len(png)) + png for kind, png in entries)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG)
    parser.add_argument("--out", type=Path, default=ICON_DIR, help="output folder")
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    sizes = sorted({*PNG_SIZES, *ICO_SIZES, *(size for _, size in ICNS_TYPES)})
    rendered = {size: render_png(args.svg, size) for size in sizes}

    args.out.mkdir(parents=True, exist_ok=True)
    for size in PNG_SIZES:
        png_path(size, args.out).write_bytes(rendered[size])
    (args.out / "dictation-app.ico").write_bytes(
        build_ico({size: rendered[size] for size in ICO_SIZES}))
    (args.out / "dictation-app.icns").write_bytes(
        build_icns((kind, rendered[size]) for kind, size in ICNS_TYPES))
    print(f"render_icons: wrote {len(PNG_SIZES)} PNGs, dictation-app.ico and "
          f"dictation-app.icns to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
