#!/usr/bin/python3
"""Times the twin's float32 training step (forward + backward + clip + AdamW) on random data.

Run as:

    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 tests/reference/bench_twin.py [--threads 2]

(OpenBLAS 0.3.21 misdetects this CPU unless OPENBLAS_CORETYPE is set. Note: it only matters when
libblas.so.3 is OpenBLAS; the JSON's "blas" field names the BLAS library torch actually loaded.
Debian's python3-torch links libblas.so.3, which is the slow netlib reference BLAS unless an
OpenBLAS package is installed.)

--matmul onednn routes every matrix product through oneDNN convolutions (a linear layer is a 1x1
convolution; q k^T and a v are grouped 1x1 convolutions): the same model and numbers, without
going through libblas. Prints one JSON object.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import vit_twin as vt  # noqa: E402

CONFIGS = {
    "fmnist-mini": dict(synthetic_size=28, synthetic_channels=1, synthetic_classes=10, patch=4,
                        width=128, depth=6, heads=4, mlp_dim=512, batch_size=128, steps=10),
    # The sweeps' own trials (Figs. 2-4): nano/4 and micro/4 with qk-norm, run one thread each.
    "fmnist-nano": dict(synthetic_size=28, synthetic_channels=1, synthetic_classes=10, patch=4,
                        width=32, depth=2, heads=2, mlp_dim=128, qk_norm=True, batch_size=128,
                        steps=10),
    "fmnist-micro": dict(synthetic_size=28, synthetic_channels=1, synthetic_classes=10, patch=4,
                         width=64, depth=4, heads=4, mlp_dim=256, qk_norm=True, batch_size=128,
                         steps=10),
    "S/16-224": dict(synthetic_size=224, synthetic_channels=3, synthetic_classes=1000, patch=16,
                     width=384, depth=12, heads=6, mlp_dim=1536, batch_size=16, steps=3),
}
DEFAULT_CONFIGS = ("fmnist-mini", "S/16-224")
ATTNS = ("softmax", "relu")

COMMON = dict(
    pool="gap", posemb="learned", alpha=1.0, qk_norm=False, gate="none",
    loss="softmax_xent", label_smoothing=0.0, optimizer="adamw", lr=1e-3, weight_decay=0.1,
    beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.9, clip_norm=1.0, schedule="cosine",
    warmup_steps=0,
)


class OneDnnOps:
    """vit_twin.Ops through oneDNN convolutions instead of libblas GEMMs."""

    @staticmethod
    def linear(x, weight, bias):
        # every row of x is a 1x1 image with x.shape[-1] channels
        rows = x.reshape(-1, x.shape[-1], 1, 1)
        y = F.conv2d(rows, weight[:, :, None, None], bias)
        return y.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def scores(q, k):
        G, Lq, d = q.shape
        Lk = k.shape[1]
        x = q.transpose(1, 2).reshape(1, G * d, Lq, 1)
        w = k.reshape(G * Lk, d, 1, 1)
        return F.conv2d(x, w, groups=G).reshape(G, Lk, Lq).transpose(1, 2)

    @staticmethod
    def mix(a, v):
        G, Lq, Lk = a.shape
        d = v.shape[2]
        x = a.transpose(1, 2).reshape(1, G * Lk, Lq, 1)
        w = v.transpose(1, 2).reshape(G * d, Lk, 1, 1)
        return F.conv2d(x, w, groups=G).reshape(G, d, Lq).transpose(1, 2)


OPS = {"torch": vt.TORCH_OPS, "onednn": OneDnnOps()}


def blas_libraries():
    """The BLAS/LAPACK shared objects mapped into this process."""
    found = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if "blas" in name or "lapack" in name:
                    found.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(found)


def training_init(cfg, gen):
    """A plausible training init (values only matter for speed through denormals and NaNs)."""
    params = {}
    for name, shape in vt.param_shapes(cfg).items():
        if name.endswith(("norm1.weight", "norm2.weight")) or name == "norm.weight":
            t = torch.ones(shape)
        elif name.endswith("bias") or name == "head.weight":
            t = torch.zeros(shape)
        else:
            t = 0.02 * torch.randn(shape, generator=gen)
        params[name] = t.to(torch.float32).requires_grad_(True)
    return params


def self_test_ops(ops):
    """The alternative kernels must give the same numbers as plain torch."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 8, generator=gen)
    w, b = torch.randn(6, 8, generator=gen), torch.randn(6, generator=gen)
    q, k, v = (torch.randn(3, 5, 4, generator=gen) for _ in range(3))
    a = torch.randn(3, 5, 5, generator=gen)
    pairs = [(ops.linear(x, w, b), F.linear(x, w, b)), (ops.scores(q, k), q @ k.transpose(1, 2)),
             (ops.mix(a, v), a @ v)]
    for got, want in pairs:
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-4), "ops self-test"


