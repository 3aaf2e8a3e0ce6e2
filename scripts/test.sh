#!/usr/bin/env bash
# The README's test command: installs what the tests need (Debian 12, as root), builds with
# warnings as errors, and runs the whole suite with CTest. Exit status is CTest's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
bash scripts/build.sh -DVITSWEEP_WERROR=ON
ctest --test-dir build -j"$(nproc)" --output-on-failure --timeout 900
