#!/usr/bin/python3
"""Reference pixels for ViT Lens's preprocessing: what timm, torchvision and Hugging Face feed a model.

For every sample photo in samples/ and for each config kind below, writes the uint8 RGB the model sees after
resize + crop (before normalization) as raw height*width*3 bytes (224*224 except the non-square kinds), plus the config file itself, to
test/fixtures/preprocess/<kind>/. Only PIL and numpy are needed (Debian's /usr/bin/python3); torch is not: the
libraries' eval transforms are written out below, each citing the code it mirrors. They all resize PIL images
with Image.resize (no reducing_gap), so the pixels are PIL's.

    /usr/bin/python3 scripts/reference_preprocess.py

It also writes each JPEG as PIL decoded it (decoded/<name>.png, lossless), so the tests can feed our resizer
the very pixels PIL resized: JPEG decoders differ (jpeg-js from libjpeg-turbo by up to ~20/255 after resizing),
PNG decoders do not (index.json's decodedSha256 lets the tests check that).
"""
import argparse
import hashlib
import json
import math
import os
import shutil

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, 'samples')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'preprocess')

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
PIL_FILTERS = {'nearest': Image.NEAREST, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}

# --- The configs: file name and contents as users have them beside their .onnx -------------------------

CARD = {  # our card (models/vit-demo.json's format), bicubic with crop_pct 0.9
    'name': 'reference card',
    'preprocess': {'size': 224, 'resize': 'shorter-side', 'crop': 'center', 'interpolation': 'bicubic', 'cropPct': 0.9,
                   'mean': [0.5, 0.5, 0.5], 'std': [0.5, 0.5, 0.5], 'scale': 255},
}


def timm_config(interpolation, crop_pct, crop_mode, mean=IMAGENET_MEAN, std=IMAGENET_STD, input_size=(3, 224, 224)):
    """timm's config.json as push_to_hub writes it (vit_tiny_patch16_224.augreg_in21k_ft_in1k's shape)."""
    return {
        'architecture': 'vit_tiny_patch16_224', 'num_classes': 1000, 'num_features': 192, 'global_pool': 'token',
        'pretrained_cfg': {'tag': 'reference', 'input_size': list(input_size), 'fixed_input_size': True,
                           'interpolation': interpolation, 'crop_pct': crop_pct, 'crop_mode': crop_mode,
                           'mean': mean, 'std': std, 'num_classes': 1000, 'first_conv': 'patch_embed.proj', 'classifier': 'head'},
    }


HF_VIT = {  # ViTImageProcessor (google/vit-base-patch16-224 style)
    'image_processor_type': 'ViTImageProcessor', 'do_resize': True, 'size': {'height': 224, 'width': 224}, 'resample': 2,
    'do_rescale': True, 'rescale_factor': 1 / 255, 'do_normalize': True, 'image_mean': [0.5, 0.5, 0.5], 'image_std': [0.5, 0.5, 0.5],
}
HF_SHORTEST = {  # CLIP/BiT style: shortest edge, then center crop
    'image_processor_type': 'BitImageProcessor', 'do_resize': True, 'size': {'shortest_edge': 256}, 'resample': 3,
    'do_center_crop': True, 'crop_size': {'height': 224, 'width': 224}, 'do_rescale': True, 'rescale_factor': 1 / 255,
    'do_normalize': True, 'image_mean': IMAGENET_MEAN, 'image_std': IMAGENET_STD,
}

# kind: (file name, config, how the pixels are computed, photos (None: all))
KINDS = {
    'card': ('model.json', CARD, 'torchvision', None),
    'timm': ('config.json', timm_config('bicubic', 0.875, 'center'), 'timm', None),
    'hf-vit': ('preprocessor_config.json', HF_VIT, 'huggingface', None),
    'hf-shortest-edge': ('preprocessor_config.json', HF_SHORTEST, 'huggingface', None),
    # Less common paths, on two photos only (one PNG, one JPEG) to keep the repository small.
    'timm-squash-nearest': ('config.json', timm_config('nearest', 0.9, 'squash'), 'timm', ['chelsea.png', 'cat_tabby.jpg']),
    'timm-border-bilinear': ('config.json', timm_config('bilinear', 0.95, 'border'), 'timm', ['chelsea.png', 'cat_tabby.jpg']),
    # Non-square inputs (height x width): timm's ResizeKeepRatio + CenterCrop, and a Hugging Face {height, width} resize.
    'timm-nonsquare': ('config.json', timm_config('bicubic', 0.9, 'center', input_size=(3, 192, 256)), 'timm', ['chelsea.png', 'cat_tabby.jpg', 'astronaut.png']),
    'hf-vit-nonsquare': ('preprocessor_config.json', {**HF_VIT, 'size': {'height': 160, 'width': 224}}, 'huggingface', ['chelsea.png', 'cat_tabby.jpg']),
}

# --- torchvision (transforms/functional.py, v0.15) ----------------------------------------------------


def tv_resize_shorter(img, size, interpolation):
    """torchvision Resize(int) on a PIL image: _compute_resized_output_size, then img.resize."""
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), interpolation)


