#!/usr/bin/env bash
# A sweep plan on a real Slurm (issue 22): brings up a one-node cluster on localhost (munged,
# slurmctld, slurmd, all state in a temporary folder), submits a plan of 32 runs as an array job
# with the dependent merge (the scripts `awsim sweep ... --plan --emit slurm` writes), waits
# with a bounded timeout and checks that sweep.csv, sweep.json and the plots are byte-identical
# to the one-machine sweep's; then deletes some results, resubmits with --missing (only those
# runs) and checks again. Everything it started is stopped on exit (trap).
#
# Needs root (to install and to run the daemons). Installs Debian's slurm-wlm and munge with
# apt-get when they are missing. Exit codes: 0 passed; 1 failed; 77 skipped (printed why).
#
# Usage: tests/slurm/run.sh [AWSIM]   (default: target/release/awsim, built if missing)
#        tests/slurm/run.sh --install   (only install what it needs; .ci/run does this first)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SKIP=77
TIMEOUT=${AWSIM_SLURM_TIMEOUT:-300}

skip() { echo "tests/slurm/run.sh: SKIPPED: $*"; exit $SKIP; }
fail() { echo "tests/slurm/run.sh: FAILED: $*" >&2; exit 1; }
say() { echo "tests/slurm/run.sh: $*"; }

[ "$(id -u)" = 0 ] || skip "not root: installing Slurm and running its daemons needs root"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
  || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || skip "Slurm is not installed and there is no apt-get to install it"
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >/tmp/awsim-slurm-apt.log 2>&1; then
    tail -5 /tmp/awsim-slurm-apt.log
    skip "apt-get could not install slurm-wlm and munge (log: /tmp/awsim-slurm-apt.log)"
  fi
fi

if [ "${1:-}" = --install ]; then
  say "slurm-wlm and munge are installed"
  exit 0
fi

AWSIM=${1:-$ROOT/target/release/awsim}
if [ ! -x "$AWSIM" ]; then
  cargo build --release --quiet
fi
AWSIM=$(readlink -f "$AWSIM")

T=$(mktemp -d /tmp/awsim-slurm.XXXXXX)
PIDS=()
cleanup() {
  local code=$?
  for pidfile in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
    if [ -s "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pidfile in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
    if [ -s "$pidfile" ]; then
      kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  if [ "$code" != 0 ] && [ "$code" != "$SKIP" ]; then
    echo "--- slurmctld.log (last lines)"; tail -20 "$T/slurmctld.log" 2>/dev/null || true
    echo "--- slurmd.log (last lines)"; tail -20 "$T/slurmd.log" 2>/dev/null || true
    echo "--- logs of the jobs"; tail -n 5 "$T"/plan/logs/* 2>/dev/null | tail -40 || true
    echo "(kept $T)"
  else
    rm -rf "$T"
  fi
  exit "$code"
}
trap cleanup EXIT INT TERM

# Ports of this test's cluster: not Slurm's defaults, so a cluster already on the machine is left
# alone, and from the process id, so two runs of this test at once do not meet.
CTLD_PORT=${AWSIM_SLURMCTLD_PORT:-$((20000 + ($$ % 10000) * 2))}
SLURMD_PORT=${AWSIM_SLURMD_PORT:-$((CTLD_PORT + 1))}

mkdir -p "$T/state" "$T/spool" "$T/munge"
chmod 700 "$T/munge"
chmod 755 "$T"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1 count=1024 2>/dev/null
chmod 400 "$T/munge/munge.key"
munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.socket.2" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" \
  --seed-file="$T/munge/munged.seed" || fail "munged did not start"

cat >"$T/slurm.conf" <<CONF
ClusterName=awsimtest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket.2
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=awsim Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf

slurmctld -f "$SLURM_CONF" -i || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" -N localhost || fail "slurmd did not start"

deadline=$((SECONDS + 60))
until sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; do
  [ $SECONDS -lt $deadline ] || fail "the node did not come up within 60 s: $(sinfo 2>&1 | tail -2)"
  sleep 1
done
say "cluster up: $(sinfo -h -o '%P %D %T %c')"

SWEEP=(scenarios/examples/web_tier.toml --set web.instances=2..9 --set shoppers.arrival.rate=60/s,120/s
  -r 2 --duration 150s --goal 'p99<200ms')

"$AWSIM" sweep "${SWEEP[@]}" --out "$T/local" --quiet
"$AWSIM" sweep "${SWEEP[@]}" --plan "$T/plan" --emit slurm --jobs 2 --slurm-option time=00:10:00 \
  --quiet
grep -q -- '--array=0-31%2' "$T/plan/sweep.sbatch" || fail "sweep.sbatch is not an array of 32 runs: $(grep array "$T/plan/sweep.sbatch")"

# Submits the plan's scripts and waits (bounded) for the merge job to finish.
submit_and_wait() {
  rm -f "$T/plan/sweep.csv"
  local out merge
  out=$(sh "$T/plan/submit.sh")
  say "$out"
  merge=$(echo "$out" | sed -n 's/.*merge job \([0-9]*\).*/\1/p')
  [ -n "$merge" ] || fail "no merge job id in: $out"
  local deadline=$((SECONDS + TIMEOUT))
  while squeue -h -j "$merge" 2>/dev/null | grep -q .; do
    if [ $SECONDS -ge $deadline ]; then
      squeue || true
      fail "the merge job $merge did not finish within ${TIMEOUT} s"
    fi
    sleep 2
  done
  [ -f "$T/plan/sweep.csv" ] || fail "the merge job $merge ended without writing sweep.csv: $(cat "$T"/plan/logs/merge-*.out 2>/dev/null | tail -5)"
}

same_as_local() {
  local f
  for f in sweep.csv sweep.json sweep_shoppers.svg sweep_shoppers.png pareto.svg pareto.png; do
    cmp "$T/local/$f" "$T/plan/$f" || fail "$f merged from Slurm differs from the one-machine sweep's ($1)"
  done
  say "sweep.csv, sweep.json and the plots are byte-identical to the one-machine sweep's ($1)"
}

submit_and_wait
[ "$(ls "$T"/plan/results/*.json | wc -l)" = 32 ] || fail "not 32 results"
same_as_local "first submission"

# Runs lost (a node failed, results deleted): only they are submitted again.
rm -f "$T/plan/results/3.json" "$T/plan/results/17.json" "$T/plan/results/30.json"
"$AWSIM" sweep status "$T/plan" | grep -q 'missing: 3,17,30' || fail "status does not list the missing runs"
"$AWSIM" sweep "${SWEEP[@]}" --plan "$T/plan" --emit slurm --missing --quiet
grep -q -- '--array=3,17,30$' "$T/plan/sweep.sbatch" || fail "--missing did not submit only runs 3, 17, 30: $(grep array "$T/plan/sweep.sbatch")"
before=$(stat -c %Y "$T/plan/results/4.json")
submit_and_wait
[ "$(stat -c %Y "$T/plan/results/4.json")" = "$before" ] || fail "a run with a result was run again"
same_as_local "after resubmitting the missing runs"
say "passed"
