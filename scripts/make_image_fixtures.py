#!/usr/bin/env python3
"""Small images of every kind a user may right-click, for ViT Lens's robustness tests.
Run: /usr/bin/python3 scripts/make_image_fixtures.py  (writes test/fixtures/bad-images/)."""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "bad-images")


def scene(w=160, h=120):
    """A red square top-left on a blue background, so orientation and channels can be checked."""
    a = np.zeros((h, w, 3), np.uint8)
    a[..., 2] = 200
    a[10:50, 10:50] = (220, 30, 30)
    return a


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    img = Image.fromarray(scene())
    buf = io.BytesIO(); img.save(buf, "PNG"); save("rgb.png", buf.getvalue())
    # 16-bit greyscale PNG.
    g16 = (np.linspace(0, 65535, 160 * 120).reshape(120, 160)).astype(np.uint16)
    buf = io.BytesIO(); Image.fromarray(g16, mode="I;16").save(buf, "PNG"); save("grey16.png", buf.getvalue())
    buf = io.BytesIO(); img.convert("L").save(buf, "PNG"); save("grey8.png", buf.getvalue())
    rgba = np.dstack([scene(), np.full((120, 160), 128, np.uint8)])
    buf = io.BytesIO(); Image.fromarray(rgba, "RGBA").save(buf, "PNG"); save("alpha.png", buf.getvalue())
    buf = io.BytesIO(); img.convert("CMYK").save(buf, "JPEG", quality=90); save("cmyk.jpg", buf.getvalue())
    # EXIF orientation 6 (rotate 90° clockwise to display): stored sideways.
    exif = Image.Exif(); exif[0x0112] = 6
    buf = io.BytesIO(); img.transpose(Image.ROTATE_90).save(buf, "JPEG", quality=90, exif=exif.tobytes()); save("exif-rotated.jpg", buf.getvalue())
    frames = [Image.fromarray(scene()), Image.fromarray(255 - scene())]
    buf = io.BytesIO(); frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0); save("animated.gif", buf.getvalue())
    buf = io.BytesIO(); img.save(buf, "BMP"); save("image.bmp", buf.getvalue())
    buf = io.BytesIO(); img.save(buf, "WEBP", quality=90); save("image.webp", buf.getvalue())
    save("vector.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120"><rect width="160" height="120" fill="#0000c8"/><rect x="10" y="10" width="40" height="40" fill="#dc1e1e"/></svg>')
    save("empty.png", b"")
    png = open(os.path.join(OUT, "rgb.png"), "rb").read()
    save("truncated.png", png[: len(png) // 2])
    save("not-an-image.png", b"This is a text file with a .png name.\n")
    # A valid PNG header claiming 20000 x 20000 pixels (the IDAT is tiny and wrong): must be refused by size
    # before anything tries to decode 1.6 GB of pixels.
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    huge = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    save("huge-20000x20000.png", huge)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == "__main__":
    main()
