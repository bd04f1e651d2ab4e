#!/usr/bin/env bash
# dq profile tiers beside a plain scan and DuckDB's SUMMARIZE, one run.
#
#   bash benches/profile.sh [N]      # default N=10000000 (uses benches/h2o.sh data)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000000}"
source benches/lib.sh
build_dq
CSV="benches/data/h2o_${N}_100.csv"
PQ="benches/data/h2o_${N}_100.parquet"
[ -f "$CSV" ] && [ -f "$PQ" ] || { echo "run bash benches/h2o.sh $N first" >&2; exit 2; }
t() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
printf "%-34s %10s %10s\n" "what" "csv_s/MB" "parquet_s/MB"
row() { printf "%-34s %10s %10s\n" "$1" "$(t "${@:2}" "$CSV" | tr ' ' /)" "$(t "${@:2}" "$PQ" | tr ' ' /)"; }
scan_count() { "$DQ" run -q -e "scan \"$1\" | count"; }
scan_all() { "$DQ" run -q -e "scan \"$1\" | tail 1"; }
profile_full() { "$DQ" profile -q --format json "$1"; }
profile_sample() { "$DQ" profile -q --format json --sample 1% "$1"; }
profile_meta() { "$DQ" profile -q --format json --metadata "$1"; }
export -f scan_count scan_all profile_full profile_sample profile_meta
export DQ
row "dq run scan | count" bash -c 'scan_count "$0"'
row "dq run scan (all columns) | tail 1" bash -c 'scan_all "$0"'
row "dq profile (full pass)" bash -c 'profile_full "$0"'
row "dq profile --sample 1%" bash -c 'profile_sample "$0"'
row "dq profile --metadata" bash -c 'profile_meta "$0"'
if python3 -c "import duckdb" 2>/dev/null; then
  row "duckdb SUMMARIZE (2 threads)" python3 benches/duckdb_summarize.py
fi
