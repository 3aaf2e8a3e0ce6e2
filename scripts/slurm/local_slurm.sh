#!/usr/bin/env bash
# Brings up, or takes down, a real single-node Slurm on this machine: for the cluster tests and to
# try scripts/slurm/sweep.sbatch before a real cluster. MUNGE (started only if not already
# running), slurmctld and slurmd with a slurm.conf naming this host; the configuration, state and
# logs live in DIR, nothing under /etc/slurm is touched. Needs root and Debian's slurm-wlm and
# munge (scripts/setup.sh --tests). Comes up in about 10 seconds.
#   scripts/slurm/local_slurm.sh start DIR   then: export SLURM_CONF=DIR/slurm.conf
#   scripts/slurm/local_slurm.sh stop DIR
# Exit status: 0, 2 on usage errors, 3 when the daemons cannot start here (the reason on stderr).
set -euo pipefail

usage() { sed -n '2,9p' "$0"; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(realpath -m "$2")
cannot() { echo "local_slurm.sh: $*" >&2; exit 3; }

pid_of() { [ -s "$1" ] && cat "$1" || true; }

stop_daemons() {
  for name in slurmd slurmctld; do
    local pid
    pid=$(pid_of "$dir/$name.pid")
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  if [ -f "$dir/munged.ours" ]; then
    kill "$(cat "$dir/munged.ours")" 2>/dev/null || true
    rm -f "$dir/munged.ours"
  fi
  for _ in $(seq 50); do
    pgrep -f "slurm(ctld|d) -f $dir/slurm.conf" > /dev/null || return 0
    sleep 0.2
  done
  pkill -9 -f "slurm(ctld|d) -f $dir/slurm.conf" || true
}

start_munge() {
  if munge -n 2>/dev/null | unmunge > /dev/null 2>&1; then return 0; fi  # already running
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- munged || cannot "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do
    if munge -n 2>/dev/null | unmunge > /dev/null 2>&1; then
      cat /run/munge/munged.pid > "$dir/munged.ours" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
  cannot "munged runs but does not answer"
}

write_conf() {
  local host cpus memory
  host=$(hostname -s)
  cpus=$(nproc --all)
  memory=$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  cat > "$dir/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
}

start() {
  [ "$(id -u)" -eq 0 ] || cannot "needs root (slurmd runs jobs as any user)"
  for program in slurmctld slurmd munged sbatch; do
    command -v "$program" > /dev/null || cannot "$program not found: install slurm-wlm and munge (scripts/setup.sh --tests)"
  done
  if pgrep -x slurmctld > /dev/null; then
    cannot "a slurmctld already runs on this machine (pid $(pgrep -x slurmctld | head -1)): this script brings up a private one and will not start a second"
  fi
  mkdir -p "$dir"
  start_munge
  write_conf
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF" || cannot "slurmctld did not start (see $dir/log/slurmctld.log)"
  slurmd -f "$SLURM_CONF" || { stop_daemons; cannot "slurmd did not start (see $dir/log/slurmd.log)"; }
  for _ in $(seq 150); do
    if [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; then
      echo "local_slurm.sh: node $(hostname -s) idle; export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.2
  done
  local state
  state=$(sinfo -h -o %t 2>&1 || true)
  stop_daemons
  cannot "the node did not become idle within 30 s (state: ${state:-none}; logs in $dir/log)"
}

case "$action" in
  start) start ;;
  stop) stop_daemons ;;
  *) usage ;;
esac
