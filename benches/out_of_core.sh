#!/usr/bin/env bash
# Out-of-core benchmark: the h2o group-by questions, a full sort and a join
# with a 10M-row right table over an N-row h2o CSV (default N = 100M, about
# 5 GB), every query under a memory limit (default 1GB), in dq and — when
# the Python package is installed — DuckDB with the same limit.
#
#   bash benches/out_of_core.sh [N] [LIMIT]
#
# Prints per query: wall seconds, peak RSS (MB, /usr/bin/time -v) and, for
# dq, bytes spilled (from --stats=json). Results go to a file under
# benches/data/ooc/ (deleted after each query), so neither engine holds a
# result larger than memory. Data is generated once and never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000000}"
LIMIT="${2:-1GB}"
K=100
source benches/lib.sh
build_dq
cargo build --release --quiet --example gen_h2o
DATA="benches/data"
WORK="$DATA/ooc"
mkdir -p "$WORK"
CSV="$DATA/h2o_${N}_${K}.csv"
RIGHT="$DATA/right_10000000.csv"
[ -f "$CSV" ] || "$CARGO_TARGET_DIR/release/examples/gen_h2o" "$N" "$K" "$CSV"
[ -f "$RIGHT" ] || python3 benches/gen_right.py 10000000 "$RIGHT"
echo "# N=$N csv=$(du -h "$CSV" | cut -f1) right=$(du -h "$RIGHT" | cut -f1) limit=$LIMIT cores=$(nproc)"


queries() {
  grep -v -E '^(s1|j1|j2)\b' benches/h2o_queries.txt  # s1 is the sort below; its joins are the join below
  printf 'sort\tsort -v3, id6\n'
  printf 'join\tjoin r on id3 | agg n = count(), s = sum(v4) by id1\n'
}

ERR=$(mktemp)
printf "%-5s %9s %7s %11s %9s %7s %7s\n" q dq_s rss_mb spilled_mb duckdb_s rss_mb ratio
while IFS=$'\t' read -r q body; do
  prog="let r = scan \"$RIGHT\"
scan \"$CSV\" | $body"
  read -r t1 m1 < <(measure "$DQ" run -q --memory-limit "$LIMIT" --temp-dir "$WORK" --stats=json \
    -o "$WORK/out.csv" -e "$prog")
  spilled=$(grep -o '"spilled_bytes":[0-9]*' "$ERR" | head -1 | cut -d: -f2)
  spilled_mb=$(( ${spilled:-0} / 1000000 ))
  rm -f "$WORK/out.csv"
  t2=-; m2=-; ratio=-
  if python3 -c "import duckdb" 2>/dev/null; then
    read -r t2 m2 < <(measure python3 benches/duckdb_ooc.py "$CSV" "$RIGHT" "$q" "$LIMIT" "$WORK" "$WORK/out.csv")
    rm -f "$WORK/out.csv"
    if [ "$t1" != fail ] && [ "$t2" != fail ]; then ratio=$(python3 -c "print(f'{$t1/$t2:.2f}')"); fi
  fi
  printf "%-5s %9s %7s %11s %9s %7s %7s\n" "$q" "$t1" "$m1" "$spilled_mb" "$t2" "$m2" "$ratio"
done < <(queries)
rm -f "$ERR"
