#!/usr/bin/env python3
"""Train, evaluate and export the ViT Lens Swin demo model (a tiny Swin Transformer on synthetic shapes).

Same synthetic data set, labels and preprocessing as the ViT demo (scripts/make_demo_vit.py, whose
generator functions are imported read-only). The Swin model is written out explicitly (no timm):
patch 4, window 7, grids 56->28->14->7, shifted windows (shift 3) in the odd block of every stage
whose grid is larger than the window, relative position bias, patch merging, global average pooling.

Outputs:
    models/swin-demo.onnx, models/swin-demo.json (model card)
    models/reference/swin-demo/<fixture>/{input,logits,attention-<block>}.bin + index.json
    test/fixtures/swin/window-index-maps.json (window partition / mask-region geometry per stage)

Requirements (Debian 12): apt-get install python3-torch python3-onnx libopenblas0-pthread

Usage:
    /usr/bin/python3 scripts/make_demo_swin.py --minutes 20 --seed 0
    /usr/bin/python3 scripts/make_demo_swin.py --from-checkpoint /tmp/swin-demo.pt   # skip training
    /usr/bin/python3 scripts/make_demo_swin.py --maps-only                           # only the index maps

Training is bounded by wall time (--minutes), so the number of steps depends on the machine;
everything else (data, init, order) is determined by --seed.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import sys
import time

import numpy as np
from PIL import Image

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_vit_module():
    path = os.path.join(REPO, "scripts", "make_demo_vit.py")
    spec = importlib.util.spec_from_file_location("make_demo_vit", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


V = _load_vit_module()

# Labels and preprocessing: the ViT demo card if present, else the ViT script's constants.
_VIT_CARD = os.path.join(REPO, "models", "vit-demo.json")
if os.path.exists(_VIT_CARD):
    with open(_VIT_CARD) as _f:
        _card = json.load(_f)
    LABELS = list(_card["labels"])
    MEAN = list(_card["preprocess"]["mean"])
    STD = list(_card["preprocess"]["std"])
    PREPROCESS = dict(_card["preprocess"])
else:
    LABELS, MEAN, STD = list(V.LABELS), list(V.MEAN), list(V.STD)
    PREPROCESS = {"size": V.IMAGE_SIZE, "resize": "shorter-side", "crop": "center", "interpolation": "bilinear",
                  "mean": MEAN, "std": STD, "scale": 255}
assert LABELS == list(V.LABELS), "ViT card labels differ from the generator's labels"
assert MEAN == list(V.MEAN) and STD == list(V.STD), "ViT card preprocessing differs from make_demo_vit.py"

IMAGE_SIZE = 224
PATCH = 4
WINDOW = 7
SHIFT = WINDOW // 2
EMBED_DIM = 24
DEPTHS = [2, 2, 2, 2]
HEADS = [1, 2, 4, 8]
MLP_RATIO = 2
GRIDS = [IMAGE_SIZE // PATCH // (2 ** i) for i in range(len(DEPTHS))]  # 56, 28, 14, 7


# ----------------------------------------------------------------------------
# Swin geometry (static Python ints everywhere so the ONNX export only has a dynamic batch)
# ----------------------------------------------------------------------------

def window_partition(x, M):
    """[B, H, W, C] -> [B * nW, M*M, C]; windows row-major, tokens row-major inside a window."""
    _, H, W, C = x.shape
    H, W, C = int(H), int(W), int(C)
    x = x.reshape(-1, H // M, M, W // M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, M * M, C)


def window_reverse(windows, M, H, W):
    """[B * nW, M*M, C] -> [B, H, W, C] (inverse of window_partition)."""
    C = int(windows.shape[-1])
    x = windows.reshape(-1, H // M, W // M, M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)


def region_grid(H, W, M, s):
    """Swin's img_mask: region id 0..8 of every position of the *shifted* grid ([1, H, W, 1], float)."""
    img = torch.zeros(1, H, W, 1)
    if s == 0:
        return img
    slices = (slice(0, -M), slice(-M, -s), slice(-s, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img[:, h, w, :] = cnt
            cnt += 1
    return img


def shifted_window_mask(H, W, M, s):
    """[nW, M*M, M*M]: 0 within a region, -100 between regions."""
    mw = window_partition(region_grid(H, W, M, s), M).squeeze(-1)  # [nW, M*M]
    mask = mw.unsqueeze(1) - mw.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


def relative_position_index(M):
    coords = torch.stack(torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij"))  # [2, M, M]
    flat = coords.flatten(1)  # [2, M*M]
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()  # [M*M, M*M, 2]
    rel[:, :, 0] += M - 1
    rel[:, :, 1] += M - 1
    rel[:, :, 0] *= 2 * M - 1
    return rel.sum(-1)  # [M*M, M*M], values in [0, (2M-1)^2)


# ----------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------

class WindowAttention(nn.Module):
    def __init__(self, dim, heads, M):
        super().__init__()
        self.dim, self.heads, self.M = dim, heads, M
        self.head_dim = dim // heads
        self.scale = float(self.head_dim ** -0.5)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * M - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_position_index(M), persistent=False)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.keep_attn = False
        self.last_attn = None

    def forward(self, x, mask=None):
        """x: [B*nW, N, C]; mask: [nW, N, N] or None."""
        N, C, h, d = self.M * self.M, self.dim, self.heads, self.head_dim
        qkv = self.qkv(x).reshape(-1, N, 3, h, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)  # [B*nW, h, N, N]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, h)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nW = int(mask.shape[0])
            attn = attn.reshape(-1, nW, h, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.reshape(-1, h, N, N)
        attn = torch.softmax(attn, dim=-1)
        if self.keep_attn:
            self.last_attn = attn.detach()
        x = (attn @ v).transpose(1, 2).reshape(-1, N, C)
        return self.proj(x)


Mlp = V.Mlp  # the same two-layer GELU MLP as the ViT demo


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, grid, M, shift):
        super().__init__()
        if grid <= M:  # one window covers the grid: no shift, no mask
            shift = 0
        self.dim, self.grid, self.M, self.shift = dim, grid, M, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, M)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim * MLP_RATIO)
        if shift > 0:
            self.register_buffer("attn_mask", shifted_window_mask(grid, grid, M, shift), persistent=False)
        else:
            self.attn_mask = None

    def forward(self, x):  # x: [B, L, C]
        H = W = self.grid
        C, M, s = self.dim, self.M, self.shift
        shortcut = x
        x = self.norm1(x).reshape(-1, H, W, C)
        if s > 0:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        xw = window_partition(x, M)
        xw = self.attn(xw, self.attn_mask)
        x = window_reverse(xw, M, H, W)
        if s > 0:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
        x = shortcut + x.reshape(-1, H * W, C)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """2x2 neighbourhood concat (Swin order x0=(0,0), x1=(1,0), x2=(0,1), x3=(1,1)) -> LayerNorm -> Linear 4C->2C."""

    def __init__(self, dim, grid):
        super().__init__()
        self.dim, self.grid = dim, grid
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        H = W = self.grid
        x = x.reshape(-1, H, W, self.dim)
        x0 = x[:, 0::2, 0::2, :]
        x1 = x[:, 1::2, 0::2, :]
        x2 = x[:, 0::2, 1::2, :]
        x3 = x[:, 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1).reshape(-1, (H // 2) * (W // 2), 4 * self.dim)
        return self.reduction(self.norm(x))


class Swin(nn.Module):
    def __init__(self, num_classes, dim=EMBED_DIM, depths=DEPTHS, heads=HEADS, M=WINDOW):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, kernel_size=PATCH, stride=PATCH)
        self.patch_norm = nn.LayerNorm(dim)
        self.stages = nn.ModuleList()
        self.merges = nn.ModuleList()
        self.block_info = []
        d = dim
        for si, (depth, h, g) in enumerate(zip(depths, heads, GRIDS)):
            blocks = nn.ModuleList()
            for j in range(depth):
                b = SwinBlock(d, h, g, M, 0 if j % 2 == 0 else M // 2)
                blocks.append(b)
                nW = (g // M) ** 2
                self.block_info.append({"block": len(self.block_info), "stage": si, "indexInStage": j,
                                        "shifted": b.shift > 0, "grid": [g, g], "windows": nW, "heads": h,
                                        "attentionShape": [nW, h, M * M, M * M]})
            self.stages.append(blocks)
            if si < len(depths) - 1:
                self.merges.append(PatchMerging(d, g))
                d *= 2
        self.num_features = d
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, num_classes)
        # Token labeling (Jiang et al., 2021), training only: heads that classify each stage-3 (14x14) and
        # final (7x7) token as the object's class or background. Dense targets make a tiny Swin learn in
        # minutes on a CPU; they are not part of the exported graph, which pools and classifies.
        self.token_head = nn.Linear(d, num_classes + 1)
        self.token_head3 = nn.Linear(d // 2, num_classes + 1)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def blocks(self):
        return [b for s in self.stages for b in s]

    def set_keep_attention(self, on):
        for b in self.blocks():
            b.attn.keep_attn = on
            b.attn.last_attn = None

    def attentions(self):
        return [b.attn.last_attn for b in self.blocks()]

    def forward(self, pixel_values, with_tokens=False):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)  # [B, 3136, C]
        x = self.patch_norm(x)
        stage3 = None
        for si, blocks in enumerate(self.stages):
            for b in blocks:
                x = b(x)
            if si == 2:
                stage3 = x  # [B, 196, 4C]
            if si < len(self.merges):
                x = self.merges[si](x)
        x = self.norm(x)  # [B, 49, 8C]
        if with_tokens:
            return self.head(x.mean(dim=1)), self.token_head(x), self.token_head3(stage3)
        return self.head(x.mean(dim=1))


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------

def to_tensor(batch_u8):
    """uint8 [B,H,W,3] -> normalised float32 [B,3,H,W]."""
    x = torch.from_numpy(batch_u8).permute(0, 3, 1, 2).float().div_(255.0)
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


class ShapeStream(torch.utils.data.IterableDataset):
    """Endless stream of fresh synthetic images from the ViT demo's generator, with the fraction of every
    16x16 patch the object covers (for token labeling)."""

    def __init__(self, seed, batch_size, samples_dir):
        self.seed, self.batch_size, self.samples_dir = seed, batch_size, samples_dir

    def __iter__(self):
        torch.set_num_threads(1)
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, 31_337, wid])
        photos = V.load_photos(self.samples_dir)
        while True:
            imgs, labels, covers = [], [], []
            for _ in range(self.batch_size):
                im, lab, _, mask = V.gen_sample(rng, photos, return_mask=True)
                imgs.append(im)
                labels.append(lab)
                covers.append(V.patch_cover(mask, 16))
            yield torch.from_numpy(np.stack(imgs)), torch.tensor(labels), torch.from_numpy(np.stack(covers))


