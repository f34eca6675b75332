#!/usr/bin/env bash
# The Slurm recipe (tools/slurm-reproduce.sh) on a real one-node Slurm: installs slurm-wlm and
# munge with apt where they are missing (needs root, as CI has), starts munged, slurmctld and
# slurmd with their own configuration in a temporary folder, and then does what a cluster
# user does after a node hangs:
#
#   1. submits a 4-task array of a small study (the tiny configuration, seed 0) and the merge
#      with afterok on it;
#   2. one task hangs (shard 2's first run sleeps instead of working, through a wrapper in
#      front of the binary) and is cancelled while running;
#   3. checks that the merge is then stuck (DependencyNeverSatisfied), cancels it;
#   4. resubmits only index 2 (which Slurm tells SLURM_ARRAY_TASK_COUNT=1: the shard count
#      must come from the study's manifest) and the merge after it;
#   5. compares the merged results.json with an unsharded run's, every field but the
#      training times.
#
# It stops the daemons it started by their process ids, and fails loudly (exit 1 with the
# step and the daemons' logs) rather than skipping anything.
#
#   tools/slurm-check.sh            # about a minute after the release build
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
fail() {
    echo "slurm-check: FAILED: $*" >&2
    for f in "$work"/log/*.log; do
        echo "--- $f" >&2
        tail -n 20 "$f" >&2 || true
    done
    exit 1
}
step() { echo "slurm-check: $*"; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    step "installing slurm-wlm and munge"
    [ "$(id -u)" = 0 ] || { echo "slurm-check: FAILED: slurm-wlm and munge are missing and this is not root" >&2; exit 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
cargo build --release -q -p iontransport-cli
bin=$root/target/release/iontransport

work=$(mktemp -d /tmp/slurm-check.XXXXXX)
mkdir -p "$work"/{state,spool,log,munge,bin}
cleanup() {
    for pid in "$work/slurmd.pid" "$work/slurmctld.pid" "$work/munge/munged.pid"; do
        [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
    done
    sleep 1
    rm -rf "$work"
}
trap cleanup EXIT

node=$(hostname -s)
port=$((20000 + RANDOM % 20000))
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$work/munge/munge.key"
cat >"$work/slurm.conf" <<CONF
ClusterName=iontransport-check
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CryptoType=crypto/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
NodeName=$node CPUs=$(nproc) State=UNKNOWN
PartitionName=check Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
step "starting munged, slurmctld, slurmd ($work)"
munged --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" \
    --seed-file="$work/munge/seed" --force || fail "munged did not start"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"

# Waits up to $1 seconds for the command in $2.. to succeed.
wait_for() {
    local limit=$1
    shift
    for _ in $(seq 1 $((limit * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}
idle() { sinfo -h -o %t | grep -qx idle; }
wait_for 60 idle || fail "the node did not come up idle"

step "the unsharded study"
"$bin" reproduce --tiny --seeds 0 --out "$work/whole" >"$work/log/whole.log" 2>&1 ||
    fail "the unsharded run failed"

# Shard 2's first run hangs, as on a node that stopped answering.
cat >"$work/bin/iontransport" <<WRAP
#!/usr/bin/env bash
if [ "\${SLURM_ARRAY_TASK_ID:-}" = 2 ] && [ ! -e "$work/stalled" ]; then
    touch "$work/stalled"
    exec sleep 600
fi
exec "$bin" "\$@"
WRAP
chmod +x "$work/bin/iontransport"
export CONFIG=tiny SEEDS=0 OUT=$work/study IONTRANSPORT=$work/bin/iontransport
submit() { sbatch --parsable --cpus-per-task=1 --time=00:10:00 -o "$work/log/task-%A_%a.log" "$@"; }
merge_job() {
    sbatch --parsable -o "$work/log/merge-%j.log" --dependency="afterok:$1" \
        --wrap "$bin reproduce merge --out $work/study"
}

step "submitting 4 shards and the merge"
array=$(submit --array=0-3 tools/slurm-reproduce.sh) || fail "sbatch of the array"
merge=$(merge_job "$array") || fail "sbatch of the merge"
others_done() { [ -z "$(squeue -h -j "$array" -o %i | grep -v "_2$")" ]; }
stalled() { [ -e "$work/stalled" ] && [ "$(squeue -h -j "${array}_2" -o %T)" = RUNNING ]; }
wait_for 120 others_done || fail "shards 0, 1 and 3 did not finish"
wait_for 60 stalled || fail "shard 2 is not running"
step "cancelling the hung shard 2"
scancel "${array}_2"
stuck() { squeue -h -j "$merge" -o %r | grep -q DependencyNeverSatisfied; }
wait_for 60 stuck || fail "the merge is not stuck on its failed dependency ($(squeue -h -j "$merge" -o %r))"
scancel "$merge"
[ ! -e "$work/study/results.json" ] || fail "a merge ran without shard 2"

step "resubmitting index 2 alone, and the merge"
again=$(submit --array=2 tools/slurm-reproduce.sh) || fail "sbatch of index 2"
merge=$(merge_job "$again") || fail "sbatch of the second merge"
empty() { [ -z "$(squeue -h -o %i)" ]; }
wait_for 300 empty || fail "jobs still queued after 5 minutes: $(squeue -h)"
grep -q "shard 2/4" "$work"/log/task-"${again}"_2.log ||
    fail "the resubmitted index did not run shard 2/4: $(cat "$work"/log/task-"${again}"_2.log)"
[ -f "$work/study/results.json" ] || fail "no merged results.json: $(cat "$work"/log/merge-"$merge".log)"

step "comparing the merged results with the unsharded run's"
python3 - "$work/whole/results.json" "$work/study/results.json" <<'PY' || fail "the merged results differ"
import json, sys

def strip(x):
    """Everything but the training times."""
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k != "train_seconds"}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x

a, b = (strip(json.load(open(p))) for p in sys.argv[1:])
if a != b:
    for k in a:
        if a[k] != b.get(k):
            print(f"field {k} differs", file=sys.stderr)
    sys.exit(1)
print(f"slurm-check: merged results.json equals the unsharded run's ({len(a['variants'])} variants, every field but the training times)")
PY
step "passed"