def tv_center_crop(img, crop, fill=0):
    """torchvision CenterCrop (and timm's CenterCropOrPad, same maths): pad if smaller, then top = int(round((h - crop) / 2)).
    `crop`: an int, or (height, width)."""
    ch, cw = (crop, crop) if isinstance(crop, int) else crop
    w, h = img.size
    if cw > w or ch > h:
        left, top = (cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0
        right, bottom = (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0
        padded = Image.new('RGB', (w + left + right, h + top + bottom), tuple(fill) if isinstance(fill, list) else (fill,) * 3)
        padded.paste(img, (left, top))
        img = padded
        w, h = img.size
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return img.crop((left, top, left + cw, top + ch))


def timm_resize_keep_ratio(img, target_hw, longest, interp):
    """timm's ResizeKeepRatio (data/transforms.py): ratio = max or min of the sides' ratios, each side round()ed."""
    w, h = img.size
    rh, rw = h / target_hw[0], w / target_hw[1]
    ratio = max(rh, rw) * longest + min(rh, rw) * (1.0 - longest)
    return img.resize((round(w / ratio), round(h / ratio)), interp)


# --- timm (data/transforms_factory.py transforms_imagenet_eval, data/transforms.py ResizeKeepRatio) ----


def timm_eval(img, cfg):
    p = cfg['pretrained_cfg']
    size = p['input_size'][1]
    interp = PIL_FILTERS[p['interpolation']]
    scale_size = math.floor(size / p['crop_pct'])
    mode = p.get('crop_mode', 'center')
    hw = tuple(p['input_size'][1:])
    if hw[0] != hw[1]:
        # A non-square input_size: scale_size per side; center mode keeps the ratio (ResizeKeepRatio, longest=0).
        assert mode == 'center', 'only center mode has a non-square fixture'
        scale = tuple(math.floor(x / p['crop_pct']) for x in hw)
        return tv_center_crop(timm_resize_keep_ratio(img, scale, 0.0, interp), hw)
    if mode == 'squash':
        img = img.resize((scale_size, scale_size), interp)
        return tv_center_crop(img, size)
    if mode == 'border':
        w, h = img.size
        ratio = max(h / scale_size, w / scale_size)  # longest=1.0
        img = img.resize((round(w / ratio), round(h / ratio)), interp)
        return tv_center_crop(img, size, fill=[round(255 * v) for v in p['mean']])
    return tv_center_crop(tv_resize_shorter(img, scale_size, interp), size)


def card_eval(img, card):
    """Our card: torchvision's Resize(floor(size / cropPct)) + CenterCrop(size), like timm's center mode."""
    p = card['preprocess']
    scale_size = math.floor(p['size'] / p.get('cropPct', 1))
    return tv_center_crop(tv_resize_shorter(img, scale_size, PIL_FILTERS[p['interpolation']]), p['size'])


# --- Hugging Face (transformers image_transforms.py resize / center_crop, get_resize_output_image_size) ---


def hf_eval(img, pp):
    resample = pp['resample']
    size = pp['size']
    if 'shortest_edge' in size:
        w, h = img.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = size['shortest_edge'], int(size['shortest_edge'] * long / short)
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size['width'], size['height']
    # transformers' resize: to_pil_image, then PIL resize with reducing_gap=None.
    img = img.resize((new_w, new_h), resample=resample, reducing_gap=None)
    if pp.get('do_center_crop'):
        c = pp['crop_size']
        ch, cw = (c['height'], c['width']) if isinstance(c, dict) else (c, c)
        w, h = img.size
        top, left = (h - ch) // 2, (w - cw) // 2
        assert top >= 0 and left >= 0, 'padding path not needed for these fixtures'
        img = img.crop((left, top, left + cw, top + ch))
    return img


COMPUTE = {'torchvision': card_eval, 'timm': timm_eval, 'huggingface': hf_eval}


def main():
    argparse.ArgumentParser(description=__doc__).parse_args()
    photos = sorted(f for f in os.listdir(SAMPLES) if f.lower().endswith(('.png', '.jpg', '.jpeg')))
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    index = {'photos': {}, 'kinds': {}}
    decoded = {}
    for name in photos:
        img = Image.open(os.path.join(SAMPLES, name)).convert('RGB')
        decoded[name] = img
        raw = np.asarray(img, dtype=np.uint8).tobytes()
        index['photos'][name] = {'width': img.size[0], 'height': img.size[1], 'decodedSha256': hashlib.sha256(raw).hexdigest()}
        if name.lower().endswith(('.jpg', '.jpeg')):
            os.makedirs(os.path.join(OUT, 'decoded'), exist_ok=True)
            img.save(os.path.join(OUT, 'decoded', name + '.png'), optimize=True)
    for kind, (file_name, config, semantics, only) in KINDS.items():
        d = os.path.join(OUT, kind)
        os.makedirs(d)
        with open(os.path.join(d, file_name), 'w') as f:
            json.dump(config, f, indent=2)
        done = []
        for name in photos:
            if only and name not in only:
                continue
            out = COMPUTE[semantics](decoded[name], config)
            assert out.mode == 'RGB' and (out.size == (224, 224) or kind.endswith('nonsquare')), (kind, name, out.size)
            with open(os.path.join(d, name + '.rgb'), 'wb') as f:
                f.write(np.asarray(out, dtype=np.uint8).tobytes())
            done.append(name)
        index['kinds'][kind] = {'file': file_name, 'semantics': semantics, 'photos': done, 'size': [out.size[1], out.size[0]]}
    with open(os.path.join(OUT, 'index.json'), 'w') as f:
        json.dump(index, f, indent=2)
    print(f'wrote {sum(len(k["photos"]) for k in index["kinds"].values())} references for {len(photos)} photos to {OUT}')


if __name__ == '__main__':
    main()
