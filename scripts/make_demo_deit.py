#!/usr/bin/env python3
"""Train and export ViT Lens's DeiT demo: the ViT demo with a distillation token, taught by a small CNN.

DeiT (Touvron et al., 2021) adds a second prefix token whose head is trained to match a teacher's prediction
(hard distillation: the teacher's argmax is the label), while the CLS head learns the true label. At inference
the two heads are averaged. The teacher here is a small CNN, so the distillation token learns from a model
with a convolution's locality bias: the point of the idea.

1. Teacher: a 4-stage CNN trained on the same synthetic shapes stream as the ViT demo.
2. Student: the ViT demo's weights (scripts/make_demo_vit.py --save-checkpoint) plus a distillation token
   (initialized from CLS), its position embedding and head_dist (copies of CLS's), fine-tuned with
   0.5·CE(head(CLS), y) + 0.5·CE(head_dist(DIST), argmax teacher) + the token-labeling loss.
3. Export: logits = (head(CLS) + head_dist(DIST)) / 2, exactly as timm's distilled DeiT in eval mode: ViT Lens
   finds both heads in the graph, nothing is named for it.

Writes models/deit-demo.onnx, deit-demo.json (card with accuracies of each head and of the teacher) and
models/reference/deit-demo/<fixture>/{input,logits,cls_logits,dist_logits}.bin (+ attention.bin for the first).

Requirements (Debian 12): apt-get install python3-torch python3-onnx python3-pil
Usage:
    /usr/bin/python3 scripts/make_demo_vit.py --save-checkpoint .cache/vit-demo.pt   # once
    /usr/bin/python3 scripts/make_demo_deit.py --init .cache/vit-demo.pt [--teacher-minutes 6 --minutes 12]
"""

import argparse
import datetime
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import make_demo_vit as V  # noqa: E402  (the ViT demo's data, model and training loop)

LABELS = V.LABELS


