#!/usr/bin/env python3
"""The walkthrough's pictures (package.json contributes.walkthroughs → media/walkthrough/*.png), cut from the
screenshots the tests take into test-results/ (run `npm test`, or `npm run test:e2e` and the browser tests, first):

  visualize.png  ← vscode-explorer.png (code-server e2e: the panel on cat_tabby.jpg, bundled ImageNet ViT)
  inspect.png    ← vscode-sidebar.png (e2e: the Inspector sidebar and the panel with patch (3, 5) selected)
  ideas.png      ← ideas.png (test/browser/ideas.test.ts: the top of the ideas section)
  model.png      ← vscode-walkthrough-summary.png (e2e walkthrough test: the panel's model summary)
  swin.png       ← swin-shifted-windows.png (test/browser/swin.test.ts: the Swin demo's windows)

Each is reduced to a 256-colour palette to stay well under 300 KB (the package carries them).

Usage: /usr/bin/python3 scripts/walkthrough_pictures.py
"""
import os

from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOTS = os.path.join(REPO, "test-results")
OUT = os.path.join(REPO, "media", "walkthrough")
LIMIT = 300 * 1024


def shot(name):
    return Image.open(os.path.join(SHOTS, name)).convert("RGB")


def panel_of(im):
    """The editor area of a 1440×900 workbench screenshot: right of the activity bar and the Explorer."""
    w, h = im.size
    return im.crop((int(w * 0.243), int(h * 0.045), w, h - 22))


def sidebar_and_panel(im):
    """The Inspector sidebar and the ViT Lens panel side by side, without the image preview between them."""
    w, h = im.size
    sx = w / 1440
    top, bottom = int(42 * sx), h - 22
    side = im.crop((int(50 * sx), top, int(348 * sx), bottom))
    panel = im.crop((int(897 * sx), top, w, bottom))
    out = Image.new("RGB", (side.width + 8 + panel.width, side.height), im.getpixel((int(600 * sx), int(120 * sx))))
    out.paste(side, (0, 0))
    out.paste(panel, (side.width + 8, 0))
    return out


def save(im, name, max_width=900):
    if im.width > max_width:
        im = im.resize((max_width, round(im.height * max_width / im.width)), Image.LANCZOS)
    path = os.path.join(OUT, name)
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    size = os.path.getsize(path)
    print(path, im.size, size, "bytes")
    if size > LIMIT:
        raise SystemExit(f"{name} is {size} bytes, over {LIMIT}")


def main():
    os.makedirs(OUT, exist_ok=True)
    panel = panel_of(shot("vscode-explorer.png"))
    save(panel.crop((0, 0, panel.width, int(panel.height * 0.72))), "visualize.png")  # down to the predictions
    save(sidebar_and_panel(shot("vscode-sidebar.png")), "inspect.png")
    ideas = shot("ideas.png")
    save(ideas.crop((0, 0, ideas.width, min(ideas.height, 900))), "ideas.png")
    save(shot("vscode-walkthrough-summary.png"), "model.png")
    save(shot("swin-shifted-windows.png"), "swin.png")


if __name__ == "__main__":
    main()
