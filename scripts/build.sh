#!/usr/bin/env bash
# Configures and builds into build/ (Release). Extra arguments go to CMake's configure step,
# e.g. scripts/build.sh -DVITSWEEP_WERROR=ON. The program ends up at build/sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/compiler_cache.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${cache_args[@]}" "$@" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -n 60 build.log; exit 1; }
rm -f build.log
echo "build.sh: built build/sweep"
