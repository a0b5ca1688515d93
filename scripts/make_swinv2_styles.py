#!/usr/bin/env python3
"""Write tiny Swin V2 fixtures into test/fixtures/swinv2/ (random weights, seed 0).

The model is written in timm's SwinTransformerV2 code style (swin_transformer_v2.py), not imported from timm:
- WindowAttention: qkv Linear without bias plus q_bias / (zero) k_bias / v_bias concatenated at run time;
  cosine attention normalize(q) @ normalize(k)^T * exp(clamp(logit_scale, max=log 100)), logit_scale [heads, 1, 1];
  relative position bias 16 * sigmoid(cpb_mlp(log-spaced relative coords)) gathered by relative_position_index;
  the shifted-window mask ([nW, N, N], 0 / -100) added on a [B, nW, heads, N, N] view.
- SwinTransformerBlock: res-post-norm, x = x + norm1(attn(x)); x = x + norm2(mlp(x)) (no norm before attention).
- PatchMerging V2: 2x2 gather -> Linear 4C -> 2C -> LayerNorm (reduction, then norm).
- Stage order as timm: downsample first (stages > 0), then blocks; PatchEmbed with LayerNorm; final norm,
  global average pooling, Linear head.

Geometry: input 64x64, patch 4 -> grids 16 -> 8, window 4 (16 then 4 windows), depths [2, 2], heads [2, 4],
widths 16 -> 32; the second block of each stage is shifted by 2.

Cases (each exported with opset 17, dynamic batch; the same weights, so one set of references):
- swinv2-constant-cpb.onnx: the bias table and temperature precomputed in eval mode (what a simplifier that
  folds MatMul and Clip produces): a [1, heads, N, N] bias constant, a [heads, 1, 1] temperature constant.
- swinv2-folded.onnx: torch.onnx.export with do_constant_folding=True. torch 1.13 folds neither MatMul nor Clip,
  so the CPB MLP (MatMul, Add, Relu, MatMul on the constant coordinate table), its gather, 16*sigmoid and
  Clip/Exp of logit_scale all run in the graph at every inference. The shift mask is a constant.
- swinv2-unfolded.onnx: do_constant_folding=False: as folded, plus weights through Transpose and the qkv bias
  through a run-time Concat of q_bias, k_bias, v_bias.

Plus PyTorch references (input, logits, every block's post-softmax attention [nW, heads, N, N]) and
expected.json with the structure facts and the default view's hottest patch: the last block's window-entropy
map (src/shared/viewData.ts: mean entropy over heads and queries per window, spread over the stage grid in
original coordinates, i.e. undoing the cyclic shift), its first argmax.

Usage: /usr/bin/python3 scripts/make_swinv2_styles.py [--out test/fixtures/swinv2]
"""

