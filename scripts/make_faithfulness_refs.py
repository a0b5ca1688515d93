#!/usr/bin/env python3
"""PyTorch references for occlusion maps and deletion/insertion curves (issue 14) on the demo ViT.

The demo ViT's torch module is the one scripts/make_demo_vit.py trains (imported from there, not
rewritten), with its weights read back from the initializers of models/vit-demo.onnx, so the
references describe exactly the graph the extension runs. Before anything else the script checks
that this module reproduces the committed reference logits (models/reference/vit-demo/*/logits.bin).

Definitions (the same as src/shared/occlusion.ts and src/shared/faithfulness.ts):
  - blank: a patch's pixels in the *normalized* input are set to 0, i.e. the per-channel mean
    colour of the training statistics ((mean*scale/scale - mean)/std = 0).
  - class probability: softmax of the logits (float64) at the top-1 class of the unperturbed input.
  - occlusion map: p(class | input) - p(class | input with that patch blanked), per model patch.
  - ranking: hottest first; ties broken by the lower patch index (stable sort of the negated map).
  - steps k = 0, 1/10, ..., 1: the top round_half_up(k * n) patches are blanked (deletion) or
    restored into the fully blanked input (insertion); AUC by the trapezoid rule over k in [0, 1].

Usage: /usr/bin/python3 scripts/make_faithfulness_refs.py   (writes test/fixtures/faithfulness/vit-demo.json)
"""

import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import make_demo_vit as demo  # noqa: E402  (the trained module's definition)

REF_DIR = os.path.join(REPO, "models", "reference", "vit-demo")
OUT_DIR = os.path.join(REPO, "test", "fixtures", "faithfulness")
STEPS = 10
BATCH = 28


