#!/usr/bin/env python3
"""Write test/fixtures/token-order/: the tiny ViT of make_coverage_models.py (seed 0) with 2 register tokens
appended AFTER the patch tokens (torch.cat([x, reg], dim=1)), as some register implementations do.

The patches no longer end the token sequence, so a map drawn as "prefix + rows x cols" would be shifted; ViT Lens
must count only CLS as a prefix token and refuse every layer by the drawing rule (19 tokens found, 1 + 4x4 = 17
expected). Reference: input, logits, every layer's attention (to show the run is otherwise right) in expected.json.

Usage: /usr/bin/python3 scripts/make_token_order_styles.py [--out test/fixtures/token-order]
"""

import argparse
import json
import os
import sys

import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cm  # noqa: E402

REGISTERS = 2


class RegistersAfterPatches(cm.ViT):
    def __init__(self):
        super().__init__()
        self.reg_after = nn.Parameter(torch.randn(1, REGISTERS, cm.DIM))

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        B = x.shape[0]
        x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1) + self.pos_embed
        x = torch.cat([x, self.reg_after.expand(B, -1, -1)], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(cm.REPO, "test/fixtures/token-order"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(cm.SEED)
    model = RegistersAfterPatches().eval()
    name = "registers-after-patches"
    cm.export(model, os.path.join(out, name + ".onnx"), 17)
    torch.manual_seed(cm.SEED)
    x = torch.rand(1, 3, cm.IMG, cm.IMG)
    logits, att = cm.run_torch(model, x)
    ref = cm.write_ref(out, name, x, logits, att)
    tokens = 1 + cm.NPATCH + REGISTERS
    refusals = [f"Layer {i + 1} is not drawn: its attention has {tokens} tokens, but 1 prefix + {cm.GRID}×{cm.GRID} "
                f"patches = {1 + cm.NPATCH} tokens were expected." for i in range(cm.LAYERS)]
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/make_token_order_styles.py", "seed": cm.SEED, "torch": torch.__version__,
                   "onnx": onnx.__version__,
                   "cases": [{"file": name + ".onnx", "case": f"CLS, 4x4 patches, then {REGISTERS} registers",
                              "expect": {"prefixTokens": 1, "grid": [cm.GRID, cm.GRID], "tokens": tokens,
                                         "refusals": refusals}, "reference": ref}]}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
