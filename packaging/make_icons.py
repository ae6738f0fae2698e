"""Render resources/tierdeck.svg into every icon file the packages need.

Writes (all committed, ~100 KB together; rerun after editing the SVG):
  resources/icons/tierdeck-<N>.png   N = 16 ... 512 (Linux hicolor theme, .desktop, Qt)
  resources/tierdeck.png             256 px (window icon where SVG support is missing)
  resources/tierdeck.ico             Windows (PNG-compressed entries, Vista and later)
  resources/tierdeck.icns            macOS .app (PNG-compressed entries)

    .venv/bin/python packaging/make_icons.py
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns entry types holding PNG data, by pixel size (Apple's documented OSTypes).
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09"}


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(p)
    p.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):
        raise SystemExit(f"make_icons: could not encode the {size} px PNG")
    buf.close()
    return bytes(data)


def ico(pngs: dict[int, bytes]) -> bytes:
    sizes = [s for s in ICO_SIZES if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        blob = pngs[s]
        dim = 0 if s >= 256 else s  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return header + entries + blobs


def icns(pngs: dict[int, bytes]) -> bytes:
    body = b""
    for size, ostype in ICNS_TYPES.items():
        blob = pngs[size]
        body += ostype + struct.pack(">I", 8 + len(blob)) + blob
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs it
    svg = RESOURCES / "tierdeck.svg"
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not an SVG Qt can render")
    pngs = {s: render_png(renderer, s) for s in PNG_SIZES}
    out = RESOURCES / "icons"
    out.mkdir(exist_ok=True)
    for s, blob in pngs.items():
        (out / f"tierdeck-{s}.png").write_bytes(blob)
    (RESOURCES / "tierdeck.png").write_bytes(pngs[256])
    (RESOURCES / "tierdeck.ico").write_bytes(ico(pngs))
    (RESOURCES / "tierdeck.icns").write_bytes(icns(pngs))
    total = sum(p.stat().st_size for p in RESOURCES.rglob("*") if p.is_file())
    print(f"make_icons: {len(pngs)} PNGs, .ico, .icns in {RESOURCES} ({total // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
