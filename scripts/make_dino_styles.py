#!/usr/bin/env python3
"""Write the DINO-style fixtures into test/fixtures/dino/ (the tiny ViT of make_coverage_models.py:
image 32x32, patch 8, embed dim 32, 2 layers, 2 heads, 5 classes; random weights, seed 0).

- dino-dynamic-hw.onnx: exported with dynamic batch, height and width; forward interpolates the
  position embedding to the runtime grid as DINO does (interpolate_pos_encoding: CLS part + patch
  part reshaped to its native g x g grid, bicubic to h/p x w/p, concatenated back). It is traced at
  48x48 so the interpolation (not DINO's early return at the native size) is what the graph holds.
- cls-plus-1-register.onnx: CLS + 1 register token, static 32x32 (two prefix tokens, not DeiT).

Plus PyTorch references at 32x32 (input, logits, every layer's attention) and expected.json.

Usage: /usr/bin/python3 scripts/make_dino_styles.py [--out test/fixtures/dino]
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cm  # noqa: E402

REPO = cm.REPO


class DinoViT(cm.ViT):
    """cm.ViT (CLS, learned pos-embed, pre-norm) with DINO's prepare_tokens / interpolate_pos_encoding."""

    def interpolate_pos_encoding(self, x, w, h):
        # As facebookresearch/dino (vision_transformer.py) writes it, with DINOv2's size= form.
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        class_pos_embed = self.pos_embed[:, 0]
        patch_pos_embed = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // cm.PATCH
        h0 = h // cm.PATCH
        M = int(math.sqrt(N))
        patch_pos_embed = nn.functional.interpolate(
            patch_pos_embed.reshape(1, M, M, dim).permute(0, 3, 1, 2),
            size=(w0, h0), mode="bicubic")
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    def forward(self, pixel_values):
        B, nc, w, h = pixel_values.shape
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.interpolate_pos_encoding(x, w, h)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return self.head(x[:, 0])


def export(model, path, size, dynamic_hw):
    x = torch.zeros(1, 3, size, size)
    axes = {"pixel_values": {0: "batch"}, "logits": {0: "batch"}}
    if dynamic_hw:
        axes["pixel_values"] = {0: "batch", 2: "height", 3: "width"}
    with torch.enable_grad():
        torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"],
                          opset_version=17, do_constant_folding=True, dynamic_axes=axes)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test/fixtures/dino"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    cases = []

    def case(name, desc, model, trace_size, dynamic_hw, prefix):
        torch.manual_seed(cm.SEED)
        x = torch.rand(1, 3, cm.IMG, cm.IMG)
        model.eval()
        export(model, os.path.join(out, name + ".onnx"), trace_size, dynamic_hw)
        logits, att = cm.run_torch(model, x)
        ref = cm.write_ref(out, name, x, logits, att)
        row = att[-1][:, 0, prefix:].mean(axis=0)
        hot = int(np.argmax(row))
        exp = cm.expect(prefix=prefix)
        exp["dynamicHW"] = dynamic_hw
        exp["hottestPatch"] = {"index": hot, "row": hot // cm.GRID, "col": hot % cm.GRID,
                               "value": float(row[hot])}
        cases.append({"file": name + ".onnx", "case": desc, "expect": exp, "reference": ref})

    torch.manual_seed(cm.SEED)
    case("dino-dynamic-hw", "DINO ViT, dynamic batch/height/width, interpolate_pos_encoding "
         "(CLS pos + bicubic patch pos concatenated, then added); traced at 48x48", DinoViT(), 48,
         True, 1)
    torch.manual_seed(cm.SEED)
    case("cls-plus-1-register", "CLS + 1 register token (registers after pos-embed), static "
         "32x32: two prefix tokens, no distillation", cm.ViT(registers=1), cm.IMG, False, 2)

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/make_dino_styles.py", "seed": cm.SEED,
                   "torch": torch.__version__, "onnx": onnx.__version__,
                   "input": {"shape": [1, 3, cm.IMG, cm.IMG], "dtype": "float32"},
                   "attentionLayout": "[layers, heads, tokens, tokens], batch item 0",
                   "cases": cases}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
