#!/usr/bin/python3
"""Self-check of the PyTorch twin, for whoever changes it or regenerates the fixtures.

    /usr/bin/python3 tests/reference/check_twin.py [--quick] [--fixtures DIR]

Checks, all in float64:
  1. autograd gradients of every fixture case against central finite differences, every entry of
     every parameter (per-tensor relative error < 1e-6);
  2. score gradients: softmax has dS = P (dA - rowsum(dA P)) with zero row sums; point-wise has
     dS = L^-alpha h'(S) dA (h' written out by hand) with no row-sum term, and adding one changes
     the parameter gradients by far more than float32 noise (so the fixtures tell them apart);
  3. h' at the kinks matches PyTorch's conventions: relu'(0) = relu2'(0) = 0, relu6'(0) =
     relu6'(6) = 0;
  4. the optimizer, clipping and schedule against torch.optim.AdamW / torch.optim.SGD with param
     groups and torch.nn.utils.clip_grad_norm_;
  5. the losses against F.cross_entropy(label_smoothing=) and an explicit sigmoid formula;
  6. softmax attention against nn.MultiheadAttention (independent implementation), patch order
     against explicit patch extraction, sincos2d against a numpy transcription of big_vision;
  7. safetensors round trip, and the committed fixtures against freshly generated ones.
Exits 1 on any failure.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_fixtures as mf  # noqa: E402
import safetensors_io  # noqa: E402
import vit_twin as vt  # noqa: E402

FAILURES = []


def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        FAILURES.append(what)


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float((a - b).norm() / max(float(b.norm()), 1e-300))


def case_setup(name):
    cfg = mf.case_config(name)
    _, opts = mf.CASES[name]
    gen = torch.Generator().manual_seed(mf.case_seed(name))
    init = mf.init_params(cfg, gen, **opts)
    images, labels = mf.make_inputs(cfg, gen)
    return cfg, init, images, labels


def loss_at(params, cfg, images, labels):
    return vt.loss_fn(vt.forward(params, cfg, images), labels, cfg)


def autograd_grads(init, cfg, images, labels, hook=None):
    params = mf.leaf_copy(init)
    record = []
    loss = vt.loss_fn(vt.forward(params, cfg, images, record=record), labels, cfg)
    if hook is not None:
        for s, _ in record:
            s.register_hook(hook)
    loss.backward()
    return {n: p.grad.detach().clone() for n, p in params.items()}, record


# ----------------------------------------------------------------------------------------------


def check_finite_differences(name, step=1e-6, quick=False):
    cfg, init, images, labels = case_setup(name)
    grads, _ = autograd_grads(init, cfg, images, labels)
    params = {n: p.clone() for n, p in init.items()}
    worst = (0.0, "")
    zeros, ok_zero = [], True
    with torch.no_grad():
        for n, p in params.items():
            flat = p.view(-1)
            idx = range(flat.numel())
            if quick:
                idx = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))
                idx = idx[: min(8, flat.numel())].tolist()
            fd = torch.zeros(flat.numel(), dtype=torch.float64)
            for i in idx:
                old = float(flat[i])
                flat[i] = old + step
                lp = float(loss_at(params, cfg, images, labels))
                flat[i] = old - step
                lm = float(loss_at(params, cfg, images, labels))
                flat[i] = old
                fd[i] = (lp - lm) / (2 * step)
            ad = grads[n].reshape(-1)
            if quick:
                ad, fd = ad[idx], fd[idx]
            if float(fd.norm()) < 1e-8:
                # an identically zero gradient (softmax's key bias): FD sees only rounding
                zeros.append(n)
                ok_zero = ok_zero and float(ad.norm()) < 1e-12
                continue
            worst = max(worst, (rel(ad, fd), n))
    check(worst[0] < 1e-6 and ok_zero,
          f"{name}: autograd vs finite differences, worst relative error {worst[0]:.2e} "
          f"({worst[1]})" + (f"; zero gradient (|autograd| < 1e-12): {', '.join(zeros)}"
                             if zeros else ""))


def h_prime(kind, s):
    """h' written out by hand (PyTorch conventions at the kinks)."""
    if kind == "relu":
        return (s > 0).to(s.dtype)
    if kind == "relu2":
        return 2.0 * torch.clamp(s, min=0.0)
    if kind == "gelu":
        return 0.5 * (1.0 + torch.erf(s / math.sqrt(2.0))) + s * torch.exp(-0.5 * s * s) / math.sqrt(
            2.0 * math.pi)
    if kind == "softplus":
        return torch.sigmoid(s)  # for s < 20; above, the derivative of x is 1 (== to 1e-9)
    if kind == "identity":
        return torch.ones_like(s)
    if kind == "relu6":
        return ((s > 0) & (s < 6)).to(s.dtype)
    if kind == "sigmoid":
        sg = torch.sigmoid(s)
        return sg * (1.0 - sg)
    raise ValueError(kind)


