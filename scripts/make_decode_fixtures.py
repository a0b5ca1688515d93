#!/usr/bin/env python3
"""JPEGs of every common encoding and opaque PNGs, for the test that the extension host decodes them as Chromium
does (src/host/decodeJpeg.ts, decodePng.ts). Run: /usr/bin/python3 scripts/make_decode_fixtures.py  (writes
test/fixtures/jpeg/ and test/fixtures/png/)."""
import os
import struct
import zlib

from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "jpeg")
PNG_OUT = os.path.join(REPO, "test", "fixtures", "png")


def with_chunk(png, kind, data):
    """`png` with a chunk inserted before its first IDAT."""
    at = png.index(b"IDAT") - 4
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return png[:at] + chunk + png[at:]


def pngs():
    os.makedirs(PNG_OUT, exist_ok=True)
    out = lambda name: os.path.join(PNG_OUT, name)
    im = Image.open(os.path.join(REPO, "samples", "coffee.png")).convert("RGB").resize((203, 137), Image.BICUBIC)
    im.save(out("rgb.png"))
    im.convert("L").save(out("grey.png"))
    im.quantize(64).save(out("palette-64.png"))
    # Palette entry 0 fully transparent: the host leaves it to the page (its tRNS chunk).
    im.quantize(64).save(out("palette-transparent.png"), transparency=0)
    im.convert("L").convert("1").save(out("bilevel-1bit.png"))
    rgb = open(out("rgb.png"), "rb").read()
    # Chromium ignores these with colorSpaceConversion 'none', as the host does.
    with open(out("gamma-1.0.png"), "wb") as f:
        f.write(with_chunk(rgb, b"gAMA", struct.pack(">I", 100000)))
    with open(out("srgb-chunk.png"), "wb") as f:
        f.write(with_chunk(rgb, b"sRGB", b"\x00"))


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
    pngs()


if __name__ == "__main__":
    main()
