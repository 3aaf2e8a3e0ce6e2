#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian 12, as root), builds with
# warnings as errors, and runs the whole suite with CTest. Exit status is CTest's.
#   scripts/test.sh              Release build in build/
#   scripts/test.sh --sanitize   the same suite under AddressSanitizer + UBSan, in build-asan/
#   scripts/test.sh --tsan       the engine and runner tests under ThreadSanitizer, every test
#                                on two TBB threads, in build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
source scripts/compiler_cache.sh

# Configures build folder $1 with the CMake options that follow and builds `targets` (default:
# everything); the log goes to $1.log, shown on failure.
targets=()
build_into() {
  local dir=$1
  shift
  local build=(cmake --build "$dir" -j"$(nproc)")
  if [ "${#targets[@]}" -gt 0 ]; then build+=(--target "${targets[@]}"); fi
  cmake -S . -B "$dir" -DVITSWEEP_WERROR=ON "${cache_args[@]}" "$@" > "$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
  "${build[@]}" >> "$dir.log" 2>&1 || { tail -n 60 "$dir.log"; exit 1; }
  rm -f "$dir.log"
}

case "${1:-}" in
  --sanitize)
    # Line tables (-g1) are all the sanitizers' reports need; full -g made this the longest build.
    build_into build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITSWEEP_SANITIZE=ON \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
    # Leaks are checked in our code; the OpenMP and oneDNN runtimes keep process-lifetime caches.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
    export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --timeout 1800
    ;;
  --tsan)
    # The engine (TBB kernels, the data pipeline it loads through, data parallelism) and the runner.
    targets=(engine_activations_test engine_gradients_test engine_fused_attention_test
             engine_twin_fixtures_test engine_properties_test engine_checkpoint_interop_test
             engine_trainer_test engine_initialization_test engine_data_parallel_test
             runner_scheduler_test runner_protocol_test)
    # Line tables (-g1) are all TSan's reports need, and compile a quarter faster than -g.
    build_into build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITSWEEP_TSAN=ON \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
    # Debian's libtbb, libgomp and libdnnl are not instrumented: their own accesses are ignored,
    # and what TBB's inlined header code does on both sides of a task hand-off is suppressed
    # (tests/sanitizer/tsan.supp). Every test starts on two TBB threads (OpenMP on one: oneDNN's
    # threads are invisible to TSan anyway) so each loop really runs in parallel. Left out: the
    # live PyTorch twin, and two long trainings (oneDNN's implementations at mini/4 and S/16, bf16
    # learning) whose loops the other tests run too.
    export TSAN_OPTIONS="suppressions=$PWD/tests/sanitizer/tsan.supp:ignore_noninstrumented_modules=1:history_size=7:second_deadlock_stack=1"
    export VITSWEEP_TEST_THREADS=2,1
    ctest --test-dir build-tsan -j"$(nproc)" -L 'engine|runner' --output-on-failure --timeout 1800 \
      -E 'engine_twin_live|Engine[.]NoGemmRunsOnAReferenceImplementation|Engine[.]Bf16TrainingLearnsLikeF32'
    ;;
  "")
    bash scripts/build.sh -DVITSWEEP_WERROR=ON
    ctest --test-dir build -j"$(nproc)" --output-on-failure --timeout 900
    ;;
  *)
    echo "test.sh: unknown argument '$1' (expected --sanitize or --tsan)" >&2
    exit 2
    ;;
esac
