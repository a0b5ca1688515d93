#!/usr/bin/env python3
"""Write the non-square fixtures into test/fixtures/nonsquare/ (the tiny ViT of make_coverage_models.py:
patch 8, embed dim 32, 2 layers, 2 heads, 5 classes; random weights, seed 0).

- nonsquare-fixed.onnx: a ViT trained-for (exported at) 24x40 (height x width): 3x5 patch grid, 1 + 15
  learned position embeddings, graph input fixed at [batch, 3, 24, 40]. Reference at 24x40.
- dino-dynamic-hw.onnx of test/fixtures/dino/ run at 24x40: its forward interpolates the 4x4 position grid to
  3x5 (bicubic, as DINO's interpolate_pos_encoding). The model is rebuilt with the same seed and checked against
  the dino fixture's 32x32 reference first; the reference here is at 24x40.

Each case: input, logits, every layer's attention, structure facts, the hottest patch of the default view (last
layer's CLS row over the patches, mean over heads) in expected.json.

Usage: /usr/bin/python3 scripts/make_nonsquare_styles.py [--out test/fixtures/nonsquare]
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cm  # noqa: E402
import make_dino_styles as dino  # noqa: E402

REPO = cm.REPO
H, W = 24, 40
ROWS, COLS = H // cm.PATCH, W // cm.PATCH


class NonSquareViT(cm.ViT):
    """cm.ViT with one position embedding per patch of a ROWS x COLS grid (and the CLS token)."""

    def __init__(self):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + ROWS * COLS, cm.DIM) * 0.5)


def export_fixed(model, path):
    x = torch.zeros(1, 3, H, W)
    with torch.enable_grad():
        torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"],
                          opset_version=17, do_constant_folding=True,
                          dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path))


def facts(dynamic_hw, grid):
    e = cm.expect(prefix=1)
    e["grid"] = list(grid)
    e["dynamicHW"] = dynamic_hw
    return e


def hottest(att):
    row = att[-1][:, 0, 1:].mean(axis=0)
    hot = int(np.argmax(row))
    return {"index": hot, "row": hot // COLS, "col": hot % COLS, "value": float(row[hot])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test/fixtures/nonsquare"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    cases = []

    torch.manual_seed(cm.SEED)
    model = NonSquareViT().eval()
    export_fixed(model, os.path.join(out, "nonsquare-fixed.onnx"))
    torch.manual_seed(cm.SEED)
    x = torch.rand(1, 3, H, W)
    logits, att = cm.run_torch(model, x)
    ref = cm.write_ref(out, "nonsquare-fixed", x, logits, att)
    e = facts(False, (ROWS, COLS))
    e["hottestPatch"] = hottest(att)
    cases.append({"file": "nonsquare-fixed.onnx", "case": f"ViT exported at {H}x{W} (height x width): "
                  f"{ROWS}x{COLS} grid, 1 + {ROWS * COLS} position embeddings", "input": [H, W],
                  "expect": e, "reference": ref})

    # The DINO fixture's model, rebuilt exactly as make_dino_styles.py builds it.
    torch.manual_seed(cm.SEED)
    d = dino.DinoViT().eval()
    torch.manual_seed(cm.SEED)
    x32 = torch.rand(1, 3, cm.IMG, cm.IMG)
    with torch.no_grad():
        l32 = d(x32).numpy().astype("<f4")
    ref32 = np.fromfile(os.path.join(REPO, "test/fixtures/dino/dino-dynamic-hw.logits.bin"), dtype="<f4")
    assert np.abs(l32.ravel() - ref32).max() < 1e-6, "rebuilt DINO model differs from the dino fixture"
    torch.manual_seed(cm.SEED + 1)
    x = torch.rand(1, 3, H, W)
    logits, att = cm.run_torch(d, x)
    ref = cm.write_ref(out, "dino-dynamic-hw-24x40", x, logits, att)
    e = facts(True, (ROWS, COLS))
    e["hottestPatch"] = hottest(att)
    cases.append({"file": "../dino/dino-dynamic-hw.onnx", "case": f"DINO export (dynamic height/width) run at {H}x{W}: "
                  f"its 4x4 position grid interpolated to {ROWS}x{COLS} in the graph", "input": [H, W],
                  "expect": e, "reference": ref})

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/make_nonsquare_styles.py", "seed": cm.SEED,
                   "torch": torch.__version__, "onnx": onnx.__version__,
                   "attentionLayout": "[layers, heads, tokens, tokens], batch item 0",
                   "cases": cases}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
