#!/usr/bin/env python3
"""The README's pictures, from screenshots the end-to-end tests take (run `npm test` or `npm run test:e2e` first):
test-results/vscode-explorer.png (the panel in code-server on cat_tabby.jpg with the bundled ImageNet ViT) →
docs/panel-cat.png, cropped to the panel and reduced to a 256-colour palette to stay well under 300 KB.

Usage: /usr/bin/python3 scripts/readme_picture.py
"""
import os

from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOTS = [("vscode-explorer.png", "panel-cat.png"), ("vscode-explorer-rollout.png", "panel-cat-rollout.png")]


def main():
    os.makedirs(os.path.join(REPO, "docs"), exist_ok=True)
    for src, dst in SHOTS:
        im = Image.open(os.path.join(REPO, "test-results", src)).convert("RGB")
        w, h = im.size
        # The editor area: right of the activity bar and the Explorer (about 350 of 1440 px), below the title bar.
        panel = im.crop((int(w * 0.243), int(h * 0.045), w, h - 22))
        out = os.path.join(REPO, "docs", dst)
        panel.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
        print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
