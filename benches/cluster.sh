#!/usr/bin/env bash
# Local vs `--workers` on loopback: the h2o queries of h2o_queries.txt over
# the 10M-row Parquet table, run by dq alone, on a cluster of one worker and
# on one of two (each worker --threads 1, so the two-worker cluster uses
# the machine's two cores as local dq does), then one job during which one
# of two workers is killed with SIGKILL.
#
#   bash benches/cluster.sh [FILE]     # default benches/data/h2o_10000000_100.parquet
#
# Prints one row per query: seconds local, 1 worker, 2 workers (or
# "refused" where --workers refuses the program). Every process is dq's
# whole process, as in h2o.sh. Needs a release build with default features.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
FILE=${1:-benches/data/h2o_10000000_100.parquet}
DQ=${DQ:-${CARGO_TARGET_DIR:-target}/release/dq}
[ -f "$FILE" ] || { echo "no $FILE: see benches/README.md to generate it" >&2; exit 1; }
PORT=50090
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_cluster() { # N workers
  cleanup; pids=()
  "$DQ" scheduler --bind 127.0.0.1:$PORT > /dev/null & pids+=($!)
  sleep 1
  for _ in $(seq "$1"); do "$DQ" worker --scheduler 127.0.0.1:$PORT --threads 1 > /dev/null & pids+=($!); done
  sleep 2
}

run_all() { # label, extra args...
  local label=$1; shift
  while IFS=$'\t' read -r name program only; do
    case "$name" in ''|'#'*) continue ;; esac
    [ -z "${only:-}" ] || [ "$only" = parquet ] || continue
    local prog="scan \"$FILE\" | $program"
    if [ $# -gt 0 ] && ! "$DQ" explain "$@" -e "$prog" > /dev/null 2>&1; then
      echo "$label $name refused"
      continue
    fi
    echo "$label $name $(measure "$DQ" run -q "$@" -e "$prog")"
  done < benches/h2o_queries.txt
}

run_all local
start_cluster 1
run_all workers1 --workers 127.0.0.1:$PORT
start_cluster 2
run_all workers2 --workers 127.0.0.1:$PORT

# One of two workers killed with SIGKILL half a second into q3.
start_cluster 2
prog="scan \"$FILE\" | agg v1 = sum(v1), v3 = mean(v3) by id3"
( sleep 0.5; kill -9 "${pids[2]}" ) &
echo "killed-worker q3 $(measure "$DQ" run -q --workers 127.0.0.1:$PORT -e "$prog")"
