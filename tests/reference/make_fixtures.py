#!/usr/bin/python3
"""Writes the twin fixtures the C++ tests compare against: one <case>.safetensors per case.

    /usr/bin/python3 tests/reference/make_fixtures.py [--out DIR] [--case NAME ...]

Everything is computed in float64 from float32-representable initial weights and inputs, then
stored as F32. Deterministic: the same torch build gives byte-identical files. Tensor layout:
see tests/reference/README.md.
"""

import argparse
import json
import math
import re
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import safetensors_io  # noqa: E402
import vit_twin as vt  # noqa: E402

TOTAL_STEPS = 3

# The trial config of every case, in lib/config/trial_config.hpp's key order.
BASE = {
    "dataset": "synthetic",
    "synthetic_size": 8,
    "synthetic_channels": 2,
    "synthetic_classes": 5,
    "width": 16,
    "depth": 2,
    "heads": 2,
    "mlp_dim": 24,
    "patch": 4,
    "pool": "gap",
    "posemb": "learned",
    "attn": "softmax",
    "alpha": 1.0,
    "qk_norm": False,
    "gate": "none",
    "loss": "softmax_xent",
    "label_smoothing": 0.0,
    "optimizer": "adamw",
    "lr": 0.01,
    "weight_decay": 0.1,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "momentum": 0.9,
    "clip_norm": 1.0,
    "schedule": "cosine",
    "warmup_steps": 0,
    "batch_size": 4,
}

# Keys added after the first fixtures were written: in a fixture's config only when its case sets
# them, so the older fixtures stay byte-identical to a fresh build.
OPTIONAL_KEYS = {"scale_length"}

# name -> (config overrides, init options). score_std: the wanted spread of the attention scores.
CASES = {
    "softmax": ({}, {}),
    "relu_alpha1": ({"attn": "relu", "alpha": 1.0}, {}),
    "relu2_alpha05_qknorm": ({"attn": "relu2", "alpha": 0.5, "qk_norm": True}, {}),
    "gelu_gate_silu": ({"attn": "gelu", "gate": "silu"}, {}),
    "sigmoid_cls": ({"attn": "sigmoid", "pool": "cls"}, {}),
    "softplus_sincos": ({"attn": "softplus", "posemb": "sincos2d", "alpha": 1.5,
                         "label_smoothing": 0.2}, {}),
    "identity_alpha0": ({"attn": "identity", "alpha": 0.0, "gate": "sigmoid",
                         "schedule": "constant"}, {}),
    # larger scores so that some pass 6, where relu6 saturates
    "relu6_sgd": ({"attn": "relu6", "optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.01,
                   "lr": 0.1, "schedule": "linear"}, {"score_std": 4.0}),
    "softmax_cls_qknorm_gate_gelu": ({"pool": "cls", "qk_norm": True, "gate": "gelu",
                                      "loss": "sigmoid_xent", "label_smoothing": 0.1}, {}),
    "relu_warmup_cosine": ({"attn": "relu", "warmup_steps": 2, "schedule": "cosine",
                            "clip_norm": 0.05}, {}),
    # L^-alpha with a fixed L: 4 keys, scaled as if there were 9 (alpha 1: 1/9, not 1/4)
    "relu_scale_length9": ({"attn": "relu", "alpha": 1.0, "scale_length": 9}, {}),
    "gelu_gate_identity_noclip": ({"attn": "gelu", "alpha": 2.0, "gate": "identity",
                                   "clip_norm": 0.0}, {}),
    # no attention branch: qk_norm and gate have nothing to act on, and no tensor of theirs exists
    "none_qknorm_gate": ({"attn": "none", "qk_norm": True, "gate": "silu"}, {}),
}


def case_config(name):
    overrides, _ = CASES[name]
    cfg = dict(BASE)
    unknown = set(overrides) - set(BASE) - OPTIONAL_KEYS
    assert not unknown, f"{name}: unknown keys {unknown}"
    cfg.update(overrides)
    return cfg


def case_seed(name):
    return zlib.crc32(name.encode("utf-8"))


def check_keys_exist():
    """Every config key written must be a key of lib/config/trial_config.hpp."""
    header = REPO / "lib" / "config" / "trial_config.hpp"
    if not header.exists():
        return
    keys = set(re.findall(r'visit\(KeyInfo\{"([a-z0-9_]+)"', header.read_text()))
    missing = [k for k in list(BASE) + sorted(OPTIONAL_KEYS) if k not in keys]
    if missing:
        raise SystemExit(f"make_fixtures: keys not in {header}: {missing}")


