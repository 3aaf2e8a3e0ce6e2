#!/usr/bin/python3
"""What a SiLU gate on the attention output costs, in FLOPs and in time; prints JSON.

    scripts/bench_gate_overhead.py [--sweep build/sweep] [--repeats 5] [--steps 10]
        [--threads 1] [--model nano/2 --model mini/4 ...]

For each model, `sweep bench` times relu attention's training step (forward, backward, AdamW;
batch 128, Fashion-MNIST shapes) without the gate and with it, alternating which goes first in
each repeat, so that both see the same drift of a shared machine. Reports, per model: the
gate's share of the step's FLOPs (from the engine's own FLOP count) beside its share of the
time: the mean of the repeats' paired ratios (gated / ungated - 1) with a 95% t-interval. The
paper measured +9.3% (ViT-S/8, relu). Defaults: nano/2 (Fig. 4's model: width 32, 196 tokens,
element-wise work dominates) and mini/4 (width 128, 49 tokens, matrix products dominate), on one
thread as sweeps run trials. Run it on an otherwise idle machine (the load before and after is in
the JSON). Progress goes to stderr.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Two-sided 95% Student t quantiles by degrees of freedom (1..10); beyond that 2.0 is close.
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def bench(args, model, gate):
    cmd = [args.sweep, "bench", "--case", "fmnist-mini", "--attn", "relu",
           "--threads", str(args.threads), "--steps", str(args.steps), "--warmup", "2",
           "--set", f"model={model}", "--set", f"gate={gate}"]
    print("bench_gate_overhead: " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"bench_gate_overhead: `{' '.join(cmd)}` failed with exit code {done.returncode}")
    return json.loads(done.stdout)["configs"][0]


def interval(values):
    """The mean and its 95% t-interval; needs two values at least (main checks --repeats)."""
    mean = statistics.fmean(values)
    half = T95[min(len(values) - 2, len(T95) - 1)] * statistics.stdev(values) / len(values) ** 0.5
    return mean, [mean - half, mean + half]


def measure(args, model):
    runs = {"none": [], "silu": []}
    for repeat in range(args.repeats):
        order = ("none", "silu") if repeat % 2 == 0 else ("silu", "none")
        for gate in order:
            runs[gate].append(bench(args, model, gate))
    ms = {gate: [r["ms_per_step_median"] for r in rs] for gate, rs in runs.items()}
    ratios = [g / n - 1 for g, n in zip(ms["silu"], ms["none"])]
    flops = {gate: rs[0]["gflop_per_step"] for gate, rs in runs.items()}
    mean, ci = interval(ratios)
    first = runs["none"][0]
    return {
        "model": model, "tokens": first["tokens"], "width": first["width"],
        "ms_per_step_ungated": ms["none"], "ms_per_step_gated": ms["silu"],
        "gflop_per_step_ungated": flops["none"], "gflop_per_step_gated": flops["silu"],
        "flop_share": flops["silu"] / flops["none"] - 1,
        "time_share": mean, "time_share_ci95": ci, "pairs": len(ratios),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", default=str(ROOT / "build" / "sweep"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", action="append", help="model preset (repeatable)")
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 for an interval")
    models = args.model or ["nano/2", "mini/4"]
    result = {"load_before": uptime(), "threads": args.threads, "paper_time_share": 0.093}
    result["models"] = [measure(args, m) for m in models]
    result["load_after"] = uptime()
    for row in result["models"]:
        ci = row["time_share_ci95"]
        print(f"bench_gate_overhead: {row['model']}: FLOPs +{100 * row['flop_share']:.1f}%, "
              f"time +{100 * row['time_share']:.1f}% "
              f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}] over {row['pairs']} pairs",
              file=sys.stderr)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
