#!/usr/bin/env bash
# Renders a `sweep report` page with headless Chromium into a PNG, to look at what a reader sees.
#   scripts/screenshot.sh results/paper/index.html [out.png] [WIDTHxHEIGHT]
set -euo pipefail
page=$(realpath "$1")
out=$(realpath -m "${2:-${page%.html}.png}")
size=${3:-1400x2400}
bash "$(dirname "$0")/setup.sh" --browser > /dev/null
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# Without the background-networking flags Chromium keeps dialling hosts this machine cannot reach.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size="${size/x/,}" --screenshot="$out" "file://$page" \
  2> /dev/null
echo "screenshot.sh: $out"
