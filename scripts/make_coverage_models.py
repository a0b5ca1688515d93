#!/usr/bin/env python3
"""Write the ViT Lens topology-coverage fixtures into test/fixtures/coverage/.

One tiny ONNX model per case (random weights, torch.manual_seed(0); image 32x32, patch 8 -> 4x4 = 16
patches, embed dim 32, 2 layers, 2 heads, MLP 128, 5 classes), plus expected.json (what the ViT
detector must report, or which error it must raise), reference tensors (<case>.input.bin,
<case>.logits.bin, <case>.attention.bin: float32 little-endian, from the PyTorch model in eval
mode) and README.md. No training.

Requirements (Debian 12): apt-get install python3-torch python3-onnx   (torch 1.13, onnx 1.12)

Usage:
    /usr/bin/python3 scripts/make_coverage_models.py [--out test/fixtures/coverage]
"""

import argparse
import copy
import json
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import torch
import torch.nn as nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IMG, PATCH, DIM, LAYERS, HEADS, MLP, CLASSES = 32, 8, 32, 2, 2, 128, 5
GRID = IMG // PATCH
NPATCH = GRID * GRID
LN_EPS = 1e-6
SEED = 0


# ----------------------------------------------------------------------------------------------
# PyTorch models
# ----------------------------------------------------------------------------------------------

class TokenBatchNorm(nn.Module):
    """BatchNorm1d over the channel dim of [B, T, C] tokens (transpose -> BN -> transpose)."""

    def __init__(self, dim):
        super().__init__()
        self.bn = nn.BatchNorm1d(dim)
        with torch.no_grad():  # non-trivial running statistics
            self.bn.running_mean.copy_(torch.randn(dim) * 0.1)
            self.bn.running_var.copy_(torch.rand(dim) + 0.5)
            self.bn.weight.copy_(1.0 + 0.1 * torch.randn(dim))
            self.bn.bias.copy_(0.1 * torch.randn(dim))

    def forward(self, x):
        return self.bn(x.transpose(1, 2)).transpose(1, 2)


def make_norm(kind, dim):
    return TokenBatchNorm(dim) if kind == "bn" else nn.LayerNorm(dim, eps=LN_EPS)


class Attention(nn.Module):
    """qkv: 'fused' (one Linear(C, 3C), timm), 'separate' (q, k, v Linears, HF) or 'mha'
    (torch.nn.MultiheadAttention, torchvision). scale_op: 'mul' (* d^-0.5) or 'div' (/ sqrt(d))."""

    def __init__(self, dim, heads, qkv="fused", scale_op="mul"):
        super().__init__()
        self.heads, self.hd, self.mode, self.scale_op = heads, dim // heads, qkv, scale_op
        self.scale = self.hd ** -0.5
        if qkv == "fused":
            self.qkv = nn.Linear(dim, 3 * dim)
        elif qkv == "separate":
            self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        elif qkv == "mha":
            self.mha = nn.MultiheadAttention(dim, heads, batch_first=True)
        else:
            raise ValueError(qkv)
        if qkv != "mha":
            self.proj = nn.Linear(dim, dim)
        self.attn = None  # softmax probabilities of the last forward, [B, H, T, T]

    def forward(self, x):
        B, T, C = x.shape
        if self.mode == "mha":
            out = self.mha(x, x, x, need_weights=False)[0]
            if not torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export():
                # reference only: the probabilities MHA computed internally
                self.attn = self.mha(x, x, x, need_weights=True, average_attn_weights=False)[1].detach()
            return out
        if self.mode == "fused":
            qkv = self.qkv(x).reshape(B, T, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        else:
            q = self.q(x).reshape(B, T, self.heads, self.hd).transpose(1, 2)
            k = self.k(x).reshape(B, T, self.heads, self.hd).transpose(1, 2)
            v = self.v(x).reshape(B, T, self.heads, self.hd).transpose(1, 2)
        if self.scale_op == "mul":
            s = (q @ k.transpose(-2, -1)) * self.scale
        else:
            s = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        a = s.softmax(dim=-1)
        if not torch.jit.is_tracing():
            self.attn = a.detach()
        o = (a @ v).transpose(1, 2).reshape(B, T, C)
        return self.proj(o)


class Block(nn.Module):
    def __init__(self, dim, heads, qkv="fused", scale_op="mul", norm="ln", placement="pre"):
        super().__init__()
        self.placement = placement
        self.norm1 = make_norm(norm, dim)
        self.attn = Attention(dim, heads, qkv, scale_op)
        self.norm2 = make_norm(norm, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, MLP), nn.GELU(), nn.Linear(MLP, dim))

    def forward(self, x):
        if self.placement == "pre":
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attn(x))
        return self.norm2(x + self.mlp(x))