def bench(name, attn, args):
    spec = dict(CONFIGS[name])
    default_steps = spec.pop("steps")
    cfg = dict(COMMON, attn=attn, **spec)
    B = cfg["batch_size"]
    gen = torch.Generator().manual_seed(0)
    params = training_init(cfg, gen)
    S, C = cfg["synthetic_size"], cfg["synthetic_channels"]
    images = torch.randn(B, C, S, S, generator=gen)
    labels = torch.randint(0, cfg["synthetic_classes"], (B,), generator=gen)
    opt = vt.Optimizer(cfg)
    ops = OPS[args.matmul]
    steps = args.steps or default_steps
    T = args.warmup + steps
    times = []
    for t in range(T):
        start = time.perf_counter()
        loss, _ = vt.train_step(params, opt, cfg, images, labels, vt.learning_rate(cfg, t, T),
                                ops=ops)
        assert torch.isfinite(loss), f"{name}/{attn}: loss is {float(loss)}"
        if t >= args.warmup:
            times.append(time.perf_counter() - start)
        if not args.quiet:
            ms = 1e3 * (time.perf_counter() - start)
            print(f"bench_twin: {name} {attn} step {t} {ms:.0f} ms", file=sys.stderr, flush=True)
    ms = 1e3 * sum(times) / len(times)
    return {
        "name": name, "attn": attn, "batch": B, "img_per_s": round(B / (ms / 1e3), 2),
        "ms_per_step": round(ms, 2), "steps": len(times),
        "ms_per_step_min": round(1e3 * min(times), 2), "tokens": vt.seq_len(cfg),
    }


# glibc's malloc hands large freed blocks back to the kernel (mmap'd blocks, heap trimming), and
# PyTorch frees its activations every step, so every step faults them in again. On this host
# (the kernel's DAMON reclaim runs) nano/4 took 124-174 ms a step at 1 thread and fmnist-mini
# 1229 ms at 2 threads; with the memory kept, 33-36 and 653 ms. The engine allocates once and is
# unaffected. The peer gets its best case: malloc keeps what it has.
KEEP_FREED_MEMORY = ("glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold="
                     "4294967295:glibc.malloc.top_pad=268435456")


def keep_freed_memory():
    """Re-runs this script with KEEP_FREED_MEMORY (glibc reads it only when a process starts)."""
    if os.environ.get("GLIBC_TUNABLES") != KEEP_FREED_MEMORY:
        os.environ["GLIBC_TUNABLES"] = KEEP_FREED_MEMORY
        os.execv(sys.executable, [sys.executable] + sys.argv)


def main(argv=None):
    keep_freed_memory()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--steps", type=int, default=0,
                    help="timed steps per config (default: 10 for fmnist-mini, 3 for S/16-224)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--config", action="append", choices=sorted(CONFIGS),
                    help="only this config (repeatable; default fmnist-mini and S/16-224)")
    ap.add_argument("--attn", action="append", choices=vt.ATTN_KINDS,
                    help="only this attention (repeatable; default softmax and relu)")
    ap.add_argument("--matmul", choices=sorted(OPS), default="torch",
                    help="torch: F.linear and @ (libblas); onednn: convolutions (default torch)")
    ap.add_argument("--quiet", action="store_true", help="no line per step on stderr")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    self_test_ops(OPS[args.matmul])
    results = []
    for name in args.config or DEFAULT_CONFIGS:
        for attn in args.attn or ATTNS:
            results.append(bench(name, attn, args))
    out = {
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "blas": blas_libraries(),
        "matmul": args.matmul,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "configs": results,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
