#!/usr/bin/python3
"""Regenerates the README's performance tables in one run, on this machine, now.

    scripts/perf_table.py [--sweep build/sweep] [--threads 2] [--skip-torch] [--skip-memory]

Runs, one after another (never side by side: they would share the cores):
  1. `sweep bench` on fmnist-mini and ViT-S/16-224, softmax and relu, in f32 and bf16: img/s and
     model-FLOP utilisation against the oneDNN GEMM ceiling (of that precision) measured in the
     same run;
  2. the PyTorch twin (tests/reference/bench_twin.py, Debian's python3-torch) on the same configs,
     through libblas and through oneDNN convolutions, keeping the faster per row;
  3. `sweep bench --attention`: the attention core alone, fused against matmul, relu against
     softmax, at L = 49, 196 and 197;
  4. peak resident memory of one S/8-224 training step (L = 784) with each attention kernel.
Prints Markdown tables on stdout and the raw JSON of every run to --json (default
results/perf.json). The machine should be otherwise idle: absolute times move with load, the
ratios much less.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN_CASES = ("fmnist-mini", "S/16-224")
ATTNS = ("softmax", "relu")


class RunFailed(Exception):
    pass


def run_json(cmd, env=None):
    print("perf_table: " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RunFailed(f"perf_table: `{' '.join(cmd)}` failed with exit code {done.returncode}")
    return json.loads(done.stdout)


def engine_training(sweep, threads, precision):
    cmd = [sweep, "bench", "--threads", str(threads), "--set", f"precision={precision}"]
    for case in TRAIN_CASES:
        cmd += ["--case", case]
    return run_json(cmd)


def torch_training(threads):
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    script = str(ROOT / "tests/reference/bench_twin.py")
    return {matmul: run_json(["/usr/bin/python3", script, "--threads", str(threads),
                              "--matmul", matmul], env)
            for matmul in ("torch", "onednn")}


def torch_available():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0


def peak_memory(sweep, threads):
    out = {}
    for kernel in ("matmul", "fused"):
        result = run_json([sweep, "bench", "--case", "S/8-224", "--attn", "relu", "--steps", "1",
                           "--warmup", "1", "--threads", str(threads), "--set",
                           f"attn_kernel={kernel}"])
        out[kernel] = result["peak_rss_mib"]
    return out


def training_table(engines, torch_runs):
    best = {}
    for matmul, run in (torch_runs or {}).items():
        for c in run["configs"]:
            key = (c["name"], c["attn"])
            if key not in best or c["img_per_s"] > best[key][0]:
                best[key] = (c["img_per_s"], matmul)
    f32 = {(c["name"], c["attn"]): c["img_per_s"] for c in engines["f32"]["configs"]}
    lines = ["| config | attn | precision | engine img/s | vs engine f32 | PyTorch f32 img/s (path) "
             "| engine / PyTorch | engine MFU |",
             "|---|---|---|---|---|---|---|---|"]
    for precision, engine in engines.items():
        for c in engine["configs"]:
            key = (c["name"], c["attn"])
            torch_ips, path = best.get(key, (None, None))
            torch_cell = f"{torch_ips:.3g} ({path})" if torch_ips else "not run"
            ratio = f"{c['img_per_s'] / torch_ips:.2f}x" if torch_ips else "-"
            lines.append(f"| {c['name']} (batch {c['batch']}, L={c['tokens']}) | {c['attn']} | "
                         f"{precision} | {c['img_per_s']:.3g} | {c['img_per_s'] / f32[key]:.2f}x | "
                         f"{torch_cell} | {ratio} | {100 * c['mfu']:.0f}% |")
    lines.append("")
    f32_run = engines["f32"]
    lines.append(f"GEMM ceilings measured in the same runs ({f32_run['threads']} threads, "
                 f"{f32_run['cpu_isa']}): f32 {f32_run['gemm_ceiling_gflops']:.0f} GFLOP/s"
                 + "".join(f", bf16 {e['bf16_gemm_ceiling_gflops']:.0f} GFLOP/s (with operand "
                           "conversion)" for e in engines.values() if "bf16_gemm_ceiling_gflops" in e)
                 + ".")
    return "\n".join(lines)


def attention_table(attention):
    lines = ["| case | L | kernel | softmax ms | relu ms | softmax / relu |",
             "|---|---|---|---|---|---|"]
    for case in attention["attention_core"]:
        for kernel, by_attn in case["ms"].items():
            soft = by_attn.get("softmax", {}).get("total")
            relu = by_attn.get("relu", {}).get("total")
            ratio = f"{soft / relu:.2f}x" if soft and relu else "-"
            lines.append(f"| {case['name']} | {case['tokens']} | {kernel} | {soft:.2f} | "
                         f"{relu:.2f} | {ratio} |")
    lines.append("")
    lines.append("Forward + backward of the attention core alone (no projections), per step of "
                 "the case's batch.")
    return "\n".join(lines)


def memory_table(memory):
    return "\n".join([
        "| S/8-224 (784 patches, batch 4), relu, one training step | peak RSS MiB |",
        "|---|---|",
        f"| attn_kernel=matmul (stores [B, H, L, L] scores and weights) | {memory['matmul']:.0f} |",
        f"| attn_kernel=fused (tiles, no L x L matrix) | {memory['fused']:.0f} |",
    ])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(ROOT / "build/sweep"), help="the sweep binary")
    ap.add_argument("--threads", type=int, default=2, help="threads for every run (default 2)")
    ap.add_argument("--skip-torch", action="store_true", help="no PyTorch comparison")
    ap.add_argument("--skip-memory", action="store_true", help="no S/8-224 memory runs")
    ap.add_argument("--json", default=str(ROOT / "results/perf.json"),
                    help="where the raw results go (default results/perf.json)")
    args = ap.parse_args(argv)
    args.sweep = str(Path(args.sweep).resolve())
    if not Path(args.sweep).exists():
        sys.exit(f"perf_table: {args.sweep}: no such binary (build with scripts/build.sh)")

    raw = {"engine": {"f32": engine_training(args.sweep, args.threads, "f32")}}
    try:
        raw["engine"]["bf16"] = engine_training(args.sweep, args.threads, "bf16")
    except RunFailed as e:  # no bf16 matmul on this CPU: the f32 rows still stand
        print(f"{e}: no bf16 rows", file=sys.stderr)
    if not args.skip_torch:
        if torch_available():
            raw["torch"] = torch_training(args.threads)
        else:
            print("perf_table: python3-torch is not installed (scripts/setup.sh --tests): "
                  "no PyTorch column", file=sys.stderr)
    raw["attention"] = run_json([args.sweep, "bench", "--attention", "--threads", str(args.threads)])
    if not args.skip_memory:
        raw["memory"] = peak_memory(args.sweep, args.threads)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(raw, indent=1) + "\n")

    print("### Training throughput\n")
    print(training_table(raw["engine"], raw.get("torch")))
    print("\n### Attention core\n")
    print(attention_table(raw["attention"]))
    if "memory" in raw:
        print("\n### Memory\n")
        print(memory_table(raw["memory"]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunFailed as e:
        sys.exit(str(e))
