#!/usr/bin/env python3
"""Export torchvision's own ViT and Swin classes to ONNX: models written by other people, exported by
other people's code, so ViT Lens's detection is checked against graphs it was not tuned on.

The model code is torchvision 0.14's `VisionTransformer` and `SwinTransformer` (Debian's
python3-torchvision), unchanged; the export is plain `torch.onnx.export`. Sizes are small (random
weights, seed 0) so the files can be committed; the graph topology is the same as vit_b_16 / swin_t.
Writes test/fixtures/torchvision/: <name>.onnx, <name>.{input,logits,attention}.bin (float32 LE) and
expected.json (what torchvision's constructor arguments say the detector must find).

Requirements (Debian 12): apt-get install python3-torch python3-torchvision python3-onnx

Usage:
    /usr/bin/python3 scripts/make_torchvision_models.py [--out test/fixtures/torchvision]
"""

import argparse
import json
import os

import numpy as np
import onnx
import torch
import torchvision
from torchvision.models import SwinTransformer, VisionTransformer
from torchvision.models import swin_transformer as tv_swin

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 0


def export(model, path, size, opset, dynamic):
    x = torch.zeros(1, 3, size, size)
    kw = {"dynamic_axes": {"input": {0: "batch"}, "logits": {0: "batch"}}} if dynamic else {}
    # Autograd on: under no_grad an eval-mode nn.MultiheadAttention takes torch 1.13's fast path
    # (aten::_native_multi_head_attention), which has no ONNX export.
    with torch.enable_grad():
        torch.onnx.export(model, (x,), path, input_names=["input"], output_names=["logits"],
                          opset_version=opset, do_constant_folding=True, **kw)
    onnx.checker.check_model(onnx.load(path))


def vit_reference(model, x):
    """Logits and every encoder block's attention [L, H, T, T], asking torchvision's own
    nn.MultiheadAttention for per-head weights (the model itself calls it with need_weights=False)."""
    maps = []
    originals = []
    for block in model.encoder.layers:
        mha = block.self_attention
        orig = mha.forward
        originals.append((mha, orig))

        def fwd(query, key, value, need_weights=False, _orig=orig, **kw):
            out, w = _orig(query, key, value, need_weights=True, average_attn_weights=False, **kw)
            maps.append(w[0].detach())
            return out, None
        mha.forward = fwd
    with torch.no_grad():
        logits = model(x)
    for mha, orig in originals:
        mha.forward = orig
    return logits.numpy(), torch.stack(maps).numpy()


def swin_reference(model, x):
    """Logits and every block's window attention [nW, h, M², M²] (batch 1), captured by wrapping
    torchvision's softmax inside shifted_window_attention."""
    maps = []
    real_softmax = tv_swin.F.softmax

    def softmax(t, dim=-1, **kw):
        out = real_softmax(t, dim=dim, **kw)
        maps.append(out.detach())
        return out
    tv_swin.F.softmax = softmax
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        tv_swin.F.softmax = real_softmax
    return logits.numpy(), maps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test", "fixtures", "torchvision"))
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    cases = []

    def save(name, x, logits, extra):
        x.numpy().astype("<f4").tofile(os.path.join(out, f"{name}.input.bin"))
        logits.astype("<f4").tofile(os.path.join(out, f"{name}.logits.bin"))
        e = {"file": f"{name}.onnx", "bytes": os.path.getsize(os.path.join(out, f"{name}.onnx")),
             "input": f"{name}.input.bin", "logits": f"{name}.logits.bin",
             "torchvision": torchvision.__version__, "torch": torch.__version__}
        e.update(extra)
        cases.append(e)

    # ViT: the vit_b_16 class at a small size (image 64, patch 16 -> 4x4, width 64, 3 layers, 4 heads).
    torch.manual_seed(SEED)
    cfg = dict(image_size=64, patch_size=16, num_layers=3, num_heads=4, hidden_dim=64, mlp_dim=128,
               num_classes=10)
    vit = VisionTransformer(**cfg).eval()
    with torch.no_grad():  # torchvision zero-inits the head; give it weights so logits differ
        vit.heads.head.weight.normal_(0, 0.2)
    export(vit, os.path.join(out, "vit.onnx"), 64, 14, dynamic=True)
    x = torch.rand(1, 3, 64, 64)
    logits, att = vit_reference(vit, x)
    att.astype("<f4").tofile(os.path.join(out, "vit.attention.bin"))
    save("vit", x, logits, {
        "class": "torchvision.models.VisionTransformer", "args": cfg, "opset": 14,
        "attention": "vit.attention.bin", "attentionShape": list(att.shape),
        "expect": {"family": "vit", "patchSize": 16, "grid": [4, 4], "embedDim": 64, "layers": 3,
                   "heads": 4, "prefixTokens": 1, "norm": "pre", "classifier": "cls",
                   "inputName": "input", "dynamicBatch": True}})

    # Swin: the swin_t class at a small size (image 64, patch 4 -> 16x16, width 24, window 4).
    torch.manual_seed(SEED)
    scfg = dict(patch_size=[4, 4], embed_dim=24, depths=[2, 2, 2], num_heads=[1, 2, 4],
                window_size=[4, 4], num_classes=10)
    swin = SwinTransformer(**scfg).eval()
    with torch.no_grad():
        swin.head.weight.normal_(0, 0.2)
    export(swin, os.path.join(out, "swin.onnx"), 64, 14, dynamic=False)
    x = torch.rand(1, 3, 64, 64)
    logits, maps = swin_reference(swin, x)
    blocks = []
    flat = []
    for i, a in enumerate(maps):
        blocks.append({"shape": list(a.shape), "offset": sum(f.size for f in flat)})
        flat.append(a.numpy().astype("<f4").ravel())
    np.concatenate(flat).tofile(os.path.join(out, "swin.attention.bin"))
    # torchvision shifts odd blocks by window // 2 unless the window covers the whole stage grid.
    grids = [16, 8, 4]
    shifted = [bi % 2 == 1 and grids[s] > 4 for s, d in enumerate(scfg["depths"]) for bi in range(d)]
    save("swin", x, logits, {
        "class": "torchvision.models.SwinTransformer", "args": scfg, "opset": 14,
        "attention": "swin.attention.bin", "attentionBlocks": blocks,
        "expect": {"family": "swin", "patchSize": 4, "embedDim": 24, "window": 4,
                   "depths": scfg["depths"], "heads": scfg["num_heads"], "grids": grids,
                   "shifted": shifted, "classifier": "gap", "inputName": "input"}})

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["file"], c["bytes"], "bytes")


if __name__ == "__main__":
    main()
