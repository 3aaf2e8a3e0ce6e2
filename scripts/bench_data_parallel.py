#!/usr/bin/python3
"""Data-parallel training speed on this machine, in one command; prints JSON.

    scripts/bench_data_parallel.py [--sweep build/sweep] [--ranks 2] [--steps N] [--warmup N]
        [--skip-torch] [--torch-matmul torch,onednn]
    scripts/bench_data_parallel.py --paper      # the README's scaling table, from measured steps

Runs one after another (never side by side: they would share the cores), on fmnist-mini
(mini/4, batch 128) and ViT-S/16 at 224 px (batch 16), softmax attention, the same global batch:
  1. `sweep bench`, 1 rank x RANKS threads;
  2. `mpirun -np RANKS sweep bench`, RANKS ranks x 1 thread (data parallel: gradient buckets
     summed while backward goes on);
  3. the same with one bucket started when backward ends (--bucket-kib 0: no overlap);
  4. PyTorch DDP over gloo, RANKS processes x 1 thread, the same model
     (tests/reference/ddp_bench.py; through libblas and through oneDNN convolutions, keeping the
     faster per case).
Prints one JSON object on stdout: the load before and after (`uptime`), one row per case and
setup with img/s and the share of step time spent waiting on communication, and every run's
raw JSON. Progress goes to stderr. Absolute numbers move with the machine's load.

--paper instead measures one node's training step of ViT-S/16, B/16 and L/16 at 224 px (batch
16 per node, 1 rank x all cores) and prints the README's table: gradient bytes summed per step,
and the scaling efficiency a ring allreduce gives at 8, 64 and 256 nodes on 25, 100 and 200 Gb/s
links, without overlap and with it.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ("fmnist-mini", "S/16-224")
MPIRUN_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def run_json(cmd, env=None):
    print("bench_data_parallel: " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, **(env or {})),
                          stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"bench_data_parallel: `{' '.join(cmd)}` failed with exit code {done.returncode}")
    return json.loads(done.stdout)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def engine(args, ranks, threads, extra=()):
    cmd = [args.sweep, "bench", "--attn", "softmax", "--threads", str(threads),
           "--steps", str(args.steps), "--warmup", str(args.warmup), *extra]
    for case in CASES:
        cmd += ["--case", case]
    if ranks == 1:
        return run_json(cmd)
    # One core per rank: --bind-to core (Open MPI's default up to 2 ranks, said explicitly).
    return run_json(["mpirun", "-np", str(ranks), "--bind-to", "core", *cmd], MPIRUN_ENV)


def pytorch_ddp(args):
    script = str(ROOT / "tests/reference/ddp_bench.py")
    runs = {}
    for matmul in args.torch_matmul.split(","):
        cmd = ["/usr/bin/python3", script, "--ranks", str(args.ranks), "--threads", "1",
               "--matmul", matmul, "--steps", str(args.steps),
               "--warmup", str(min(1, args.warmup))]
        runs[matmul] = run_json(cmd, {"OPENBLAS_CORETYPE": "SkylakeX"})
    return runs


def rows(raw, ranks):
    out = []
    for setup, run in (("1 rank x %d threads" % ranks, raw["single"]),
                       ("%d ranks x 1 thread" % ranks, raw["ranks"]),
                       ("%d ranks x 1 thread, no overlap" % ranks, raw["ranks_no_overlap"])):
        for c in run["configs"]:
            comm = c.get("communication", {})
            out.append({"case": c["name"], "setup": "engine " + setup,
                        "img_per_s": round(c["img_per_s"], 2),
                        "ms_per_step": round(c["ms_per_step_median"], 1),
                        "wait_share": comm.get("wait_share"),
                        "call_share": comm.get("call_share"),
                        "buckets": comm.get("buckets_per_step"),
                        "gradient_mib": comm.get("gradient_mib_per_step")})
    best = {}
    for matmul, run in raw.get("pytorch_ddp", {}).items():
        for c in run["configs"]:
            if c["name"] not in best or c["img_per_s"] > best[c["name"]]["img_per_s"]:
                best[c["name"]] = dict(c, matmul=matmul)
    for name, c in best.items():
        out.append({"case": name, "setup": "PyTorch DDP gloo %d x 1 thread (%s)" % (ranks, c["matmul"]),
                    "img_per_s": c["img_per_s"], "ms_per_step": c["ms_per_step_median"],
                    "wait_share": c["communication_share"]})
    return out


# Ring allreduce of G bytes over R nodes: each node sends and receives 2 (R - 1) / R x G, in
# 2 (R - 1) steps per bucket, each paying the link latency.
LATENCY_S = 10e-6  # per message on Ethernet with TCP (RDMA: ~2 us)
BACKWARD_SHARE = 2 / 3  # backward is ~2x the forward's FLOPs: the time there is to hide in


def ring_allreduce_seconds(gradient_bytes, nodes, gbit_per_s, buckets):
    bandwidth = gbit_per_s * 1e9 / 8
    return (2 * (nodes - 1) / nodes * gradient_bytes / bandwidth
            + 2 * (nodes - 1) * buckets * LATENCY_S)


def paper(args):
    table = []
    for model in ("S/16", "B/16", "L/16"):
        run = run_json([args.sweep, "bench", "--case", "S/16-224", "--set", f"model={model}",
                        "--attn", "softmax", "--steps", "2", "--warmup", "1"])
        c = run["configs"][0]
        step_s = c["ms_per_step_median"] / 1e3
        gradient_bytes = 4 * c["params"]
        buckets = c["depth"] + 1  # a block per bucket, the head and embedding joining one
        for gbit in (25, 100, 200):
            row = {"model": model, "params": c["params"], "gradient_mb": gradient_bytes / 1e6,
                   "step_s_per_node": round(step_s, 3), "batch_per_node": c["batch"],
                   "gbit_per_s": gbit}
            for nodes in (8, 64, 256):
                comm = ring_allreduce_seconds(gradient_bytes, nodes, gbit, buckets)
                # With overlap only what does not fit into backward shows, and at least the
                # last bucket, which starts when backward ends.
                exposed = max(comm - BACKWARD_SHARE * step_s, comm / buckets)
                row[f"comm_ms_{nodes}"] = round(1e3 * comm, 1)
                row[f"efficiency_{nodes}"] = round(step_s / (step_s + comm), 3)
                row[f"efficiency_overlap_{nodes}"] = round(step_s / (step_s + exposed), 3)
            # The step time per node below which overlap stops hiding the exchange.
            row["overlap_hides_above_step_ms"] = round(
                1e3 * ring_allreduce_seconds(gradient_bytes, 256, gbit, buckets) / BACKWARD_SHARE, 1)
            table.append(row)
    return {"uptime": uptime(), "latency_s": LATENCY_S, "rows": table}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default="build/sweep", help="the sweep program (default build/sweep)")
    ap.add_argument("--ranks", type=int, default=2, help="ranks, and threads of the 1-rank run")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per case (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--skip-torch", action="store_true", help="leave out PyTorch DDP")
    ap.add_argument("--torch-matmul", default="torch,onednn",
                    help="PyTorch's matmul paths to try, keeping the faster (default torch,onednn)")
    ap.add_argument("--paper", action="store_true",
                    help="the README's scaling table from measured S/16, B/16, L/16 steps")
    args = ap.parse_args(argv)
    if args.paper:
        print(json.dumps(paper(args), indent=1))
        return 0
    result = {"uptime_before": uptime(), "cores": os.cpu_count()}
    raw = {"single": engine(args, 1, args.ranks),
           "ranks": engine(args, args.ranks, 1),
           "ranks_no_overlap": engine(args, args.ranks, 1, ["--bucket-kib", "0"])}
    if not args.skip_torch:
        raw["pytorch_ddp"] = pytorch_ddp(args)
    result["uptime_after"] = uptime()
    result["rows"] = rows(raw, args.ranks)
    result["raw"] = raw
    for r in result["rows"]:
        wait = "" if r["wait_share"] is None else "  waiting %.1f%%" % (100 * r["wait_share"])
        print("%-12s %-44s %8.1f img/s%s" % (r["case"], r["setup"], r["img_per_s"], wait),
              file=sys.stderr)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
