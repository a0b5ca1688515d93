#!/usr/bin/env python3
"""The Marketplace icon, media/icon.png (128×128 RGBA PNG): a 4×4 patch grid coloured by an attention-like heat
map (inferno-style colours, hottest on one patch), seen through a magnifying lens, on a dark rounded square.

Drawn at 8× and reduced with a Lanczos filter (anti-aliased edges); about 12 KB. Deterministic: the same bytes
on every run with the same Pillow.

Usage: /usr/bin/python3 scripts/make_icon.py [OUT.png]
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 128
SS = 8  # supersampling factor
BG = (24, 24, 37)  # the galleryBanner colour in package.json: #181825
GRID_LINE = (24, 24, 37)
LENS = (236, 239, 244)

# A few stops of matplotlib's "inferno" (black → purple → red → orange → yellow).
INFERNO = [
    (0.00, (0, 0, 4)), (0.15, (31, 12, 72)), (0.30, (85, 15, 109)), (0.45, (136, 34, 106)),
    (0.60, (186, 54, 85)), (0.72, (227, 89, 51)), (0.85, (249, 140, 10)), (0.95, (249, 201, 50)),
    (1.00, (252, 255, 164)),
]


def inferno(t):
    t = min(max(t, 0.0), 1.0)
    for (t0, c0), (t1, c1) in zip(INFERNO, INFERNO[1:]):
        if t <= t1:
            u = (t - t0) / (t1 - t0)
            return tuple(round(a + (b - a) * u) for a, b in zip(c0, c1))
    return INFERNO[-1][1]


def heat(r, c):
    """Attention-like map on the 4×4 grid: a Gaussian bump on patch (1, 1), a weaker one beside it."""
    main = np.exp(-((r - 1.1) ** 2 + (c - 1.2) ** 2) / 1.3)
    side = 0.45 * np.exp(-((r - 2.6) ** 2 + (c - 2.4) ** 2) / 0.8)
    return 0.18 + 0.82 * min(1.0, main + side)


def draw(path):
    s = SIZE * SS
    im = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([0, 0, s - 1, s - 1], radius=22 * SS, fill=BG + (255,))

    # The 4×4 patch grid.
    x0, y0, cell, gap = 14 * SS, 14 * SS, 22 * SS, 2 * SS
    for r in range(4):
        for c in range(4):
            x, y = x0 + c * cell, y0 + r * cell
            d.rounded_rectangle([x + gap // 2, y + gap // 2, x + cell - gap // 2, y + cell - gap // 2],
                                radius=3 * SS, fill=inferno(heat(r, c)) + (255,))
    # A thin frame around the grid.
    d.rounded_rectangle([x0 - SS, y0 - SS, x0 + 4 * cell + SS, y0 + 4 * cell + SS], radius=5 * SS,
                        outline=(70, 72, 96, 255), width=SS)

    # The lens over the hottest patches: a ring, a faint glass tint, and a handle to the lower right.
    cx, cy, rad, ring = 50 * SS, 50 * SS, 27 * SS, 6 * SS
    glass = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(glass).ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=(255, 255, 255, 38))
    im = Image.alpha_composite(im, glass)
    d = ImageDraw.Draw(im)
    hx0, hy0 = cx + int(rad * 0.72), cy + int(rad * 0.72)
    hx1, hy1 = 108 * SS, 108 * SS
    d.line([hx0, hy0, hx1, hy1], fill=BG + (255,), width=18 * SS)  # dark outline behind the handle
    d.line([hx0, hy0, hx1, hy1], fill=LENS + (255,), width=11 * SS)
    for e in ((hx1, hy1), (hx0, hy0)):
        d.ellipse([e[0] - 5 * SS, e[1] - 5 * SS, e[0] + 5 * SS, e[1] + 5 * SS], fill=LENS + (255,))
    d.ellipse([cx - rad - 4 * SS, cy - rad - 4 * SS, cx + rad + 4 * SS, cy + rad + 4 * SS],
              outline=BG + (255,), width=ring + 6 * SS)  # dark outline so the ring reads on any colour
    d.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], outline=LENS + (255,), width=ring)

    out = im.resize((SIZE, SIZE), Image.LANCZOS)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    out.save(path, optimize=True)
    print(f"{os.path.relpath(path, REPO)}: {SIZE}×{SIZE}, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    draw(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "media", "icon.png"))
