#!/usr/bin/env python3
"""PyTorch autograd references for ViT Lens's in-graph gradients (issue 14) -> test/fixtures/gradients/.

For each model: d logit[c] / d A_l for every layer's post-softmax attention A_l [L, H, T, T] (retain_grad on the
softmax output), and d logit[c] / d F for F = the tokens entering the last block's attention (its qkv input: the
last block's norm1 output in a pre-norm ViT), [T, D]; c = the top-1 class and the second most likely class.

Models, each rebuilt exactly as the script that exported it, and checked against its committed logits first:
- the demo ViT (models/vit-demo.onnx, scripts/make_demo_vit.py): weights read back from the ONNX initializers;
- the real ViT-Ti (models/vit-tiny-imagenet.onnx, scripts/make_real_vit.py): ../shared/real-weights rounded to
  float16 as the ONNX stores them (make_real_vit.fp16_twin);
- the coverage fixtures' tiny ViTs (scripts/make_coverage_models.py, seed 0).

Forward and backward run in float64, so the reference carries no float32 round-off of its own.
Storage: float32 LE ("f32"), or for the large attention gradients "i16-gz": per layer l, round(g / s_l) as int16
LE with s_l = max|g_l| / 32767, gzip-compressed; the dequantization error (<= s_l / 2) is recorded per layer.

Run: /usr/bin/python3 scripts/make_gradient_refs.py   (torch 1.13; a few minutes on 2 cores)
"""

import gzip
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
OUT = os.path.join(REPO, "test", "fixtures", "gradients")


def read_f32(path, shape=None):
    a = np.fromfile(os.path.join(REPO, path), dtype="<f4")
    return a.reshape(shape) if shape else a


class Capture:
    """Keeps each layer's live softmax output (retain_grad) and the last block's attention input."""

    def __init__(self):
        self.attn = []
        self.features = None


def live_softmax(cap, a):
    a.retain_grad()
    cap.attn.append(a)
    return a


def timm_like_forward(cap):
    """Attention.forward of make_demo_vit / make_real_vit (fused qkv, (q@kT)*scale)."""
    def forward(self, x):
        B, N, C = x.shape
        heads = self.heads  # make_real_vit's Attention reads a global: real_ref sets the attribute
        hd = C // heads
        qkv = self.qkv(x).reshape(B, N, 3, heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = live_softmax(cap, ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1))
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, C))
    return forward


