#!/usr/bin/env bash
# Checks that every C++ file follows .clang-format (clang-format 14, from Debian's clang-format
# package, which scripts/setup.sh --tests installs with clang). Lists the files that do not and
# exits 1; `scripts/check_format.sh --fix` reformats them in place.
set -euo pipefail
cd "$(dirname "$0")/.."
format=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$format" ] || { echo "check_format.sh: clang-format not found: run scripts/setup.sh --tests" >&2; exit 2; }
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.hpp.in')
if [ "${1:-}" = --fix ]; then
  "$format" -i "${files[@]}"
  exit 0
fi
unformatted=()
for f in "${files[@]}"; do
  "$format" --dry-run -Werror "$f" > /dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "check_format.sh: ${#unformatted[@]} file(s) differ from .clang-format (fix: scripts/check_format.sh --fix):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "check_format.sh: ${#files[@]} files formatted"