import argparse
import json
import math
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 0
IMG = 64
PATCH = 4
WINDOW = 4
EMBED = 16
DEPTHS = [2, 2]
HEADS = [2, 4]
CLASSES = 5
MLP_RATIO = 2
CPB_HIDDEN = 64  # timm uses 512; smaller keeps the fixture small, the graph is the same
GRIDS = [IMG // PATCH // (2 ** i) for i in range(len(DEPTHS))]


def window_partition(x, M):
    """[B, H, W, C] -> [B * nW, M, M, C] (timm)."""
    B, H, W, C = x.shape
    x = x.view(B, H // M, M, W // M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, M, M, C)


def window_reverse(windows, M, H, W):
    C = windows.shape[-1]
    x = windows.view(-1, H // M, W // M, M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)


class WindowAttention(nn.Module):
    def __init__(self, dim, M, num_heads):
        super().__init__()
        self.dim, self.M, self.num_heads = dim, M, num_heads
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, CPB_HIDDEN, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(CPB_HIDDEN, num_heads, bias=False))
        h = torch.arange(-(M - 1), M, dtype=torch.float32)
        table = torch.stack(torch.meshgrid([h, h], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
        table[:, :, :, 0] /= (M - 1)
        table[:, :, :, 1] /= (M - 1)
        table *= 8
        table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / math.log2(8)
        self.register_buffer("relative_coords_table", table, persistent=False)
        coords = torch.stack(torch.meshgrid([torch.arange(M), torch.arange(M)], indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += M - 1
        rel[:, :, 1] += M - 1
        rel[:, :, 0] *= 2 * M - 1
        self.register_buffer("relative_position_index", rel.sum(-1), persistent=False)
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim))
        self.register_buffer("k_bias", torch.zeros(dim), persistent=False)
        self.v_bias = nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)
        self.last_attn = None
        self.frozen = None

    def freeze(self):
        """Precompute the temperature and the bias table, as a graph simplifier folding the CPB path leaves them."""
        with torch.no_grad():
            self.frozen = (self.temperature(), self.cpb_bias().unsqueeze(0))

    def temperature(self):
        return torch.clamp(self.logit_scale, max=math.log(1. / 0.01)).exp()

    def cpb_bias(self):
        N = self.M * self.M
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        bias = table[self.relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
        return 16 * torch.sigmoid(bias)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv_bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
        qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(B_, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        if self.frozen is not None:
            attn = attn * self.frozen[0] + self.frozen[1]
        else:
            logit_scale = torch.clamp(self.logit_scale, max=math.log(1. / 0.01)).exp()
            attn = attn * logit_scale
            table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
            bias = table[self.relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
            bias = 16 * torch.sigmoid(bias)
            attn = attn + bias.unsqueeze(0)
        if mask is not None:
            num_win = mask.shape[0]
            attn = attn.view(-1, num_win, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
        attn = attn.softmax(-1)
        self.last_attn = attn.detach()
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwinTransformerV2Block(nn.Module):
    def __init__(self, dim, grid, num_heads, M, shift):
        super().__init__()
        if grid <= M:
            shift = 0
        self.grid, self.M, self.shift = grid, M, shift
        self.attn = WindowAttention(dim, M, num_heads)
        self.norm1 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim * MLP_RATIO)
        self.norm2 = nn.LayerNorm(dim)
        if shift > 0:
            img_mask = torch.zeros((1, grid, grid, 1))
            cnt = 0
            for h in (slice(0, -M), slice(-M, -shift), slice(-shift, None)):
                for w in (slice(0, -M), slice(-M, -shift), slice(-shift, None)):
                    img_mask[:, h, w, :] = cnt
                    cnt += 1
            mw = window_partition(img_mask, M).view(-1, M * M)
            am = mw.unsqueeze(1) - mw.unsqueeze(2)
            am = am.masked_fill(am != 0, float(-100.0)).masked_fill(am == 0, float(0.0))
        else:
            am = None
        self.register_buffer("attn_mask", am, persistent=False)

    def _attn(self, x):
        B, H, W, C = x.shape
        s = self.shift
        shifted = torch.roll(x, shifts=(-s, -s), dims=(1, 2)) if s else x
        xw = window_partition(shifted, self.M).view(-1, self.M * self.M, C)
        aw = self.attn(xw, mask=self.attn_mask).view(-1, self.M, self.M, C)
        shifted = window_reverse(aw, self.M, H, W)
        return torch.roll(shifted, shifts=(s, s), dims=(1, 2)) if s else shifted

    def forward(self, x):
        B, H, W, C = x.shape
        x = x + self.norm1(self._attn(x))  # res-post-norm
        x = x.reshape(B, -1, C)
        x = x + self.norm2(self.mlp(x))
        return x.reshape(B, H, W, C)


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x):
        B, H, W, C = x.shape
        x = x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.norm(self.reduction(x))


class SwinV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, EMBED, kernel_size=PATCH, stride=PATCH)
        self.patch_norm = nn.LayerNorm(EMBED)
        self.downsamples = nn.ModuleList()
        self.stages = nn.ModuleList()
        self.block_info = []
        d = EMBED
        for si, (depth, h, g) in enumerate(zip(DEPTHS, HEADS, GRIDS)):
            if si > 0:
                self.downsamples.append(PatchMerging(d))
                d *= 2
            blocks = nn.ModuleList()
            for j in range(depth):
                b = SwinTransformerV2Block(d, g, h, WINDOW, 0 if j % 2 == 0 else WINDOW // 2)
                blocks.append(b)
                nW = (g // WINDOW) ** 2
                self.block_info.append({"block": len(self.block_info), "stage": si, "indexInStage": j,
                                        "shift": b.shift, "grid": g, "windows": nW, "heads": h, "dim": d,
                                        "attentionShape": [nW, h, WINDOW * WINDOW, WINDOW * WINDOW]})
            self.stages.append(blocks)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, CLASSES)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.2)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=0.05)
            elif isinstance(m, nn.LayerNorm):
                nn.init.normal_(m.weight, 1.0, 0.1)
                nn.init.normal_(m.bias, 0.0, 0.05)
        for m in self.modules():
            if isinstance(m, WindowAttention):
                # Random q/v biases and temperatures so those paths matter in the comparison.
                nn.init.normal_(m.q_bias, std=0.1)
                nn.init.normal_(m.v_bias, std=0.1)
                with torch.no_grad():
                    m.logit_scale.add_(torch.randn_like(m.logit_scale) * 0.3)

    def blocks(self):
        return [b for s in self.stages for b in s]

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).permute(0, 2, 3, 1)  # [B, H, W, C] as timm (output_fmt NHWC)
        x = self.patch_norm(x)
        for si, blocks in enumerate(self.stages):
            if si > 0:
                x = self.downsamples[si - 1](x)
            for b in blocks:
                x = b(x)
        x = self.norm(x)
        return self.head(x.mean(dim=(1, 2)))


def export(model, path, fold):
    x = torch.zeros(1, 3, IMG, IMG)
    torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"], opset_version=17,
                      do_constant_folding=fold,
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = [n.op_type for n in m.graph.node]
    assert ops.count("Softmax") == sum(DEPTHS), ops.count("Softmax")
    return m


def window_entropy_map(attn, info):
    """The default Swin view (viewData.ts): per-window mean row entropy, spread over the grid, shift undone."""
    a = attn.double().numpy()  # [nW, h, N, N]
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(a > 0, a * np.log(a), 0.0).sum(-1)  # [nW, h, N]
    ent = ent.mean(axis=(1, 2))
    g, M, s = info["grid"], WINDOW, info["shift"]
    per = g // M
    values = np.zeros(g * g)
    for r in range(g):
        for c in range(g):
            sr, sc = (r - s) % g, (c - s) % g
            values[r * g + c] = ent[(sr // M) * per + sc // M]
    return values, ent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test/fixtures/swinv2"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    model = SwinV2().eval()
    x = torch.randn(1, 3, IMG, IMG)
    with torch.no_grad():
        logits = model(x)
    attns = [b.attn.last_attn for b in model.blocks()]
    ref = {"input": "reference/input.bin", "logits": "reference/logits.bin",
           "attention": ["reference/attention-%d.bin" % i for i in range(len(attns))]}
    os.makedirs(os.path.join(out, "reference"), exist_ok=True)
    x.numpy().astype("<f4").tofile(os.path.join(out, ref["input"]))
    logits.numpy().astype("<f4").tofile(os.path.join(out, ref["logits"]))
    for info, a in zip(model.block_info, attns):
        assert list(a.shape) == info["attentionShape"], (a.shape, info)
        a.numpy().astype("<f4").tofile(os.path.join(out, ref["attention"][info["block"]]))

    last = model.block_info[-1]
    values, ent = window_entropy_map(attns[-1], last)
    hot = int(np.argmax(values))
    top2 = np.sort(np.unique(ent))[-2:]
    # The windows' entropies must differ by more than float32 noise, or the argmax is a coin toss.
    assert len(top2) == 2 and top2[1] - top2[0] > 1e-4, top2

    cases = []
    for name, fold, frozen, desc in (
            ("swinv2-constant-cpb", True, True,
             "CPB bias table a [1, heads, N, N] constant and exp(clamp(logit_scale)) a [heads, 1, 1] constant, as a "
             "graph simplifier that folds MatMul and Clip leaves them"),
            ("swinv2-folded", True, False,
             "torch.onnx.export with do_constant_folding=True: torch 1.13 does not fold MatMul or Clip, so the CPB MLP, "
             "its gather and 16*sigmoid, and Clip/Exp of logit_scale run in the graph at every inference"),
            ("swinv2-unfolded", False, False,
             "do_constant_folding=False: as folded, plus every weight through a Transpose and the qkv bias through "
             "a Concat of q_bias, k_bias, v_bias")):
        for b in model.blocks():
            b.attn.frozen = None
            if frozen:
                b.attn.freeze()
        path = os.path.join(out, name + ".onnx")
        m = export(model, path, fold)
        ops = [n.op_type for n in m.graph.node]
        cases.append({"file": name + ".onnx", "case": desc, "constantFolding": fold,
                      "bytes": os.path.getsize(path), "nodes": len(ops)})
        print("%s: %d nodes, %d bytes" % (name, len(ops), os.path.getsize(path)))

    expect = {
        "family": "swin", "patchSize": PATCH, "embedDim": EMBED, "classifier": "gap", "prefixTokens": 0,
        "norm": "res-post", "cosine": True, "window": WINDOW, "stages": len(DEPTHS), "depths": DEPTHS,
        "heads": HEADS, "dims": [EMBED * 2 ** i for i in range(len(DEPTHS))], "grids": GRIDS,
        "blocks": model.block_info,
        "hottestPatch": {"layer": last["block"], "index": hot, "row": hot // last["grid"], "col": hot % last["grid"],
                         "value": float(values[hot])},
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/make_swinv2_styles.py", "seed": SEED, "torch": torch.__version__,
                   "onnx": onnx.__version__, "input": {"shape": [1, 3, IMG, IMG], "dtype": "float32"},
                   "attentionLayout": "attention-<block>.bin: [windows, heads, N, N] post-softmax, batch 1; windows "
                                      "row-major over the (shifted, for shifted blocks) grid",
                   "expect": expect, "reference": ref, "cases": cases}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
