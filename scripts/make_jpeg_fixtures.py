#!/usr/bin/env python3
"""JPEGs of every common encoding, for the test that the extension host decodes them as Chromium does
(src/host/decodeJpeg.ts). Run: /usr/bin/python3 scripts/make_jpeg_fixtures.py  (writes test/fixtures/jpeg/)."""
import os

from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "jpeg")


def main():
    os.makedirs(OUT, exist_ok=True)
    im = Image.open(os.path.join(REPO, "samples", "dog_beagle.jpg")).convert("RGB").resize((241, 163), Image.BICUBIC)
    out = lambda name: os.path.join(OUT, name)
    im.save(out("baseline-420.jpg"), quality=75, subsampling=2)
    im.save(out("baseline-422.jpg"), quality=85, subsampling=1)
    im.save(out("baseline-444-q100.jpg"), quality=100, subsampling=0)
    im.save(out("progressive.jpg"), quality=90, progressive=True)
    im.save(out("optimized-q40.jpg"), quality=40, optimize=True)
    im.convert("L").save(out("grey.jpg"), quality=90)
    exif = Image.Exif()
    for o in (3, 6, 8):
        exif[0x0112] = o
        im.save(out(f"orientation-{o}.jpg"), quality=85, exif=exif.tobytes())
    im.resize((7, 5)).save(out("tiny-7x5.jpg"), quality=90)


if __name__ == "__main__":
    main()
