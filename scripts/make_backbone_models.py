#!/usr/bin/env python3
"""Write ViT backbones whose output is an embedding, not class scores, into test/fixtures/backbones/.

The tiny ViT of make_coverage_models.py (random weights, image 32, patch 8, width 32, 2 layers, 2 heads),
cut where users' backbone exports end:
- cls-embedding:  DINO / timm `num_classes=0` style: the final-norm CLS token, [B, 32];
- mean-embedding: the mean of the final-norm patch tokens, [B, 32];
- hf-vitmodel:    Hugging Face `ViTModel`: `last_hidden_state` [B, 17, 32] and `pooler_output`
                  (dense + tanh on CLS) [B, 32].
Each with expected.json (what ViT Lens must say the model outputs) and PyTorch references
(input, outputs, attention; float32 little-endian).

Usage: /usr/bin/python3 scripts/make_backbone_models.py
"""
import json
import os
import sys

import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cov  # noqa: E402

OUT = os.path.join(cov.REPO, "test", "fixtures", "backbones")


class Backbone(nn.Module):
    def __init__(self, kind):
        super().__init__()
        torch.manual_seed(cov.SEED)
        self.vit = cov.ViT(qkv="fused", scale_op="mul").eval()
        self.kind = kind
        self.pooler = nn.Linear(cov.DIM, cov.DIM)

    def forward(self, pixel_values):
        v = self.vit
        x = v.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([v.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + v.pos_embed
        for blk in v.blocks:
            x = blk(x)
        x = v.norm(x)
        if self.kind == "cls-embedding":
            return x[:, 0]
        if self.kind == "mean-embedding":
            return x[:, 1:].mean(dim=1)
        return x, torch.tanh(self.pooler(x[:, 0]))


CASES = {
    "cls-embedding": (["embedding"], {"kind": "embedding", "width": 32, "pooling": "cls"}),
    "mean-embedding": (["embedding"], {"kind": "embedding", "width": 32, "pooling": "mean"}),
    "hf-vitmodel": (["last_hidden_state", "pooler_output"], {"kind": "tokens", "width": 32, "tokens": 17}),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(cov.SEED)
    x = torch.rand(1, 3, cov.IMG, cov.IMG)
    x.numpy().astype("<f4").tofile(os.path.join(OUT, "input.bin"))
    expected = {}
    for case, (names, exp) in CASES.items():
        m = Backbone(case).eval()
        path = os.path.join(OUT, case + ".onnx")
        axes = {n: {0: "batch"} for n in ["pixel_values"] + names}
        torch.onnx.export(m, (torch.zeros(1, 3, cov.IMG, cov.IMG),), path, input_names=["pixel_values"],
                          output_names=names, opset_version=17, do_constant_folding=True, dynamic_axes=axes)
        onnx.checker.check_model(onnx.load(path))
        with torch.no_grad():
            outs = m(x)
        outs = outs if isinstance(outs, tuple) else (outs,)
        for n, o in zip(names, outs):
            o.numpy().astype("<f4").tofile(os.path.join(OUT, f"{case}.{n}.bin"))
        m.vit.attention().numpy().astype("<f4").tofile(os.path.join(OUT, f"{case}.attention.bin"))
        expected[case] = {"file": case + ".onnx", "outputs": {n: list(o.shape) for n, o in zip(names, outs)},
                          "expect": exp, "attentionShape": list(m.vit.attention().shape)}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
