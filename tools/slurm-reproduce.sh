#!/usr/bin/env bash
# The paper-scale study as a Slurm job array: one shard per array task, then the merge as a
# job that starts when every shard has finished.
#
#   sbatch --array=0-36 tools/slurm-reproduce.sh          # 37 shards (one variant each per seed)
#   sbatch --dependency=afterok:<array job id> --wrap "iontransport reproduce merge --out results-full"
#
# Shards are independent and resumable: resubmitting the array after a timeout or a node
# failure runs only the units that have no result in results-full/shards yet. Any launcher
# that starts N processes with k = 0..N-1 works the same (GNU parallel, a shell loop, a cloud
# batch service):
#
#   for k in $(seq 0 36); do iontransport reproduce --full --shard $k/37 --out results-full & done; wait
#
#SBATCH --job-name=iontransport-full
#SBATCH --cpus-per-task=2
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?submit as an array job (sbatch --array=0-N)}"
: "${SLURM_ARRAY_TASK_COUNT:?submit as an array job (sbatch --array=0-N)}"
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-2}
exec iontransport reproduce --full --seeds "${SEEDS:-0,1,2,3,4}" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" --out "${OUT:-results-full}"