def check_score_gradients(name):
    cfg, init, images, labels = case_setup(name)
    grads, record = autograd_grads(init, cfg, images, labels)
    L = cfg.get("scale_length") or vt.seq_len(cfg)
    worst_formula, worst_rowsum, max_rowsum = 0.0, 0.0, 0.0
    for s, a in record:
        dS, dA = s.grad, a.grad
        if cfg["attn"] == "softmax":
            P = a.detach()
            want = P * (dA - (dA * P).sum(-1, keepdim=True))
        else:
            want = L ** (-float(cfg["alpha"])) * h_prime(cfg["attn"], s.detach()) * dA
        worst_formula = max(worst_formula, rel(dS, want))
        rows = dS.sum(-1).abs().max() / dS.abs().max()
        max_rowsum = max(max_rowsum, float(rows))
    check(worst_formula < 1e-12, f"{name}: dS matches the {'softmax' if cfg['attn'] == 'softmax' else 'point-wise'}"
          f" formula (rel err {worst_formula:.1e})")
    # what a row-sum term (the softmax-style bug) would do to the parameter gradients
    wrong, _ = autograd_grads(init, cfg, images, labels,
                              hook=lambda g: g - g.mean(-1, keepdim=True))
    diff = rel(torch.cat([wrong[n].flatten() for n in grads]),
               torch.cat([grads[n].flatten() for n in grads]))
    # a bias added to every key adds q.b to a whole row of scores
    D = cfg["width"]
    if cfg["qk_norm"]:
        what = "k_norm.bias"
        kb = [grads[f"blocks.{i}.attn.k_norm.bias"] for i in range(cfg["depth"])]
    else:
        what = "the key rows of qkv.bias"
        kb = [grads[f"blocks.{i}.attn.qkv.bias"][D:2 * D] for i in range(cfg["depth"])]
    kb = max(float(g.abs().max()) for g in kb)
    gmax = max(float(g.abs().max()) for g in grads.values())
    if cfg["attn"] == "softmax":
        check(kb < 1e-14 * gmax, f"{name}: softmax is shift-invariant per row, so no gradient "
              f"reaches {what} (max {kb:.1e})")
    else:
        check(kb > 1e-4 * gmax, f"{name}: point-wise attention gives {what} a gradient "
              f"(max {kb:.1e})")
    if cfg["attn"] == "softmax":
        check(max_rowsum < 1e-12 and diff < 1e-12,
              f"{name}: softmax dS rows sum to 0 (max |rowsum|/max|dS| {max_rowsum:.1e}); "
              f"removing row means changes nothing ({diff:.1e})")
    else:
        check(max_rowsum > 1e-2 and diff > 1e-2,
              f"{name}: point-wise dS rows do not sum to 0 (max |rowsum|/max|dS| {max_rowsum:.2f});"
              f" a row-sum term would change the parameter gradients by {diff:.1%}")


def check_kinks():
    s = torch.tensor([0.0, 6.0, -1.0, 3.0, 7.0], dtype=torch.float64, requires_grad=True)
    want = {"relu": [0, 1, 0, 1, 1], "relu2": [0, 12, 0, 6, 14], "relu6": [0, 0, 0, 1, 0]}
    for kind, w in want.items():
        (g,) = torch.autograd.grad(vt.POINTWISE[kind](s).sum(), s)
        check(g.tolist() == [float(x) for x in w], f"h' of {kind} at {s.tolist()}: {g.tolist()}")


