#!/usr/bin/env python3
"""PyTorch autograd references for ViT Lens's Swin gradients (issue 14, point 3) -> test/fixtures/swin-gradients/.

Two Swin models, each rebuilt exactly as the script that exported it and checked against its committed logits:
- the Swin demo (models/swin-demo.onnx, scripts/make_demo_swin.py's modules): weights read back from the ONNX
  initializers; the relative-position bias table, which constant folding turned into the [1, h, M², M²] bias, is
  recovered exactly by inverting the lookup (every table entry appears in relative_position_index);
- torchvision's SwinTransformer (test/fixtures/torchvision/swin.onnx, scripts/make_torchvision_models.py: seed 0,
  the head re-drawn with normal(0, 0.2)).

Per model, for the top-1 class and the second most likely class (float64 forward and backward):
- d logit[c] / d A_b for every block's window attention probabilities A_b [nW, heads, M², M²] (batch 1);
- d logit[c] / d F for F = the last stage's final norm output (before pooling), token-major [H·W, C];
- the expected maps, computed here by code independent of src/shared/swinRelevance.ts (window_reverse and
  torch.roll written in torch, as Swin's own code undoes its partition and shift):
  * R_b = mean over heads of (∇A_b ⊙ A_b)⁺, [nW, M², M²];
  * class map of block b: for each key token, the mean over the M² queries of its window of R_b[q, key] (the
    column mean), window-reversed and rolled back to the stage grid (original token order);
  * query map of block b: the row of R_b of one query token (given as a stage-1 patch; the stage-s token that
    covers it), laid on the stage grid via a dense [H·W, H·W] relevance matrix built from the index grid
    window_partition(roll(arange)), 0 outside the query's window;
  * both upsampled to the stage-1 grid by repeating each stage-s token over its 2^s × 2^s stage-1 patches;
  * Grad-CAM on F, pytorch-grad-cam's recipe with its Swin reshape_transform ([B, H·W, C] -> [B, C, H, W]):
    weights = mean of the gradient over H, W per channel, cam = ReLU(Σ_c w_c F_c), on the last stage's grid.
  Normalized maps: (x − min)/(max − min) for the relevance maps; scale_cam_image applied twice for Grad-CAM
  (as src/shared/relevance.ts's gradCamTokens, after pytorch-grad-cam).

Plus an op zoo (op-zoo.onnx): the backward rules the Swin path added (strided Slice, Pad, GlobalAveragePool) in
forms the two models do not reach (negative steps, cropping pads), with autograd gradients for two classes.

Storage: float32 LE; the demo's attention gradients as "i16-gz" (per block b: round(g / s_b) as int16 LE with
s_b = max|g_b| / 32767, all blocks concatenated, gzip), the dequantization error per block recorded.

Run: /usr/bin/python3 scripts/make_swin_gradient_refs.py   (torch 1.13, torchvision 0.14; about a minute)
"""

import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
OUT = os.path.join(REPO, "test", "fixtures", "swin-gradients")

# A stage-1 patch near the top border: in every shifted block its token's window wraps around (the cyclic shift
# moves rows 0..s−1 to the bottom window row), so the query maps test the roll back, not only the partition.
QUERY = {"swin-demo": [1, 30], "torchvision-swin": [0, 9]}


def read_f32(path, shape=None):
    a = np.fromfile(os.path.join(REPO, path), dtype="<f4")
    return a.reshape(shape) if shape else a


def write_f32(name, a):
    np.asarray(a).astype("<f4").tofile(os.path.join(OUT, name))
    return {"file": name, "encoding": "f32"}


def write_blocks(name, blocks, quantize):
    """Blocks of different shapes, flattened and concatenated; int16 + gzip per block scale when quantize."""
    offsets, off = [], 0
    for b in blocks:
        offsets.append(off)
        off += b.size
    if not quantize:
        np.concatenate([b.ravel() for b in blocks]).astype("<f4").tofile(os.path.join(OUT, name))
        return {"file": name, "encoding": "f32", "offsets": offsets}
    scales, errors, parts = [], [], []
    for b in blocks:
        m = float(np.abs(b).max())
        s = m / 32767 if m > 0 else 1.0
        q = np.round(b.ravel() / s).astype("<i2")
        scales.append(s)
        errors.append(float(np.abs(q.astype(np.float64) * s - b.ravel()).max()))
        parts.append(q)
    with gzip.GzipFile(os.path.join(OUT, name), "wb", compresslevel=9, mtime=0) as f:  # mtime 0: reproducible bytes
        f.write(np.concatenate(parts).tobytes())
    return {"file": name, "encoding": "i16-gz", "offsets": offsets, "scales": scales, "quantizationMaxAbs": errors}