class ViT(nn.Module):
    """prefix layout: [cls] [dist] [registers] patches. Registers get no position embedding
    (timm / DINOv2-reg style: pos-embed is added to cls+patches, then registers are inserted)."""

    def __init__(self, qkv="fused", scale_op="mul", norm="ln", placement="pre", cls=True,
                 dist=False, registers=0, classifier="cls"):
        super().__init__()
        self.cls, self.dist, self.registers, self.classifier = cls, dist, registers, classifier
        self.patch_embed = nn.Conv2d(3, DIM, PATCH, PATCH)
        npos = NPATCH + int(cls) + int(dist)
        self.cls_token = nn.Parameter(torch.randn(1, 1, DIM)) if cls else None
        self.dist_token = nn.Parameter(torch.randn(1, 1, DIM)) if dist else None
        self.reg_token = nn.Parameter(torch.randn(1, registers, DIM)) if registers else None
        self.pos_embed = nn.Parameter(torch.randn(1, npos, DIM) * 0.5)
        self.blocks = nn.ModuleList(
            [Block(DIM, HEADS, qkv, scale_op, norm, placement) for _ in range(LAYERS)])
        self.norm = make_norm(norm, DIM) if placement == "pre" else nn.Identity()
        self.head = nn.Linear(DIM, CLASSES)
        self.head_dist = nn.Linear(DIM, CLASSES) if dist else None
        perturb_constant_params(self)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)  # [B, 16, C]
        B = x.shape[0]
        pre = []
        if self.cls:
            pre.append(self.cls_token.expand(B, -1, -1))
        if self.dist:
            pre.append(self.dist_token.expand(B, -1, -1))
        x = torch.cat(pre + [x], dim=1) if pre else x
        x = x + self.pos_embed
        if self.registers:
            n = int(self.cls)
            x = torch.cat([x[:, :n], self.reg_token.expand(B, -1, -1), x[:, n:]], dim=1)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        if self.classifier == "gap":
            return self.head(x.mean(dim=1))
        if self.dist:
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        return self.head(x[:, 0])

    def attention(self):
        return torch.stack([b.attn.attn[0] for b in self.blocks])  # [L, H, T, T] (batch item 0)


def perturb_constant_params(model):
    """Default init leaves LayerNorm gamma=1/beta=0 and some biases at 0; torch's exporter then
    deduplicates identical initializers into Identity nodes, which trained models never show.
    Give every constant-valued parameter a little noise instead."""
    with torch.no_grad():
        for prm in model.parameters():
            if prm.numel() > 1 and bool((prm == prm.flatten()[0]).all()):
                prm.add_(0.1 * torch.randn_like(prm))
    return model


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, CLASSES)

    def forward(self, pixel_values):
        x = torch.relu(self.c2(torch.relu(self.c1(pixel_values))))
        return self.fc(x.mean(dim=(2, 3)))


class Mixer(nn.Module):
    """Patch conv (kernel = stride = 8) + MLP-Mixer blocks: token MLP and channel MLP, no Softmax."""

    def __init__(self):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, DIM, PATCH, PATCH)
        self.blocks = nn.ModuleList()
        for _ in range(LAYERS):
            self.blocks.append(nn.ModuleDict(dict(
                n1=nn.LayerNorm(DIM, eps=LN_EPS),
                tok=nn.Sequential(nn.Linear(NPATCH, 32), nn.GELU(), nn.Linear(32, NPATCH)),
                n2=nn.LayerNorm(DIM, eps=LN_EPS),
                ch=nn.Sequential(nn.Linear(DIM, MLP), nn.GELU(), nn.Linear(MLP, DIM)))))
        self.norm = nn.LayerNorm(DIM, eps=LN_EPS)
        self.head = nn.Linear(DIM, CLASSES)
        perturb_constant_params(self)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        for b in self.blocks:
            x = x + b["tok"](b["n1"](x).transpose(1, 2)).transpose(1, 2)
            x = x + b["ch"](b["n2"](x))
        return self.head(self.norm(x).mean(dim=1))


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------

def export(model, path, opset, dynamic=True):
    x = torch.zeros(1, 3, IMG, IMG)
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"pixel_values": {0: "batch"}, "logits": {0: "batch"}}
    # Export with autograd enabled: under torch.no_grad() an eval-mode nn.MultiheadAttention takes
    # the fast path (aten::_native_multi_head_attention), which torch 1.13 cannot export to ONNX.
    with torch.enable_grad():
        torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"],
                          opset_version=opset, do_constant_folding=True, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def run_torch(model, x):
    with torch.no_grad():
        logits = model(x)
    att = model.attention() if isinstance(model, ViT) else None
    return logits.numpy().astype("<f4"), (None if att is None else att.numpy().astype("<f4"))


def write_ref(out, case, x, logits, att):
    ref = {"input": f"{case}.input.bin", "logits": f"{case}.logits.bin"}
    x.numpy().astype("<f4").tofile(os.path.join(out, ref["input"]))
    logits.astype("<f4").tofile(os.path.join(out, ref["logits"]))
    if att is not None:
        ref["attention"] = f"{case}.attention.bin"
        ref["attentionShape"] = list(att.shape)
        att.astype("<f4").tofile(os.path.join(out, ref["attention"]))
    return ref


