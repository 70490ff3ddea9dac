# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the map's label glyphs (issue 21): signed-distance-field glyph PBFs, the format
MapLibre's `glyphs` URL serves, for DejaVu Sans Book (Debian's fonts-dejavu-core, free
licence in web/static/vendor/glyphs/LICENSE.txt), written to
src/mineaction/web/static/vendor/glyphs/DejaVu Sans Book/<start>-<end>.pbf.

Why our own: the usual generator (node-fontnik) is a native module whose binaries come
from outside the package registries; this is PIL's FreeType rendering, SciPy's Euclidean
distance transform and the glyphs.proto message written by hand, once, at build time.

The glyphs follow MapLibre's own conventions for SDF glyphs (its TinySDF: 24 px em, a
3 px buffer, radius 8, cutoff 0.25). Only the ranges the map's labels need are written:
Latin, Latin extended, combining marks, Greek, Cyrillic and Latin Extended Additional.
Arabic is left out: it needs MapLibre's RTL-text plugin for shaping.

    .venv/bin/python scripts/build_glyphs.py /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import distance_transform_edt

STACK = "DejaVu Sans Book"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OUT = Path(__file__).parents[1] / "src/mineaction/web/static/vendor/glyphs" / STACK
RANGES = (0, 256, 512, 768, 1024, 7680)
SIZE, BUFFER, RADIUS, CUTOFF, SCALE = 24, 3, 8, 0.25, 4
# MapLibre places a glyph's top this far below the line's top (its own TinySDF glyphs
# use 27.5 at this size; fontnik's come out within a pixel of it).
TOP_ADJUST = 26


def _varint(v: int) -> bytes:
    out = bytearray()
    while v > 0x7F:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _uint(field: int, v: int) -> bytes:
    return _varint(field << 3) + _varint(v)


def _sint(field: int, v: int) -> bytes:
    return _varint(field << 3) + _varint((v << 1) ^ (v >> 31))


def _bytes(field: int, b: bytes) -> bytes:
    return _varint((field << 3) | 2) + _varint(len(b)) + b


def _sdf(font: ImageFont.FreeTypeFont, ch: str, w: int, h: int, left: int, top: int) -> bytes:
    """The glyph's signed distance field, (w + 2 BUFFER) x (h + 2 BUFFER) bytes, from a
    rendering SCALE times larger (so the distance is smooth at the glyph's edge)."""
    W, H = (w + 2 * BUFFER) * SCALE, (h + 2 * BUFFER) * SCALE
    img = Image.new("L", (W, H), 0)
    ImageDraw.Draw(img).text(((BUFFER - left) * SCALE, (BUFFER + top) * SCALE), ch,
                             font=font, fill=255, anchor="ls")
    inside = np.asarray(img) > 127
    d = (distance_transform_edt(~inside) - distance_transform_edt(inside)) / SCALE
    d = d[SCALE // 2::SCALE, SCALE // 2::SCALE][: h + 2 * BUFFER, : w + 2 * BUFFER]
    v = np.clip(255 - 255 * (d / RADIUS + CUTOFF), 0, 255)
    return np.round(v).astype(np.uint8).tobytes()


def build(font_path: Path) -> None:
    cmap = TTFont(font_path).getBestCmap()
    small = ImageFont.truetype(str(font_path), SIZE)
    big = ImageFont.truetype(str(font_path), SIZE * SCALE)
    OUT.mkdir(parents=True, exist_ok=True)
    for start in RANGES:
        end = start + 255
        glyphs = bytearray()
        for cp in range(start, end + 1):
            if cp not in cmap:
                continue
            ch = chr(cp)
            left, t, r, b = small.getbbox(ch, anchor="ls")
            advance = round(small.getlength(ch))
            w, h = max(0, r - left), max(0, b - t)
            msg = _uint(1, cp)
            if w and h:
                msg += _bytes(2, _sdf(big, ch, w, h, left, -t))
            msg += _uint(3, w) + _uint(4, h) + _sint(5, left) + _sint(6, -t - TOP_ADJUST)
            msg += _uint(7, advance)
            glyphs += _bytes(3, msg)
        stack = _bytes(1, STACK.encode()) + _bytes(2, f"{start}-{end}".encode()) + glyphs
        (OUT / f"{start}-{end}.pbf").write_bytes(_bytes(1, stack))
        print(f"{start}-{end}.pbf", len(stack))


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else DEJAVU))
