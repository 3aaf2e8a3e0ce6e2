#!/usr/bin/env bash
# The README's main command: installs what is needed (Debian 12, as root), builds, then runs the
# quickstart sweep (softmax against ReLU attention on Fashion-MNIST) into the default results
# database, results/sweep.db, and prints its table. Extra arguments go to `sweep run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/sweep run sweeps/quickstart.json "$@"
