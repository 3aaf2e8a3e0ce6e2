#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running this project needs.
# Idempotent: safe to run again. Must run as root (or via sudo) on Debian 12.
#   scripts/setup.sh           build + run + real data set
#   scripts/setup.sh --tests   also the test-only packages (PyTorch twin, clang for fuzzing)
#   scripts/setup.sh --browser also chromium, to look at reports (scripts/screenshot.sh)
set -euo pipefail

want_tests=0
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=1 ;;
    --browser) want_browser=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --tests, --browser or --help)" >&2; exit 2 ;;
  esac
done

packages=(
  # toolchain
  cmake g++ make git pkg-config ca-certificates
  # compiler cache: rebuilds and CI's fresh clones reuse unchanged objects (compiler_cache.sh)
  ccache
  # libraries the engine, store and CLI link (Debian's dnnl CMake config also wants OpenCL)
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers libtbb-dev nlohmann-json3-dev libcli11-dev libfmt-dev libsqlite3-dev zlib1g-dev
  # tests
  libgtest-dev
  # the real data set (60k + 10k images under /usr/share/datasets/fashion-mnist)
  dataset-fashion-mnist
  # the sqlite3 shell, handy to look at results/sweep.db by hand
  sqlite3
  # python3 (standard library only) writes the tables of results/README.md
  # (scripts/scaling_results.py) and runs the benchmark drivers in scripts/
  python3
  # MPI: sweeps across machines (mpirun / srun) and data-parallel trials
  openmpi-bin libopenmpi-dev
)
if [ "$want_tests" = 1 ]; then
  packages+=(
    # the independent PyTorch twin used by tests/reference (system python3)
    python3-torch python3-numpy
    # OpenBLAS, so the twin's matmuls are not netlib's reference BLAS (libblas.so.3 alternative)
    libopenblas0-pthread
    # libFuzzer targets and sanitizer runtimes; the format check (scripts/check_format.sh)
    clang libclang-rt-14-dev clang-format
    # a real single-node Slurm for the cluster tests (scripts/slurm/local_slurm.sh)
    slurm-wlm munge
  )
fi
if [ "$want_browser" = 1 ]; then
  # headless browser to render `sweep report`'s index.html (scripts/screenshot.sh)
  packages+=(chromium)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "setup.sh: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup.sh: done"
