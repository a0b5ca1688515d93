#!/usr/bin/env python3
"""Write test/fixtures/pooling/: ViTs whose token sequence changes between layers.

pit.onnx   PiT-style (timm pit.py): patch Conv 8x8 on a 64x64 image -> 8x8 tokens + CLS, stage 1 (2 blocks),
           ConvHeadPooling (depthwise Conv k3 s2 p1 doubling channels, Linear on CLS) -> 4x4 tokens + CLS,
           stage 2 (2 blocks).
cait.onnx  CaiT-style (timm cait.py): 32x32 image, patch 8 -> 4x4 tokens, NO CLS in the self-attention
           layers; 2 talking-heads self-attention blocks (Linear across heads before and after the softmax),
           then CLS is concatenated and 1 class-attention block (only CLS queries: [B, H, 1, 1+N]).

Per model: <name>.input.bin, <name>.logits.bin, <name>.attention.<layer>.bin (float32 LE, batch item 0,
[H, Q, T]: the weights the model multiplies with V — for talking heads the mixed post-softmax weights),
and expected.json. Random weights (seed 0), eval mode, torch 1.13.

Usage: /usr/bin/python3 scripts/make_pooling_styles.py
"""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_coverage_models import LN_EPS, perturb_constant_params  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "test", "fixtures", "pooling")
HEADS, CLASSES = 2, 5


class Attn(nn.Module):
    """timm Attention; talking=True is CaiT's TalkingHeadAttn (proj_l before, proj_w after the softmax)."""

    def __init__(self, dim, heads, talking=False):
        super().__init__()
        self.h, self.hd, self.talking = heads, dim // heads, talking
        self.scale = self.hd ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        if talking:
            self.proj_l, self.proj_w = nn.Linear(heads, heads), nn.Linear(heads, heads)
        self.attn = None

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.h, self.hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        a = q @ k.transpose(-2, -1)
        if self.talking:
            a = self.proj_l(a.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        a = a.softmax(dim=-1)
        if self.talking:
            a = self.proj_w(a.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        self.attn = a.detach()[0]
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, C))


class ClassAttn(nn.Module):
    """CaiT's ClassAttn: only the CLS token queries."""

    def __init__(self, dim, heads):
        super().__init__()
        self.h, self.hd = heads, dim // heads
        self.scale = self.hd ** -0.5
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.attn = None

    def forward(self, x):
        B, N, C = x.shape
        q = self.q(x[:, 0]).unsqueeze(1).reshape(B, 1, self.h, self.hd).permute(0, 2, 1, 3) * self.scale
        k = self.k(x).reshape(B, N, self.h, self.hd).permute(0, 2, 1, 3)
        v = self.v(x).reshape(B, N, self.h, self.hd).permute(0, 2, 1, 3)
        a = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        self.attn = a.detach()[0]
        return self.proj((a @ v).transpose(1, 2).reshape(B, 1, C))


def mlp(dim):
    return nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))


class Block(nn.Module):
    def __init__(self, dim, talking=False, gamma=False):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=LN_EPS), Attn(dim, HEADS, talking)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=LN_EPS), mlp(dim)
        self.g1 = nn.Parameter(0.5 * torch.ones(dim)) if gamma else None
        self.g2 = nn.Parameter(0.5 * torch.ones(dim)) if gamma else None

    def forward(self, x):
        if self.g1 is None:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        x = x + self.g1 * self.attn(self.norm1(x))
        return x + self.g2 * self.mlp(self.norm2(x))


class ClassBlock(nn.Module):
    """CaiT's LayerScaleBlockClassAttn."""

    def __init__(self, dim):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=LN_EPS), ClassAttn(dim, HEADS)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=LN_EPS), mlp(dim)
        self.g1, self.g2 = nn.Parameter(0.5 * torch.ones(dim)), nn.Parameter(0.5 * torch.ones(dim))

    def forward(self, x, x_cls):
        u = torch.cat((x_cls, x), dim=1)
        x_cls = x_cls + self.g1 * self.attn(self.norm1(u))
        return x_cls + self.g2 * self.mlp(self.norm2(x_cls))