def init_params(cfg, gen, score_std=1.5):
    """Random, non-trivial weights (NOT the training init), rounded to float32 values, as float64.
    q and k rows of qkv are scaled so that attention scores spread about score_std."""
    D = cfg["width"]
    hd = D // cfg["heads"]
    params = {}

    def randn(shape, std, mean=0.0):
        return mean + std * torch.randn(shape, generator=gen, dtype=torch.float64)

    for name, shape in vt.param_shapes(cfg).items():
        if name in ("norm.weight",) or name.endswith(("norm1.weight", "norm2.weight")):
            t = randn(shape, 0.1, 1.0)
        elif name.endswith(("q_norm.weight", "k_norm.weight")):
            # s = q.k/sqrt(hd) of unit-variance q, k has std ~ |w|^2
            t = randn(shape, 0.1, math.sqrt(score_std))
        elif name.endswith("bias") or name.endswith(("q_norm.bias", "k_norm.bias")):
            t = randn(shape, 0.1)
        elif name == "patch_embed.proj.weight":
            fan_in = shape[1] * shape[2] * shape[3]
            t = randn(shape, 1.0 / math.sqrt(fan_in))
        elif name == "pos_embed":
            t = randn(shape, 0.3)
        elif name == "cls_token":
            t = randn(shape, 1.0)
        elif name.endswith("attn.qkv.weight"):
            t = randn(shape, 1.0 / math.sqrt(D))
            if not cfg["qk_norm"]:
                # std(s) ~ D * sigma^2 for LayerNormed inputs
                t[: 2 * D] = randn((2 * D, D), math.sqrt(score_std / D))
        elif name.endswith("weight"):
            t = randn(shape, 1.0 / math.sqrt(shape[1]))
        else:
            raise AssertionError(f"no init rule for {name}")
        params[name] = t.to(torch.float32).to(torch.float64)
    assert hd > 1
    return params


def make_inputs(cfg, gen):
    B, C, S, K = (cfg["batch_size"], cfg["synthetic_channels"], cfg["synthetic_size"],
                  cfg["synthetic_classes"])
    images = torch.randn((B, C, S, S), generator=gen, dtype=torch.float64)
    images = images.to(torch.float32).to(torch.float64)
    labels = torch.randint(0, K, (B,), generator=gen, dtype=torch.int64)
    return images, labels


def leaf_copy(params):
    return {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}


def train(init, cfg, images, labels, grad_hook=None):
    """TOTAL_STEPS updates on one batch. Returns (params, losses, lrs, grad norms)."""
    params = leaf_copy(init)
    opt = vt.Optimizer(cfg)
    losses, lrs, norms = [], [], []
    for t in range(TOTAL_STEPS):
        lr = vt.learning_rate(cfg, t, TOTAL_STEPS)
        step_loss, norm = vt.train_step(params, opt, cfg, images, labels, lr,
                                        grad_hook=grad_hook)
        losses.append(float(step_loss))
        lrs.append(lr)
        norms.append(norm)
    return {n: p.detach() for n, p in params.items()}, losses, lrs, norms


# after3 and train.losses tolerances: how far a float32 engine may land from the float64 trajectory. Adam divides by
# sqrt(v): entries whose gradient is ~0 (the key bias under softmax: exactly 0) or whose first
# moment cancels follow rounding noise, and move by up to ~lr. Probed by re-running the float64
# training with noise of NOISE_REL * (global grad norm) added to every gradient entry at every step
# (a float32 twin's gradients are off by at most ~3e-7 of that norm).
NOISE_RUNS = 8
NOISE_REL = 1e-6
NOISE_FACTOR = 4.0
TOL_ABS = 2e-6
TOL_REL = 2e-6


def after3_tolerance(init, cfg, images, labels, ref, ref_losses, seed):
    """Returns (tol for every after3 parameter, tol for train.losses)."""
    ref_losses = torch.tensor(ref_losses, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)

    def add_noise(grads):
        total = float(torch.sqrt(sum(torch.sum(g * g) for g in grads.values())))
        for g in grads.values():
            g.add_(NOISE_REL * total * torch.randn(g.shape, generator=gen, dtype=g.dtype))

    spread = {n: torch.zeros_like(p) for n, p in ref.items()}
    loss_spread = torch.zeros(TOTAL_STEPS, dtype=torch.float64)
    for _ in range(NOISE_RUNS):
        params, losses, _, _ = train(init, cfg, images, labels, grad_hook=add_noise)
        for n in spread:
            spread[n] = torch.maximum(spread[n], (params[n] - ref[n]).abs())
        loss_spread = torch.maximum(loss_spread, (torch.tensor(losses) - ref_losses).abs())
    tol = {n: TOL_ABS + TOL_REL * ref[n].abs() + NOISE_FACTOR * spread[n] for n in ref}
    loss_tol = TOL_ABS + TOL_REL * ref_losses.abs() + NOISE_FACTOR * loss_spread
    return tol, loss_tol


