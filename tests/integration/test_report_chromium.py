"""The HTML report in a real browser: headless Chromium takes a screenshot that shows it.

The PNG is decoded with the standard library (zlib and struct), and the test checks
that the page is not blank and that the goal table's header fill (#e6e6e6) is drawn
across a wide band: a Chromium error page would be neither.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from services.report.render import render
from tests.unit.test_report_render import seed_report

# Debian calls it chromium, Ubuntu and others chromium-browser: whichever is on PATH.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs chromium or chromium-browser on PATH (scripts/test-prereqs.sh installs it)",
    ),
]

WIDTH, HEIGHT = 1400, 1000
HEADER_FILL = (0xE6, 0xE6, 0xE6)


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, bytes per pixel and the unfiltered pixel rows of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind_ = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if kind_ == 1:  # Sub
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind_ == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind_ == 3:  # Average
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind_ == 4:  # Paeth
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = prev[i]
                c = prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return width, height, channels, bytes(out)


def test_chromium_renders_the_report(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(render(seed_report(), "sv", "html"))
    shot = tmp_path / "report.png"
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        page.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.exists(), f"no screenshot (exit {done.returncode}): {done.stderr.decode()[-2000:]}"

    width, height, channels, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    total = width * height
    not_white = fill = 0
    for i in range(0, len(pixels), channels):
        rgb = (pixels[i], pixels[i + 1], pixels[i + 2])
        if rgb != (255, 255, 255):
            not_white += 1
            if rgb == HEADER_FILL:
                fill += 1
    assert not_white / total > 0.02, f"the page looks blank: {not_white} of {total} pixels drawn"
    assert not_white / total < 0.8, "the page is mostly not white: an error or a dark screen?"
    # Header cells of the goal table span about the page width, some 20 px high.
    assert fill > 10_000, f"no table header fill drawn ({fill} pixels of #e6e6e6)"