def torch_schedule(cfg, t, T):
    """The schedule, written again independently."""
    eta, W = cfg["lr"], cfg["warmup_steps"]
    if t < W:
        return eta * (t + 1) / W
    frac = (t - W) / max(1, T - W)
    return {"cosine": eta * 0.5 * (1 + math.cos(math.pi * frac)),
            "linear": eta * (1 - frac), "constant": eta}[cfg["schedule"]]


def check_optimizer(name, steps=4):
    """The twin's clip + optimizer + schedule against torch.optim on the same gradient sequence
    (the real gradient at the start, then random ones at several scales)."""
    cfg, init, images, labels = case_setup(name)
    g0, _ = autograd_grads(init, cfg, images, labels)
    gen = torch.Generator().manual_seed(4)
    seq = [g0] + [{n: torch.randn(g.shape, generator=gen, dtype=g.dtype) * s for n, g in g0.items()}
                  for s in (0.01, 1.0, 0.3)][: steps - 1]
    T = steps
    mine = {n: p.clone() for n, p in init.items()}
    opt = vt.Optimizer(cfg)
    for t, grads in enumerate(seq):
        grads = {n: g.clone() for n, g in grads.items()}
        vt.clip_gradients(grads, cfg["clip_norm"])
        opt.step(mine, grads, vt.learning_rate(cfg, t, T))
    ref = {n: p.clone().requires_grad_(True) for n, p in init.items()}
    groups = [{"params": [p for n, p in ref.items() if vt.is_decayed(n)],
               "weight_decay": cfg["weight_decay"]},
              {"params": [p for n, p in ref.items() if not vt.is_decayed(n)],
               "weight_decay": 0.0}]
    if cfg["optimizer"] == "adamw":
        topt = torch.optim.AdamW(groups, lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]),
                                 eps=cfg["eps"])
    else:
        topt = torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"], dampening=0.0,
                               nesterov=False)
    for t, grads in enumerate(seq):
        for g in topt.param_groups:
            g["lr"] = torch_schedule(cfg, t, T)
        for n, p in ref.items():
            p.grad = grads[n].clone()
        if cfg["clip_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(list(ref.values()), cfg["clip_norm"])
        topt.step()
    err = max(rel(mine[n], ref[n].detach()) for n in init)
    check(err < 1e-14, f"{name}: clip + {cfg['optimizer']} + {cfg['schedule']} schedule "
          f"(warm-up {cfg['warmup_steps']}) vs torch.optim, {T} steps (rel err {err:.1e})")


def buggy_after3(cfg, init, images, labels, bug):
    """after3 from an optimizer with a deliberate bug, to show that tol.after3 catches it."""
    params = mf.leaf_copy(init)
    b1, b2, eps, wd = cfg["beta1"], cfg["beta2"], cfg["eps"], cfg["weight_decay"]
    state = {}
    for t in range(mf.TOTAL_STEPS):
        lr = vt.learning_rate(cfg, t, mf.TOTAL_STEPS)
        if bug == "no warm-up":
            lr = vt.learning_rate(dict(cfg, warmup_steps=0), t, mf.TOTAL_STEPS)
        for p in params.values():
            p.grad = None
        loss_at(params, cfg, images, labels).backward()
        grads = {n: p.grad for n, p in params.items()}
        vt.clip_gradients(grads, 0.0 if bug == "no clipping" else cfg["clip_norm"])
        with torch.no_grad():
            for n, p in params.items():
                g = grads[n]
                decay = vt.is_decayed(n) or bug == "decay on every parameter"
                if cfg["optimizer"] == "sgd":
                    if decay and bug != "decoupled decay":
                        g = g + wd * p
                    if decay and bug == "decoupled decay":
                        p.mul_(1 - lr * wd)
                    buf = g.clone() if t == 0 else state[n].mul_(cfg["momentum"]).add_(
                        g, alpha=0.1 if bug == "dampening 0.9" else 1.0)
                    state[n] = buf
                    p.sub_(lr * buf)
                    continue
                if decay and bug != "coupled L2":
                    p.mul_(1 - lr * wd)
                if decay and bug == "coupled L2":
                    g = g + wd * p
                m, v = state.get(n, (torch.zeros_like(p), torch.zeros_like(p)))
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                state[n] = (m, v)
                c1 = 1.0 if bug == "no bias correction" else 1 - b1 ** (t + 1)
                c2 = 1.0 if bug == "no bias correction" else 1 - b2 ** (t + 1)
                p.sub_(lr * (m / c1) / (torch.sqrt(v / c2) + eps))
    return {n: p.detach() for n, p in params.items()}


def check_bugs_caught(fixtures):
    """Each deliberate bug must put many after3 entries outside tol.after3 of the fixture."""
    bugs = {
        "relu_alpha1": ["decay on every parameter", "coupled L2", "no bias correction"],
        "relu_warmup_cosine": ["no warm-up", "no clipping"],
        "relu6_sgd": ["decoupled decay", "dampening 0.9", "decay on every parameter"],
    }
    for name, names in bugs.items():
        fx, _ = load_fixture(fixtures, name)
        if fx is None:
            continue
        cfg, init, images, labels = case_setup(name)
        clean = buggy_after3(cfg, init, images, labels, None)
        out = count_outside(clean, fx)
        check(out == 0, f"{name}: the bug-free re-implementation lands inside tol.after3 "
              f"({out} entries outside)")
        for bug in names:
            got = buggy_after3(cfg, init, images, labels, bug)
            out = count_outside(got, fx)
            total = sum(p.numel() for p in got.values())
            check(out > 0.01 * total, f"{name}: bug '{bug}' caught by tol.after3 ({out} of "
                  f"{total} entries outside)")
    # L^-alpha must count the class token: L = 5, not 4 patches, in sigmoid_cls
    fx, _ = load_fixture(fixtures, "sigmoid_cls")
    if fx is not None:
        cfg, init, images, labels = case_setup("sigmoid_cls")
        wrong = dict(cfg, alpha=cfg["alpha"] * math.log(4) / math.log(5))  # 5^-a' = 4^-a
        logits = vt.forward(init, wrong, images)
        e = rel(logits, torch.from_numpy(fx["output.logits"]).double())
        check(e > 1e-3, f"sigmoid_cls: L without the class token changes the logits by {e:.1%}")


def count_outside(params, fx):
    return sum(int(((params[n] - torch.from_numpy(fx["after3." + n]).double()).abs()
                    > torch.from_numpy(fx["tol.after3." + n]).double()).sum()) for n in params)


def load_fixture(directory, name):
    path = Path(directory) / f"{name}.safetensors"
    if not path.exists():
        return None, None
    return safetensors_io.load(path)


def check_float32_twin(fixtures):
    """Runs the twin in float32 from each fixture file, as a C++ test would, and compares with
    the stored float64 results. Prints the errors seen, to size the C++ tolerances."""
    import json
    for name in mf.CASES:
        fx, meta = load_fixture(fixtures, name)
        if fx is None:
            print(f"  skip {name}: no fixture")
            continue
        cfg = json.loads(meta["config"])
        T = int(meta["total_steps"])
        init = {n: torch.from_numpy(fx[n]) for n in vt.param_shapes(cfg)}
        images = torch.from_numpy(fx["input.images"])
        labels = torch.from_numpy(fx["input.labels"])
        params = mf.leaf_copy(init)
        logits = vt.forward(params, cfg, images)
        loss = vt.loss_fn(logits, labels, cfg)
        loss.backward()
        e_logits = float((logits.detach() - torch.from_numpy(fx["output.logits"])).abs().max()
                         / torch.from_numpy(fx["output.logits"]).abs().max())
        e_loss = abs(float(loss) / float(fx["output.loss"][0]) - 1)
        gmax = max(float(np.abs(fx["grad." + n]).max()) for n in init)
        e_grad = max(float((params[n].grad - torch.from_numpy(fx["grad." + n])).abs().max())
                     for n in init) / gmax
        params = mf.leaf_copy(init)
        opt = vt.Optimizer(cfg)
        losses = []
        for t in range(T):
            step_loss, _ = vt.train_step(params, opt, cfg, images, labels,
                                         vt.learning_rate(cfg, t, T))
            losses.append(float(step_loss))
        e_losses = float(np.max(np.abs(np.array(losses) / fx["train.losses"] - 1)))
        loss_ratio = float(np.max(np.abs(np.array(losses) - fx["train.losses"].astype(np.float64))
                                  / fx["tol.train.losses"]))
        after = {n: p.detach().double() for n, p in params.items()}
        ratio = max(float(((after[n] - torch.from_numpy(fx["after3." + n]).double()).abs()
                           / torch.from_numpy(fx["tol.after3." + n]).double()).max())
                    for n in after)
        ok = (e_logits < 1e-5 and e_loss < 1e-5 and e_grad < 1e-5 and loss_ratio <= 1
              and ratio <= 1)
        check(ok, f"{name}: float32 twin: logits {e_logits:.1e} (of max|logit|), loss "
              f"{e_loss:.1e}, grads {e_grad:.1e} (of max|grad|), train.losses {e_losses:.1e} "
              f"(at {loss_ratio:.2f} of tol), after3 at {ratio:.2f} of tol")


def check_losses():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 7, generator=gen, dtype=torch.float64) * 3
    labels = torch.randint(0, 7, (6,), generator=gen)
    for eps in (0.0, 0.1, 0.3):
        cfg = {"loss": "softmax_xent", "label_smoothing": eps}
        want = F.cross_entropy(logits, labels, label_smoothing=eps)
        check(abs(float(vt.loss_fn(logits, labels, cfg) - want)) < 1e-13,
              f"softmax_xent eps={eps} vs F.cross_entropy")
        cfg = {"loss": "sigmoid_xent", "label_smoothing": eps}
        y = (1 - eps) * F.one_hot(labels, 7).double() + eps / 7
        sig = torch.sigmoid(logits)
        want = -(y * torch.log(sig) + (1 - y) * torch.log(1 - sig)).sum(-1).mean()
        check(abs(float(vt.loss_fn(logits, labels, cfg) - want)) < 1e-12,
              f"sigmoid_xent eps={eps} vs explicit formula")