# ----------------------------------------------------------------------------
# Training / evaluation
# ----------------------------------------------------------------------------

def train(args, model):
    crit = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)

    def step_loss(batch, frac):
        imgs, labels, covers = batch
        x = to_tensor(imgs.numpy())
        logits, tok7, tok14 = model(x, with_tokens=True)
        c14 = covers.view(-1, 1, 14, 14)
        t14 = V.token_targets(covers, labels)
        t7 = V.token_targets(F.avg_pool2d(c14, 2).flatten(1), labels)
        loss = crit(logits, labels) + args.token_loss * 0.5 * (crit(tok7.reshape(-1, tok7.shape[-1]), t7.reshape(-1)) + crit(tok14.reshape(-1, tok14.shape[-1]), t14.reshape(-1)))
        return loss, logits, labels

    stream = ShapeStream(args.seed, args.batch_size, args.samples_dir)
    info = V.run_training(args, model, stream, step_loss, no_decay_names=("relative_position_bias_table",))
    info["uniqueImages"] = info["images"]
    return info


@torch.no_grad()
def evaluate(model, seed, n, samples_dir, bs=100):
    """Fresh images from the unmodified generator (default scale range), stream disjoint from training."""
    return V.evaluate(model, seed, n, samples_dir, bs, to_input=to_tensor)


