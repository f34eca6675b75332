#!/usr/bin/env bash
# The study as a Slurm job array: one shard per array task, then the merge as a job that
# starts when every shard has finished.
#
# Plan first: how many tasks, what each runs, how long, the lines to submit:
#
#   iontransport reproduce plan --full --seeds 0,1,2,3,4 --shards 37 --out results-full
#
# then, with the array size and --time it prints:
#
#   CONFIG=full SEEDS=0,1,2,3,4 OUT=results-full sbatch --array=0-36 --time=... tools/slurm-reproduce.sh
#   sbatch --dependency=afterok:<array job id> --wrap "iontransport reproduce merge --out results-full"
#
# CONFIG is `quick` (minutes per shard: try the recipe on it first) or `full` (the paper's
# scale, the default); SEEDS and OUT as in `iontransport reproduce`.
#
# Shards are independent and resumable: a unit's result is written as soon as it finishes,
# and rerunning a shard runs only its units that have none. After a timeout or a node
# failure, resubmit that index alone with the same variables:
#
#   CONFIG=full SEEDS=0,1,2,3,4 OUT=results-full sbatch --array=5 --time=... tools/slurm-reproduce.sh
#
# The shard count is then read from OUT/shards/manifest.json (written by the first shard that
# started): Slurm tells a one-index array SLURM_ARRAY_TASK_COUNT=1. A merge submitted with
# afterok on an array with a failed task never starts (DependencyNeverSatisfied): scancel it
# and submit it again once the resubmitted task has finished (afterok on the new job id).
#
# Any launcher that starts N processes with k = 0..N-1 works the same (GNU parallel, a shell
# loop, a cloud batch service):
#
#   for k in $(seq 0 36); do iontransport reproduce --full --shard $k/37 --out results-full & done; wait
#
#SBATCH --job-name=iontransport-study
#SBATCH --cpus-per-task=2
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?submit as an array job (sbatch --array=0-N)}"
: "${SLURM_ARRAY_TASK_COUNT:?submit as an array job (sbatch --array=0-N)}"
config=${CONFIG:-full}
case "$config" in
    quick | full | tiny) ;; # tiny: seconds, meaningless numbers (tools/slurm-check.sh)
    *)
        echo "CONFIG=$config: quick or full" >&2
        exit 2
        ;;
esac
out=${OUT:-results-$config}
if [ "$config" = full ]; then seeds=${SEEDS:-0,1,2,3,4}; else seeds=${SEEDS:-0,1}; fi
# The first run of a study names the shard count; later runs (a resubmitted index) take the
# recorded one.
if [ -f "$out/shards/manifest.json" ]; then
    shard=$SLURM_ARRAY_TASK_ID
else
    shard=$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
fi
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-2}
exec "${IONTRANSPORT:-iontransport}" reproduce "--$config" --seeds "$seeds" --shard "$shard" --out "$out"
