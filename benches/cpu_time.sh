#!/usr/bin/env bash
# Before/after figures for one change to dq: the smallest wall time and CPU
# time (perf's task-clock) of RUNS runs of each program, for each dq binary
# given (copy the old build aside before rebuilding). Single-engine
# figures; the side-by-side comparison with peers is h2o.sh.
#
#   bash benches/cpu_time.sh FILE "PROGRAM AFTER scan" BINARY... [RUNS=5]
#   e.g. bash benches/cpu_time.sh benches/data/h2o_10000000_100.parquet \
#          "agg s = sum(v1) by id1" /tmp/dq-old target/release/dq
set -euo pipefail
file=$1 program=$2
shift 2
runs=${RUNS:-5}
for dq in "$@"; do
  best_cpu=999999 best_wall=999999
  for _ in $(seq "$runs"); do
    out=$(perf stat -x, -e task-clock "$dq" run -q --format csv -o /dev/null -e "scan \"$file\" | $program" 2>&1 >/dev/null)
    start=$(date +%s%N)
    "$dq" run -q --format csv -o /dev/null -e "scan \"$file\" | $program"
    wall=$(( ($(date +%s%N) - start) / 1000000 ))
    cpu=$(echo "$out" | awk -F, '/task-clock/ { printf "%d", $1 }')
    (( cpu < best_cpu )) && best_cpu=$cpu
    (( wall < best_wall )) && best_wall=$wall
  done
  echo "cpu_ms=$best_cpu wall_ms=$best_wall  $dq  $program"
done