def coverage_forward(cap):
    """make_coverage_models.Attention.forward with the softmax kept live; 'mha' written out as
    nn.MultiheadAttention computes it (packed in_proj, q / sqrt(d), softmax, out_proj)."""
    def forward(self, x):
        B, T, C = x.shape
        if self.mode == "mha":
            m = self.mha
            qkv = torch.nn.functional.linear(x, m.in_proj_weight, m.in_proj_bias)
            q, k, v = qkv.split(C, dim=-1)
            q, k, v = [t.reshape(B, T, self.heads, self.hd).transpose(1, 2) for t in (q, k, v)]
            a = live_softmax(cap, ((q / math.sqrt(self.hd)) @ k.transpose(-2, -1)).softmax(dim=-1))
            return m.out_proj((a @ v).transpose(1, 2).reshape(B, T, C))
        if self.mode == "fused":
            qkv = self.qkv(x).reshape(B, T, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        else:
            q = self.q(x).reshape(B, T, self.heads, self.hd).transpose(1, 2)
            k = self.k(x).reshape(B, T, self.heads, self.hd).transpose(1, 2)
            v = self.v(x).reshape(B, T, self.heads, self.hd).transpose(1, 2)
        s = (q @ k.transpose(-2, -1)) * self.scale if self.scale_op == "mul" else (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        a = live_softmax(cap, s.softmax(dim=-1))
        return self.proj((a @ v).transpose(1, 2).reshape(B, T, C))
    return forward


def gradients(model, last_attn_module, x, cap, classes=None):
    """(logits, classes, [(attention grads [L,H,T,T], features grad [T,D])] per class), float64."""
    model = model.double().eval()
    x = torch.from_numpy(x.astype(np.float64))

    def hook(_mod, inp):
        inp[0].retain_grad()
        cap.features = inp[0]
    h = last_attn_module.register_forward_pre_hook(hook)
    cap.attn.clear()
    logits = model(x)
    h.remove()
    order = torch.argsort(logits[0], descending=True).tolist()
    classes = classes or order[:2]
    out = []
    for c in classes:
        for t in cap.attn + [cap.features]:
            t.grad = None
        logits[0, c].backward(retain_graph=True)
        att = torch.stack([a.grad[0] for a in cap.attn]).numpy()
        feat = cap.features.grad[0].numpy()
        if feat.shape[0] != att.shape[-1]:  # a sequence-first attention input: [T, B, D] -> [T, D]
            feat = cap.features.grad[:, 0].numpy()
        out.append((att, feat))
    return logits[0].detach().numpy(), classes, out


def write_f32(name, a):
    a.astype("<f4").tofile(os.path.join(OUT, name))
    return {"file": name, "encoding": "f32"}


def write_i16gz(name, a):
    """Per-layer int16 fixed point, gzip: the attention gradients of the 197-token models would not fit as float32."""
    scales, errors, q = [], [], np.empty(a.shape, dtype="<i2")
    for l in range(a.shape[0]):
        m = float(np.abs(a[l]).max())
        s = m / 32767 if m > 0 else 1.0
        q[l] = np.round(a[l] / s).astype("<i2")
        scales.append(s)
        errors.append(float(np.abs(q[l].astype(np.float64) * s - a[l]).max()))
    with gzip.GzipFile(os.path.join(OUT, name), "wb", compresslevel=9, mtime=0) as f:  # mtime 0: reproducible bytes
        f.write(q.tobytes())
    return {"file": name, "encoding": "i16-gz", "scales": scales, "quantizationMaxAbs": errors}


def record(name, model_path, input_path, logits, classes, grads, big, torch_logits_ref, extra=None):
    att0 = grads[0][0]
    entry = {"name": name, "model": model_path, "input": input_path,
             "logits": write_f32(f"{name}.logits.bin", logits)["file"],
             "logitsMaxAbsDiffToCommitted": float(np.abs(logits - torch_logits_ref).max()),
             "attentionShape": list(att0.shape), "featuresShape": list(grads[0][1].shape), "classes": []}
    for c, (att, feat) in zip(classes, grads):
        enc = write_i16gz if big else write_f32
        entry["classes"].append({"index": int(c), "attentionGrad": enc(f"{name}.class{c}.attention-grad.bin" + (".gz" if big else ""), att),
                                 "featuresGrad": write_f32(f"{name}.class{c}.features-grad.bin", feat),
                                 "attentionGradMaxAbs": [float(np.abs(att[l]).max()) for l in range(att.shape[0])],
                                 "featuresGradMaxAbs": float(np.abs(feat).max())})
    if extra:
        entry.update(extra)
    print("%-16s logits Δ %.2e  classes %s  attention %s" % (name, entry["logitsMaxAbsDiffToCommitted"], classes, att0.shape), flush=True)
    return entry


def demo_ref():
    import make_demo_vit as mdv
    cap = Capture()
    mdv.Attention.forward = timm_like_forward(cap)
    model = mdv.ViT(len(mdv.LABELS))
    m = onnx.load(os.path.join(REPO, "models", "vit-demo.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    sd = model.state_dict()
    new = {k: torch.from_numpy(inits[k].copy()) for k in sd if k in inits}
    # Linear weights are exported transposed under generated names: map them by their MatMul node's name.
    for n in m.graph.node:
        if n.op_type == "MatMul" and n.input[1] in inits and n.name.endswith("/MatMul"):
            key = n.name.strip("/").replace("/", ".")[: -len(".MatMul")] + ".weight"
            new[key] = torch.from_numpy(inits[n.input[1]].T.copy())
    missing = [k for k in sd if k not in new and not k.startswith("token_head")]
    assert not missing, missing
    model.load_state_dict(new, strict=False)
    ref = "models/reference/vit-demo/shapes-star"
    x = read_f32(ref + "/input.bin", (1, 3, 224, 224))
    logits, classes, grads = gradients(model, model.blocks[-1].attn, x, cap)
    return record("vit-demo", "models/vit-demo.onnx", ref + "/input.bin", logits, classes, grads, True, read_f32(ref + "/logits.bin"))


def real_ref():
    import make_real_vit as mrv
    cap = Capture()
    mrv.Attention.forward = timm_like_forward(cap)
    model = mrv.fp16_twin(mrv.load_model(os.path.join(REPO, "..", "shared", "real-weights", "vit-ti16-augreg", "tensors")))
    for b in model.blocks:
        b.attn.heads = mrv.HEADS
    ref = "models/reference/vit-tiny-imagenet/cat_tabby"
    x = read_f32(ref + "/input.bin", (1, 3, 224, 224))
    logits, classes, grads = gradients(model, model.blocks[-1].attn, x, cap)
    return record("vit-tiny-imagenet", "models/vit-tiny-imagenet.onnx", ref + "/input.bin", logits, classes, grads, True,
                  read_f32(ref + "/logits.fp16-weights.bin"))


COVERAGE = {
    "timm-fused-qkv": dict(qkv="fused", scale_op="mul"),
    "opset11": dict(qkv="fused", scale_op="mul"),
    "hf-separate-qkv": dict(qkv="separate", scale_op="div"),
    "torchvision-mha": dict(qkv="mha"),
    "deit-distilled": dict(dist=True),
    "registers": dict(registers=4),
    "gap-no-cls": dict(cls=False, classifier="gap"),
    "post-norm": dict(placement="post"),
    "batchnorm": dict(norm="bn"),
}


def coverage_refs():
    import make_coverage_models as mcm
    cap = Capture()
    mcm.Attention.forward = coverage_forward(cap)
    out = []
    for case, kw in COVERAGE.items():
        torch.manual_seed(mcm.SEED)
        model = mcm.ViT(**kw).eval()
        d = "test/fixtures/coverage/"
        x = read_f32(d + case + ".input.bin", (1, 3, mcm.IMG, mcm.IMG))
        logits, classes, grads = gradients(model, model.blocks[-1].attn, x, cap)
        out.append(record(case, d + case + ".onnx", d + case + ".input.bin", logits, classes, grads, False, read_f32(d + case + ".logits.bin")))
    return out


def op_zoo():
    """A small graph (not a ViT) through the ops with a gradient rule that the exports above do not use: Tanh,
    Sigmoid, Relu, Split, Squeeze, Unsqueeze, Expand, Where, Slice (negative start), Gather (1-D indices with a
    repeat), Flatten, MatMul 3-D @ 2-D, ReduceSum, Pow, Sqrt, Div by a computed tensor, LogSoftmax, Softmax on
    axis 0, Cast, Identity, Neg, Exp, Gemm with transA, transB, alpha and beta. Targets: the input x and two
    intermediates, s and w."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(14)
    c0 = rng.standard_normal(4).astype(np.float32) * 0.3
    cond = rng.random((2, 3)) > 0.5
    W1 = rng.standard_normal((3, 6)).astype(np.float32)
    W2 = rng.standard_normal((5, 12)).astype(np.float32)
    C = rng.standard_normal(5).astype(np.float32)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    I = lambda name, v, dt=np.int64: numpy_helper.from_array(np.asarray(v, dtype=dt), name)  # noqa: E731
    inits = [numpy_helper.from_array(c0, "c0"), numpy_helper.from_array(cond, "cond"), numpy_helper.from_array(W1, "W1"),
             numpy_helper.from_array(W2, "W2"), numpy_helper.from_array(C, "C"), I("split", [1, 3]), I("ax2", [2]), I("ax0", [0]),
             I("eshape", [4, 2, 3]), I("st", [-2]), I("en", [100]), I("gi", [1, 0, 1]), I("r12", [12, 1]),
             numpy_helper.from_array(np.float32(3), "three"), numpy_helper.from_array(np.float32(1), "one"),
             numpy_helper.from_array(np.float32(2), "two"), numpy_helper.from_array(np.float32(0.01), "cent")]
    N = helper.make_node
    nodes = [
        N("Tanh", ["x"], ["h1"]), N("Sigmoid", ["x"], ["h2"]), N("Sub", ["x", "c0"], ["xc"]), N("Relu", ["xc"], ["h3"]),
        N("Mul", ["h1", "h2"], ["h12"]), N("Add", ["h12", "h3"], ["s0"]), N("Identity", ["s0"], ["s"]),
        N("Split", ["s", "split"], ["p0", "p1"], axis=2), N("Squeeze", ["p0", "ax2"], ["p0s"]),
        N("Unsqueeze", ["p0s", "ax0"], ["p0u"]), N("Expand", ["p0u", "eshape"], ["e"]), N("Neg", ["e"], ["ne"]),
        N("Where", ["cond", "e", "ne"], ["w"]), N("Slice", ["p1", "st", "en", "ax2"], ["sl"]),
        N("Gather", ["sl", "gi"], ["g"], axis=1), N("Flatten", ["g"], ["f"], axis=1), N("MatMul", ["w", "W1"], ["m"]),
        N("Mul", ["m", "f"], ["mf"]), N("ReduceSum", ["mf", "ax0"], ["r"], keepdims=0), N("Mul", ["r", "r"], ["rr"]),
        N("Add", ["rr", "one"], ["rr1"]), N("Sqrt", ["rr1"], ["sq"]), N("Add", ["rr", "two"], ["rr2"]),
        N("Div", ["sq", "rr2"], ["d"]), N("Pow", ["r", "three"], ["r3"]), N("Mul", ["r3", "cent"], ["r3c"]),
        N("Exp", ["d"], ["ed"]), N("Add", ["r3c", "ed"], ["z"]), N("Cast", ["z"], ["zc"], to=TensorProto.FLOAT),
        N("LogSoftmax", ["zc"], ["ls"], axis=1), N("Softmax", ["ls"], ["sm"], axis=0), N("Reshape", ["sm", "r12"], ["flatT"]),
        N("Gemm", ["flatT", "W2", "C"], ["logits"], transA=1, transB=1, alpha=0.7, beta=0.3)]
    g = helper.make_graph(nodes, "op-zoo", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_gradient_refs.py")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(OUT, "op-zoo.onnx"))

    T = lambda a: torch.from_numpy(np.asarray(a)).double()  # noqa: E731
    xt = T(x).requires_grad_(True)
    s = torch.tanh(xt) * torch.sigmoid(xt) + torch.relu(xt - T(c0))
    s.retain_grad()
    p0, p1 = torch.split(s, [1, 3], dim=2)
    e = p0.squeeze(2).unsqueeze(0).expand(4, 2, 3)
    w = torch.where(torch.from_numpy(cond), e, -e)
    w.retain_grad()
    f = p1[:, :, -2:][:, [1, 0, 1]].reshape(2, 6)
    r = ((w @ T(W1)) * f).sum(0)
    z = r ** 3 * 0.01 + torch.exp(torch.sqrt(r * r + 1) / (r * r + 2))
    sm = torch.softmax(torch.log_softmax(z, dim=1), dim=0)
    logits = 0.7 * sm.reshape(12, 1).t() @ T(W2).t() + 0.3 * T(C)
    x.astype("<f4").tofile(os.path.join(OUT, "op-zoo.input.bin"))
    logits.detach().numpy().astype("<f4").tofile(os.path.join(OUT, "op-zoo.logits.bin"))
    entry = {"name": "op-zoo", "model": "test/fixtures/gradients/op-zoo.onnx", "input": "test/fixtures/gradients/op-zoo.input.bin",
             "logits": "op-zoo.logits.bin", "targets": ["x", "s", "w"], "classes": []}
    for c in (0, 3):
        for t in (xt, s, w):
            t.grad = None
        logits[0, c].backward(retain_graph=True)
        entry["classes"].append({"index": c, "grads": [write_f32(f"op-zoo.class{c}.{n}-grad.bin", t.grad.numpy())["file"]
                                                       for n, t in (("x", xt), ("s", s), ("w", w))]})
    print("op-zoo           %d nodes" % len(nodes), flush=True)
    return entry


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    zoo = op_zoo()
    refs = [demo_ref(), real_ref()] + coverage_refs()
    bad = [r["name"] for r in refs if r["logitsMaxAbsDiffToCommitted"] > 1e-4]
    assert not bad, "rebuilt models whose logits differ from the committed reference: %s" % bad
    doc = {
        "generator": "scripts/make_gradient_refs.py",
        "torch": torch.__version__,
        "precision": "float64 forward and backward (weights as the ONNX stores them)",
        "attentionGrad": "d logit[c] / d softmax output, [layers, heads, tokens, tokens] of batch item 0",
        "featuresGrad": "d logit[c] / d (input of the last block's attention), [tokens, width]",
        "encodings": {"f32": "float32 LE, C order",
                      "i16-gz": "gzip of int16 LE; layer l's values times scales[l]; quantizationMaxAbs[l] = max |dequantized - float64|"},
        "tolerance": {"relative": 1e-4, "note": "per layer: max|onnx - ref| <= 1e-4 * max|ref| + quantizationMaxAbs + absFloor (see the test)"},
        "references": refs,
        "opZoo": zoo,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print("wrote %s: %.2f MB" % (os.path.relpath(OUT, REPO), total / 1e6))


if __name__ == "__main__":
    main()
