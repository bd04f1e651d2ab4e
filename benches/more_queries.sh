#!/usr/bin/env bash
# Workloads outside issue 9's table (top-k, distinct, computed arguments,
# n_unique, quantile, text filters) in dq and DuckDB side by side over the
# h2o files of benches/h2o.sh, which makes them (run it once first):
#
#   bash benches/more_queries.sh [N]        # default N=10000000
#
# Prints per query and format dq's wall seconds and peak RSS (whole
# process), DuckDB's seconds inside its process around the query (2
# threads), and the ratio. Queries: benches/more_queries.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10000000}"
source benches/lib.sh
build_dq
printf "%-16s %-7s %7s %6s %9s %6s\n" q format dq_s dq_mb duckdb_s ratio
for f in "benches/data/h2o_${N}_100.csv" "benches/data/h2o_${N}_100.parquet"; do
  [ -f "$f" ] || { echo "missing $f: run benches/h2o.sh $N first" >&2; exit 1; }
  cat "$f" > /dev/null
  while IFS=$'\t' read -r q body _; do
    read -r t1 m1 < <(measure "$DQ" run -q -e "scan \"$f\" | $body")
    err=$(mktemp)
    t2=fail
    if python3 -c "import duckdb" 2>/dev/null && python3 benches/duckdb_more.py "$f" "$q" 2> "$err"; then
      t2=$(sed -n 's/^query_s=//p' "$err")
    fi
    rm -f "$err"
    ratio=-
    if [ "$t1" != fail ] && [ "$t2" != fail ]; then ratio=$(python3 -c "print(f'{$t1/$t2:.2f}')"); fi
    printf "%-16s %-7s %7s %6s %9s %6s\n" "$q" "${f##*.}" "$t1" "$m1" "$t2" "$ratio"
  done < <(grep -v '^#' benches/more_queries.txt)
done
