#!/usr/bin/env bash
# h2o db-benchmark group-by questions in dq (and DuckDB, when the Python
# package is installed), side by side in one run.
#
#   bash benches/h2o.sh [N] [K]        # default N=10000000, K=100
#
# Data is generated once under benches/data/ (not committed). For each
# question it prints wall seconds and peak RSS (from /usr/bin/time -v) for
# dq on CSV, dq on Parquet, and — when their Python packages are installed
# (pip install duckdb polars datafusion) — DuckDB, Polars and DataFusion on
# the same CSV, each limited to 2 threads.
# q8 (the two largest v3 per id6) is `sort -v3 | head 2 by id6` in dq, a
# window function in SQL and `group_by().head(2)` in Polars.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000000}"
K="${2:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dq-target}"
cargo build --release --quiet
cargo build --release --quiet --example gen_h2o
DQ="$CARGO_TARGET_DIR/release/dq"
DATA="benches/data"
mkdir -p "$DATA"
CSV="$DATA/h2o_${N}_${K}.csv"
PQ="$DATA/h2o_${N}_${K}.parquet"
if [ ! -f "$CSV" ]; then
  echo "generating $CSV" >&2
  "$CARGO_TARGET_DIR/release/examples/gen_h2o" "$N" "$K" "$CSV"
fi
if [ ! -f "$PQ" ]; then
  echo "converting to $PQ" >&2
  "$DQ" run -q -e "scan \"$CSV\" | write \"$PQ\""
fi
echo "# N=$N K=$K  csv=$(du -h "$CSV" | cut -f1)  parquet=$(du -h "$PQ" | cut -f1)  cores=$(nproc)"

source benches/lib.sh

have() { python3 -c "import $1" 2>/dev/null; }
printf "%-4s %10s %7s %10s %7s %10s %7s %10s %7s %10s %7s\n" q dq_csv_s rss_mb dq_pq_s rss_mb duckdb_s rss_mb polars_s rss_mb dfusion_s rss_mb
while IFS=$'\t' read -r q body; do
  read -r t1 m1 < <(measure "$DQ" run -q --format csv -e "scan \"$CSV\" | $body")
  read -r t2 m2 < <(measure "$DQ" run -q --format csv -e "scan \"$PQ\" | $body")
  t3=-; m3=-; t4=-; m4=-; t5=-; m5=-
  if have duckdb; then read -r t3 m3 < <(measure python3 benches/duckdb_h2o.py "$CSV" "$q"); fi
  if have polars; then read -r t4 m4 < <(measure env POLARS_MAX_THREADS=2 python3 benches/polars_h2o.py "$CSV" "$q"); fi
  if have datafusion; then read -r t5 m5 < <(measure python3 benches/datafusion_h2o.py "$CSV" "$q"); fi
  printf "%-4s %10s %7s %10s %7s %10s %7s %10s %7s %10s %7s\n" "$q" "$t1" "$m1" "$t2" "$m2" "$t3" "$m3" "$t4" "$m4" "$t5" "$m5"
done < benches/h2o_queries.txt
read -r ts ms < <(measure "$DQ" run -q --format csv -e "scan \"$CSV\" | count")
echo "scan+count csv: ${ts}s, ${ms} MB"
