#!/usr/bin/python3
"""What the sweep coordinator sustains, by simulation on one machine; prints JSON.

    scripts/bench_cluster_sweep.py [--sweep build/sweep] [--runs 16:1:10000,64:4:2500,256:16:2500]
        [--work DIR]

No cluster is at hand, so each run is `mpirun --oversubscribe -np R sweep run` with every rank a
node of its own (VITSWEEP_RANKS_PER_NODE=1) running one trial at a time, and trials that only
wait (the config key simulate_s: no data, no model; the trial process is real, started and
watched as any other, and reports a start, one epoch and an end over the protocol, carried to
rank 0 over MPI). A run R:T:N is R ranks, N trials of T seconds: its theoretical minimum is
N * T / R seconds. The default runs keep the offered load at 16 trials/s while the node count
grows 16x; the first is Ray Tune's published benchmark shape (10,000 trials of 1 s on 16 slots:
715 s against a 625 s minimum, 14% overhead).

For each run: wall time, overhead against the minimum, and rank 0's own measurements (`sweep run
--stats`): trials/s, protocol events/s, database write transactions/s with their mean time and
the share of the run spent in them, and event latency (worker's send time to the database write)
percentiles. Progress goes to stderr. The machine's 2 cores start and watch every trial process
of every "node": on a real cluster that work is spread over the nodes, so these overheads are
upper bounds for the coordinator. Pause other work while it runs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MPIRUN_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
              "VITSWEEP_RANKS_PER_NODE": "1"}


def parse_runs(text):
    runs = []
    for item in text.split(","):
        try:
            ranks, seconds, trials = item.split(":")
            runs.append((int(ranks), float(seconds), int(trials)))
        except ValueError:
            sys.exit(f"bench_cluster_sweep: --runs item '{item}': expected RANKS:SECONDS:TRIALS, "
                     "e.g. 16:1:10000")
    return runs


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def one_run(sweep, work, ranks, seconds, trials):
    folder = Path(tempfile.mkdtemp(prefix=f"r{ranks}-", dir=work))
    # N trials differing only in the seed; one epoch each.
    spec = {"name": f"sim{ranks}", "base": {"dataset": "synthetic", "simulate_s": seconds,
                                            "epochs": 1},
            "seeds": trials}
    (folder / "sim.json").write_text(json.dumps(spec))
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks),
           sweep, "run", "sim.json", "--jobs", "1", "--threads", "1", "--quiet", "--yes",
           "--stats", "stats.json"]
    print(f"bench_cluster_sweep: {ranks} ranks, {trials} trials of {seconds} s "
          f"(minimum {trials * seconds / ranks:.0f} s)", file=sys.stderr, flush=True)
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=folder, env=dict(os.environ, **MPIRUN_ENV),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        print(f"bench_cluster_sweep: {ranks} ranks failed ({done.returncode}):\n{done.stderr}",
              file=sys.stderr, flush=True)
        return {"ranks": ranks, "trial_s": seconds, "trials": trials, "wall_s": wall,
                "failed": done.returncode, "stderr_tail": done.stderr[-2000:]}
    stats = json.loads((folder / "stats.json").read_text())
    minimum = trials * seconds / ranks
    return {"ranks": ranks, "trial_s": seconds, "trials": trials, "minimum_s": minimum,
            "wall_s": wall, "overhead_pct": 100 * (wall - minimum) / minimum,
            "scheduler_overhead_pct": 100 * (stats["seconds"] - minimum) / minimum,
            "coordinator": stats}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep", default=str(ROOT / "build" / "sweep"))
    parser.add_argument("--runs", default="16:1:10000,64:4:2500,256:16:2500",
                        help="comma-separated RANKS:TRIAL_SECONDS:TRIALS")
    parser.add_argument("--work", default=None, help="folder for the runs' databases (a temporary "
                        "one by default, removed afterwards)")
    args = parser.parse_args()
    runs = parse_runs(args.runs)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = {"load_before": uptime(),
                  "runs": [one_run(args.sweep, work, *run) for run in runs],
                  "load_after": uptime()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