def expect(family="vit", prefix=1, norm="pre", classifier="cls", dynamic=True):
    return {"family": family, "patchSize": PATCH, "grid": [GRID, GRID], "embedDim": DIM,
            "layers": LAYERS, "heads": HEADS, "prefixTokens": prefix, "norm": norm,
            "classifier": classifier, "inputName": "pixel_values", "dynamicBatch": dynamic}


def sym_int8(w):
    """Per-tensor symmetric int8: scale = max|w| / 127, zero point 0."""
    w = np.asarray(w, dtype=np.float32)
    scale = np.float32(np.abs(w).max() / np.float32(127.0))
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale


def init_map(g):
    return {t.name: t for t in g.initializer}


def weight_matmuls(g):
    """(node, weight initializer name) for MatMul nodes whose B is a 2-D initializer, and Gemm."""
    inits = init_map(g)
    res = []
    for n in g.node:
        if n.op_type in ("MatMul", "Gemm") and n.input[1] in inits and len(inits[n.input[1]].dims) == 2:
            res.append(n)
    return res


def replace_node(g, old, new_nodes):
    nodes = list(g.node)
    i = nodes.index(old)
    nodes[i:i + 1] = new_nodes
    del g.node[:]
    g.node.extend(nodes)


def unique(prefix, used):
    i = 0
    while f"{prefix}_{i}" in used:
        i += 1
    used.add(f"{prefix}_{i}")
    return f"{prefix}_{i}"


# ----------------------------------------------------------------------------------------------
# graph edits of case 1
# ----------------------------------------------------------------------------------------------

def to_fp16(m):
    m = copy.deepcopy(m)
    g = m.graph
    casts = []
    new_inits = []
    for t in g.initializer:
        if t.data_type == TensorProto.FLOAT:
            a = numpy_helper.to_array(t).astype(np.float16)
            new_inits.append(numpy_helper.from_array(a, t.name + "_fp16"))
            casts.append(helper.make_node("Cast", [t.name + "_fp16"], [t.name], to=TensorProto.FLOAT,
                                          name=t.name + "_cast"))
        else:
            new_inits.append(t)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return m


def to_qdq(m):
    m = copy.deepcopy(m)
    g = m.graph
    inits = init_map(g)
    done = set()
    dq = []
    for n in weight_matmuls(g):
        name = n.input[1]
        if name in done:
            continue
        done.add(name)
        q, s = sym_int8(numpy_helper.to_array(inits[name]))
        g.initializer.remove(inits[name])
        g.initializer.extend([numpy_helper.from_array(q, name + "_quantized"),
                              numpy_helper.from_array(np.array(s, np.float32), name + "_scale"),
                              numpy_helper.from_array(np.array(0, np.int8), name + "_zero_point")])
        dq.append(helper.make_node("DequantizeLinear",
                                   [name + "_quantized", name + "_scale", name + "_zero_point"],
                                   [name], name=name + "_DequantizeLinear"))
    nodes = dq + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return m


def to_matmulinteger(m):
    """ORT dynamic-quantization pattern: DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp,
    W_zp) -> Cast(float) -> Mul(x_scale * W_scale) [-> Add bias]. Gemm (the head) becomes the same
    pattern + Add(C)."""
    m = copy.deepcopy(m)
    g = m.graph
    inits = init_map(g)
    used = {t.name for t in g.initializer} | {o for n in g.node for o in n.output} | \
        {i.name for i in g.input}
    for n in weight_matmuls(g):
        w = numpy_helper.to_array(inits[n.input[1]])
        if n.op_type == "Gemm":
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            assert attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 and not attrs.get("transA", 0)
            if attrs.get("transB", 0):
                w = w.T
        q, s = sym_int8(w)
        base = unique((n.name or "MatMul").strip("/").replace("/", "_"), used)
        wq, ws, wz = base + "_W_quantized", base + "_W_scale", base + "_W_zero_point"
        g.initializer.extend([numpy_helper.from_array(np.ascontiguousarray(q), wq),
                              numpy_helper.from_array(np.array(s, np.float32), ws),
                              numpy_helper.from_array(np.array(0, np.int8), wz)])
        x = n.input[0]
        xq, xs, xz = base + "_x_quantized", base + "_x_scale", base + "_x_zero_point"
        mi, cf, sc = base + "_MatMulInteger", base + "_cast", base + "_scale"
        new = [helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz], name=base + "_DynamicQuantizeLinear"),
               helper.make_node("MatMulInteger", [xq, wq, xz, wz], [mi], name=base + "_MatMulInteger"),
               helper.make_node("Cast", [mi], [cf], to=TensorProto.FLOAT, name=base + "_Cast"),
               helper.make_node("Mul", [xs, ws], [sc], name=base + "_ScaleMul")]
        if n.op_type == "Gemm":
            new += [helper.make_node("Mul", [cf, sc], [base + "_mul"], name=base + "_Mul"),
                    helper.make_node("Add", [base + "_mul", n.input[2]], [n.output[0]], name=base + "_Add")]
        else:
            new.append(helper.make_node("Mul", [cf, sc], [n.output[0]], name=base + "_Mul"))
        replace_node(g, n, new)
    # drop the now unused float weights
    live = {i for n in g.node for i in n.input}
    for t in list(g.initializer):
        if t.name not in live:
            g.initializer.remove(t)
    return m