def check_against_mha():
    cfg, init, images, labels = case_setup("softmax")
    D, H = cfg["width"], cfg["heads"]
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(init["blocks.0.attn.qkv.weight"])
        mha.in_proj_bias.copy_(init["blocks.0.attn.qkv.bias"])
        mha.out_proj.weight.copy_(init["blocks.0.attn.proj.weight"])
        mha.out_proj.bias.copy_(init["blocks.0.attn.proj.bias"])
    x = torch.randn(3, 5, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    want, _ = mha(x, x, x, need_weights=False)
    got = vt.attention_layer(init, "blocks.0.attn.", cfg, x)
    check(rel(got, want) < 1e-13, f"softmax attention layer vs nn.MultiheadAttention "
          f"(rel err {rel(got, want):.1e})")


def check_patch_order():
    cfg = dict(mf.BASE, synthetic_size=12, patch=4, depth=0)
    gen = torch.Generator().manual_seed(3)
    init = mf.init_params(cfg, gen)
    images = torch.randn(2, cfg["synthetic_channels"], 12, 12, generator=gen, dtype=torch.float64)
    W = init["patch_embed.proj.weight"]
    D, p = cfg["width"], cfg["patch"]
    tokens = []
    for i in range(3):  # row-major: row i, column j
        for j in range(3):
            patch = images[:, :, i * p:(i + 1) * p, j * p:(j + 1) * p].reshape(2, -1)
            tokens.append(patch @ W.reshape(D, -1).T + init["patch_embed.proj.bias"])
    want = torch.stack(tokens, dim=1)
    x = F.conv2d(images, W, init["patch_embed.proj.bias"], stride=p).flatten(2).transpose(1, 2)
    check(rel(x, want) < 1e-13, "patch embedding = row-major patches times flattened (C,p,p) weight")


def check_sincos():
    for h, w, D in ((2, 2, 16), (3, 5, 8), (4, 4, 4)):
        n = D // 4
        yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        omega = np.arange(n) / (n - 1) if n > 1 else np.array([1.0])
        omega = 1.0 / (10000.0 ** omega)
        y = np.einsum("m,d->md", yy.flatten(), omega)
        x = np.einsum("m,d->md", xx.flatten(), omega)
        want = np.concatenate([np.sin(x), np.cos(x), np.sin(y), np.cos(y)], axis=1)
        got = vt.posemb_sincos_2d(h, w, D).numpy()
        check(np.abs(got - want).max() < 1e-15 and got.shape == (h * w, D),
              f"posemb_sincos_2d({h},{w},{D}) vs numpy big_vision")
    pe = vt.posemb_sincos_2d(2, 3, 8)
    check(float(pe[4, 0]) == math.sin(1.0) and float(pe[4, 4]) == math.sin(1.0)
          and float(pe[5, 0]) == math.sin(2.0), "sincos: token 4 is row 1, column 1; token 5 is (1, 2)")


def check_safetensors():
    t = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.array([1, -2], np.int64),
         "c": np.array([0.5], np.float64), "d": np.array([7], np.int32),
         "e": np.array([1.5, -2], np.float16), "f": np.array([0x3F80], np.uint16)}
    blob = safetensors_io.serialize(t, {"k": "v"})
    n = int.from_bytes(blob[:8], "little")
    back, meta = safetensors_io.deserialize(blob)
    ok = n % 8 == 0 and meta == {"k": "v"} and all(
        np.array_equal(back[k], t[k]) and back[k].dtype == t[k].dtype for k in t)
    import json
    header = json.loads(blob[8:8 + n])
    offs = [header[k]["data_offsets"] for k in sorted(t)]
    ok = ok and offs[0][0] == 0 and all(offs[i][1] == offs[i + 1][0] for i in range(len(offs) - 1))
    check(ok, "safetensors round trip, header padded to 8, data in sorted-name order")


