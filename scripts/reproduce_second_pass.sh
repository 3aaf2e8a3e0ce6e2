#!/usr/bin/env bash
# Issue 14's second pass: continues its three sweeps in their committed database,
# results/repro/second_pass.db (finished trials are kept; the 196-token rung of the first takes
# about 17 core-hours, the rest about 8):
#   sweeps/repro/scaling_length.json  §4, "is L^-1 the right scaling?"
#   sweeps/repro/lr_control.json      §3, the learning rate tuned for softmax and relu/L
#   sweeps/repro/no_attention.json    §3, how much the task needs attention at all
# and regenerates from it the generated tables of results/README.md
# (scripts/second_pass_results.py) and, in results/repro/scaling_length/:
#   comparisons.md       every paired comparison the README states, each with its command
#   index.html, *.svg    the report: the scaling figure (test accuracy against L_eff^-alpha), ...
#   trials.csv           one row per trial
#   {val,test}_by_alpha-pN.csv  val and test accuracy per alpha, attn and length arm (mean, std, n)
#   scripts/reproduce_second_pass.sh [--no-run] [--db PATH] [--out DIR]
# --no-run only regenerates the files from the trials already done.
# SWEEP=/path/to/sweep runs another binary than build/sweep (e.g. a frozen copy while rebuilding).
set -euo pipefail
root=$(realpath "$(dirname "$0")/..")
db=results/repro/second_pass.db  # relative to the repository, as the committed files show it
out=results/repro/scaling_length
run=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-run) run=0; shift ;;
    --db|--out)
      [ $# -ge 2 ] || { echo "reproduce_second_pass.sh: $1 needs a value" >&2; exit 2; }
      if [ "$1" = --db ]; then db=$(realpath -m "$2"); else out=$(realpath -m "$2"); fi
      shift 2 ;;
    *) echo "reproduce_second_pass.sh: unknown argument '$1' (expected --no-run, --db PATH or --out DIR)" >&2
       exit 2 ;;
  esac
done
sweep=$(realpath -m "${SWEEP:-$root/build/sweep}")
cd "$root"
[ -n "${SWEEP:-}" ] || [ -x build/sweep ] || bash scripts/build.sh
[ -f "$db" ] || [ "$run" = 1 ] || { echo "reproduce_second_pass.sh: $db: no such database" >&2; exit 1; }
if [ "$run" = 1 ]; then
  for file in sweeps/repro/scaling_length.json sweeps/repro/lr_control.json \
              sweeps/repro/no_attention.json; do
    "$sweep" run "$file" --db "$db" --yes --quiet
  done
fi
mkdir -p "$out"
"$sweep" report --db "$db" --sweep scaling_length -o "$out"
"$sweep" export --db "$db" --sweep scaling_length --only-changed --precision 6 -o "$out/trials.csv"

# Accuracy per alpha, attn and length arm at each length with finished trials (patch 7, 4, 2
# are 16, 49, 196 tokens).
for p in $(sqlite3 -readonly "$db" "SELECT DISTINCT patch FROM results
                                    WHERE sweep = 'scaling_length' AND status = 'done'"); do
  for metric in val test; do
    "$sweep" export --db "$db" --sweep scaling_length --form pivot --where "patch = $p" \
      --rows alpha --cols attn,scale_length --value ${metric}_acc --precision 4 \
      -o "$out/${metric}_by_alpha-p$p.csv"
  done
done
# The paired comparisons (comparisons.md) and the tables of results/README.md.
SWEEP="$sweep" python3 scripts/second_pass_results.py --db "$db" --out "$out"
echo "reproduce_second_pass.sh: figures, tables and comparisons in $out/"
