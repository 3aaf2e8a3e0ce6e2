#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs each on its
# seed corpus (tests/fuzz/corpus/<target>) for SECONDS (default 25). New interesting inputs go to
# a scratch corpus, not the committed one. A crash stops with the input's path: copy it into
# tests/fuzz/regressions/<target>/ so fuzz_regressions_test replays it from then on.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: sweep_file safetensors idx cifar
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-25}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sweep_file safetensors idx cifar)
source scripts/compiler_cache.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITSWEEP_FUZZ=ON \
  -DVITSWEEP_TESTS=ON "${cache_args[@]}" > build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >> build-fuzz.log 2>&1 \
  || { tail -n 60 build-fuzz.log; exit 1; }
rm -f build-fuzz.log
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
total=0
for target in "${targets[@]}"; do
  mkdir -p "$work/$target"
  log="$work/$target.log"
  # -rss_limit_mb: an input that makes a reader allocate without bound is a bug too.
  if ! (cd "$work" && "$OLDPWD/build-fuzz/fuzz/fuzz_$target" "$work/$target" \
        "$OLDPWD/tests/fuzz/corpus/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 > "$log" 2>&1); then
    tail -n 40 "$log"
    crash=$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -n 1 || true)
    mkdir -p tests/fuzz/found
    [ -n "$crash" ] && cp "$crash" tests/fuzz/found/ && echo "fuzz.sh: $target failed; input saved to tests/fuzz/found/$(basename "$crash")"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + runs))
  echo "fuzz.sh: $target: $runs executions in ${seconds}s, no crash"
done
echo "fuzz.sh: $total executions in all"
