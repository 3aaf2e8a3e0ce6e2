#!/usr/bin/env bash
# Regenerates the twin fixtures with PyTorch into a temporary folder and runs the C++ comparison
# (engine_twin_fixtures_test) on them. Exits 77, which CTest reports as skipped, when Debian's
# python3 cannot import torch (`scripts/setup.sh --tests` installs python3-torch).
set -euo pipefail
test_binary=$1
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
  echo "skipped: /usr/bin/python3 cannot import torch (install python3-torch)"
  exit 77
fi
fixtures=$(mktemp -d)
trap 'rm -rf "$fixtures"' EXIT
/usr/bin/python3 "$here/make_fixtures.py" --out "$fixtures"
VITSWEEP_TWIN_FIXTURES="$fixtures" "$test_binary" --gtest_brief=1
