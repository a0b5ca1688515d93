#!/usr/bin/env python3
"""Write PyTorch references for the gradient-based maps of src/shared/relevance.ts into
test/fixtures/relevance/.

The models are scripts/make_coverage_models.py's tiny random ViTs (seed cm.SEED, 32x32 image,
patch 8 -> 4x4 grid, dim 32, 2 layers, 2 heads, 5 classes), built exactly as the coverage fixtures
build them, on the same seeded input. For each case and two classes c (the model's top two logits):
autograd of logit[c] with retain_grad() on every block's post-softmax attention and on the last
block's norm1 output, then, written here independently of the TypeScript:

  * attention x gradient: (dA * A).clamp(min=0) per head and mean over heads, query row -> patches;
  * Chefer, Gur & Wolf (ICCV 2021) relevance, as their repo's generate_relevance
    (hila-chefer/Transformer-MM-Explainability, ViT notebook): avg_heads = (grad * cam).clamp(min=0)
    .mean(dim=0); R = R + torch.matmul(cam, R); map = R[start, prefix:]; min-max normalised as their
    visualisation does;
  * Grad-CAM as pytorch-grad-cam's GradCAM with the ViT reshape_transform (target layer
    blocks[-1].norm1): weights = np.mean(grads, axis=(2, 3)); cam = ReLU((weights * acts).sum(1));
    scale_cam_image (x - min) / (1e-7 + max), applied per layer then again by
    aggregate_multi_layers (target_size None: resizing to the image is the view's job).

Output: <case>.bin (float32 little-endian, C order, arrays concatenated) and expected.json (for
every array: offset in floats and shape), README.md.

Requirements (Debian 12): apt-get install python3-torch python3-onnx   (torch 1.13)

Usage:
    /usr/bin/python3 scripts/make_relevance_refs.py [--out test/fixtures/relevance]
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cm  # noqa: E402

CASES = [
    # name, ViT kwargs, prefix tokens, relevance start rows (None: mean of the patch rows), notes
    ("vit-cls", {}, 1, {"cls": [0]}, "timm-style ViT, CLS classifier"),
    ("deit-distilled", {"dist": True}, 2, {"cls": [0], "cls+dist": [0, 1]},
     "DeiT distilled: CLS + distillation token, heads averaged"),
    ("gap-no-cls", {"cls": False, "classifier": "gap"}, 0, {"mean": None},
     "no CLS, classifier on the mean of the patch tokens"),
]


def live_forward(self, x):
    """cm.Attention's fused-qkv forward, keeping the softmax output in the graph (the original
    stores a detached copy) so that its gradient can be retained."""
    B, T, C = x.shape
    qkv = self.qkv(x).reshape(B, T, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    a = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
    a.retain_grad()
    self.live = a
    return self.proj((a @ v).transpose(1, 2).reshape(B, T, C))


def build(kwargs):
    torch.manual_seed(cm.SEED)  # as make_coverage_models.main does before each case
    return cm.ViT(**kwargs).eval()


def grads_for(model, x, c):
    """One forward + backward of logit[c]: attention, its gradient, norm1 output and its gradient."""
    feats = {}

    def keep(_m, _i, out):
        out.retain_grad()
        feats["out"] = out

    h = model.blocks[-1].norm1.register_forward_hook(keep)
    model.zero_grad()
    logits = model(x)
    h.remove()
    logits[0, c].backward()
    A = torch.stack([b.attn.live[0].detach() for b in model.blocks])  # [L, H, T, T]
    dA = torch.stack([b.attn.live.grad[0] for b in model.blocks])
    return logits.detach()[0], A, dA, feats["out"].detach()[0], feats["out"].grad[0]


# ---- the reference maths, written the way the cited repos write it ------------------------------

def avg_heads(cam, grad):  # Transformer-MM-Explainability, "rule 5"
    cam = cam.reshape(-1, cam.shape[-2], cam.shape[-1])
    grad = grad.reshape(-1, grad.shape[-2], grad.shape[-1])
    cam = grad * cam
    cam = cam.clamp(min=0).mean(dim=0)
    return cam


def apply_self_attention_rules(R_ss, cam_ss):  # "rule 6"
    return torch.matmul(cam_ss, R_ss)


def generate_relevance(A, dA):
    num_tokens = A.shape[-1]
    R = torch.eye(num_tokens, num_tokens)
    for cam, grad in zip(A, dA):
        cam = avg_heads(cam, grad)
        R = R + apply_self_attention_rules(R, cam)
    return R


def chefer_minmax(rel):  # their visualisation: (x - min) / (max - min)
    return (rel - rel.min()) / (rel.max() - rel.min())


def vit_reshape_transform(tensor, height, width, prefix):  # pytorch-grad-cam ViT tutorial
    result = tensor[:, prefix:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def scale_cam_image(cam):  # pytorch_grad_cam.utils.image, target_size None
    result = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        result.append(img)
    return np.float32(result)


def grad_cam(features, grads, prefix):
    acts = vit_reshape_transform(features[None], cm.GRID, cm.GRID, prefix).numpy()
    grads = vit_reshape_transform(grads[None], cm.GRID, cm.GRID, prefix).numpy()
    weights = np.mean(grads, axis=(2, 3))                       # GradCAM.get_cam_weights
    cam = (weights[:, :, None, None] * acts).sum(axis=1)        # BaseCAM.get_cam_image
    raw = np.maximum(cam, 0)                                    # compute_cam_per_layer
    scaled = scale_cam_image(raw)[:, None, :]
    agg = np.mean(np.maximum(np.concatenate([scaled], axis=1), 0), axis=1)  # aggregate_multi_layers
    return weights[0], raw[0], scale_cam_image(agg)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(cm.REPO, "test", "fixtures", "relevance"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(cm.SEED)
    x = torch.rand(1, 3, cm.IMG, cm.IMG)  # the coverage fixtures' input

    meta = {"generator": "scripts/make_relevance_refs.py", "seed": cm.SEED, "torch": torch.__version__,
            "input": "torch.rand(1, 3, 32, 32) after torch.manual_seed(0) (as test/fixtures/coverage)",
            "binFormat": "raw float32 little-endian, C order; arrays at offset (in floats) with shape",
            "grid": [cm.GRID, cm.GRID], "cases": []}
    for name, kwargs, prefix, starts, notes in CASES:
        model = build(kwargs)
        with torch.no_grad():
            ref_logits = model(x)[0]
            ref_att = model.attention()
        for blk in model.blocks:
            blk.attn.forward = live_forward.__get__(blk.attn)
        classes = [int(i) for i in torch.argsort(ref_logits, descending=True)[:2]]
        arrays, index = [], {}

        def put(key, t):
            a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
            index[key] = {"offset": sum(v.size for v in arrays), "shape": list(a.shape)}
            arrays.append(a.ravel())

        entry = {"case": name, "notes": notes, "vit": kwargs, "prefix": prefix, "classes": classes,
                 "logits": [float(v) for v in ref_logits], "starts": {}, "arrays": index}
        for c in classes:
            logits, A, dA, F, dF = grads_for(model, x, c)
            # the patched forward must be the coverage model's forward
            assert torch.allclose(logits, ref_logits, atol=1e-6) and torch.allclose(A, ref_att, atol=1e-7)
            T, H = A.shape[-1], A.shape[1]
            if "attention" not in index:
                put("attention", A)
            put(f"c{c}.attnGrad", dA)
            put(f"c{c}.features", F)
            put(f"c{c}.featureGrads", dF)
            prod = (dA * A).clamp(min=0)                               # [L, H, T, T]
            per = torch.cat([prod, prod.mean(dim=1, keepdim=True)], 1)  # heads 0..H-1, then mean
            put(f"c{c}.attnGradRows", per[:, :, :, prefix:])         # every query row, [L, H+1, T, N]
            R = generate_relevance(A, dA)
            put(f"c{c}.relevanceMatrix", R)
            for sname, rows in starts.items():
                row = R[prefix:].mean(dim=0) if rows is None else R[rows].mean(dim=0)
                rel = row[prefix:]
                entry["starts"][sname] = "mean" if rows is None else rows
                put(f"c{c}.relevance.{sname}.raw", rel)
                put(f"c{c}.relevance.{sname}.normalized", chefer_minmax(rel))
            w, raw, norm = grad_cam(F, dF, prefix)
            put(f"c{c}.gradcam.weights", w)
            put(f"c{c}.gradcam.raw", raw)
            put(f"c{c}.gradcam.normalized", norm)
        entry["tokens"], entry["heads"], entry["layers"], entry["dim"] = T, H, A.shape[0], F.shape[-1]
        entry["bin"] = f"{name}.bin"
        np.concatenate(arrays).astype("<f4").tofile(os.path.join(out, entry["bin"]))
        meta["cases"].append(entry)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("# Relevance references\n\n" + __doc__.split("Requirements")[0].replace(
            "Write PyTorch references", "PyTorch references", 1).replace(" into\ntest/fixtures/relevance/.", ".", 1))
        f.write("Regenerate: /usr/bin/python3 scripts/make_relevance_refs.py\n")


if __name__ == "__main__":
    main()
