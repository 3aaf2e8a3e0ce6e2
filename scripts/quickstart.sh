#!/usr/bin/env bash
# The README's main command: installs what is needed (Debian 12, as root), builds, then runs
# the quickstart job into the default results database and prints its table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/sweep data info --dataset fashion-mnist
./build/sweep train --set attn=relu --set alpha=1 --set epochs=2 --set train_subset=12000 "$@"