def load_demo():
    """The demo ViT with the ONNX file's weights. The exporter renamed the Linear weights feeding MatMul
    (stored transposed, as onnx::MatMul_*); their graph order is qkv, proj, fc1, fc2 per block."""
    m = onnx.load(os.path.join(REPO, "models", "vit-demo.onnx"))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    model = demo.ViT(len(demo.LABELS))
    sd = model.state_dict()
    new = {}
    for k in sd:
        if k in inits:
            new[k] = torch.from_numpy(inits[k].copy())
    matmul_weights = [n.input[1] for n in m.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    names = [f"blocks.{b}.{p}.weight" for b in range(demo.DEPTH) for p in ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")]
    assert len(matmul_weights) == len(names), (len(matmul_weights), len(names))
    for name, w in zip(names, matmul_weights):
        t = torch.from_numpy(inits[w].T.copy())
        assert t.shape == sd[name].shape, (name, t.shape, sd[name].shape)
        new[name] = t
    missing = [k for k in sd if k not in new]
    # token_head is training-only (not exported): it never touches the CLS logits.
    assert all(k.startswith("token_head.") for k in missing), missing
    model.load_state_dict(new, strict=False)
    model.eval()
    return model


def read_f32(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)


def softmax64(logits):
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def blank(x, patches, cols, patch):
    """x: [C,H,W] normalized; set each listed patch to 0 (the mean colour) in place."""
    for p in patches:
        r, c = divmod(int(p), cols)
        x[:, r * patch:(r + 1) * patch, c * patch:(c + 1) * patch] = 0.0
    return x


def run_logits(model, xs):
    out = []
    with torch.no_grad():
        for i in range(0, len(xs), BATCH):
            out.append(model(torch.from_numpy(np.stack(xs[i:i + BATCH]))).numpy())
    return np.concatenate(out, axis=0)


def count_at(step, n):
    """round_half_up(step / STEPS * n) in integers, so no float rounding decides a patch."""
    return (2 * step * n + STEPS) // (2 * STEPS)


def curves(model, x, mp, cls, rows, cols, patch):
    n = rows * cols
    order = np.argsort(-mp.astype(np.float32), kind="stable")  # hottest first, ties: lower index first
    dels, ins = [], []
    for s in range(STEPS + 1):
        k = count_at(s, n)
        dels.append(blank(x.copy(), order[:k], cols, patch))
        ins.append(blank(x.copy(), order[k:], cols, patch))
    p = softmax64(run_logits(model, dels + ins))[:, cls]
    d, i = p[:STEPS + 1], p[STEPS + 1:]
    auc = lambda y: float(np.sum((y[1:] + y[:-1]) / 2) / STEPS)  # noqa: E731
    return {"order": [int(v) for v in order], "counts": [count_at(s, n) for s in range(STEPS + 1)],
            "deletion": [float(v) for v in d], "insertion": [float(v) for v in i],
            "deletionAuc": auc(d), "insertionAuc": auc(i)}


def main():
    torch.set_num_threads(2)
    model = load_demo()
    index = json.load(open(os.path.join(REF_DIR, "index.json")))
    patch, size = demo.PATCH, demo.IMAGE_SIZE
    rows = cols = size // patch
    n = rows * cols
    out = {"model": "vit-demo.onnx", "source": "scripts/make_faithfulness_refs.py",
           "definitions": {"blank": 0.0, "blankMeaning": "0 in the normalized input = the per-channel mean colour",
                           "probability": "softmax(logits)[class], float64", "class": "top-1 of the unperturbed input",
                           "tieOrder": "lower patch index first", "steps": STEPS, "count": "round half up of k*n",
                           "auc": "trapezoid over k in [0,1]"},
           "grid": {"rows": rows, "cols": cols}, "patch": patch, "fixtures": []}
    for f in index["fixtures"]:
        d = os.path.join(REF_DIR, f["name"])
        x = read_f32(os.path.join(d, "input.bin"), f["inputShape"])[0]
        ref_logits = read_f32(os.path.join(d, "logits.bin"), f["logitsShape"])[0]
        att = read_f32(os.path.join(d, "attention.bin"), f["attentionShape"])
        base_logits = run_logits(model, [x])[0]
        logit_err = float(np.abs(base_logits - ref_logits).max())
        assert logit_err < 1e-4, (f["name"], logit_err)
        base = softmax64(base_logits[None])[0]
        cls = int(np.argmax(base))
        occluded = [blank(x.copy(), [p], cols, patch) for p in range(n)]
        probs = softmax64(run_logits(model, occluded))[:, cls]
        occ = (base[cls] - probs).astype(np.float32)
        # Last layer, mean over heads, CLS query row, patch keys: the map the panel shows by default.
        attn = att[-1, :, 0, 1:].astype(np.float64).mean(axis=0).astype(np.float32)
        maps = {"occlusion": occ, "attention": attn}
        entry = {"name": f["name"], "classIndex": cls, "label": demo.LABELS[cls], "baseProb": float(base[cls]),
                 "logitsMaxAbsVsReference": logit_err, "occlusionProbs": [float(v) for v in probs],
                 "maps": {k: [float(v) for v in m] for k, m in maps.items()},
                 "curves": {k: curves(model, x, m, cls, rows, cols, patch) for k, m in maps.items()}}
        out["fixtures"].append(entry)
        c = entry["curves"]
        print("%-14s %-8s p=%.4f logits Δ%.1e  occlusion max %.4f  del/ins AUC occlusion %.4f/%.4f attention %.4f/%.4f" % (
            f["name"], entry["label"], base[cls], logit_err, float(occ.max()),
            c["occlusion"]["deletionAuc"], c["occlusion"]["insertionAuc"], c["attention"]["deletionAuc"], c["attention"]["insertionAuc"]))
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "vit-demo.json")
    with open(path, "w") as fh:
        json.dump(out, fh)
        fh.write("\n")
    print("wrote %s (%d bytes)" % (os.path.relpath(path, REPO), os.path.getsize(path)))


if __name__ == "__main__":
    main()
