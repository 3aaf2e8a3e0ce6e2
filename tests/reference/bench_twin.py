#!/usr/bin/python3
"""Times the twin's float32 training step (forward + backward + clip + AdamW) on random data.

--trial times a whole trial instead, as `sweep bench --trial` does for the engine: Fashion-MNIST
read from Debian's files and normalised, --epochs epochs of training on a seeded --train-subset
(shuffled each epoch, the last partial batch dropped, as the engine's trainer does), and after
each epoch the whole test set evaluated (forward only, under torch.no_grad, in batches of 128:
at 1 thread they ran 2000 images at least as fast as batches of 250, 500 or 1000).

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
import gzip
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


FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path, dims):
    """The unsigned bytes of a gzipped IDX file with `dims` dimensions, as a uint8 tensor."""
    data = gzip.decompress(path.read_bytes())
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load_fashion_mnist(train_subset, gen):
    """Normalised float images and labels: a seeded subset of the training file, all the tests.
    Mean and std of the whole training file, as the engine's loader."""
    train = read_idx(FASHION_MNIST / "train-images-idx3-ubyte.gz", 3)
    train_labels = read_idx(FASHION_MNIST / "train-labels-idx1-ubyte.gz", 1).long()
    test = read_idx(FASHION_MNIST / "t10k-images-idx3-ubyte.gz", 3)
    test_labels = read_idx(FASHION_MNIST / "t10k-labels-idx1-ubyte.gz", 1).long()
    counts = torch.bincount(train.flatten(), minlength=256).to(torch.float64)
    values = torch.arange(256, dtype=torch.float64) / 255.0
    mean = float((counts * values).sum() / counts.sum())
    std = float(((counts * (values - mean) ** 2).sum() / counts.sum()).sqrt())
    keep = torch.randperm(train.shape[0], generator=gen)[:train_subset].sort().values

    def normalise(images):
        return ((images.to(torch.float32) / 255.0 - mean) / std).unsqueeze(1)

    return normalise(train[keep]), train_labels[keep], normalise(test), test_labels


@torch.no_grad()
def evaluate(params, cfg, images, labels, ops, batch=128):
    """Test loss and accuracy, forward only."""
    loss, correct = 0.0, 0
    for first in range(0, images.shape[0], batch):
        logits = vt.forward(params, cfg, images[first:first + batch], ops)
        y = labels[first:first + batch]
        loss += float(vt.loss_fn(logits, y, cfg)) * y.shape[0]
        correct += int((logits.argmax(dim=-1) == y).sum())
    return loss / images.shape[0], correct / images.shape[0]


def bench_trial(name, attn, args):
    """One whole trial: load, train args.epochs epochs, evaluate after each."""
    spec = dict(CONFIGS[name])
    spec.pop("steps")
    if spec["synthetic_size"] != 28:
        raise SystemExit(f"bench_twin: --trial runs the Fashion-MNIST cases, not {name}")
    cfg = dict(COMMON, attn=attn, **spec)
    B = cfg["batch_size"]
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    images, labels, test_images, test_labels = load_fashion_mnist(args.train_subset, gen)
    loaded = time.perf_counter()
    params = training_init(cfg, gen)
    opt = vt.Optimizer(cfg)
    ops = OPS[args.matmul]
    steps_per_epoch = images.shape[0] // B
    total_steps = steps_per_epoch * args.epochs
    train_s = evaluate_s = 0.0
    test_loss = test_acc = float("nan")
    for epoch in range(args.epochs):
        epoch_start = time.perf_counter()
        order = torch.randperm(images.shape[0], generator=gen)
        for s in range(steps_per_epoch):
            batch = order[s * B:(s + 1) * B]
            t = epoch * steps_per_epoch + s
            loss, _ = vt.train_step(params, opt, cfg, images[batch], labels[batch],
                                    vt.learning_rate(cfg, t, total_steps), ops=ops)
            assert torch.isfinite(loss), f"{name}/{attn}: loss is {float(loss)}"
        trained = time.perf_counter()
        test_loss, test_acc = evaluate(params, cfg, test_images, test_labels, ops)
        train_s += trained - epoch_start
        evaluate_s += time.perf_counter() - trained
        if not args.quiet:
            print(f"bench_twin: {name} {attn} epoch {epoch + 1} test acc {test_acc:.4f}",
                  file=sys.stderr, flush=True)
    total_s = time.perf_counter() - start
    return {
        "name": name, "attn": attn, "mode": "trial", "batch": B, "tokens": vt.seq_len(cfg),
        "epochs": args.epochs, "train_images": images.shape[0],
        "test_images": test_images.shape[0], "test_acc": test_acc, "test_loss": test_loss,
        "load_s": round(loaded - start, 4), "train_s": round(train_s, 4),
        "evaluate_s": round(evaluate_s, 4), "total_s": round(total_s, 4),
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
    ap.add_argument("--trial", action="store_true",
                    help="time whole trials on Fashion-MNIST (load, train, evaluate) instead")
    ap.add_argument("--epochs", type=int, default=1, help="--trial: epochs (default 1)")
    ap.add_argument("--train-subset", type=int, default=20000,
                    help="--trial: training images (default 20000)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    self_test_ops(OPS[args.matmul])
    results = []
    for name in args.config or DEFAULT_CONFIGS:
        for attn in args.attn or ATTNS:
            results.append((bench_trial if args.trial else bench)(name, attn, args))
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
