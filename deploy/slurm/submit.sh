#!/usr/bin/env bash
# Submits a cleval sweep to Slurm as a job array of SHARDS tasks (one shard
# each, in its own database) and a merge job that runs when they have all
# ended.
#
#   deploy/slurm/submit.sh EXPERIMENT.yaml SHARDS [OUTDIR]
#
# OUTDIR (default ./results) must be on a file system the nodes share; it
# receives shard-I.db, all.db and logs/. Environment: CLEVAL (binary,
# default: cleval on PATH), CPUS (cpus per task, default 2), WORKERS (runs in
# parallel per task, default one per cpu), SBATCH_ARGS (more sbatch options for both
# jobs, e.g. "--partition=cpu --time=04:00:00"). Submitting again resumes:
# complete runs are skipped and the merge is repeated. Prints the two job
# ids.
set -euo pipefail
if [ $# -lt 2 ]; then
	sed -n '2,14p' "$0" >&2
	exit 2
fi
exp=$(realpath "$1")
shards=$2
out=$(realpath -m "${3:-results}")
here=$(dirname "$(realpath "$0")")
cleval=${CLEVAL:-$(command -v cleval || true)}
if [ -z "$cleval" ]; then
	echo "submit.sh: no cleval binary: set CLEVAL or put cleval on PATH" >&2
	exit 2
fi
cleval=$(realpath "$cleval")
# Fail here, not in every task, when the file is wrong.
"$cleval" sweep "$exp" --dry-run --db "$out/none.db" >/dev/null
mkdir -p "$out/logs"
# shellcheck disable=SC2086
array=$(sbatch --parsable --array="0-$((shards - 1))" --cpus-per-task="${CPUS:-2}" \
	--output="$out/logs/shard-%a.log" ${SBATCH_ARGS:-} \
	--export="ALL,EXP=$exp,OUT=$out,SHARDS=$shards,CLEVAL=$cleval,WORKERS=${WORKERS:-0}" \
	"$here/sweep.sbatch")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --dependency="afterany:$array" --kill-on-invalid-dep=yes \
	--output="$out/logs/merge.log" ${SBATCH_ARGS:-} \
	--export="ALL,OUT=$out,CLEVAL=$cleval" "$here/merge.sbatch")
merge=${merge%%;*}
echo "$array $merge"
echo "submitted: array job $array ($shards shards), merge job $merge; results in $out/all.db" >&2