def check_committed_fixtures(directory):
    directory = Path(directory)
    if not directory.is_dir():
        print(f"  skip committed fixtures: {directory} does not exist")
        return
    for name in mf.CASES:
        path = directory / f"{name}.safetensors"
        if not path.exists():
            check(False, f"fixture {path} exists")
            continue
        tensors, metadata, _ = mf.build_case(name)
        fresh = safetensors_io.serialize(tensors, metadata)
        if fresh == path.read_bytes():
            check(True, f"fixture {path.name} is up to date (byte-identical)")
            continue
        got, meta = safetensors_io.load(path)
        same = meta == metadata and set(got) == set(tensors) and all(
            np.allclose(got[k], tensors[k], rtol=1e-6, atol=1e-7) for k in tensors)
        check(same, f"fixture {path.name} matches a fresh build (not byte-identical: another "
              f"torch build?)")


def check_committed_state_dicts():
    """tests/fixtures/pytorch (make_state_dicts.py) is what a fresh build writes."""
    import make_state_dicts
    check(make_state_dicts.main(["--check"]) == 0,
          "state dicts in tests/fixtures/pytorch are up to date (byte-identical)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="finite differences on 8 entries per tensor instead of all")
    ap.add_argument("--fixtures", default=str(mf.REPO / "tests" / "fixtures" / "twin"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    print("finite differences (float64, central, step 1e-6):")
    for name in mf.CASES:
        check_finite_differences(name, quick=args.quick)
    print("score gradients, softmax vs point-wise:")
    for name in mf.CASES:
        check_score_gradients(name)
    print("h' at the kinks:")
    check_kinks()
    print("optimizer, clipping, schedule vs torch.optim:")
    for name in mf.CASES:
        check_optimizer(name)
    print("losses:")
    check_losses()
    print("model pieces vs independent implementations:")
    check_against_mha()
    check_patch_order()
    check_sincos()
    print("files:")
    check_safetensors()
    check_committed_fixtures(args.fixtures)
    check_committed_state_dicts()
    print("float32 twin against the fixtures (what a C++ test sees):")
    check_float32_twin(args.fixtures)
    print("deliberate bugs against tol.after3:")
    check_bugs_caught(args.fixtures)

    if FAILURES:
        print(f"check_twin: {len(FAILURES)} FAILED")
        return 1
    print("check_twin: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
