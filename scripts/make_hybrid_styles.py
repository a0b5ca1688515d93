#!/usr/bin/env python3
"""Write the hybrid-ViT fixtures into test/fixtures/hybrid/: a CNN stem, then a small patch projection over
its features, then the tiny ViT of make_coverage_models.py (embed dim 32, 2 pre-norm layers, 2 heads, CLS,
learned pos-embed, 5 classes; random weights, seed 0). Every grid is 4x4, so the pos-embed has 17 rows.

- r50-s16.onnx: timm vit_base_r50_s16_224 style (ResNetV2, preact=False, stem_type='same',
  StdConv2dSame + GroupNormAct, MaxPool2dSame; non-preact Bottleneck stages of stride 1, 2, 2 with
  DownsampleConv shortcuts), then HybridEmbed's 1x1 Conv projection. Input 64x64, stride 16.
- bn-s8-proj2.onnx: torchvision ResNet style BatchNorm stem (conv 7x7/2 pad 3, BN, ReLU, MaxPool 3x3/2
  pad 1, BasicBlock layers of stride 1 and 2: stride 8), then HybridEmbed with patch_size=2 (a 2x2
  stride-2 projection): stride 16. Input 64x64. Exported with TrainingMode.PRESERVE on the eval model,
  so the BatchNormalization nodes stay in the graph instead of being folded into the convolutions.
- r26-s32.onnx: timm vit_small_r26_s32_224 style (ResNetV2 stages of stride 1, 2, 2, 2, plain
  symmetric-padding StdConv2d stem), 1x1 projection. Input 128x128, stride 32.

Plus PyTorch references (input, logits, every layer's attention), the hottest patch of the default view,
the BatchNorm case at 96x96 with the pos-embed resized bicubically (what ViT Lens's resolution variant
computes), and expected.json.

Usage: /usr/bin/python3 scripts/make_hybrid_styles.py [--out test/fixtures/hybrid]
"""

import argparse
import json
import math
import os
import sys
from collections import OrderedDict
from functools import partial

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_coverage_models as cm  # noqa: E402

REPO = cm.REPO


# ---- timm layers (timm/layers/std_conv.py, padding.py, pool2d_same.py, norm_act.py), as timm writes them ----

def get_same_padding(x, k, s, d):
    return max((math.ceil(x / s) - 1) * s + (k - 1) * d + 1 - x, 0)


def pad_same(x, k, s, d=(1, 1), value=0):
    ih, iw = x.size()[-2:]
    pad_h, pad_w = get_same_padding(ih, k[0], s[0], d[0]), get_same_padding(iw, k[1], s[1], d[1])
    if pad_h > 0 or pad_w > 0:
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2], value=value)
    return x


