#!/usr/bin/env python3
"""The README's pictures, from screenshots the end-to-end and browser tests take (run `npm test` first): each
test-results/*.png below is cropped (fractions of the window) and reduced to a 256-colour palette to stay under
300 KB, into docs/.

Usage: /usr/bin/python3 scripts/readme_picture.py
"""
import os

from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The ViT Lens panel alone: the second editor group (the first holds the walkthrough on a first run).
PANEL = (0.622, 0.045, 1.0, None)
SHOTS = [
    ("vscode-explorer.png", "panel-cat.png", PANEL),
    ("vscode-explorer-rollout.png", "panel-cat-rollout.png", PANEL),
    # The Inspector sidebar beside the panel on the beagle, a patch selected.
    ("vscode-sidebar.png", "inspector.png", (0.0, 0.045, 1.0, None)),
    # Why this class: tabby cat vs Egyptian Mau.
    ("vscode-why-compare.png", "why-compare.png", (0.243, 0.045, 0.72, 0.78)),
    # The Swin demo's shifted windows (test/browser/swin.test.ts, the whole 900 px page).
    ("swin-shifted-windows.png", "swin-windows.png", (0.0, 0.0, 1.0, 1.0)),
    # The ideas on the real ViT-Ti (test/browser/realModel.test.ts): the first two rows of cards.
    ("real-model-ideas.png", "ideas.png", (0.0, 0.0, 1.0, 0.39)),
]


def main():
    os.makedirs(os.path.join(REPO, "docs"), exist_ok=True)
    for src, dst, (left, top, right, bottom) in SHOTS:
        im = Image.open(os.path.join(REPO, "test-results", src)).convert("RGB")
        w, h = im.size
        panel = im.crop((int(w * left), int(h * top), int(w * right), int(h * bottom) if bottom else h - 22))
        out = os.path.join(REPO, "docs", dst)
        panel.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
        size = os.path.getsize(out)
        assert size < 300_000, f"{out}: {size} bytes, over 300 KB"
        print(out, size, "bytes")


if __name__ == "__main__":
    main()
