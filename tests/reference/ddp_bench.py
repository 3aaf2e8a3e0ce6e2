#!/usr/bin/python3
"""PyTorch DDP peer of `mpirun -np R sweep bench`: the twin model, data parallel over gloo.

Run as:

    /usr/bin/python3 tests/reference/ddp_bench.py [--ranks 2] [--threads 1]
        [--config fmnist-mini|S/16-224] [--attn softmax] [--matmul onednn]

Starts --ranks processes on this machine (torch.multiprocessing, gloo over loopback, a file
rendezvous), each with --threads threads, training the twin (vit_twin.py, the same model as
bench_twin.py) under torch.nn.parallel.DistributedDataParallel with the same global batch as
bench_twin.py, split evenly. DDP averages gradients in 25 MiB buckets during backward, as our
engine does in smaller ones. Prints one JSON object: img/s of the global batch, and the share of
step time communication costs, measured as DDP's step time against the same step under
model.no_sync() (no gradient exchange), both taken in turns on every rank.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_twin as bt  # noqa: E402
import vit_twin as vt  # noqa: E402


class TwinModule(torch.nn.Module):
    """vit_twin's functional model as a module, so DDP can hook its parameters."""

    def __init__(self, params, cfg, ops):
        super().__init__()
        self.cfg, self.ops = cfg, ops
        self.names = list(params)
        # Parameter names may not contain dots: index them instead.
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(params[n].detach().clone()) for n in self.names])

    def named_twin_params(self):
        return dict(zip(self.names, self.weights))

    def forward(self, images):
        return vt.forward(self.named_twin_params(), self.cfg, images, self.ops)


def step(model, opt, cfg, images, labels, lr):
    """One update, as vit_twin.train_step: loss, backward (DDP exchanges here), clip, AdamW."""
    model.zero_grad(set_to_none=True)
    loss = vt.loss_fn(model(images), labels, cfg)
    loss.backward()
    params = model.module.named_twin_params()
    grads = {n: p.grad for n, p in params.items()}
    vt.clip_gradients(grads, float(cfg["clip_norm"]))
    opt.step(params, grads, lr)
    return loss.detach()


def worker(rank, args, rendezvous, queue):
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank,
                            world_size=args.ranks)
    results = []
    for name in args.config or ["fmnist-mini", "S/16-224"]:
        for attn in args.attn or ["softmax"]:
            results.append(bench(rank, name, attn, args))
    dist.destroy_process_group()
    if rank == 0:
        queue.put(results)


def bench(rank, name, attn, args):
    spec = dict(bt.CONFIGS[name])
    default_steps = spec.pop("steps")
    cfg = dict(bt.COMMON, attn=attn, **spec)
    batch = cfg["batch_size"]
    if batch % args.ranks:
        raise SystemExit(f"ddp_bench: batch {batch} does not split over {args.ranks} ranks")
    local = batch // args.ranks
    gen = torch.Generator().manual_seed(0)
    params = bt.training_init(cfg, gen)  # the same on every rank, as DDP requires
    gen.manual_seed(1 + rank)
    S, C = cfg["synthetic_size"], cfg["synthetic_channels"]
    images = torch.randn(local, C, S, S, generator=gen)
    labels = torch.randint(0, cfg["synthetic_classes"], (local,), generator=gen)
    model = torch.nn.parallel.DistributedDataParallel(
        TwinModule(params, cfg, bt.OPS[args.matmul]))
    opt = vt.Optimizer(cfg)
    steps = args.steps or default_steps
    for t in range(args.warmup):
        step(model, opt, cfg, images, labels, 1e-4)
    synced, unsynced = [], []
    for t in range(steps):
        # In turns, so load from elsewhere hits both alike.
        for timings, exchange in ((synced, True), (unsynced, False)):
            dist.barrier()
            start = time.perf_counter()
            if exchange:
                step(model, opt, cfg, images, labels, 1e-4)
            else:
                with model.no_sync():
                    step(model, opt, cfg, images, labels, 1e-4)
            timings.append(time.perf_counter() - start)
        if rank == 0:
            print(f"ddp_bench: {name} {attn} step {t}: {1e3 * synced[-1]:.0f} ms with DDP, "
                  f"{1e3 * unsynced[-1]:.0f} ms without exchange", file=sys.stderr, flush=True)
    with_exchange, without = statistics.median(synced), statistics.median(unsynced)
    return {
        "name": name, "attn": attn, "batch": batch, "local_batch": local, "steps": steps,
        "ms_per_step_median": round(1e3 * with_exchange, 2),
        "ms_per_step_no_sync_median": round(1e3 * without, 2),
        "img_per_s": round(batch / with_exchange, 2),
        "communication_share": round(max(0.0, 1 - without / with_exchange), 4),
        "tokens": vt.seq_len(cfg),
    }


def main(argv=None):
    bt.keep_freed_memory()  # the spawned ranks inherit it
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="threads per process (default 1)")
    ap.add_argument("--steps", type=int, default=0,
                    help="timed steps per config (default: 10 for fmnist-mini, 3 for S/16-224)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--config", action="append", choices=sorted(bt.CONFIGS),
                    help="only this config (repeatable; default both)")
    ap.add_argument("--attn", action="append", choices=vt.ATTN_KINDS,
                    help="attention (repeatable; default softmax)")
    ap.add_argument("--matmul", choices=sorted(bt.OPS), default="onednn",
                    help="torch: F.linear and @ (libblas); onednn: convolutions (default onednn)")
    args = ap.parse_args(argv)
    bt.self_test_ops(bt.OPS[args.matmul])
    # gloo talks over loopback only.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    with tempfile.TemporaryDirectory() as tmp:
        queue = mp.get_context("spawn").SimpleQueue()
        mp.spawn(worker, args=(args, os.path.join(tmp, "rendezvous"), queue), nprocs=args.ranks)
        results = queue.get()
    print(json.dumps({
        "framework": "pytorch-ddp", "backend": "gloo", "torch_version": torch.__version__,
        "ranks": args.ranks, "threads": args.threads, "matmul": args.matmul,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()], "configs": results,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