class TeacherCNN(nn.Module):
    """A small CNN: the image at half resolution (112 px, for speed on a CPU), four stride-2 conv stages
    (112 -> 7), global average pooling, a linear classifier."""

    def __init__(self, num_classes, width=32):
        super().__init__()
        layers, c = [], 3
        for w in (width, width * 2, width * 4, width * 4):
            layers += [nn.Conv2d(c, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                       nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        x = F.avg_pool2d(x, 2)
        return self.head(self.features(x).mean(dim=(2, 3)))


class DeiT(V.ViT):
    """The ViT demo with a distillation token after CLS: tokens [CLS, DIST, patches]."""

    def __init__(self, num_classes):
        super().__init__(num_classes)
        dim = self.cls_token.shape[-1]
        n = self.pos_embed.shape[1] - 1
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 2, dim))
        self.head_dist = nn.Linear(dim, num_classes)

    def load_from_vit(self, sd):
        own = self.state_dict()
        for k, v in sd.items():
            if k == "pos_embed":
                own[k] = torch.cat([v[:, :1], v[:, :1], v[:, 1:]], dim=1)  # CLS's position for DIST too
            elif k in own and own[k].shape == v.shape:
                own[k] = v
        own["dist_token"] = sd["cls_token"].clone()
        own["head_dist.weight"] = sd["head.weight"].clone()
        own["head_dist.bias"] = sd["head.bias"].clone()
        self.load_state_dict(own)

    def forward(self, pixel_values, with_tokens=False, both_heads=False):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        b = x.shape[0]
        x = torch.cat([self.cls_token.expand(b, -1, -1), self.dist_token.expand(b, -1, -1), x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        a, d = self.head(x[:, 0]), self.head_dist(x[:, 1])
        if with_tokens:
            return a, d, self.token_head(x[:, 2:])
        if both_heads:
            return a, d
        return (a + d) / 2


class _Loss:
    """run_training's step_loss: returns (loss, logits for the train-accuracy line, labels)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, batch, frac):
        return self.fn(batch, frac)


def train_teacher(args, teacher):
    crit = nn.CrossEntropyLoss()

    def step(batch, frac):
        imgs, labels, _ = batch
        logits = teacher(V.to_tensor(imgs.numpy()))
        return crit(logits, labels), logits, labels

    targs = argparse.Namespace(**{**vars(args), "minutes": args.teacher_minutes, "lr": args.teacher_lr})
    return V.run_training(targs, teacher, V.ShapeStream(args.seed + 7, args.batch_size, args.samples_dir), _Loss(step))


def train_student(args, student, teacher):
    crit = nn.CrossEntropyLoss()
    teacher.eval()

    def step(batch, frac):
        imgs, labels, cover = batch
        x = V.to_tensor(imgs.numpy())
        with torch.no_grad():
            teacher_label = teacher(x).argmax(1)
        a, d, tok = student(x, with_tokens=True)
        targets = V.token_targets(cover, labels)
        loss = 0.5 * crit(a, labels) + 0.5 * crit(d, teacher_label) + args.token_loss * crit(tok.reshape(-1, tok.shape[-1]), targets.reshape(-1))
        return loss, (a + d) / 2, labels

    return V.run_training(args, student, V.ShapeStream(args.seed, args.batch_size, args.samples_dir), _Loss(step),
                          no_decay_names=("pos_embed", "cls_token", "dist_token"))


@torch.no_grad()
def evaluate_heads(student, teacher, seed, n, samples_dir, bs=100):
    student.eval()
    teacher.eval()
    hits = {"average": 0, "cls": 0, "dist": 0, "teacher": 0, "distAgreesWithTeacher": 0}
    for imgs, labels in V.heldout_batches(seed, n, samples_dir, bs):
        x = V.to_tensor(imgs)
        y = torch.tensor(labels)
        a, d = student(x, both_heads=True)
        t = teacher(x).argmax(1)
        hits["average"] += int(((a + d) / 2).argmax(1).eq(y).sum())
        hits["cls"] += int(a.argmax(1).eq(y).sum())
        hits["dist"] += int(d.argmax(1).eq(y).sum())
        hits["teacher"] += int(t.eq(y).sum())
        hits["distAgreesWithTeacher"] += int(d.argmax(1).eq(t).sum())
    return {k: round(v / n, 4) for k, v in hits.items()}


def export(student, path):
    import onnx
    student.eval()
    student.set_keep_attention(False)
    torch.onnx.export(student, torch.zeros(1, 3, V.IMAGE_SIZE, V.IMAGE_SIZE), path, opset_version=17,
                      input_names=["pixel_values"], output_names=["logits"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def write_references(out, student):
    ref_dir = os.path.join(out, "reference", "deit-demo")
    os.makedirs(ref_dir, exist_ok=True)
    student.eval()
    student.set_keep_attention(True)
    index = {"model": "deit-demo.onnx", "dtype": "float32", "endianness": "little",
             "attentionLayout": "layer, head, query token, key token (token 0 = CLS, 1 = DIST, then patches row-major)",
             "fixtures": []}
    for name, rel in (("shapes-circle", "test/fixtures/images/shapes-circle.png"), ("cat_tabby", "samples/cat_tabby.jpg")):
        x = V.preprocess_file(os.path.join(REPO, rel))
        with torch.no_grad():
            a, d = student(x, both_heads=True)
        att = torch.stack([t[0] for t in student.attentions()])
        dd = os.path.join(ref_dir, name)
        os.makedirs(dd, exist_ok=True)
        # Attention (2.8 MB per image) for the first fixture only, to keep the repository small.
        tensors = [("input", x), ("logits", (a + d) / 2), ("cls_logits", a), ("dist_logits", d)] + ([("attention", att)] if not index["fixtures"] else [])
        for fname, t in tensors:
            t.numpy().astype("<f4").tofile(os.path.join(dd, fname + ".bin"))
        index["fixtures"].append({"name": name, "image": rel, "inputShape": list(x.shape), **({"attentionShape": list(att.shape)} if not index["fixtures"] else {}),
                                  "clsTop1": LABELS[int(a.argmax())], "distTop1": LABELS[int(d.argmax())]})
        print("reference %-14s CLS head %s, DIST head %s" % (name, LABELS[int(a.argmax())], LABELS[int(d.argmax())]))
    student.set_keep_attention(False)
    with open(os.path.join(ref_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--init", default=os.path.join(REPO, ".cache", "vit-demo.pt"), help="ViT demo checkpoint (make_demo_vit.py --save-checkpoint)")
    V.add_training_args(ap, minutes=12.0, lr=1.5e-4, threads=1)
    ap.add_argument("--teacher-minutes", type=float, default=6.0)
    ap.add_argument("--teacher-lr", type=float, default=2e-3)
    ap.add_argument("--token-loss", type=float, default=0.5)
    ap.add_argument("--save-checkpoint", default=None)
    ap.add_argument("--from-checkpoint", default=None, help="skip training; load teacher + student from here")
    args = ap.parse_args()
    if args.eval_seed is None:
        args.eval_seed = args.seed + 1000
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    teacher = TeacherCNN(len(LABELS))
    student = DeiT(len(LABELS))
    if args.from_checkpoint:
        ck = torch.load(args.from_checkpoint)
        teacher.load_state_dict(ck["teacher"])
        student.load_state_dict(ck["student"])
        info = ck["training"]
    else:
        student.load_from_vit(torch.load(args.init)["state_dict"])
        t_info = train_teacher(args, teacher)
        s_info = train_student(args, student, teacher)
        info = {"teacher": t_info, "student": s_info, "date": datetime.date.today().isoformat(), "torch": torch.__version__,
                "command": "/usr/bin/python3 " + " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:])}
        if args.save_checkpoint:
            torch.save({"teacher": teacher.state_dict(), "student": student.state_dict(), "training": info}, args.save_checkpoint)

    t = time.monotonic()
    acc = evaluate_heads(student, teacher, args.eval_seed, args.eval_samples, args.samples_dir)
    print("held-out accuracy on %d images: %s (%.1f s)" % (args.eval_samples, acc, time.monotonic() - t), flush=True)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "deit-demo.onnx")
    export(student, path)
    print("wrote %s (%d bytes)" % (os.path.relpath(path, REPO), os.path.getsize(path)))
    card = {
        "name": "ViT Lens demo DeiT-Tiny/16 (distilled from a CNN, synthetic shapes)",
        "family": "deit",
        "file": "deit-demo.onnx",
        "architecture": {"patchSize": V.PATCH, "imageSize": V.IMAGE_SIZE, "embedDim": V.EMBED_DIM, "depth": V.DEPTH,
                         "heads": V.HEADS, "prefixTokens": 2, "norm": "pre", "classifier": "cls+dist (averaged)"},
        "preprocess": {"size": V.IMAGE_SIZE, "resize": "shorter-side", "crop": "center", "interpolation": "bilinear",
                       "mean": V.MEAN, "std": V.STD, "scale": 255},
        "labels": LABELS,
        "teacher": "TeacherCNN (scripts/make_demo_deit.py): 4 stride-2 conv stages, global average pooling",
        "heldOut": {"samples": args.eval_samples, "seed": args.eval_seed, "accuracy": acc["average"], "byHead": acc},
        "training": info,
    }
    with open(os.path.join(args.out, "deit-demo.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    write_references(args.out, student)
    print("done")


if __name__ == "__main__":
    main()
