#!/usr/bin/env python3
"""Write the ViT Lens classifier-style fixtures into test/fixtures/classifiers/.

One tiny ONNX model per way a ViT's head reads its tokens, each in its family's own code style, built from
scripts/make_coverage_models.py's pieces (same sizes: 32x32 image, patch 8, width 32, 2 layers, 2 heads,
5 classes, torch.manual_seed(0)):

  mean-all           BatchNorm ViT (robustness research): head(mean of ALL tokens, CLS included)
  beit-mean-patches  BEiT: q/v biases, layer scale, head(fc_norm(mean of x[:, 1:])), CLS unread
  dinov2-cls-mean    DINOv2 linear head: Linear(cat(x[:, 0], x[:, 1+R:].mean(1))), 4 registers
  siglip-map         SigLIP: no CLS, HF-style q/k/v, attention-pooling head (a learned probe
                     queries all tokens through nn.MultiheadAttention, then LN + MLP)

Writes <case>.onnx, <case>.input.bin, <case>.logits.bin, <case>.attention.bin ([layers, heads, T, T]) and, for
MAP, <case>.probe.bin ([heads, 1, T]: the probe's softmax), plus expected.json.

Usage: /usr/bin/python3 scripts/make_classifier_styles.py [--out test/fixtures/classifiers]
"""

import argparse
import json
import os
import sys

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cov  # noqa: E402
from make_coverage_models import (DIM, HEADS, LAYERS, MLP, CLASSES, LN_EPS, SEED, IMG,  # noqa: E402
                                  Block, ViT, export, write_ref, expect, perturb_constant_params)


class BeitAttention(nn.Module):
    """BEiT: one bias-free qkv Linear, with learned q and v biases and a zero k bias concatenated."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.scale = self.hd ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(0.1 * torch.randn(dim))
        self.v_bias = nn.Parameter(0.1 * torch.randn(dim))
        self.proj = nn.Linear(dim, dim)
        self.attn = None

    def forward(self, x):
        B, N, C = x.shape
        qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, qkv_bias).reshape(B, N, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        a = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        if not torch.jit.is_tracing():
            self.attn = a.detach()
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, -1))


class BeitBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = BeitAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = nn.Sequential(nn.Linear(dim, MLP), nn.GELU(), nn.Linear(MLP, dim))
        self.gamma_1 = nn.Parameter(0.5 + 0.1 * torch.randn(dim))
        self.gamma_2 = nn.Parameter(0.5 + 0.1 * torch.randn(dim))

    def forward(self, x):
        x = x + self.gamma_1 * self.attn(self.norm1(x))
        return x + self.gamma_2 * self.mlp(self.norm2(x))


class Beit(nn.Module):
    """BEiT with use_mean_pooling: the final norm is Identity and fc_norm follows the mean of the patch tokens."""

    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, DIM, cov.PATCH, cov.PATCH)
        self.cls_token = nn.Parameter(torch.randn(1, 1, DIM))
        self.pos_embed = nn.Parameter(torch.randn(1, cov.NPATCH + 1, DIM) * 0.5)
        self.blocks = nn.ModuleList([BeitBlock(DIM, HEADS) for _ in range(LAYERS)])
        self.fc_norm = nn.LayerNorm(DIM, eps=LN_EPS)
        self.head = nn.Linear(DIM, CLASSES)
        perturb_constant_params(self)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls_tokens, x), dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        t = x[:, 1:, :]
        return self.head(self.fc_norm(t.mean(1)))

    def attention(self):
        return torch.stack([b.attn.attn[0] for b in self.blocks])


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(0.5 + 0.1 * torch.randn(dim))

    def forward(self, x):
        return x * self.gamma


class Dinov2Block(Block):
    """DINOv2's NestedTensorBlock: pre-norm, fused qkv, layer scale ls1/ls2."""

    def __init__(self, dim, heads):
        super().__init__(dim, heads, qkv="fused", scale_op="mul")
        self.ls1, self.ls2 = LayerScale(dim), LayerScale(dim)

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class Dinov2Linear(ViT):
    """DINOv2 with registers and its linear classifier: Linear(cat(x_norm_clstoken, x_norm_patchtokens.mean(1)))."""

    def __init__(self, registers=1):
        super().__init__(registers=registers)
        self.blocks = nn.ModuleList([Dinov2Block(DIM, HEADS) for _ in range(LAYERS)])
        self.linear_head = nn.Linear(2 * DIM, CLASSES)
        perturb_constant_params(self)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        B = x.shape[0]
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1) + self.pos_embed
        x = torch.cat((x[:, :1], self.reg_token.expand(B, -1, -1), x[:, 1:]), dim=1)
        for blk in self.blocks:
            x = blk(x)
        x_norm = self.norm(x)
        cls_token = x_norm[:, 0]
        patch_tokens = x_norm[:, self.registers + 1:]
        linear_input = torch.cat([cls_token, patch_tokens.mean(dim=1)], dim=1)
        return self.linear_head(linear_input)


class SiglipMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(DIM, MLP), nn.Linear(MLP, DIM)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class SiglipMultiheadAttentionPoolingHead(nn.Module):
    """Hugging Face's SigLIP MAP head: a learned probe is the one query of nn.MultiheadAttention over all tokens."""

    def __init__(self):
        super().__init__()
        self.probe = nn.Parameter(torch.randn(1, 1, DIM))
        self.attention = nn.MultiheadAttention(DIM, HEADS, batch_first=True)
        self.layernorm = nn.LayerNorm(DIM, eps=LN_EPS)
        self.mlp = SiglipMLP()
        self.attn = None

    def forward(self, hidden_state):
        batch_size = hidden_state.shape[0]
        probe = self.probe.repeat(batch_size, 1, 1)
        if not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export():
            self.attn = self.attention(probe, hidden_state, hidden_state, need_weights=True,
                                       average_attn_weights=False)[1].detach()
        hidden_state = self.attention(probe, hidden_state, hidden_state, need_weights=False)[0]
        residual = hidden_state
        hidden_state = self.layernorm(hidden_state)
        hidden_state = residual + self.mlp(hidden_state)
        return hidden_state[:, 0]


class Siglip(nn.Module):
    """SigLIP vision tower (no CLS, position embedding as nn.Embedding, HF separate q/k/v) + MAP head + Linear."""

    def __init__(self):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, DIM, cov.PATCH, cov.PATCH)
        self.position_embedding = nn.Embedding(cov.NPATCH, DIM)
        self.register_buffer("position_ids", torch.arange(cov.NPATCH).expand((1, -1)), persistent=False)
        self.layers = nn.ModuleList([Block(DIM, HEADS, qkv="separate", scale_op="mul") for _ in range(LAYERS)])
        self.post_layernorm = nn.LayerNorm(DIM, eps=LN_EPS)
        self.head = SiglipMultiheadAttentionPoolingHead()
        self.classifier = nn.Linear(DIM, CLASSES)
        perturb_constant_params(self)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        x = x + self.position_embedding(self.position_ids)
        for layer in self.layers:
            x = layer(x)
        return self.classifier(self.head(self.post_layernorm(x)))

    def attention(self):
        return torch.stack([b.attn.attn[0] for b in self.layers])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(cov.REPO, "test", "fixtures", "classifiers"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    x = torch.rand(1, 3, IMG, IMG)
    cases = []

    def case(name, desc, model, exp):
        model.eval()
        export(model, os.path.join(out, name + ".onnx"), 17, True)
        with torch.no_grad():
            logits = model(x)
        att = model.attention()
        ref = write_ref(out, name, x, logits.numpy(), att.numpy())
        c = {"file": name + ".onnx", "case": desc, "opset": 17, "expect": exp, "reference": ref}
        cases.append(c)
        return c

    torch.manual_seed(SEED)
    case("mean-all", "BatchNorm ViT: head(mean over all tokens, CLS included)",
         ViT(norm="bn", classifier="gap"), expect(classifier="mean-all"))

    torch.manual_seed(SEED)
    case("beit-mean-patches", "BEiT: CLS present, head(fc_norm(x[:, 1:].mean(1))) never reads it",
         Beit(), expect(classifier="mean-patches"))

    torch.manual_seed(SEED)
    case("dinov2-cls-mean", "DINOv2 + 4 registers, linear head on cat(x[:, 0], x[:, 5:].mean(1))",
         Dinov2Linear(registers=4), expect(prefix=5, classifier="cls+mean"))

    torch.manual_seed(SEED)
    sig = Siglip()
    c = case("siglip-map", "SigLIP: no CLS, MAP head (learned probe queries all tokens), Linear",
             sig, {**expect(prefix=0, classifier="map"), "mapProbe": {"heads": HEADS}})
    probe = sig.head.attn[0].numpy().astype("<f4")  # [heads, 1, tokens]
    probe.tofile(os.path.join(out, "siglip-map.probe.bin"))
    c["reference"]["probe"] = "siglip-map.probe.bin"
    c["reference"]["probeShape"] = list(probe.shape)

    for c in cases:
        c["bytes"] = os.path.getsize(os.path.join(out, c["file"]))
        c["ops"] = sorted({n.op_type for n in onnx.load(os.path.join(out, c["file"])).graph.node})
    doc = {"generator": "scripts/make_classifier_styles.py", "seed": SEED, "torch": torch.__version__,
           "onnx": onnx.__version__, "binFormat": "raw float32 little-endian, C order",
           "attentionLayout": "[layers, heads, tokens, tokens], softmax probabilities of batch item 0",
           "cases": cases}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    for c in cases:
        print(f"{c['file']:24s} {c['bytes']:7d} {c['expect']['classifier']}")


if __name__ == "__main__":
    main()
