#!/usr/bin/env bash
# Issue 14 §4, "is L^-1 the right scaling?": continues sweeps/repro/scaling_length.json in its
# committed database (finished trials are kept; about 2 core-hours for the 16- and 49-token rungs,
# far more for 196 tokens) and regenerates what results/README.md quotes from it, in
# results/repro/scaling_length/:
#   comparisons.md       every paired comparison the README states, each with its command
#   index.html, *.svg    the report: the scaling figure (test accuracy against L_eff^-alpha), ...
#   trials.csv           one row per trial
#   by_alpha-pN.csv      val and test accuracy per alpha, attn and length arm (mean, std, n)
#   scripts/reproduce_scaling.sh [--no-run] [--db PATH] [--out DIR]
# --no-run only regenerates the files from the trials already done.
# SWEEP=/path/to/sweep runs another binary than build/sweep (e.g. a frozen copy while rebuilding).
set -euo pipefail
root=$(realpath "$(dirname "$0")/..")
db=results/repro/scaling_length.db  # relative to the repository, as the committed files show it
out=results/repro/scaling_length
run=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-run) run=0; shift ;;
    --db|--out)
      [ $# -ge 2 ] || { echo "reproduce_scaling.sh: $1 needs a value" >&2; exit 2; }
      if [ "$1" = --db ]; then db=$(realpath -m "$2"); else out=$(realpath -m "$2"); fi
      shift 2 ;;
    *) echo "reproduce_scaling.sh: unknown argument '$1' (expected --no-run, --db PATH or --out DIR)" >&2
       exit 2 ;;
  esac
done
sweep=$(realpath -m "${SWEEP:-$root/build/sweep}")
cd "$root"
[ -n "${SWEEP:-}" ] || [ -x build/sweep ] || bash scripts/build.sh
[ -f "$db" ] || [ "$run" = 1 ] || { echo "reproduce_scaling.sh: $db: no such database" >&2; exit 1; }
[ "$run" = 0 ] || "$sweep" run sweeps/repro/scaling_length.json --db "$db" --yes --quiet
mkdir -p "$out"
"$sweep" report --db "$db" -o "$out"
"$sweep" export --db "$db" --only-changed --precision 6 -o "$out/trials.csv"

# The lengths with finished trials: patch 7, 4, 2 are 16, 49, 196 tokens.
patches=$(sqlite3 -readonly "$db" "SELECT DISTINCT patch FROM results WHERE status = 'done'
                                   ORDER BY patch DESC")
md="$out/comparisons.md"
{
  echo "# Paired comparisons of sweeps/repro/scaling_length.json"
  echo
  echo "Written by scripts/reproduce_scaling.sh from $db. Test accuracy, pairs matched on seed and"
  echo "every other setting, 95% t-intervals; \`--tune alpha\` sets alpha on each side to the value"
  echo "with the best mean validation accuracy. scale_length is empty for the real number of keys."
} > "$md"
# compare TITLE ARGS...: one section of comparisons.md, with the command that printed it.
compare() {
  local title=$1
  shift
  local shown="" arg
  for arg in "$@"; do
    if [[ "$arg" == *" "* ]]; then shown+=" \"$arg\""; else shown+=" $arg"; fi
  done
  { echo; echo "## $title"; echo; echo "    sweep compare --db $db$shown"; echo; } >> "$md"
  "$sweep" compare --db "$db" "$@" --format markdown >> "$md" 2>&1 || echo "(no pairs yet)" >> "$md"
}
for p in $patches; do
  tokens=$(( (28 / p) * (28 / p) ))
  real="patch = $p AND scale_length IS NULL"
  "$sweep" export --db "$db" --form pivot --where "patch = $p" --rows alpha \
    --cols attn,scale_length --value val_acc --precision 4 -o "$out/val_by_alpha-p$p.csv"
  "$sweep" export --db "$db" --form pivot --where "patch = $p" --rows alpha \
    --cols attn,scale_length --value test_acc --precision 4 -o "$out/test_by_alpha-p$p.csv"
  for h in relu gelu; do
    compare "$tokens tokens: $h at its picked alpha against softmax (real length)" \
      --key attn --a softmax --b $h --tune alpha --where "$real"
    for b in 0 0.5 1.25 1.5 1.75 2; do
      compare "$tokens tokens: $h, alpha $b against alpha 1 (real length)" \
        --key alpha --a 1 --b $b --where "$real AND attn = '$h'"
    done
    # Against alpha 1.25, the pick at 16 tokens: does the alpha carry over (real length), does
    # the constant 16^-1.25 = 1/32 (fixed length)?
    for b in 1.5 2; do
      compare "$tokens tokens: $h, alpha $b against alpha 1.25 (real length)" \
        --key alpha --a 1.25 --b $b --where "$real AND attn = '$h'"
      [ "$p" = 7 ] || compare "$tokens tokens: $h, alpha $b against alpha 1.25 (fixed length 16)" \
        --key alpha --a 1.25 --b $b --where "patch = $p AND scale_length = 16 AND attn = '$h'"
    done
  done
  if [ "$p" != 7 ]; then  # at 16 tokens the fixed length is the real one
    compare "$tokens tokens: real length against fixed 16, each at its picked alpha" \
      --key scale_length --a 16 --b 0 --tune alpha --where "patch = $p"
    compare "$tokens tokens: real length against fixed 16 at equal alpha" \
      --key scale_length --a 16 --b 0 --where "patch = $p"
    for h in relu gelu; do
      compare "$tokens tokens: $h with the fixed length at its picked alpha against softmax" \
        --key attn --a softmax --b $h --tune alpha \
        --where "patch = $p AND (scale_length = 16 OR attn = 'softmax')"
    done
  fi
done
echo "reproduce_scaling.sh: figures, tables and comparisons in $out/"
