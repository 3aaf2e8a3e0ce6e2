#!/usr/bin/python3
"""Writes PyTorch state dicts under timm's names, as a researcher's own PyTorch code would save
them, for the engine's --init-from tests: tests/fixtures/pytorch/.

    /usr/bin/python3 tests/reference/make_state_dicts.py [--out DIR] [--check]

<model>.safetensors holds the model's tensors and nothing else: no vitsweep metadata (no trial
config, no normalisation). Like safetensors.torch.save_file(model.state_dict(), path), vit_gap
has no __metadata__ at all; the others carry {"format": "pt"}, as Hugging Face's save_pretrained
writes. expected.safetensors holds, per model file <m>: <m>.images [B,C,H,W] (already normalised)
and <m>.logits [B,K], the twin's float64 logits at the weights exactly as stored; its metadata
<m>.config is the engine config (JSON) describing the model, <m>.timm the matching
VisionTransformer(...) arguments (vit_twin.timm_kwargs). --check compares a fresh build with the
committed files (byte-identical, or equal to float32 rounding) and exits 1 when they differ.
"""

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_fixtures as mf  # noqa: E402
import safetensors_io  # noqa: E402
import vit_twin as vt  # noqa: E402

BATCH = 3

# The engine config keys that decide the model (and the synthetic data it sees).
MODEL_KEYS = ("dataset", "synthetic_size", "synthetic_channels", "synthetic_classes", "width",
              "depth", "heads", "mlp_dim", "patch", "pool", "posemb", "attn", "qk_norm", "gate")

# model file -> (config overrides, stored dtype, __metadata__ or None)
MODELS = {
    "vit_gap": ({}, "F32", None),
    "vit_cls_qknorm": ({"pool": "cls", "qk_norm": True}, "F32", {"format": "pt"}),
    "vit_gap_f64": ({}, "F64", {"format": "pt"}),
    "vit_gap_f16": ({}, "F16", {"format": "pt"}),
    "vit_gap_bf16": ({}, "BF16", {"format": "pt"}),
}


def stored(tensor, dtype):
    """(what the file holds as a numpy array, the float64 values it stands for)."""
    if dtype == "F32":
        t = tensor.to(torch.float32)
        return t.numpy(), t.to(torch.float64)
    if dtype == "F64":
        return tensor.numpy(), tensor
    if dtype == "F16":
        t = tensor.to(torch.float16)
        return t.numpy(), t.to(torch.float64)
    if dtype == "BF16":
        t = tensor.to(torch.bfloat16)
        return t.view(torch.int16).numpy().view(np.uint16), t.to(torch.float64)
    raise ValueError(dtype)


def build_model(name):
    """Returns (state dict for the file, expected tensors, expected metadata) of one model."""
    overrides, dtype, _ = MODELS[name]
    cfg = dict(mf.BASE)
    cfg.update(overrides)
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode("utf-8")))
    init = mf.init_params(cfg, gen)
    state_dict, params = {}, {}
    for key, value in init.items():
        state_dict[key], params[key] = stored(value, dtype)
    images = torch.randn((BATCH, cfg["synthetic_channels"], cfg["synthetic_size"],
                          cfg["synthetic_size"]), generator=gen, dtype=torch.float64)
    images = images.to(torch.float32).to(torch.float64)
    with torch.no_grad():
        logits = vt.forward(params, cfg, images)
    expected = {f"{name}.images": images.to(torch.float32).numpy(),
                f"{name}.logits": logits.to(torch.float32).numpy()}
    metadata = {f"{name}.config": json.dumps({k: cfg[k] for k in MODEL_KEYS}),
                f"{name}.timm": json.dumps(vt.timm_kwargs(cfg))}
    return state_dict, expected, metadata


def build_all():
    """{file name: bytes} of every fixture file."""
    files, expected, metadata = {}, {}, {}
    for name, (_, _, file_metadata) in MODELS.items():
        state_dict, e, m = build_model(name)
        files[f"{name}.safetensors"] = safetensors_io.serialize(state_dict, file_metadata)
        expected.update(e)
        metadata.update(m)
    files["expected.safetensors"] = safetensors_io.serialize(expected, metadata)
    return files


def same_content(committed, fresh):
    """Byte-identical, or the same names, metadata and dtypes with values equal to float32
    rounding (another torch build may round the float64 logits' last bits differently)."""
    if committed == fresh:
        return True
    (got, got_meta), (want, want_meta) = (safetensors_io.deserialize(b) for b in (committed, fresh))
    return got_meta == want_meta and set(got) == set(want) and all(
        got[k].dtype == want[k].dtype and got[k].shape == want[k].shape
        and np.allclose(got[k].astype(np.float64), want[k].astype(np.float64), rtol=1e-6,
                        atol=1e-7)
        for k in want)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=mf.REPO / "tests" / "fixtures" / "pytorch")
    ap.add_argument("--check", action="store_true",
                    help="compare with the files in --out instead of writing them")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # fixed reduction order: byte-identical files run to run
    stale = []
    for file_name, blob in build_all().items():
        path = args.out / file_name
        if args.check:
            if not path.exists() or not same_content(path.read_bytes(), blob):
                stale.append(file_name)
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        print(f"{path}  {len(blob)} B")
    if stale:
        print(f"make_state_dicts: not up to date in {args.out}: {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