# torch twins of the quantized graphs ------------------------------------------------------------

def qdq_torch(model):
    m = copy.deepcopy(model)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Linear):
                q, s = sym_int8(mod.weight.detach().numpy())
                mod.weight.copy_(torch.from_numpy(q.astype(np.float32) * s))
    return m


class DynQuantLinear(nn.Module):
    def __init__(self, lin):
        super().__init__()
        q, s = sym_int8(lin.weight.detach().numpy())
        self.wq = torch.from_numpy(q.astype(np.float32))  # [out, in]
        self.ws = torch.tensor(s, dtype=torch.float32)
        self.b = lin.bias.detach().clone()

    def forward(self, x):
        xmin = torch.clamp(x.min(), max=0.0)
        xmax = torch.clamp(x.max(), min=0.0)
        xs = (xmax - xmin) / 255.0
        xz = torch.clamp(torch.round(-xmin / xs), 0, 255)
        xq = torch.clamp(torch.round(x / xs) + xz, 0, 255)
        acc = (xq - xz) @ self.wq.t()  # integers, exact in float32 at these sizes
        return acc * (xs * self.ws) + self.b


def dynq_torch(model):
    m = copy.deepcopy(model)

    def swap(parent):
        for name, ch in parent.named_children():
            if isinstance(ch, nn.Linear):
                setattr(parent, name, DynQuantLinear(ch))
            else:
                swap(ch)
    swap(m)
    return m


# ----------------------------------------------------------------------------------------------
# graphs built from scratch with onnx.helper (fused attention ops), weights from the case-1 model
# ----------------------------------------------------------------------------------------------

