#!/usr/bin/env bash
# How well a sweep fills the machine: the trials per second of a sweep of N identical-size trials
# with --jobs and --threads chosen automatically, against (one trial alone on one core) x cores.
# Prints one JSON object. Run on an otherwise idle machine; about 3 minutes on 2 cores.
#   scripts/sweep_efficiency.sh [MODEL] [TRIALS] [RUN OPTIONS...]   (default micro/7, 8 trials)
# RUN OPTIONS go to the sweep of many, e.g. `--jobs 1 --threads 2` to compare another split.
# Each trial: 1 epoch on 20,000 Fashion-MNIST images, test set evaluated once.
set -euo pipefail
export LC_ALL=C  # EPOCHREALTIME with a decimal point
[ -z "${SWEEP:-}" ] || SWEEP=$(realpath "$SWEEP")
cd "$(dirname "$0")/.."
model=${1:-micro/7}
trials=${2:-8}
extra=("${@:3}")
sweep=${SWEEP:-build/sweep}
[ -n "${SWEEP:-}" ] || [ -x build/sweep ] || bash scripts/build.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sweep_file() {  # NAME SEEDS
  cat > "$work/$1.json" <<EOF
{"name": "$1", "base": {"model": "$model", "epochs": 1, "train_subset": 20000, "warmup_steps": 20},
 "seeds": $2}
EOF
  echo "$work/$1.json"
}

seconds() {  # runs a sweep file into its own database, prints the wall seconds
  local start=$EPOCHREALTIME
  "$sweep" run "$1" --db "$work/$(basename "$1" .json).db" --yes --quiet "${@:2}" > "$work/log" 2>&1 ||
    { cat "$work/log" >&2; exit 1; }
  python3 -c "print($EPOCHREALTIME - $start)"
}

cores=$(nproc)
one=$(seconds "$(sweep_file single 1)" --jobs 1 --threads 1)
many=$(seconds "$(sweep_file many "$trials")" "${extra[@]}")
jobs_line=$(grep -o 'running [0-9]* at a time with [0-9]* threads\?' "$work/log" || true)
python3 - "$model" "$trials" "$cores" "$one" "$many" "$jobs_line" <<'EOF'
import json, sys
model, trials, cores, one, many, line = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
ideal = cores / one
achieved = trials / many
print(json.dumps({
    "model": model, "trials": trials, "cores": cores, "split": line,
    "one_trial_one_core_s": round(one, 2), "sweep_s": round(many, 2),
    "ideal_trials_per_s": round(ideal, 4), "achieved_trials_per_s": round(achieved, 4),
    "efficiency": round(achieved / ideal, 3)}, indent=1))
EOF
