#!/usr/bin/env bash
# Issue 14's second pass of the paper's ablations: continues its sweeps in their committed
# database, results/repro/second_pass.db (finished trials are kept, so only what is missing runs),
# in this order:
#   sweeps/repro/scaling_length.json  Fig. 2 and §4, "is L^-1 the right scaling?"
#   sweeps/repro/confirm_196.json     §4's answer at 196 tokens on 5 seeds (alpha 1 against 1.5)
#   sweeps/repro/lr_control.json      §3, the learning rate tuned for softmax, relu/L and none
#   sweeps/repro/no_attention.json    §3, how much the task needs attention at all
#   sweeps/repro/gate.json            Fig. 4, a gate instead of length scaling
#   sweeps/repro/qk_norm.json         Fig. 3, qk-layernorm on and off
#   sweeps/repro/model_size.json      Fig. 1, relu/L against softmax as the model grows
#   sweeps/repro/five_seeds.json      §3, 5 seeds for the claims that rest on a small difference
# and regenerates from it everything committed under results/paper/ (one folder per sweep in the
# database: index.html, the SVG figures and their tables (figN.csv, scaling.csv, best.csv) of
# `sweep report` (not for the paired checks confirm_196 and five_seeds), trials.csv with one
# row per trial; for scaling_length also {val,test}_by_alpha-pN.csv, accuracy per alpha, attn
# and length arm at each length) and, with scripts/second_pass_results.py, the generated tables
# of results/README.md and results/paper/comparisons.md (every paired comparison the README
# states, with its command).
#   scripts/reproduce_second_pass.sh [--no-run] [--db PATH] [--out DIR]
# --no-run only regenerates the files from the trials already done. With another database than
# the committed one, results/README.md is left alone: its tables from that database go to a copy
# of it, DIR/README.md.
# SWEEP=/path/to/sweep runs another binary than build/sweep (e.g. a frozen copy while rebuilding).
set -euo pipefail
root=$(realpath "$(dirname "$0")/..")
committed_db=results/repro/second_pass.db  # relative to the repository, as the committed files show it
db=$committed_db
out=results/paper
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
sweeps=(scaling_length confirm_196 lr_control no_attention gate qk_norm model_size five_seeds)
if [ "$run" = 1 ]; then
  for name in "${sweeps[@]}"; do
    "$sweep" run "sweeps/repro/$name.json" --db "$db" --yes --quiet
  done
fi

for name in "${sweeps[@]}"; do
  if [ -z "$(sqlite3 -readonly "$db" "SELECT 1 FROM sweeps WHERE name = '$name'")" ]; then
    echo "reproduce_second_pass.sh: sweep $name has not run yet: no $out/$name/" >&2
    continue
  fi
  dir=$out/$name
  rm -rf "$dir"  # nothing left over from an earlier run
  mkdir -p "$dir"
  # confirm_196 and five_seeds are paired checks (two alphas at one length; hand-picked pairs of
  # other sweeps' settings): their result is a table of results/README.md, and a report would
  # draw figures no one designed them for.
  case "$name" in
    confirm_196|five_seeds) ;;
    *) "$sweep" report --db "$db" --sweep "$name" -o "$dir" ;;
  esac
  "$sweep" export --db "$db" --sweep "$name" --only-changed --precision 6 -o "$dir/trials.csv"
done

# Accuracy per alpha, attn and length arm at each length with finished trials (patch 7, 4, 2
# are 16, 49, 196 tokens).
for p in $(sqlite3 -readonly "$db" "SELECT DISTINCT patch FROM results
                                    WHERE sweep = 'scaling_length' AND status = 'done'"); do
  for metric in val test; do
    "$sweep" export --db "$db" --sweep scaling_length --form pivot --where "patch = $p" \
      --rows alpha --cols attn,scale_length --value ${metric}_acc --precision 4 \
      -o "$out/scaling_length/${metric}_by_alpha-p$p.csv"
  done
done
# The paired comparisons (comparisons.md) and the tables of results/README.md.
readme=results/README.md
if [ "$(realpath -m "$db")" != "$root/$committed_db" ]; then
  cp results/README.md "$out/README.md"
  readme=$out/README.md
fi
SWEEP="$sweep" python3 scripts/second_pass_results.py --db "$db" --out "$out" --readme "$readme"
echo "reproduce_second_pass.sh: figures, tables and comparisons in $out/"
