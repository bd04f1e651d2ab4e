#!/usr/bin/env bash
# Peak RSS of the dq process, and time, for verbs under a memory limit
# (issue 8, item 15): `benches/memory_limit.sh [LIMIT] [BEFORE_BINARY]`.
# Generates a 1.5M-row, 77 MB CSV with text columns (`name` nearly unique,
# `city` 5,000 values) under $DATA (default /tmp/dq-bench), runs each verb
# with --memory-limit LIMIT (default 64MB), output discarded, and prints
# seconds and peak RSS (MB) per verb — beside a second binary when given
# (e.g. a build of an earlier commit), one run each, alternating.
# The bar in issue 8 is 1.2 x LIMIT + 50 MB.
# With H2O=1 it uses the 10M-row h2o CSV of benches/h2o.sh instead
# (benches/data/h2o_10000000_100.csv; generate it with that script first).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
LIMIT="${1:-64MB}"
BEFORE="${2:-}"
DATA="${DATA:-/tmp/dq-bench}"
mkdir -p "$DATA"
CSV="$DATA/text_1_5m.csv"
if [ ! -f "$CSV" ]; then
  python3 - "$CSV" <<'PY'
import random, sys
random.seed(3)
with open(sys.argv[1], "w") as f:
    f.write("id,name,city,v\n")
    for i in range(1_500_000):
        f.write(f"{i},name-{random.randrange(10**9)},city-{i % 5000},{random.random()}\n")
PY
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dq-target}"
cargo build --release -q
AFTER="$CARGO_TARGET_DIR/release/dq"
verbs=("sort v | head 5" "sample 5 seed=1" "tail 5" "sort -v" "filter v > 0.5" "agg m = median(v) by city"
       "head 3 by city" "distinct name" "agg n = count() by name")
if [ "${H2O:-}" = 1 ]; then
  CSV="benches/data/h2o_10000000_100.csv"
  verbs=("sort v3 | head 5" "sample 5 seed=1" "tail 5" "sort -v3, id6" "filter v3 > 50" "agg m = median(v3) by id4, id5"
         "head 2 by id6" "distinct" "distinct id3, id6" "agg v = sum(v3), n = count() by id1, id2, id3, id4, id5, id6"
         "join \"$DATA/h2o_right.csv\" on id6 | agg w = sum(w) by id1")
fi
if [ "${H2O:-}" = 1 ] && [ ! -f "$DATA/h2o_right.csv" ]; then
  # One row per id6 (100k): the join's build side.
  "$AFTER" run -q -e "scan \"$CSV\" | distinct id6 | derive w = id6 * 2" -o "$DATA/h2o_right.csv"
fi
printf '%-28s %s\n' "verb ($LIMIT)" "${BEFORE:+before s/MB   }after s/MB"
for verb in "${verbs[@]}"; do
  args=(run -e "scan \"$CSV\" | $verb" --memory-limit "$LIMIT" -q)
  line=""
  [ -n "$BEFORE" ] && line="$(measure "$BEFORE" "${args[@]}" | tr ' ' '/')   "
  line="$line$(measure "$AFTER" "${args[@]}" | tr ' ' '/')"
  printf '%-28s %s\n' "$verb" "$line"
done