# ----------------------------------------------------------------------------
# Export, card, references, geometry maps
# ----------------------------------------------------------------------------

def export_onnx(model, path, dynamic=True):
    import onnx
    model.eval()
    model.set_keep_attention(False)
    dummy = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    kw = {"dynamic_axes": {"pixel_values": {0: "batch"}, "logits": {0: "batch"}}} if dynamic else {}
    torch.onnx.export(model, dummy, path, opset_version=17, input_names=["pixel_values"],
                      output_names=["logits"], do_constant_folding=True, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    n_blocks = sum(DEPTHS)
    assert ops.count("Softmax") == n_blocks, "expected %d Softmax nodes, got %d" % (n_blocks, ops.count("Softmax"))
    # the last node chain must not end in a Softmax (logits are raw)
    assert m.graph.node[-1].op_type != "Softmax"
    inp, out = m.graph.input[0], m.graph.output[0]
    dims_in = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    dims_out = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
    b = "batch" if dynamic else 1
    assert inp.name == "pixel_values" and dims_in == [b, 3, IMAGE_SIZE, IMAGE_SIZE], dims_in
    assert out.name == "logits" and dims_out == [b, len(LABELS)], dims_out
    print("onnx: %d nodes, %d Softmax, input %s %s, output %s %s" % (len(ops), ops.count("Softmax"), inp.name, dims_in,
                                                                    out.name, dims_out))
    return m


def onnx_attention_op_sequences(m):
    """Op types from each QKV MatMul (the MatMul right after a LayerNorm inside a block) up to its Softmax."""
    nodes = list(m.graph.node)
    soft = [i for i, n in enumerate(nodes) if n.op_type == "Softmax"]
    seqs = []
    for si in soft:
        # walk back to the nearest MatMul whose weight is an initializer with 3x width (the qkv projection)
        j = si
        inits = {i.name: i for i in m.graph.initializer}
        while j > 0:
            j -= 1
            n = nodes[j]
            if n.op_type == "MatMul" and len(n.input) == 2 and n.input[1] in inits:
                dims = list(inits[n.input[1]].dims)
                if len(dims) == 2 and dims[1] == 3 * dims[0]:
                    break
        seqs.append([nodes[k].op_type for k in range(j, si + 1)])
    return seqs


def preprocess_file(path):
    return V.preprocess_file(path)  # shorter side -> 224 (PIL bilinear), centre crop, /255, (x-mean)/std


def synthetic_fixture(args):
    """The first (sorted) shapes-*.png of the ViT fixtures, else our own synthetic image."""
    import glob
    cands = sorted(glob.glob(os.path.join(REPO, "test", "fixtures", "images", "shapes-*.png")))
    if cands:
        p = cands[0]
        return os.path.splitext(os.path.basename(p))[0], os.path.relpath(p, REPO)
    d = os.path.join(REPO, "test", "fixtures", "swin")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng([args.eval_seed, 7_777, 11])
    im, lab, bbox = V.gen_sample(rng, V.load_photos(args.samples_dir), label_idx=LABELS.index("star"), scale=0.4,
                                 center=(IMAGE_SIZE / 2 + 3, IMAGE_SIZE / 2 - 4))
    p = os.path.join(d, "shapes-star.png")
    Image.fromarray(im).save(p, optimize=True)
    with open(os.path.join(d, "shapes-star.json"), "w") as f:
        json.dump({"image": "shapes-star.png", "width": IMAGE_SIZE, "height": IMAGE_SIZE, "label": "star",
                   "labelIndex": lab, "bboxXYXY": bbox}, f, indent=2)
        f.write("\n")
    return "shapes-star", os.path.relpath(p, REPO)


@torch.no_grad()
def write_references(args, model, fixtures):
    ref_dir = os.path.join(args.out, "reference", "swin-demo")
    os.makedirs(ref_dir, exist_ok=True)
    model.eval()
    model.set_keep_attention(True)
    index = {"model": "swin-demo.onnx", "preprocess": "see ../../swin-demo.json", "dtype": "float32",
             "endianness": "little",
             "attentionLayout": "attention-<block>.bin: [windows*batch, heads, 49 query, 49 key], the Softmax output "
                                "as ONNX sees it; windows row-major over the (shifted, for shifted blocks) grid, tokens "
                                "row-major inside a window; see test/fixtures/swin/window-index-maps.json",
             "blocks": model.block_info, "fixtures": []}
    for name, rel in fixtures:
        x = preprocess_file(os.path.join(REPO, rel))
        logits = model(x)
        d = os.path.join(ref_dir, name)
        os.makedirs(d, exist_ok=True)
        x.numpy().astype("<f4").tofile(os.path.join(d, "input.bin"))
        logits.numpy().astype("<f4").tofile(os.path.join(d, "logits.bin"))
        for info, a in zip(model.block_info, model.attentions()):
            assert list(a.shape) == info["attentionShape"], (a.shape, info)
            a.numpy().astype("<f4").tofile(os.path.join(d, "attention-%d.bin" % info["block"]))
        probs = logits.softmax(-1)[0]
        top = torch.topk(probs, min(5, len(LABELS)))
        top5 = [{"label": LABELS[i], "index": int(i), "prob": round(float(p), 6)} for p, i in zip(top.values, top.indices)]
        index["fixtures"].append({"name": name, "image": rel, "inputShape": list(x.shape),
                                  "logitsShape": list(logits.shape), "top5": top5})
        print("reference %-14s top1 %s (%.3f)" % (name, top5[0]["label"], top5[0]["prob"]))
    model.set_keep_attention(False)
    with open(os.path.join(ref_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    return index


def write_index_maps(path):
    maps = []
    for si, g in enumerate(GRIDS):
        shifts = [0] if g <= WINDOW or DEPTHS[si] < 2 else [0, SHIFT]
        for s in shifts:
            grid = torch.arange(g * g, dtype=torch.float64).view(1, g, g, 1)
            part = window_partition(torch.roll(grid, shifts=(-s, -s), dims=(1, 2)), WINDOW).flatten()
            regions = window_partition(region_grid(g, g, WINDOW, s), WINDOW).flatten()
            maps.append({"grid": g, "window": WINDOW, "shift": s, "windows": (g // WINDOW) ** 2,
                         "partition": [int(v) for v in part.tolist()],
                         "maskRegions": [int(v) for v in regions.tolist()]})
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write('{\n  "description": "Swin window geometry of swin-demo: partition[k] = original flat token index '
                '(row*grid+col) at attention position k = window*49 + row-major index inside the window, after '
                'torch.roll(-shift,-shift); maskRegions[k] = Swin img_mask region (0..8) of that token",\n  "maps": [\n')
        for i, mp in enumerate(maps):
            f.write("    " + json.dumps(mp, separators=(",", ":")) + ("," if i < len(maps) - 1 else "") + "\n")
        f.write("  ]\n}\n")
    print("wrote %s (%d maps)" % (os.path.relpath(path, REPO), len(maps)))


def write_card(args, acc, conf, tinfo, nparams):
    card = {
        "name": "ViT Lens demo Swin (tiny, synthetic shapes)",
        "family": "swin",
        "file": "swin-demo.onnx",
        "architecture": {"patchSize": PATCH, "imageSize": IMAGE_SIZE, "embedDim": EMBED_DIM, "depths": DEPTHS,
                         "heads": HEADS, "window": WINDOW, "shift": SHIFT, "stages": len(DEPTHS), "grids": GRIDS,
                         "mlpRatio": MLP_RATIO, "classifier": "gap", "norm": "pre", "relativePositionBias": True,
                         "parameters": nparams},
        "input": {"name": "pixel_values", "layout": "NCHW"},
        "output": {"name": "logits", "activation": "none"},
        "preprocess": PREPROCESS,
        "labels": LABELS,
        "heldOut": {"accuracy": round(acc, 4), "samples": args.eval_samples, "seed": args.eval_seed,
                    "confusion": conf.tolist()},
        "training": {"command": tinfo["command"], "minutes": tinfo["minutes"], "steps": tinfo["steps"],
                     "images": tinfo["images"], "uniqueImages": tinfo.get("uniqueImages"),
                     "imgPerSec": tinfo.get("imgPerSec"), "batchSize": tinfo.get("batchSize"), "lr": tinfo.get("lr"),
                     "seed": tinfo["seed"], "torch": tinfo["torch"], "date": tinfo["date"]},
    }
    with open(os.path.join(args.out, "swin-demo.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    V.add_training_args(ap, minutes=20.0, lr=4e-4, threads=2)
    ap.add_argument("--token-loss", type=float, default=1.0, help="weight of the token-labeling losses (0 = pooled-logits loss only)")
    ap.add_argument("--save-checkpoint", default=None, help="save trained weights + training info here")
    ap.add_argument("--from-checkpoint", default=None, help="skip training; load weights + info from here")
    ap.add_argument("--static-batch", action="store_true", help="export with a fixed batch of 1")
    ap.add_argument("--maps-only", action="store_true", help="only write test/fixtures/swin/window-index-maps.json")
    args = ap.parse_args()
    if args.eval_seed is None:
        args.eval_seed = args.seed + 1000
    assert args.eval_seed != args.seed

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    maps_path = os.path.join(REPO, "test", "fixtures", "swin", "window-index-maps.json")
    write_index_maps(maps_path)
    if args.maps_only:
        return

    os.makedirs(args.out, exist_ok=True)
    model = Swin(len(LABELS))
    nparams = sum(p.numel() for p in model.parameters())
    print("Swin params: %d" % nparams, flush=True)

    if args.from_checkpoint:
        ck = torch.load(args.from_checkpoint)
        model.load_state_dict(ck["state_dict"])
        tinfo = ck["training"]
    else:
        tinfo = train(args, model)
        tinfo["command"] = "/usr/bin/python3 " + " ".join([os.path.relpath(os.path.abspath(sys.argv[0]), REPO)] + sys.argv[1:])
        tinfo["seed"] = args.seed
        tinfo["batchSize"] = args.batch_size
        tinfo["lr"] = args.lr
        tinfo["torch"] = torch.__version__
        tinfo["date"] = datetime.date.today().isoformat()
        if args.save_checkpoint:
            torch.save({"state_dict": model.state_dict(), "training": tinfo}, args.save_checkpoint)

    t = time.monotonic()
    acc, conf = evaluate(model, args.eval_seed, args.eval_samples, args.samples_dir)
    print("held-out accuracy: %.4f on %d images (seed %d), %.1f s" % (acc, args.eval_samples, args.eval_seed,
                                                                     time.monotonic() - t))
    print("confusion (rows=true, cols=pred, order %s):\n%s" % (LABELS, conf), flush=True)

    onnx_path = os.path.join(args.out, "swin-demo.onnx")
    m = export_onnx(model, onnx_path, dynamic=not args.static_batch)
    seqs = onnx_attention_op_sequences(m)
    for i, s in enumerate(seqs):
        print("block %d attention ops: %s" % (i, " ".join(s)))
    print("wrote %s (%d bytes)" % (os.path.relpath(onnx_path, REPO), os.path.getsize(onnx_path)))

    write_card(args, acc, conf, tinfo, nparams)
    fixtures = [synthetic_fixture(args),
                ("cat_tabby", os.path.relpath(os.path.join(args.samples_dir, "cat_tabby.jpg"), REPO))]
    write_references(args, model, fixtures)
    print("done")


if __name__ == "__main__":
    main()
