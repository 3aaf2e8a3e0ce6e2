#!/usr/bin/env bash
# The first pass of the paper's four ablations (superseded by scripts/reproduce_second_pass.sh,
# whose results are in results/paper/): runs their reduced forms (sweeps/reduced/, 3-5 epochs,
# 2 seeds) on Fashion-MNIST into results/first_pass.db and writes to results/first_pass/ the
# figure tables (figN.csv; committed), the wide table of every trial (figN-trials.csv; committed)
# and the SVG figures with an index.html per figure (figN/). About 75 minutes on 2 cores.
# Finished trials are kept, so running it again only redoes the exports.
#   scripts/reproduce_first_pass.sh [--db PATH] [--out DIR]
# SWEEP=/path/to/sweep runs another binary than build/sweep (e.g. a frozen copy while rebuilding).
set -euo pipefail
root=$(realpath "$(dirname "$0")/..")
db=results/first_pass.db  # defaults relative to the repository (as the committed pages show them)
out=results/first_pass
while [ $# -gt 0 ]; do
  case "$1" in
    --db|--out)
      [ $# -ge 2 ] || { echo "reproduce_first_pass.sh: $1 needs a value" >&2; exit 2; }
      # Relative to where the script was called from.
      if [ "$1" = --db ]; then db=$(realpath -m "$2"); else out=$(realpath -m "$2"); fi
      shift 2 ;;
    *) echo "reproduce_first_pass.sh: unknown argument '$1' (expected --db PATH or --out DIR)" >&2; exit 2 ;;
  esac
done
sweep=$(realpath -m "${SWEEP:-$root/build/sweep}")
cd "$root"
[ -n "${SWEEP:-}" ] || [ -x build/sweep ] || bash scripts/build.sh
mkdir -p "$out"
for figure in 1 2 3 4; do
  files=(sweeps/reduced/fig${figure}_*.json)
  [ ${#files[@]} -eq 1 ] && [ -f "${files[0]}" ] ||
    { echo "reproduce_first_pass.sh: expected one sweeps/reduced/fig${figure}_*.json" >&2; exit 1; }
  file=${files[0]}
  name=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["name"])' "$file")
  "$sweep" run "$file" --db "$db" --yes --quiet
  "$sweep" export --db "$db" --sweep "$name" --table fig$figure -o "$out/fig$figure.csv"
  "$sweep" export --db "$db" --sweep "$name" --form wide --only-changed -o "$out/fig$figure-trials.csv"
  "$sweep" report --db "$db" --sweep "$name" -o "$out/fig$figure"
done
echo "reproduce_first_pass.sh: tables and figures in $out/"
