#!/usr/bin/env python3
"""Write the export-style fixtures into test/fixtures/styles/: the coverage script's tiny ViT (seed 0)
exported two more ways people ship ViTs.

- int8-qdq-per-channel.onnx: every MatMul/Gemm weight AND the patch Conv weight stored int8 with one
  scale per output channel -> DequantizeLinear(axis=...) (what onnxruntime's
  quantize_static(per_channel=True) writes for weights; symmetric, zero point 0). Reference: the torch
  model with those weights replaced by their dequantized values (float32).
- fp16-graph.onnx: model.half() exported; input, output and every tensor float16. Reference: the torch
  half model's logits and attention, converted to float32 (PyTorch CPU half kernels accumulate differently
  from onnxruntime's, hence the measured tolerance in expected.json).

expected.json also holds the structure facts and the hottest patch of the default view (last layer's CLS
attention to the patches, mean over heads) from PyTorch.

Usage: /usr/bin/python3 scripts/make_export_styles.py [--out test/fixtures/styles]   (torch 1.13, onnx)
"""

import argparse
import copy
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cov  # noqa: E402

REPO = cov.REPO


def per_channel_int8(w, axis):
    """Symmetric int8 with one scale per index of `axis`: scale = max|w| / 127 over the other axes."""
    w = np.asarray(w, dtype=np.float32)
    other = tuple(i for i in range(w.ndim) if i != axis)
    scale = (np.abs(w).max(axis=other) / np.float32(127.0)).astype(np.float32)
    scale[scale == 0] = np.float32(1.0)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    deq = q.astype(np.float32) * scale.reshape(shape)
    return q, scale, deq


def to_qdq_per_channel(m):
    """Weights of MatMul (axis 1, [in, out]), Gemm (axis 0 with transB, [out, in]) and Conv (axis 0) ->
    int8 + per-channel scale + zero point -> DequantizeLinear(axis). Returns the model and the dequantized
    float weights by initializer name."""
    m = copy.deepcopy(m)
    g = m.graph
    inits = cov.init_map(g)
    targets = {}
    for n in g.node:
        if n.op_type in ("MatMul", "Gemm", "Conv") and n.input[1] in inits:
            w = inits[n.input[1]]
            if n.op_type == "Conv" and len(w.dims) == 4:
                targets[n.input[1]] = 0
            elif n.op_type == "Gemm" and len(w.dims) == 2:
                attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
                targets[n.input[1]] = 0 if attrs.get("transB", 0) else 1
            elif n.op_type == "MatMul" and len(w.dims) == 2:
                targets[n.input[1]] = 1
    dq, deqs = [], {}
    for name, axis in targets.items():
        q, s, deq = per_channel_int8(numpy_helper.to_array(inits[name]), axis)
        deqs[name] = deq
        g.initializer.remove(inits[name])
        g.initializer.extend([numpy_helper.from_array(q, name + "_quantized"),
                              numpy_helper.from_array(s, name + "_scale"),
                              numpy_helper.from_array(np.zeros(s.shape, np.int8), name + "_zero_point")])
        dq.append(helper.make_node("DequantizeLinear", [name + "_quantized", name + "_scale", name + "_zero_point"],
                                   [name], name=name + "_DequantizeLinear", axis=axis))
    nodes = dq + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return m, deqs


def per_channel_torch(model):
    """The torch twin: Linear weights [out, in] and the patch Conv weight quantized per output channel."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (nn.Linear, nn.Conv2d)):
                mod.weight.copy_(torch.from_numpy(per_channel_int8(mod.weight.numpy(), 0)[2]))
    return m


def to_fp16_graph(m):
    """Every float tensor of the graph as float16: inputs/outputs, initializers, Constant and ConstantOfShape
    values, Cast(to=float) targets. Shapes are re-inferred."""
    m = copy.deepcopy(m)
    g = m.graph
    F, H = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16

    def half(t):
        return numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name)

    for i, t in enumerate(list(g.initializer)):
        if t.data_type == F:
            g.initializer[i].CopyFrom(half(t))
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == F:
                a.t.CopyFrom(half(a.t))
            if n.op_type == "Cast" and a.name == "to" and a.i == F:
                a.i = H
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == F:
            v.type.tensor_type.elem_type = H
    del g.value_info[:]
    return onnx.shape_inference.infer_shapes(m)


def emulate_fp16(model):
    """Float32 torch model whose weights and every leaf module's output are rounded to float16."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        for prm in m.parameters():
            prm.copy_(prm.half().float())
    for mod in m.modules():
        if len(list(mod.children())) == 0:
            mod.register_forward_hook(lambda _m, _i, o: o.half().float())
    return m


