#!/usr/bin/env python3
"""Random-weight ViT-Ti/16, ViT-S/16 and ViT-B/16 at 224 px, and ViT-S/8 at 480 px (3 601 tokens: the memory
budget case), for `npm run bench` (nothing large is committed).
Usage: /usr/bin/python3 scripts/make_bench_models.py OUT_DIR"""
import importlib.util
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_demo_vit", os.path.join(HERE, "make_demo_vit.py"))
V = importlib.util.module_from_spec(spec)
spec.loader.exec_module(V)

# name: (width, heads, image size, patch[, depth]); vit-redraw-480: 3 601 tokens with full attention under the
# default memory budget (2 layers), for the panel's redraw time at that token count.
SIZES = {"vit-ti16": (192, 3, 224, 16), "vit-s16": (384, 6, 224, 16), "vit-b16": (768, 12, 224, 16), "vit-s8-480": (384, 6, 480, 8),
         "vit-redraw-480": (192, 3, 480, 8, 2)}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, (dim, heads, size, patch, *depth) in SIZES.items():
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path):
            continue
        model = V.ViT(1000, image_size=size, patch=patch, dim=dim, depth=depth[0] if depth else 12, heads=heads, mlp_ratio=4).eval()
        torch.onnx.export(model, torch.zeros(1, 3, size, size), path, opset_version=17, input_names=["pixel_values"],
                          output_names=["logits"], dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
        print("wrote", path, os.path.getsize(path))


if __name__ == "__main__":
    main()