# ----------------------------------------------------------------------------
# Expected maps (torch, independent of the TypeScript)
# ----------------------------------------------------------------------------

def window_partition(x, M):
    """[1, H, W, C] -> [nW, M*M, C], Swin's order (windows row-major, tokens row-major inside)."""
    _, H, W, C = x.shape
    return x.view(1, H // M, M, W // M, M, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, M * M, C)


def window_reverse(windows, M, H, W):
    """[nW, M*M, C] -> [1, H, W, C], Swin's window_reverse."""
    C = windows.shape[-1]
    return windows.view(1, H // M, W // M, M, M, C).permute(0, 1, 3, 2, 4, 5).reshape(1, H, W, C)


def upsample(m, factor, size):
    """Each stage token over its factor × factor stage-1 patches (crop where patch merging padded)."""
    return m.repeat_interleave(factor, 0).repeat_interleave(factor, 1)[:size, :size]


def min_max(v):
    lo, hi = v.min(), v.max()
    return (v - lo) / (hi - lo) if hi > lo else torch.zeros_like(v)


def scale_cam_image(v):
    v = v - v.min()
    return v / (1e-7 + v.max())


def block_maps(A, dA, M, shift, grid, stage, g1, query):
    """(class map, query map) on the stage grid and upsampled to the stage-1 grid (float64 tensors)."""
    R = torch.relu(A * dA).mean(1)  # [nW, N, N]
    H = W = grid
    # Class map: column mean over the window's queries, window_reverse, roll back by +shift.
    received = R.mean(1).unsqueeze(-1)  # [nW, N, 1]
    cls = window_reverse(received, M, H, W)
    if shift:
        cls = torch.roll(cls, shifts=(shift, shift), dims=(1, 2))
    cls = cls[0, :, :, 0]
    # Query map: a dense relevance matrix in original token order from the partitioned index grid.
    index = torch.arange(H * W, dtype=torch.float64).view(1, H, W, 1)
    if shift:
        index = torch.roll(index, shifts=(-shift, -shift), dims=(1, 2))
    index = window_partition(index, M)[:, :, 0].long()  # [nW, N]: original token at each attention position
    dense = torch.zeros(H * W, H * W, dtype=torch.float64)
    nW, N = index.shape
    for w in range(nW):
        dense[index[w][:, None], index[w][None, :]] = R[w]
    f = 2 ** stage
    qr, qc = query[0] // f, query[1] // f
    qmap = dense[qr * W + qc].view(H, W)
    return cls, qmap, upsample(cls, f, g1), upsample(qmap, f, g1)


def grad_cam(feat, grad, H, W):
    """pytorch-grad-cam GradCAM with the Swin reshape_transform: [1, H*W, C] -> [1, C, H, W]."""
    act = feat.reshape(1, H, W, -1).permute(0, 3, 1, 2)
    g = grad.reshape(1, H, W, -1).permute(0, 3, 1, 2)
    weights = g.mean(dim=(2, 3))
    cam = torch.relu((weights[:, :, None, None] * act).sum(1))[0]
    return cam.reshape(-1)


# ----------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------

class Capture:
    def __init__(self):
        self.attn = []
        self.features = None


def demo_model(cap):
    import make_demo_swin as mds

    def forward(self, x, mask=None):
        # WindowAttention.forward of make_demo_swin.py with the softmax output kept live.
        N, C, h, d = self.M * self.M, self.dim, self.heads, self.head_dim
        qkv = self.qkv(x).reshape(-1, N, 3, h, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, h)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nW = int(mask.shape[0])
            attn = attn.reshape(-1, nW, h, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.reshape(-1, h, N, N)
        attn = torch.softmax(attn, dim=-1)
        attn.retain_grad()
        cap.attn.append(attn)
        x = (attn @ v).transpose(1, 2).reshape(-1, N, C)
        return self.proj(x)

    mds.WindowAttention.forward = forward
    model = mds.Swin(len(mds.LABELS))
    m = onnx.load(os.path.join(REPO, "models", "swin-demo.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    sd = model.state_dict()
    new = {k: torch.from_numpy(inits[k].copy()) for k in sd if k in inits}
    for n in m.graph.node:
        scope = n.name.strip("/").rsplit("/", 1)[0].replace("/", ".")
        # Linear weights are exported transposed under generated names: map them by their MatMul node's scope.
        if n.op_type == "MatMul" and n.input[1] in inits and n.name.endswith("/MatMul"):
            new[scope + ".weight"] = torch.from_numpy(inits[n.input[1]].T.copy())
        # The folded bias [1, h, N, N] = table[index].view(N, N, h).permute(2, 0, 1): invert the lookup.
        if n.op_type == "Add" and n.name.endswith("/attn/Add") and n.input[1] in inits:
            bias = torch.from_numpy(inits[n.input[1]][0].copy())  # [h, N, N]
            key = scope + ".relative_position_bias_table"
            mod = model.get_submodule(scope)
            table = torch.zeros_like(sd[key])
            idx = mod.relative_position_index.view(-1)
            table[idx] = bias.permute(1, 2, 0).reshape(-1, bias.shape[0])
            assert torch.equal(table[idx].view(mod.M ** 2, mod.M ** 2, -1).permute(2, 0, 1), bias)
            new[key] = table
    missing = [k for k in sd if k not in new and not k.startswith("token_head")]
    assert not missing, missing
    model.load_state_dict(new, strict=False)
    model.norm.register_forward_hook(lambda _m, _i, out: keep_features(cap, out))
    blocks = [{"stage": b["stage"], "window": mds.WINDOW, "shift": mod.shift, "grid": b["grid"][0],
               "heads": b["heads"], "windows": b["windows"]} for b, mod in zip(model.block_info, model.blocks())]
    return model, blocks, mds.GRIDS


def keep_features(cap, out):
    out.retain_grad()
    cap.features = out


def torchvision_model(cap):
    import make_torchvision_models as mtm
    from torchvision.models import SwinTransformer
    from torchvision.models import swin_transformer as tv_swin
    real = tv_swin.F.softmax

    def softmax(t, dim=-1, **kw):
        out = real(t, dim=dim, **kw)
        out.retain_grad()
        cap.attn.append(out)
        return out
    tv_swin.F.softmax = softmax  # only shifted_window_attention calls softmax in torchvision's Swin module
    cfg = json.load(open(os.path.join(REPO, "test", "fixtures", "torchvision", "expected.json")))["cases"][1]
    torch.manual_seed(mtm.SEED)
    model = SwinTransformer(**cfg["args"]).eval()
    with torch.no_grad():
        model.head.weight.normal_(0, 0.2)
    model.norm.register_forward_hook(lambda _m, _i, out: keep_features(cap, out))
    grids = cfg["expect"]["grids"]
    M = cfg["args"]["window_size"][0]
    blocks = []
    for s, depth in enumerate(cfg["args"]["depths"]):
        for j in range(depth):
            shift = M // 2 if j % 2 == 1 and grids[s] > M else 0
            blocks.append({"stage": s, "window": M, "shift": shift, "grid": grids[s], "heads": cfg["args"]["num_heads"][s],
                           "windows": (grids[s] // M) ** 2})
    return model, blocks, grids


def reference(name, model_path, input_path, input_shape, committed_logits, build, quantize):
    cap = Capture()
    model, blocks, grids = build(cap)
    model = model.double().eval()
    x = torch.from_numpy(read_f32(input_path, input_shape).astype(np.float64))
    logits = model(x)
    assert len(cap.attn) == len(blocks), (len(cap.attn), len(blocks))
    lg = logits[0].detach().numpy()
    delta = float(np.abs(lg - read_f32(committed_logits)).max())
    assert delta < 1e-4, "%s: rebuilt logits differ from the committed reference by %g" % (name, delta)
    classes = torch.argsort(logits[0], descending=True).tolist()[:2]
    g1, gl = grids[0], grids[-1]
    feat = cap.features.detach().reshape(gl * gl, -1)
    entry = {"name": name, "model": model_path, "input": input_path, "inputShape": input_shape,
             "logits": write_f32(name + ".logits.bin", lg)["file"], "logitsMaxAbsDiffToCommitted": delta,
             "blocks": blocks, "stageGrids": grids, "query": QUERY[name], "featuresShape": list(feat.shape), "classes": []}
    for c in classes:
        for t in cap.attn + [cap.features]:
            t.grad = None
        logits[0, c].backward(retain_graph=True)
        grads = [a.grad[:b["windows"]].detach() for a, b in zip(cap.attn, blocks)]
        attn = [a[:b["windows"]].detach() for a, b in zip(cap.attn, blocks)]
        fgrad = cap.features.grad.reshape(gl * gl, -1)
        cls_stage, q_stage, cls_up, q_up = [], [], [], []
        for A, dA, b in zip(attn, grads, blocks):
            cm, qm, cu, qu = block_maps(A, dA, b["window"], b["shift"], b["grid"], b["stage"], g1, QUERY[name])
            cls_stage.append(cm.numpy())
            q_stage.append(qm.numpy())
            cls_up.append(cu.numpy())
            q_up.append(qu.numpy())
        cam = grad_cam(feat, fgrad, gl, gl)
        pre = "%s.class%d." % (name, c)
        entry["classes"].append({
            "index": int(c),
            "attentionGrad": write_blocks(pre + "attention-grad.bin" + (".gz" if quantize else ""), [g.numpy() for g in grads], quantize),
            "attentionGradMaxAbs": [float(g.abs().max()) for g in grads],
            "featuresGrad": write_f32(pre + "features-grad.bin", fgrad.numpy())["file"],
            "featuresGradMaxAbs": float(fgrad.abs().max()),
            "classMaps": write_blocks(pre + "class-maps.bin", cls_stage, False),
            "classMapsNormalized": write_blocks(pre + "class-maps-normalized.bin", [min_max(torch.from_numpy(m)).numpy() for m in cls_stage], False),
            "queryMaps": write_blocks(pre + "query-maps.bin", q_stage, False),
            "classMapsStage1": write_f32(pre + "class-maps-stage1.bin", np.stack([min_max(torch.from_numpy(m)).numpy() for m in cls_up]))["file"],
            "queryMapsStage1": write_f32(pre + "query-maps-stage1.bin", np.stack([min_max(torch.from_numpy(m)).numpy() for m in q_up]))["file"],
            "gradCam": write_f32(pre + "grad-cam.bin", cam.numpy())["file"],
            "gradCamNormalized": write_f32(pre + "grad-cam-normalized.bin", scale_cam_image(scale_cam_image(cam)).numpy())["file"],
        })
    print("%-17s logits Δ %.2e  classes %s  blocks %d" % (name, delta, classes, len(blocks)), flush=True)
    return entry


def op_zoo():
    """A small graph through the rules the Swin path added, in forms the two models do not reach: Slice with step 2,
    −1 (two axes at once) and −2, Pad with positive and negative (cropping) pads, GlobalAveragePool. Targets: the
    input x and the padded tensor p."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(143)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    W = rng.standard_normal((5, 6)).astype(np.float32)
    I = lambda name, v: numpy_helper.from_array(np.asarray(v, dtype=np.int64), name)  # noqa: E731
    inits = [numpy_helper.from_array(W, "W"), I("s1s", [0]), I("s1e", [6]), I("ax2", [2]), I("two", [2]),
             I("s2s", [-1, 1]), I("s2e", [-100, 100]), I("ax23", [2, 3]), I("s2p", [-1, 2]),
             I("s3s", [5]), I("s3e", [0]), I("m2", [-2]), I("pads", [0, 0, 1, -1, 0, 0, -1, 2]), I("r16", [1, 6])]
    N = helper.make_node
    nodes = [
        N("Slice", ["x", "s1s", "s1e", "ax2", "two"], ["s1"]), N("Slice", ["x", "s2s", "s2e", "ax23", "s2p"], ["s2"]),
        N("Slice", ["x", "s3s", "s3e", "ax2", "m2"], ["s3"]), N("Mul", ["s1", "s3"], ["m"]), N("Pad", ["m", "pads"], ["p"]),
        N("Tanh", ["s2"], ["t2"]), N("GlobalAveragePool", ["t2"], ["u"]), N("Tanh", ["p"], ["tp"]),
        N("GlobalAveragePool", ["tp"], ["v"]), N("Mul", ["u", "v"], ["uv"]), N("Add", ["uv", "u"], ["z"]),
        N("Reshape", ["z", "r16"], ["zf"]), N("Gemm", ["zf", "W"], ["logits"], transB=1)]
    g = helper.make_graph(nodes, "swin-op-zoo", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 6, 5])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_swin_gradient_refs.py")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(OUT, "op-zoo.onnx"))
    xt = torch.from_numpy(x).double().requires_grad_(True)
    s1 = xt[:, :, 0::2]
    s2 = torch.flip(xt, [2])[:, :, :, 1::2]
    s3 = xt[:, :, [5, 3, 1]]
    p = torch.nn.functional.pad(s1 * s3, (-1, 2, 1, -1))  # last axis (left, right), then axis 2 (top, bottom)
    p.retain_grad()
    u = torch.tanh(s2).mean((2, 3))
    v = torch.tanh(p).mean((2, 3))
    logits = (u * v + u).reshape(1, 6) @ torch.from_numpy(W).double().t()
    x.astype("<f4").tofile(os.path.join(OUT, "op-zoo.input.bin"))
    entry = {"model": "op-zoo.onnx", "input": "op-zoo.input.bin", "inputShape": list(x.shape),
             "logits": write_f32("op-zoo.logits.bin", logits.detach().numpy())["file"], "targets": ["x", "p"], "classes": []}
    for c in (0, 4):
        xt.grad = None
        p.grad = None
        logits[0, c].backward(retain_graph=True)
        entry["classes"].append({"index": c, "grads": [write_f32("op-zoo.class%d.%s-grad.bin" % (c, n), t.grad.numpy())["file"]
                                                       for n, t in (("x", xt), ("p", p))]})
    return entry


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    torch.set_num_threads(2)
    demo_in = "models/reference/swin-demo/shapes-circle/"
    tv = "test/fixtures/torchvision/"
    refs = [
        reference("swin-demo", "models/swin-demo.onnx", demo_in + "input.bin", [1, 3, 224, 224], demo_in + "logits.bin", demo_model, True),
        reference("torchvision-swin", tv + "swin.onnx", tv + "swin.input.bin", [1, 3, 64, 64], tv + "swin.logits.bin", torchvision_model, False),
    ]
    doc = {
        "generator": "scripts/make_swin_gradient_refs.py",
        "torch": torch.__version__,
        "precision": "float64 forward and backward (weights as the ONNX stores them), stored as float32",
        "attentionGrad": "d logit[c] / d window attention, per block [nW, heads, M², M²] (batch 1), blocks concatenated at offsets",
        "featuresGrad": "d logit[c] / d (last stage's final norm output), [H·W, C] token-major",
        "classMaps": "per block, on the stage grid (row-major, original token order): key k -> mean over the M² queries of its window of mean_h (∇A ⊙ A)⁺[q, k]",
        "queryMaps": "per block, on the stage grid: mean_h (∇A ⊙ A)⁺ row of the stage token covering stage-1 patch `query` ([row, col]); 0 outside its window",
        "stage1": "*Stage1: min-max normalized maps upsampled to the stage-1 grid (each stage-s token over 2^s × 2^s patches), [blocks, G1, G1]",
        "gradCam": "ReLU(Σ_c w_c F_c), w_c = mean over tokens of ∂logit/∂F_c, on the last stage's grid; gradCamNormalized: scale_cam_image twice",
        "references": refs,
        "opZoo": op_zoo(),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print("wrote %s: %.2f MB" % (os.path.relpath(OUT, REPO), total / 1e6))


if __name__ == "__main__":
    main()
