#!/usr/bin/env python3
"""PyTorch references for running the demo ViT at other resolutions and without position embeddings.

Loads the demo's training checkpoint (.cache/vit-demo.pt, checked against models/vit-demo.onnx) into the
PyTorch ViT of scripts/make_demo_vit.py and writes, under models/reference/vit-demo/resolution/:
- pos-<S>.bin: the position embedding for an S×S input, [1 + (S/16)², 96], the CLS row kept and the 14×14
  grid resized by torch.nn.functional.interpolate(mode="bicubic", align_corners=False) (timm's
  resample_abs_pos_embed does the same);
- logits-<S>.bin: the PyTorch model's logits on test_image(S) (a formula, recomputed by the tests);
- logits-nopos.bin: the logits at 224 with the position embedding set to zero, on test_image(224).
Run: /usr/bin/python3 scripts/reference_resolution.py
"""
import importlib.util
import json
import os

import onnx
import torch
from onnx import numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "models", "reference", "vit-demo", "resolution")
SIZES = [160, 224, 288, 384]


def test_image(size):
    """The input every reference uses, a formula the tests recompute (no image file to commit)."""
    c = torch.arange(3, dtype=torch.float64).view(3, 1, 1)
    i = torch.arange(size, dtype=torch.float64).view(1, size, 1)
    j = torch.arange(size, dtype=torch.float64).view(1, 1, size)
    return (2 * torch.sin(0.37 * i + 0.11 * (c + 1) * j + 0.5 * c)).float().unsqueeze(0)



def main():
    spec = importlib.util.spec_from_file_location("make_demo_vit", os.path.join(REPO, "scripts", "make_demo_vit.py"))
    V = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(V)
    # The training checkpoint the ONNX file was exported from (make_demo_vit.py --save-checkpoint); every
    # named initializer of the ONNX file must equal it, so these references are for the committed model.
    model = V.ViT(len(V.LABELS)).eval()
    model.load_state_dict(torch.load(os.path.join(REPO, ".cache", "vit-demo.pt"))["state_dict"])
    m = onnx.load(os.path.join(REPO, "models", "vit-demo.onnx"))
    sd = model.state_dict()
    named = [t for t in m.graph.initializer if t.name in sd]
    assert len(named) > 10 and all(torch.equal(torch.from_numpy(numpy_helper.to_array(t).copy()), sd[t.name]) for t in named)
    os.makedirs(OUT, exist_ok=True)
    index = {"model": "vit-demo.onnx", "sizes": [], "dtype": "float32", "endianness": "little"}
    with torch.no_grad():
        for size in SIZES:
            n = (size // V.PATCH) ** 2
            pos = model.pos_embed_for(n)[0]
            x = test_image(size)
            logits = model(x)
            pos.numpy().astype("<f4").tofile(os.path.join(OUT, f"pos-{size}.bin"))
            logits.numpy().astype("<f4").tofile(os.path.join(OUT, f"logits-{size}.bin"))
            index["sizes"].append({"size": size, "grid": size // V.PATCH, "tokens": n + 1, "posShape": list(pos.shape)})
            print(size, "tokens", n + 1, "top1", V.LABELS[int(logits.argmax())])
            if size == 224:
                saved = model.pos_embed.data.clone()
                model.pos_embed.data.zero_()
                model(x).numpy().astype("<f4").tofile(os.path.join(OUT, "logits-nopos.bin"))
                model.pos_embed.data.copy_(saved)
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