class Stage(nn.Module):
    """timm pit.Transformer: CLS joins the flattened feature map, blocks run, the map is folded back."""

    def __init__(self, dim, depth):
        super().__init__()
        self.blocks = nn.Sequential(*[Block(dim) for _ in range(depth)])

    def forward(self, x, cls_tokens):
        B, C, H, W = x.shape
        n = cls_tokens.shape[1]
        x = torch.cat((cls_tokens, x.flatten(2).transpose(1, 2)), dim=1)
        x = self.blocks(x)
        return x[:, n:].transpose(1, 2).reshape(B, C, H, W), x[:, :n]


class ConvHeadPooling(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, stride + 1, stride, stride // 2, groups=cin)
        self.fc = nn.Linear(cin, cout)

    def forward(self, x, cls_token):
        return self.conv(x), self.fc(cls_token)


class PiT(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, 8, 8)
        self.pos_embed = nn.Parameter(torch.randn(1, dim, 8, 8) * 0.5)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.stage1, self.pool, self.stage2 = Stage(dim, 2), ConvHeadPooling(dim, 2 * dim, 2), Stage(2 * dim, 2)
        self.norm, self.head = nn.LayerNorm(2 * dim, eps=LN_EPS), nn.Linear(2 * dim, CLASSES)
        perturb_constant_params(self)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values) + self.pos_embed
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x, cls = self.stage1(x, cls)
        x, cls = self.pool(x, cls)
        x, cls = self.stage2(x, cls)
        return self.head(self.norm(cls)[:, 0])

    def attention(self):
        return [b.attn.attn for s in (self.stage1, self.stage2) for b in s.blocks]


class CaiT(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, 8, 8)
        self.pos_embed = nn.Parameter(torch.randn(1, 16, dim) * 0.5)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.blocks = nn.ModuleList([Block(dim, talking=True, gamma=True) for _ in range(2)])
        self.blocks_token_only = nn.ModuleList([ClassBlock(dim)])
        self.norm, self.head = nn.LayerNorm(dim, eps=LN_EPS), nn.Linear(dim, CLASSES)
        perturb_constant_params(self)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        for b in self.blocks_token_only:
            cls = b(x, cls)
        x = self.norm(torch.cat((cls, x), dim=1))
        return self.head(x[:, 0])

    def attention(self):
        return [b.attn.attn for b in self.blocks] + [b.attn.attn for b in self.blocks_token_only]


def write(name, model, size, layers):
    torch.manual_seed(1)
    x = torch.rand(1, 3, size, size)
    model.eval()
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"], opset_version=17,
                      do_constant_folding=True)
    with torch.no_grad():
        logits = model(x)
    x.numpy().astype("<f4").tofile(os.path.join(OUT, f"{name}.input.bin"))
    logits.numpy().astype("<f4").tofile(os.path.join(OUT, f"{name}.logits.bin"))
    for i, a in enumerate(model.attention()):
        a.numpy().astype("<f4").tofile(os.path.join(OUT, f"{name}.attention.{i}.bin"))
        assert list(a.shape) == layers[i]["shape"], (name, i, a.shape)
    return {"file": f"{name}.onnx", "input": f"{name}.input.bin", "inputShape": [1, 3, size, size],
            "logits": f"{name}.logits.bin", "layers": layers}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    pit = PiT()
    # Stage 1: 1 CLS + 8x8 tokens; stage 2 after the stride-2 pooling Conv: 1 CLS + 4x4 tokens.
    s1 = {"shape": [HEADS, 65, 65], "prefix": 1, "grid": [8, 8]}
    # ViT Lens draws every layer on the model's 8x8 grid, so the pooled stage is refused, naming what it found.
    s2 = [{"shape": [HEADS, 17, 17], "prefix": 1, "grid": [4, 4],
           "refusal": f"Layer {i} is not drawn: its attention has 17 tokens, but 1 prefix + 8×8 patches = 65 tokens "
                      "were expected."} for i in (3, 4)]
    models = [write("pit", pit, 64, [s1, s1] + s2)]
    torch.manual_seed(0)
    cait = CaiT()
    # Self-attention: 16 patch tokens, no CLS; class attention: the CLS query over CLS + 16 patches.
    sa = {"shape": [HEADS, 16, 16], "prefix": 0, "grid": [4, 4], "talkingHeads": True}
    ca = {"shape": [HEADS, 1, 17], "prefix": 1, "grid": [4, 4], "classAttention": True}
    models.append(write("cait", cait, 32, [sa, sa, ca]))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"models": models}, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
