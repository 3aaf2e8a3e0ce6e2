#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian 12, as root), builds with
# warnings as errors, and runs the whole suite with CTest. Exit status is CTest's.
#   scripts/test.sh              Release build in build/
#   scripts/test.sh --sanitize   the same suite under AddressSanitizer + UBSan, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITSWEEP_WERROR=ON \
    -DVITSWEEP_SANITIZE=ON > build-asan.log 2>&1 || { cat build-asan.log; exit 1; }
  cmake --build build-asan -j"$(nproc)" >> build-asan.log 2>&1 || { tail -n 60 build-asan.log; exit 1; }
  rm -f build-asan.log
  # Leaks are checked in our code; the OpenMP and oneDNN runtimes keep process-lifetime caches.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --timeout 1800
else
  bash scripts/build.sh -DVITSWEEP_WERROR=ON
  ctest --test-dir build -j"$(nproc)" --output-on-failure --timeout 900
fi
