#!/usr/bin/env python3
"""Reference numbers for ViT Lens's attention views, computed independently with PyTorch from the PyTorch
attention of the demo ViT (models/reference/vit-demo/<fixture>/attention.bin):

- head fusion (mean / max / min) of the CLS row;
- attention rollout (Abnar & Zuidema; vit-explain's procedure with the row renormalization done per row and
  the CLS column kept when discarding) for several fusions, discard ratios and depths;
- DINO's mass-threshold mask (sort ascending, normalize, cumulative sum > 1 - threshold);
- mean attention distance per layer and head (ViT paper, Fig. 7 right): for each patch query, the
  attention-weighted pixel distance to the patch keys (prefix keys dropped, the rest renormalized), averaged
  over patch queries.

Writes models/reference/vit-demo/views.json. Run: /usr/bin/python3 scripts/reference_views.py
"""
import json
import os

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(REPO, "models", "reference", "vit-demo")


def fuse(att, how):  # att: [H, T, T]
    if how == "mean":
        return att.mean(0)
    if how == "max":
        return att.max(0).values
    if how == "min":
        return att.min(0).values
    return att[int(how)]


def rollout(atts, how, discard, upto):
    T = atts[0].shape[-1]
    result = torch.eye(T, dtype=torch.float64)
    for att in atts[: upto + 1]:
        fused = fuse(att, how).double().clone()
        if discard > 0:
            flat = fused.view(-1)
            candidates = torch.tensor([i for i in range(T * T) if i % T != 0])
            k = int(len(candidates) * discard)
            order = torch.argsort(flat[candidates], stable=True)
            flat[candidates[order[:k]]] = 0
        a = (fused + torch.eye(T, dtype=torch.float64)) / 2
        a = a / a.sum(dim=-1, keepdim=True)
        result = a @ result
    return result


def dino_mask(att, threshold):
    val, idx = torch.sort(att)
    val = val / val.sum()
    cumval = torch.cumsum(val, dim=0)
    th = cumval > (1 - threshold)
    mask = torch.zeros_like(th)
    mask[idx] = th
    return mask.int()


def attention_distance(att, patch=16):
    """[H, T, T] with one CLS token -> [H] mean distance in pixels, vectorized with numpy."""
    n = att.shape[-1] - 1
    g = int(round(n ** 0.5))
    yx = np.stack(np.meshgrid(np.arange(g), np.arange(g), indexing="ij"), -1).reshape(-1, 2).astype(np.float64)
    dist = np.sqrt(((yx[:, None, :] - yx[None, :, :]) ** 2).sum(-1)) * patch
    p = att[:, 1:, 1:].astype(np.float64)
    p = p / p.sum(-1, keepdims=True)
    return (p * dist[None]).sum(-1).mean(-1)


def main():
    index = json.load(open(os.path.join(REF, "index.json")))
    out = {"fixtures": []}
    for f in index["fixtures"]:
        L, H, T, _ = f["attentionShape"]
        a = np.fromfile(os.path.join(REF, f["name"], "attention.bin"), dtype="<f4").reshape(L, H, T, T)
        atts = [torch.from_numpy(a[l].copy()) for l in range(L)]
        entry = {"name": f["name"], "fusion": [], "rollout": [], "mass": [],
                 "distance": [attention_distance(a[l]).tolist() for l in range(L)]}
        for how in ["mean", "max", "min", "1"]:
            entry["fusion"].append({"layer": L - 1, "head": how, "cls": fuse(atts[L - 1], how)[0, 1:].tolist()})
        for how, discard, upto in [("mean", 0.0, L - 1), ("max", 0.9, L - 1), ("min", 0.5, 2), ("mean", 0.3, 0), ("0", 0.0, L - 1)]:
            r = rollout(atts, how, discard, upto)
            entry["rollout"].append({"head": how, "discard": discard, "upToLayer": upto, "cls": r[0, 1:].tolist(), "row": 50, "patchRow": r[50, 1:].tolist()})
        for thr in [0.3, 0.6, 0.9]:
            cls = fuse(atts[L - 1], "mean")[0, 1:]
            entry["mass"].append({"layer": L - 1, "threshold": thr, "mask": dino_mask(cls, thr).tolist()})
        out["fixtures"].append(entry)
    path = os.path.join(REF, "views.json")
    json.dump(out, open(path, "w"))
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
