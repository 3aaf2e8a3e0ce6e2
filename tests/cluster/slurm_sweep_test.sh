#!/usr/bin/env bash
# A real Slurm run: brings up a private single-node Slurm (scripts/slurm/local_slurm.sh),
# sbatch-es scripts/slurm/sweep.sbatch on a tiny sweep with two MPI ranks as two nodes, waits for
# the job, and checks the database: every trial done once, on both ranks, the file intact.
# Exit 77 (CTest: skipped) when the daemons cannot start here, with the reason.
#   slurm_sweep_test.sh SOURCE_DIR SWEEP_PROGRAM
set -euo pipefail
source_dir=$1
program=$2
work=$(mktemp -d /tmp/vitsweep-slurm.XXXXXX)
cleanup() {
  "$source_dir/scripts/slurm/local_slurm.sh" stop "$work/slurm" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! "$source_dir/scripts/slurm/local_slurm.sh" start "$work/slurm" 2> "$work/start.err"; then
  echo "skipped: a local Slurm cannot start here: $(tail -n 1 "$work/start.err")"
  exit 77
fi
export SLURM_CONF=$work/slurm/slurm.conf

cat > "$work/sweep.json" <<'JSON'
{
  "name": "slurm",
  "base": {"dataset": "synthetic", "synthetic_size": 16, "synthetic_train": 1024,
           "synthetic_test": 128, "model": "nano/4", "epochs": 2, "batch_size": 32,
           "warmup_steps": 4},
  "grid": {"attn": ["softmax", "relu"]},
  "seeds": 2
}
JSON

cd "$work"
# Under AddressSanitizer, leak checking off for the ranks, as for every test under mpirun
# (tests/support/mpirun.hpp: Open MPI's unloaded components defeat LeakSanitizer).
asan=""
[ -n "${ASAN_OPTIONS:-}" ] && asan=",ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0"
# Two tasks on the one node, each its own "node" (VITSWEEP_RANKS_PER_NODE=1), so trials really
# travel over MPI from the coordinator to the other rank's processes.
if ! sbatch --wait --quiet --nodes=1 --ntasks-per-node=2 --time=10 \
    --output="$work/job.out" \
    --export="ALL,VITSWEEP=$program,VITSWEEP_RANKS_PER_NODE=1,OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1$asan" \
    "$source_dir/scripts/slurm/sweep.sbatch" sweep.json --db "$work/results/slurm.db" \
    --jobs 1 --threads 1 --quiet; then
  echo "FAIL: the Slurm job failed"; cat "$work/job.out"; exit 1
fi

fail() { echo "FAIL: $*"; cat "$work/job.out"; exit 1; }
db=$work/results/slurm.db
[ -f "$db" ] || fail "no database at $db"
[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check is not ok"
done=$(sqlite3 "$db" "SELECT count(*) FROM trials WHERE status = 'done' AND attempts = 1")
[ "$done" = 4 ] || fail "expected 4 trials done in one attempt each, found $done"
epochs=$(sqlite3 "$db" "SELECT count(*) FROM epochs")
[ "$epochs" = 8 ] || fail "expected 8 epochs recorded once each, found $epochs"
grep -q "across 2 node(s) of an MPI job (2 ranks)" "$work/job.out" || fail "the job did not run over 2 ranks"
grep -q "4/4 done" "$work/job.out" || fail "the job's summary does not say 4/4 done"
echo "ok: 4 trials done once each over 2 ranks under sbatch + srun --mpi=pmix"