def build_fused_graph(model, kind):
    """Same math as case 1 (static batch 1). kind: 'ms-attention', 'ms-mha', 'onnx-attention'."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    T = NPATCH + 1
    hd = DIM // HEADS
    inits, nodes = [], []

    def C(name, arr, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=dtype), name))
        return name

    def N(op, ins, outs, domain=None, **attrs):
        nodes.append(helper.make_node(op, ins, outs, name=outs[0] + "_" + op, domain=domain, **attrs))
        return outs[0]

    def linear(x, prefix, out):  # x @ W^T + b as MatMul + Add
        w = C(prefix + ".weight_T", sd[prefix + ".weight"].T)
        b = C(prefix + ".bias", sd[prefix + ".bias"])
        return N("Add", [N("MatMul", [x, w], [out + "_mm"]), b], [out])

    def ln(x, prefix, out):
        return N("LayerNormalization", [x, C(prefix + ".weight", sd[prefix + ".weight"]),
                                        C(prefix + ".bias", sd[prefix + ".bias"])], [out],
                 axis=-1, epsilon=LN_EPS)

    x = N("Conv", ["pixel_values", C("patch_embed.weight", sd["patch_embed.weight"]),
                   C("patch_embed.bias", sd["patch_embed.bias"])], ["pe"],
          kernel_shape=[PATCH, PATCH], strides=[PATCH, PATCH])
    x = N("Reshape", [x, C("shape_b_c_n", [1, DIM, NPATCH], np.int64)], ["pe_flat"])
    x = N("Transpose", [x], ["tokens"], perm=[0, 2, 1])
    x = N("Concat", [C("cls_token", sd["cls_token"]), x], ["with_cls"], axis=1)
    x = N("Add", [x, C("pos_embed", sd["pos_embed"])], ["embedded"])
    C("sqrt2", np.float32(math.sqrt(2.0)))
    C("one", np.float32(1.0))
    C("half", np.float32(0.5))
    if kind == "onnx-attention":
        C("shape_b_t_h_d", [1, T, HEADS, hd], np.int64)
        C("shape_b_t_c", [1, T, DIM], np.int64)
    for i in range(LAYERS):
        p = f"blocks.{i}"
        h = ln(x, p + ".norm1", f"b{i}_norm1")
        wqkv, bqkv = sd[p + ".attn.qkv.weight"], sd[p + ".attn.qkv.bias"]  # [3C, C], [3C]
        if kind == "ms-attention":
            a = N("Attention", [h, C(p + ".attn.qkv.weight_T", wqkv.T), C(p + ".attn.qkv.bias", bqkv)],
                  [f"b{i}_attention"], domain="com.microsoft", num_heads=HEADS)
        else:
            qkv = []
            for j, nm in enumerate("qkv"):
                sd[f"{p}.attn.{nm}.weight"] = wqkv[j * DIM:(j + 1) * DIM]
                sd[f"{p}.attn.{nm}.bias"] = bqkv[j * DIM:(j + 1) * DIM]
                qkv.append(linear(h, f"{p}.attn.{nm}", f"b{i}_{nm}"))
            if kind == "ms-mha":
                a = N("MultiHeadAttention", qkv, [f"b{i}_attention"], domain="com.microsoft",
                      num_heads=HEADS)
            else:
                heads = [N("Transpose", [N("Reshape", [t, "shape_b_t_h_d"], [t + "_bthd"])], [t + "_bhtd"],
                           perm=[0, 2, 1, 3]) for t in qkv]
                y = N("Attention", heads, [f"b{i}_attention_bhtd"], qk_matmul_output_mode=3)
                a = N("Reshape", [N("Transpose", [y], [f"b{i}_attention_bthd"], perm=[0, 2, 1, 3]),
                                  "shape_b_t_c"], [f"b{i}_attention"])
        a = linear(a, p + ".attn.proj", f"b{i}_proj")
        x = N("Add", [x, a], [f"b{i}_res1"])
        h = ln(x, p + ".norm2", f"b{i}_norm2")
        h = linear(h, p + ".mlp.0", f"b{i}_fc1")
        e = N("Erf", [N("Div", [h, "sqrt2"], [f"b{i}_gelu_div"])], [f"b{i}_gelu_erf"])
        e = N("Mul", [N("Mul", [h, N("Add", [e, "one"], [f"b{i}_gelu_add"])], [f"b{i}_gelu_mul"]),
                      "half"], [f"b{i}_gelu"])
        h = linear(e, p + ".mlp.2", f"b{i}_fc2")
        x = N("Add", [x, h], [f"b{i}_res2"])
    x = ln(x, "norm", "final_norm")
    x = N("Gather", [x, C("zero", np.int64(0), np.int64)], ["cls_out"], axis=1)
    N("Gemm", [x, C("head.weight", sd["head.weight"]), C("head.bias", sd["head.bias"])], ["logits"],
      transB=1)
    g = helper.make_graph(nodes, f"vit-{kind}",
                          [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [1, 3, IMG, IMG])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, CLASSES])],
                          inits)
    if kind == "onnx-attention":
        opsets = [helper.make_opsetid("", 23)]
        m = helper.make_model(g, opset_imports=opsets, producer_name="make_coverage_models.py")
        m.ir_version = 10  # onnx 1.12 cannot validate opset 23; ORT >= 1.16 reads IR 10
    else:
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
        m = helper.make_model(g, opset_imports=opsets, producer_name="make_coverage_models.py")
        m.ir_version = 8
        onnx.checker.check_model(m, full_check=False)  # contrib ops: structural check only
    return m


# ----------------------------------------------------------------------------------------------
# analysis (for README / expected.json)
# ----------------------------------------------------------------------------------------------

def attention_op_sequence(m):
    """Data-path op types (graph order) of the first attention block: from the first weight MatMul
    (after the block's normalization) that feeds the first Softmax, up to that Softmax (or the
    first fused attention op). Shape-computation nodes (Shape and anything computed only from
    shapes/constants) are left out."""
    nodes = list(m.graph.node)
    targets = [n for n in nodes if n.op_type in ("Softmax", "Attention", "MultiHeadAttention")]
    if not targets:
        return None
    tgt = targets[0]
    ti = nodes.index(tgt)
    fmt = lambda n: n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"  # noqa: E731
    producer = {o: n for n in nodes for o in n.output}
    consts = {t.name for t in m.graph.initializer}
    shape_derived = set()
    for n in nodes:  # graph order is topological
        if n.op_type == "Constant":
            consts.update(n.output)
            continue
        dyn = [i for i in n.input if i and i not in consts]
        if n.op_type == "Shape" or (dyn and all(i in shape_derived for i in dyn)):
            shape_derived.update(n.output)
        elif not dyn:
            consts.update(n.output)  # Cast / DequantizeLinear of initializers
    anc, stack = set(), list(tgt.input)
    while stack:
        n = producer.get(stack.pop())
        if n is None or id(n) in anc:
            continue
        anc.add(id(n))
        stack.extend(n.input)
    start = None
    for i, n in enumerate(nodes[:ti]):
        if id(n) in anc and ((n.op_type == "MatMul" and n.input[1] in consts) or
                             n.op_type == "DynamicQuantizeLinear"):
            start = i
            break
    if start is None:
        return [fmt(tgt)]
    reach = set(nodes[start].output)
    seq = []
    for n in nodes[start:ti]:
        if n is nodes[start] or any(i in reach for i in n.input):
            reach.update(n.output)
            if id(n) in anc and not all(o in shape_derived for o in n.output):
                seq.append(fmt(n))
    return seq + [fmt(tgt)]


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test", "fixtures", "coverage"))
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)

    torch.manual_seed(SEED)
    x = torch.rand(1, 3, IMG, IMG)  # the one fixed input used for every reference

    cases = []
    P = lambda name: os.path.join(out, name)  # noqa: E731

    def add(case, desc, how, opset, exp, ref=None, notes=None, file=None, extra=None):
        e = {"file": file or f"{case}.onnx", "case": desc, "how": how, "opset": opset, "expect": exp}
        if ref is not None:
            e["reference"] = ref
        if notes:
            e["notes"] = notes
        if extra:
            e.update(extra)
        cases.append(e)

    def torch_case(case, desc, opset, model, exp, dynamic=True, how="torch.onnx.export", notes=None):
        model.eval()
        export(model, P(case + ".onnx"), opset, dynamic)
        lg, att = run_torch(model, x)
        add(case, desc, how, opset, exp, write_ref(out, case, x, lg, att), notes=notes)
        return lg, att

    # 1 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    base = ViT(qkv="fused", scale_op="mul").eval()
    lg1, att1 = torch_case("timm-fused-qkv", "timm-style pre-norm ViT, one Linear(C,3C) for qkv, CLS, "
                           "learned pos-embed, (q@kT)*scale", 17, base, expect())
    base_onnx = onnx.load(P("timm-fused-qkv.onnx"))

    # 2 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    torch_case("hf-separate-qkv", "Hugging Face style: separate q/k/v Linears, scores (q@kT)/sqrt(d) "
               "(Div), CLS, static batch 1", 14, ViT(qkv="separate", scale_op="div"),
               expect(dynamic=False), dynamic=False)

    # 3 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    torch_case("torchvision-mha", "torchvision style: nn.MultiheadAttention(batch_first=True), "
               "need_weights=False, CLS", 13, ViT(qkv="mha"), expect(),
               how="torch.onnx.export with autograd enabled (under no_grad torch 1.13 takes the "
               "MHA fast path aten::_native_multi_head_attention, which has no ONNX export)",
               notes="torch 1.13 export: Transpose[1,0,2] to sequence-first, packed in_proj MatMul+Add, "
               "q/k/v split by 3 Slice ops, Reshape to [T, B*H, d] + Transpose, q divided by sqrt(d) "
               "BEFORE the score MatMul (Div by constant 4), k Transpose[1,2,0], MatMul, Softmax(axis=-1) "
               "on a 3-D [B*H, T, T] tensor (heads folded into batch), MatMul with v. LayerNorm is "
               "decomposed at opset 13 (ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add).")

    # 4 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    torch_case("deit-distilled", "DeiT distilled: CLS + dist token, head(CLS) and head_dist(dist) "
               "averaged", 17, ViT(dist=True), expect(family="deit", prefix=2))

    # 5 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    torch_case("registers", "CLS + 4 register tokens (registers inserted after pos-embed, no "
               "pos-embed of their own), token order [CLS, R1..R4, patches]", 17, ViT(registers=4),
               expect(prefix=5))

    # 6 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    torch_case("gap-no-cls", "no CLS token, classifier on the mean of the 16 patch tokens", 17,
               ViT(cls=False, classifier="gap"), expect(prefix=0, classifier="gap"))

    # 7 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    torch_case("post-norm", "post-norm blocks: x = LN(x + attn(x)); x = LN(x + mlp(x)); no final "
               "norm, CLS", 17, ViT(placement="post"), expect(norm="post"))

    # 8 ------------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    torch_case("batchnorm", "BatchNorm1d over channels (transpose-BN-transpose) instead of "
               "LayerNorm, in the blocks and as final norm; pre-norm, CLS", 17, ViT(norm="bn"),
               expect())

    # 9 ------------------------------------------------------------------------------------------
    export(base, P("opset11.onnx"), 11, True)
    add("opset11", "case timm-fused-qkv exported at opset 11 (LayerNorm decomposed)",
        "torch.onnx.export of the timm-fused-qkv torch model", 11, expect(),
        write_ref(out, "opset11", x, lg1, att1),
        notes="LayerNorm -> ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add; Softmax keeps "
              "opset-11 semantics with an explicit axis=3 (coerce-to-2D at the last axis).")

    # 10 -----------------------------------------------------------------------------------------
    m = to_fp16(base_onnx)
    onnx.checker.check_model(m)
    onnx.save(m, P("fp16.onnx"))
    half = copy.deepcopy(base)
    with torch.no_grad():
        for prm in half.parameters():
            prm.copy_(prm.half().float())
    lgh, atth = run_torch(half, x)
    d_fp16 = {"logits": float(np.abs(lgh - lg1).max()), "attention": float(np.abs(atth - att1).max())}
    tol_fp16 = float(max(1e-2, 4 * max(d_fp16.values())))
    add("fp16", "timm-fused-qkv ONNX with every float initializer stored as float16 + Cast(to=float)",
        "graph edit of timm-fused-qkv.onnx", 17, expect(),
        write_ref(out, "fp16", x, lg1, att1),
        extra={"tolerance": tol_fp16,
               "toleranceEstimate": {"method": "fp32 torch model vs. weights rounded to fp16 and back",
                                     "maxAbsDiff": d_fp16}})

    # 11 -----------------------------------------------------------------------------------------
    m = to_qdq(base_onnx)
    onnx.checker.check_model(m)
    onnx.save(m, P("int8-qdq.onnx"))
    lgq, attq = run_torch(qdq_torch(base), x)
    add("int8-qdq", "timm-fused-qkv ONNX with every MatMul/Gemm weight as int8 + scale + zero point "
        "-> DequantizeLinear (per-tensor symmetric)", "graph edit of timm-fused-qkv.onnx", 17,
        expect(), write_ref(out, "int8-qdq", x, lgq, attq),
        notes="DequantizeLinear nodes are placed at the top of the graph; their outputs keep the "
              "original weight names (so MatMul/Gemm inputs are unchanged).",
        extra={"tolerance": 1e-4,
               "referenceFrom": "torch model with Linear weights quantized-dequantized the same way"})

    # 12 -----------------------------------------------------------------------------------------
    m = to_matmulinteger(base_onnx)
    onnx.checker.check_model(m)
    onnx.save(m, P("int8-dynamic-matmul.onnx"))
    lgd, attd = run_torch(dynq_torch(base), x)
    add("int8-dynamic-matmul", "timm-fused-qkv ONNX with each weight MatMul/Gemm replaced by "
        "DynamicQuantizeLinear -> MatMulInteger(uint8 x, int8 W) -> Cast -> Mul(x_scale*W_scale) "
        "[-> Add bias]", "graph edit of timm-fused-qkv.onnx", 17, expect(),
        write_ref(out, "int8-dynamic-matmul", x, lgd, attd),
        extra={"tolerance": 1e-3,
               "referenceFrom": "torch emulation of DynamicQuantizeLinear (uint8, round half to even) "
                                "+ integer matmul with the same int8 weights; rounding ties can flip "
                                "a quantized activation by 1 step, hence 1e-3",
               "fp32MaxAbsDiff": {"logits": float(np.abs(lgd - lg1).max()),
                                  "attention": float(np.abs(attd - att1).max())}})

    # 13 -----------------------------------------------------------------------------------------
    for fn in ("external-data.onnx.data", "missing.onnx.data"):
        if os.path.exists(P(fn)):
            os.remove(P(fn))
    onnx.save_model(copy.deepcopy(base_onnx), P("external-data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external-data.onnx.data", size_threshold=0)
    onnx.checker.check_model(P("external-data.onnx"))
    add("external-data", "timm-fused-qkv with all initializers in external-data.onnx.data",
        "onnx.save_model(save_as_external_data=True, all_tensors_to_one_file=True, "
        "size_threshold=0)", 17, expect(), write_ref(out, "external-data", x, lg1, att1),
        extra={"externalData": "external-data.onnx.data"},
        notes="onnxruntime-web (wasm) cannot read the data file by itself: creating the session from "
              "the path fails exactly like missing-external-data.onnx; pass "
              "{externalData: [{path: 'external-data.onnx.data', data: <bytes>}]} to "
              "InferenceSession.create. Verified that way with onnxruntime-web 1.30.")
    onnx.save_model(copy.deepcopy(base_onnx), P("missing-external-data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="missing.onnx.data", size_threshold=0)
    os.remove(P("missing.onnx.data"))
    add("missing-external-data", "timm-fused-qkv whose initializers point to missing.onnx.data, "
        "which does not exist", "as external-data, then the data file deleted", 17,
        {"error": "model-format"})

    # 14-16 --------------------------------------------------------------------------------------
    same_math = "same weights and math as timm-fused-qkv (static batch 1); reference = its torch model"
    m = build_fused_graph(base, "ms-attention")
    onnx.save(m, P("fused-ms-attention.onnx"))
    add("fused-ms-attention", "com.microsoft.Attention (input [B,T,C], weights [C,3C], bias [3C], "
        "num_heads=2) per block, built with onnx.helper", "onnx.helper from the timm-fused-qkv "
        "weights", 17, {"error": "fused-attention"}, write_ref(out, "fused-ms-attention", x, lg1, att1),
        notes=same_math + ". Opset imports: ai.onnx 17, com.microsoft 1. The probabilities are not "
        "an output of com.microsoft.Attention (outputs: 0 output [B,T,C], 1 present (optional)).")

    m = build_fused_graph(base, "ms-mha")
    onnx.save(m, P("fused-ms-mha.onnx"))
    add("fused-ms-mha", "com.microsoft.MultiHeadAttention (query, key, value [B,T,C] from separate "
        "MatMul+Add, num_heads=2) per block", "onnx.helper from the timm-fused-qkv weights", 17,
        {"error": "fused-attention"}, write_ref(out, "fused-ms-mha", x, lg1, att1),
        notes=same_math + ". com.microsoft.MultiHeadAttention outputs per the contrib-op schema "
        "(ContribOperators.md): 0 output [B,S,v_hidden]; 1 present_key (optional) [B,H,T,d]; "
        "2 present_value (optional) [B,H,T,d]; 3 qk (optional, [B,H,S,T]; only in recent "
        "onnxruntime releases, older ones declare 3 outputs). Only output 0 is wired here. Checked "
        "with onnxruntime-web 1.30 (wasm, CPU kernels) by wiring output 3: qk holds the SCALED "
        "PRE-SOFTMAX scores Q*K^T/sqrt(d) (plus attention_bias/mask if given), not probabilities; "
        "softmax(qk, -1) matches the reference attention to 4e-8. Other execution providers "
        "(WebGPU, CUDA) and older ORT versions were not checked.")

    m = build_fused_graph(base, "onnx-attention")
    onnx.save(m, P("onnx-attention-op23.onnx"))
    add("onnx-attention-op23", "standard ONNX Attention (opset 23, domain \"\") on Q, K, V "
        "[B,H,T,d], qk_matmul_output_mode=3, per block", "onnx.helper (no checker: onnx 1.12 does "
        "not know opset 23)", 23, {"error": "fused-attention"},
        write_ref(out, "onnx-attention-op23", x, lg1, att1),
        notes=same_math + ". ONNX Attention-23 outputs: 0 Y, 1 present_key, 2 present_value, "
        "3 qk_matmul_output; qk_matmul_output_mode=3 selects the softmax output for output 3 "
        "(0 = raw Q*K^T scaled, 1 = after mask/bias, 2 = after softcap). Only Y is wired here. "
        "ir_version set to 10 by hand. The lead must verify: that the runtime in use loads "
        "opset 23 / this IR version, implements Attention-23, and honours qk_matmul_output_mode=3 "
        "when output 3 is requested (onnx 1.12's checker could not validate any of it).")

    # 17-18 --------------------------------------------------------------------------------------
    torch.manual_seed(SEED)
    export(SmallCNN().eval(), P("cnn-not-vit.onnx"), 17)
    add("cnn-not-vit", "small CNN: Conv k3 s2 -> ReLU -> Conv k3 s2 -> ReLU -> GAP -> Linear; no "
        "attention", "torch.onnx.export", 17, {"error": "not-a-vit"})
    torch.manual_seed(SEED)
    export(Mixer().eval(), P("patch-conv-no-attention.onnx"), 17)
    add("patch-conv-no-attention", "patch Conv k8 s8 + MLP-Mixer blocks (token MLP over the 16 "
        "tokens, channel MLP); no Softmax", "torch.onnx.export", 17, {"error": "not-a-vit"})

    # op sequences + sizes ----------------------------------------------------------------------
    for c in cases:
        path = P(c["file"])
        c["bytes"] = os.path.getsize(path)
        if "error" not in c["expect"] or c["expect"]["error"] == "fused-attention":
            mm = onnx.load(path, load_external_data=False)
            c["attentionOps"] = attention_op_sequence(mm)
        if c.get("externalData"):
            c["externalDataBytes"] = os.path.getsize(P(c["externalData"]))

    doc = {
        "generator": "scripts/make_coverage_models.py",
        "seed": SEED,
        "torch": torch.__version__, "onnx": onnx.__version__,
        "input": {"shape": [1, 3, IMG, IMG], "dtype": "float32",
                  "distribution": "torch.rand after torch.manual_seed(0)"},
        "binFormat": "raw float32 little-endian, C order",
        "attentionLayout": "[layers, heads, tokens, tokens], softmax probabilities of batch item 0",
        "cases": cases,
    }
    with open(P("expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    write_readme(out, cases)
    for c in cases:
        print(f"{c['file']:32s} {c['bytes']:7d}  {' '.join(c.get('attentionOps') or [])}")


def write_readme(out, cases):
    lines = [
        "# Coverage fixtures",
        "",
        "Tiny random-weight models (seed 0; 32x32 image, patch 8 -> 4x4 grid, embed 32, 2 layers, "
        "2 heads, 5 classes) exercising the ViT detector on many export styles. `expected.json` "
        "holds, per case, what detection must report (or the error it must raise) and reference "
        "tensors (`<case>.{input,logits,attention}.bin`, float32 LE; attention `[L,H,T,T]`).",
        "",
        "Regenerate: `/usr/bin/python3 scripts/make_coverage_models.py` (torch 1.13, onnx 1.12; "
        "deterministic on CPU).",
        "",
        "Checked (outside this script) with onnxruntime-web 1.30 in Node (wasm): every model "
        "loads except `missing-external-data.onnx`, logits and Softmax taps match the .bin files to "
        "<4e-7 (fp16: 2.3e-4 logits / 4.3e-5 attention; int8-dynamic-matmul: exact).",
        "",
        "Attention ops: data-path op types of block 0 from the first weight MatMul after the norm "
        "to the first Softmax / fused op (shape arithmetic left out).",
        "",
        "| file | opset | bytes | what / how | attention ops |",
        "|---|---|---|---|---|",
    ]
    for c in cases:
        exp = c["expect"]
        tag = f"expect error `{exp['error']}`" if "error" in exp else \
            f"{exp['family']}, prefix {exp['prefixTokens']}, {exp['norm']}-norm, {exp['classifier']}"
        size = str(c["bytes"])
        if c.get("externalDataBytes"):
            size += f" + {c['externalDataBytes']} (`{c['externalData']}`)"
        ops = " ".join(c.get("attentionOps") or []) or "-"
        lines.append(f"| `{c['file']}` | {c['opset']} | {size} | {c['case']} ({c['how']}); {tag} | {ops} |")
    lines.append("")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