def hottest_patch(att):
    """Last layer, CLS query row, mean over heads, over the patch tokens (prefix 1): the argmax patch."""
    row = att[-1, :, 0, 1:].astype(np.float64).mean(axis=0)
    return int(np.argmax(row)), float(np.sort(row)[-1] - np.sort(row)[-2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test", "fixtures", "styles"))
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    P = lambda name: os.path.join(out, name)  # noqa: E731

    torch.manual_seed(cov.SEED)
    x = torch.rand(1, 3, cov.IMG, cov.IMG)
    torch.manual_seed(cov.SEED)
    base = cov.ViT(qkv="fused", scale_op="mul").eval()
    lg32, att32 = cov.run_torch(base, x)
    cases = []

    # int8 per-channel QDQ ---------------------------------------------------------------------------
    cov.export(base, P("base.tmp.onnx"), 17)
    base_onnx = onnx.load(P("base.tmp.onnx"))
    os.remove(P("base.tmp.onnx"))
    m, deqs = to_qdq_per_channel(base_onnx)
    onnx.checker.check_model(m)
    onnx.save(m, P("int8-qdq-per-channel.onnx"))
    twin = per_channel_torch(base)
    lgq, attq = cov.run_torch(twin, x)
    hot, margin = hottest_patch(attq)
    cases.append({
        "file": "int8-qdq-per-channel.onnx",
        "case": "timm-style ViT, every MatMul/Gemm weight and the patch Conv weight int8 with a per-output-"
                "channel scale (zero point 0) -> DequantizeLinear(axis)",
        "expect": cov.expect(), "reference": cov.write_ref(out, "int8-qdq-per-channel", x, lgq, attq),
        "referenceFrom": "float32 torch model whose Linear/Conv weights are the dequantized int8 values",
        "tolerance": 1e-4, "rowSumTolerance": 1e-5,
        "dequantizedWeights": len(deqs),
        "fp32MaxAbsDiff": {"logits": float(np.abs(lgq - lg32).max()), "attention": float(np.abs(attq - att32).max())},
        "hottestPatch": hot, "hottestMargin": margin, "inputType": "float32"})

    # fp16 graph ------------------------------------------------------------------------------------
    # torch 1.13 has no CPU float16 kernels (conv, addmm, layer_norm, gelu), so model.half() cannot be traced
    # here; the float32 export is turned into the graph a half export gives: same ops, every float tensor
    # (input, output, initializers, Constant values, Cast targets) float16.
    mh = to_fp16_graph(base_onnx)
    onnx.checker.check_model(mh)
    onnx.save(mh, P("fp16-graph.onnx"))
    xh = x.half().float()  # what the graph sees: the input rounded to float16
    lgh, atth = cov.run_torch(base, xh)
    lge, atte = cov.run_torch(emulate_fp16(base), xh)
    hot_h, margin_h = hottest_patch(atth)
    d = {"logits": float(np.abs(lge - lgh).max()), "attention": float(np.abs(atte - atth).max())}
    cases.append({
        "file": "fp16-graph.onnx",
        "case": "timm-style ViT as model.half() exports it: input, weights, activations and output float16",
        "how": "float32 torch.onnx.export converted to an all-float16 graph (torch 1.13 cannot run a half model on CPU)",
        "expect": cov.expect(), "reference": cov.write_ref(out, "fp16-graph", xh, lgh, atth),
        "referenceFrom": "float32 torch model on the input rounded to float16; tolerance = 4 x the difference "
                         "to a float16 emulation (weights, input and every module output rounded to float16)",
        "tolerance": float(max(1e-2, 4 * max(d.values()))), "rowSumTolerance": 1e-2,
        "emulatedFp16MaxAbsDiff": d,
        "hottestPatch": hot_h, "hottestMargin": margin_h, "inputType": "float16"})
    assert hottest_patch(atte)[0] == hot_h, "float16 changes the hottest patch: pick another input"

    for c in cases:
        c["bytes"] = os.path.getsize(P(c["file"]))
    doc = {"generator": "scripts/make_export_styles.py", "seed": cov.SEED, "torch": torch.__version__,
           "onnx": onnx.__version__,
           "input": {"shape": [1, 3, cov.IMG, cov.IMG], "dtype": "float32 (.bin); fp16-graph feeds it as float16"},
           "binFormat": "raw float32 little-endian, C order",
           "attentionLayout": "[layers, heads, tokens, tokens], softmax probabilities of batch item 0",
           "hottestPatch": "argmax over the 16 patches (row-major, 0-based) of the last layer's CLS row, mean over heads",
           "cases": cases}
    with open(P("expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    for c in cases:
        print(f"{c['file']:28s} {c['bytes']:7d} hottest {c['hottestPatch']} margin {c['hottestMargin']:.4f} tol {c['tolerance']}")


if __name__ == "__main__":
    main()