def build_case(name):
    """Returns (tensors, metadata, summary dict) of one case."""
    cfg = case_config(name)
    _, init_opts = CASES[name]
    gen = torch.Generator().manual_seed(case_seed(name))
    init = init_params(cfg, gen, **init_opts)
    images, labels = make_inputs(cfg, gen)

    # forward, loss and gradient at the initial weights
    params = leaf_copy(init)
    scores = []
    logits = vt.forward(params, cfg, images, record=scores)
    loss = vt.loss_fn(logits, labels, cfg)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in params.items()}

    # three optimizer updates on the same batch, and how sensitive they are to rounding
    params, losses, lrs, norms = train(init, cfg, images, labels)
    assert abs(losses[0] - float(loss)) <= 1e-12 * max(1.0, abs(float(loss)))
    tol, loss_tol = after3_tolerance(init, cfg, images, labels, params, losses,
                                     case_seed(name) + 1)

    def f32(t):
        return t.detach().to(torch.float32).numpy()

    tensors = {}
    for n, p in init.items():
        tensors[n] = f32(p)
    tensors["input.images"] = f32(images)
    tensors["input.labels"] = labels.numpy().astype(np.int64)
    tensors["output.logits"] = f32(logits)
    tensors["output.loss"] = np.array([float(loss)], dtype=np.float32)
    for n, g in grads.items():
        tensors["grad." + n] = f32(g)
    tensors["train.losses"] = np.array(losses, dtype=np.float32)
    tensors["tol.train.losses"] = f32(loss_tol)
    tensors["train.lr"] = np.array(lrs, dtype=np.float32)
    tensors["train.grad_norm"] = np.array(norms, dtype=np.float32)
    for n, p in params.items():
        tensors["after3." + n] = f32(p)
        tensors["tol.after3." + n] = f32(tol[n])

    metadata = {
        "case": name,
        "config": json.dumps(cfg),
        "total_steps": str(TOTAL_STEPS),
    }

    s = (torch.cat([x.detach().flatten() for x, _ in scores]) if scores
         else torch.zeros(1, dtype=torch.float64))  # attn none: no scores
    change = max(float((params[n] - init[n]).abs().max()) for n in init)
    summary = {
        "L": vt.seq_len(cfg),
        "has_scores": bool(scores),
        "s_std": float(s.std()),
        "s_neg": float((s < 0).double().mean()),
        "s_min": float(s.min()),
        "s_max": float(s.max()),
        "loss": float(loss),
        "losses": losses,
        "grad_norm": norms,
        "clipped": [cfg["clip_norm"] > 0 and n > cfg["clip_norm"] for n in norms],
        "max_change": change,
        "tol_median": float(torch.cat([x.flatten() for x in tol.values()]).median()),
        "tol_loose": sum(int((x > 1e-4).sum()) for x in tol.values()),
    }
    return tensors, metadata, summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "twin")
    ap.add_argument("--case", action="append", choices=sorted(CASES),
                    help="only this case (repeatable; default: all)")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)  # fixed reduction order: byte-identical files run to run
    check_keys_exist()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.case or CASES:
        tensors, metadata, sm = build_case(name)
        path = args.out / f"{name}.safetensors"
        blob = safetensors_io.serialize(tensors, metadata)
        path.write_bytes(blob)
        # Scores exist only where there is attention.
        scores = ("no attention" if not sm["has_scores"] else
                  f"s std {sm['s_std']:.2f} [{sm['s_min']:+.2f}, {sm['s_max']:+.2f}] "
                  f"neg {sm['s_neg']:.0%}")
        print(f"{name:30s} L={sm['L']} {scores}  loss {sm['loss']:.4f} -> "
              f"{sm['losses'][1]:.4f} -> {sm['losses'][2]:.4f}  |g| "
              + ",".join(f"{n:.3g}{'*' if c else ''}" for n, c in zip(sm["grad_norm"],
                                                                       sm["clipped"]))
              + f"  max|dp| {sm['max_change']:.3g}  tol median {sm['tol_median']:.1e}, "
              f"{sm['tol_loose']} > 1e-4  {len(blob)} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
