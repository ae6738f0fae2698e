"""Icons and the Linux menu entry: right sizes, valid containers, in step with the SVG."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RES = REPO / "resources"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_png_sizes(size):
    assert png_size((RES / "icons" / f"tierdeck-{size}.png").read_bytes()) == (size, size)


def test_ico_and_icns_hold_pngs_of_the_sizes_they_claim():
    ico = (RES / "tierdeck.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 5
    for i in range(count):
        w, h, _, _, _, _, length, offset = struct.unpack("<BBBBHHII", ico[6 + 16 * i:22 + 16 * i])
        side = w or 256
        assert png_size(ico[offset:offset + length]) == (side, side)

    icns = (RES / "tierdeck.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    pos, kinds = 8, []
    while pos < len(icns):
        kind, length = icns[pos:pos + 4], struct.unpack(">I", icns[pos + 4:pos + 8])[0]
        png_size(icns[pos + 8:pos + length])
        kinds.append(kind)
        pos += length
    assert {b"icp4", b"ic07", b"ic08", b"ic09"} <= set(kinds)  # 16, 128, 256, 512


def test_committed_pngs_match_the_svg(qapp):
    """Someone who edits tierdeck.svg must rerun packaging/make_icons.py."""
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    spec = importlib.util.spec_from_file_location("make_icons", REPO / "packaging" / "make_icons.py")
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)
    fresh = QImage.fromData(make_icons.render_png(QSvgRenderer(str(RES / "tierdeck.svg")), 64))
    committed = QImage(str(RES / "icons" / "tierdeck-64.png"))
    assert committed.size() == fresh.size()
    worst = max(
        abs(a - b)
        for y in range(0, 64, 2) for x in range(0, 64, 2)
        for a, b in zip(committed.pixelColor(x, y).getRgb(), fresh.pixelColor(x, y).getRgb(),
                        strict=True)
    )
    assert worst <= 8, "resources/icons are stale: run .venv/bin/python packaging/make_icons.py"


def test_desktop_entry():
    path = REPO / "packaging" / "linux" / "tierdeck.desktop"
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(path)
    entry = cp["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "TierDeck"
    assert entry["Exec"] == "tierdeck" and entry["Icon"] == "tierdeck"
    assert entry["Terminal"] == "false" and entry["Categories"].endswith(";")
    validator = shutil.which("desktop-file-validate")
    if validator:
        r = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout.strip(), r.stdout