class StdConv2d(nn.Conv2d):
    """Weight-standardized conv with static symmetric padding."""

    def __init__(self, in_channel, out_channels, kernel_size, stride=1, padding=None, dilation=1,
                 groups=1, bias=False, eps=1e-6):
        if padding is None:
            padding = ((stride - 1) + dilation * (kernel_size - 1)) // 2
        super().__init__(in_channel, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        self.eps = eps

    def forward(self, x):
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              training=True, momentum=0., eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class StdConv2dSame(nn.Conv2d):
    """Weight-standardized conv with TF 'SAME' padding, dynamic unless stride 1 (the ViT-hybrid stem)."""

    def __init__(self, in_channel, out_channels, kernel_size, stride=1, dilation=1, groups=1, bias=False,
                 eps=1e-6):
        self.same_pad = not (stride == 1 and (dilation * (kernel_size - 1)) % 2 == 0)
        padding = 0 if self.same_pad else ((stride - 1) + dilation * (kernel_size - 1)) // 2
        super().__init__(in_channel, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        self.eps = eps

    def forward(self, x):
        if self.same_pad:
            x = pad_same(x, self.kernel_size, self.stride, self.dilation)
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              training=True, momentum=0., eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class MaxPool2dSame(nn.MaxPool2d):
    def __init__(self, kernel_size, stride=None, dilation=1, ceil_mode=False):
        kernel_size, stride, dilation = (kernel_size,) * 2, (stride,) * 2, (dilation,) * 2
        super().__init__(kernel_size, stride, (0, 0), dilation, ceil_mode=ceil_mode)

    def forward(self, x):
        x = pad_same(x, self.kernel_size, self.stride, value=-float('inf'))
        return F.max_pool2d(x, self.kernel_size, self.stride, (0, 0), self.dilation, self.ceil_mode)


class GroupNormAct(nn.GroupNorm):
    def __init__(self, num_channels, num_groups=4, eps=1e-5, apply_act=True):
        super().__init__(num_groups, num_channels, eps=eps, affine=True)
        self.act = nn.ReLU(inplace=True) if apply_act else nn.Identity()

    def forward(self, x):
        return self.act(F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps))


# ---- timm resnetv2.py (non-preact path used by the ViT hybrids) ----

class DownsampleConv(nn.Module):
    def __init__(self, in_chs, out_chs, stride, conv_layer, norm_layer):
        super().__init__()
        self.conv = conv_layer(in_chs, out_chs, 1, stride=stride)
        self.norm = norm_layer(out_chs, apply_act=False)

    def forward(self, x):
        return self.norm(self.conv(x))


class Bottleneck(nn.Module):
    """Non pre-activation bottleneck block, equiv to V1.5/V1b Bottleneck. Used for ViT."""

    def __init__(self, in_chs, out_chs, stride, conv_layer, norm_layer, bottle_ratio=0.25):
        super().__init__()
        mid_chs = int(out_chs * bottle_ratio)
        self.downsample = (DownsampleConv(in_chs, out_chs, stride, conv_layer, norm_layer)
                           if stride != 1 or in_chs != out_chs else None)
        self.conv1 = conv_layer(in_chs, mid_chs, 1)
        self.norm1 = norm_layer(mid_chs)
        self.conv2 = conv_layer(mid_chs, mid_chs, 3, stride=stride)
        self.norm2 = norm_layer(mid_chs)
        self.conv3 = conv_layer(mid_chs, out_chs, 1)
        self.norm3 = norm_layer(out_chs, apply_act=False)
        self.act3 = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = x
        if self.downsample is not None:
            shortcut = self.downsample(x)
        x = self.conv1(x)
        x = self.norm1(x)
        x = self.conv2(x)
        x = self.norm2(x)
        x = self.conv3(x)
        x = self.norm3(x)
        x = self.act3(x + shortcut)
        return x


class ResNetV2(nn.Module):
    """num_classes=0, global_pool='': forward returns the last stage's feature map."""

    def __init__(self, stem_chs, widths, strides, stem_type='same'):
        super().__init__()
        conv_layer = StdConv2dSame if stem_type == 'same' else StdConv2d
        norm_layer = partial(GroupNormAct, num_groups=4)
        stem = [('conv', conv_layer(3, stem_chs, kernel_size=7, stride=2)), ('norm', norm_layer(stem_chs))]
        if stem_type == 'same':
            stem.append(('pool', MaxPool2dSame(kernel_size=3, stride=2)))
        else:
            stem.append(('pool', nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
        self.stem = nn.Sequential(OrderedDict(stem))
        stages, prev = [], stem_chs
        for w, s in zip(widths, strides):
            stages.append(nn.Sequential(Bottleneck(prev, w, s, conv_layer, norm_layer)))
            prev = w
        self.stages = nn.Sequential(*stages)
        self.num_features = prev

    def forward(self, x):
        return self.stages(self.stem(x))


# ---- torchvision resnet.py, BasicBlock ----

def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TorchvisionStem(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(width, width))
        self.layer2 = nn.Sequential(BasicBlock(width, 2 * width, stride=2))
        self.num_features = 2 * width
        with torch.no_grad():  # eval statistics that are not the identity
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.copy_(0.1 * torch.randn_like(m.running_mean))
                    m.running_var.copy_(0.5 + torch.rand_like(m.running_var))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer2(self.layer1(x))


# ---- timm vision_transformer_hybrid.py ----

class HybridEmbed(nn.Module):
    """CNN feature map -> patch projection -> [B, N, C] tokens."""

    def __init__(self, backbone, patch_size, embed_dim):
        super().__init__()
        self.backbone = backbone
        self.proj = nn.Conv2d(backbone.num_features, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        x = self.backbone(x)
        if isinstance(x, (list, tuple)):
            x = x[-1]
        x = self.proj(x).flatten(2).transpose(1, 2)
        return x


class HybridViT(cm.ViT):
    """cm.ViT's blocks, CLS, pos-embed (17 rows: a 4x4 grid) and head behind a HybridEmbed."""

    def __init__(self, backbone, patch_size):
        super().__init__()
        self.patch_embed = HybridEmbed(backbone, patch_size, cm.DIM)
        cm.perturb_constant_params(self.patch_embed)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return self.head(x[:, 0])


def export(model, path, size, preserve):
    x = torch.zeros(1, 3, size, size)
    kw = {"training": torch.onnx.TrainingMode.PRESERVE} if preserve else {}
    torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"],
                      opset_version=17, do_constant_folding=True,
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}}, **kw)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def count_convs(module):
    return sum(1 for m in module.modules() if isinstance(m, nn.Conv2d))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "test/fixtures/hybrid"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    cases = []

    def case(name, desc, make, size, stem_stride, proj, preserve):
        torch.manual_seed(cm.SEED)
        model = make().eval()
        path = os.path.join(out, name + ".onnx")
        m = export(model, path, size, preserve)
        torch.manual_seed(cm.SEED + 1)
        x = torch.rand(1, 3, size, size)
        logits, att = cm.run_torch(model, x)
        ref = cm.write_ref(out, name, x, logits, att)
        prefix = 1
        row = att[-1][:, 0, prefix:].mean(axis=0)
        hot = int(np.argmax(row))
        stride = stem_stride * proj
        grid = size // stride
        exp = cm.expect(prefix=prefix)
        exp.update({"patchSize": stride, "grid": [grid, grid], "inputSize": size,
                    "stem": {"stride": stem_stride, "convs": count_convs(model.patch_embed.backbone),
                             "projection": proj, "channels": model.patch_embed.backbone.num_features},
                    "batchNormNodes": sum(1 for n in m.graph.node if n.op_type == "BatchNormalization"),
                    "hottestPatch": {"index": hot, "row": hot // grid, "col": hot % grid,
                                     "value": float(row[hot])}})
        cases.append({"file": name + ".onnx", "case": desc, "expect": exp, "reference": ref})
        return model, grid

    case("r50-s16", "timm vit_base_r50_s16 style: ResNetV2 'same' stem (StdConv2dSame 7x7/2, "
                     "GroupNorm+ReLU, MaxPool2dSame 3x3/2), bottleneck stages of stride 1, 2, 2, "
                     "1x1 HybridEmbed projection; 64x64 -> 4x4",
                     lambda: HybridViT(ResNetV2(16, (32, 64, 64), (1, 2, 2), 'same'), 1), 64, 16, 1, False)
    bn, grid = case("bn-s8-proj2", "torchvision ResNet style BatchNorm stem of stride 8 (BatchNormalization kept), "
         "then a 2x2 stride-2 projection; 64x64 -> 4x4",
         lambda: HybridViT(TorchvisionStem(16), 2), 64, 8, 2, True)
    case("r26-s32", "timm vit_small_r26_s32 style: ResNetV2 stem with symmetric padding, bottleneck "
         "stages of stride 1, 2, 2, 2, 1x1 projection; 128x128 -> 4x4",
         lambda: HybridViT(ResNetV2(16, (32, 32, 64, 64), (1, 2, 2, 2), ''), 1), 128, 32, 1, False)

    # The BatchNorm case at 96x96 (6x6 grid): pos-embed patch rows resized bicubically, CLS row kept. (r50's
    # TF-'SAME' pads are arithmetic the exporter traced at 64 px: ViT Lens refuses to resize that one.)
    size = 96
    new = size // 16
    with torch.no_grad():
        pe = bn.pos_embed
        patch = pe[:, 1:].reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
        patch = F.interpolate(patch, size=(new, new), mode="bicubic", align_corners=False)
        bn.pos_embed = nn.Parameter(torch.cat((pe[:, :1], patch.permute(0, 2, 3, 1).reshape(1, new * new, -1)), 1))
    torch.manual_seed(cm.SEED + 2)
    x96 = torch.rand(1, 3, size, size)
    logits96, att96 = cm.run_torch(bn, x96)
    resolution = {"file": "bn-s8-proj2.onnx", "size": size, "grid": [new, new],
                  "reference": cm.write_ref(out, "bn-s8-proj2-96", x96, logits96, att96)}

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"generator": "scripts/make_hybrid_styles.py", "seed": cm.SEED,
                   "torch": torch.__version__, "onnx": onnx.__version__,
                   "attentionLayout": "[layers, heads, tokens, tokens], batch item 0",
                   "cases": cases, "resolution": resolution}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
