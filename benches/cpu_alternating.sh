#!/usr/bin/env bash
# CPU time of dq binaries run in turn, for changes smaller than this
# machine's noise (±25% between minutes): each round runs every binary
# once, so a busy minute slows them alike. Prints the smallest and the
# median task-clock (perf stat) per binary. Single-engine figures; the
# side-by-side comparison with peers is h2o.sh.
#
#   bash benches/cpu_alternating.sh FILE "PROGRAM AFTER scan" ROUNDS BINARY...
#   e.g. bash benches/cpu_alternating.sh benches/data/h2o_10000000_100.parquet \
#          "agg v1 = sum(v1), v3 = mean(v3) by id3" 8 /tmp/dq-old target/release/dq
# The answer goes to /dev/null as CSV, or to DQ_OUT in DQ_FORMAT when set
# (e.g. DQ_OUT=/tmp/a.parquet DQ_FORMAT=parquet to time writing Parquet).
set -euo pipefail
file=$1 program=$2 rounds=$3
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for _ in $(seq "$rounds"); do
  i=0
  for dq in "$@"; do
    perf stat -x, -e task-clock "$dq" run -q --format "${DQ_FORMAT:-csv}" -o "${DQ_OUT:-/dev/null}" -e "scan \"$file\" | $program" 2>&1 >/dev/null |
      awk -F, '/task-clock/ { printf "%d\n", $1 }' >> "$out/$i"
    i=$((i + 1))
  done
done
i=0
for dq in "$@"; do
  sort -n "$out/$i" | awk -v dq="$dq" '{ a[NR] = $1 } END { printf "cpu_ms min %d median %d  %s\n", a[1], a[int((NR + 1) / 2)], dq }'
  i=$((i + 1))
done
