"""The h2o questions in Polars (lazy scan of the CSV or Parquet file +
collect, 2 threads), for side-by-side timing with dq. Prints the answer's
row count on stdout and the query's own time on stderr as `query_s=SECONDS`.

    POLARS_MAX_THREADS=2 python3 benches/polars_h2o.py DATA.csv|DATA.parquet q1 [OUT.csv|OUT.parquet]

With OUT, the answer is written there (zstd for Parquet).
"""
import os
import sys
import time

import polars as pl

path, q = sys.argv[1], sys.argv[2]
start = time.perf_counter()
scan = lambda p: pl.scan_parquet(p) if p.endswith(".parquet") else pl.scan_csv(p)  # noqa: E731
x = scan(path)
c = pl.col
QUERIES = {
    "q1": lambda: x.group_by("id1").agg(c("v1").sum()),
    "q2": lambda: x.group_by("id1", "id2").agg(c("v1").sum()),
    "q3": lambda: x.group_by("id3").agg(c("v1").sum(), c("v3").mean()),
    "q4": lambda: x.group_by("id4").agg(c("v1").mean(), c("v2").mean(), c("v3").mean()),
    "q5": lambda: x.group_by("id6").agg(c("v1").sum(), c("v2").sum(), c("v3").sum()),
    "q6": lambda: x.group_by("id4", "id5").agg(c("v3").median().alias("median_v3"), c("v3").std().alias("sd_v3")),
    "q7": lambda: x.group_by("id3").agg((c("v1").max() - c("v2").min()).alias("range_v1_v2")),
    "q8": lambda: x.select("id6", "v3").sort("v3", descending=True).group_by("id6").head(2),
    "q9": lambda: x.group_by("id2", "id4").agg((pl.corr("v1", "v2") ** 2).alias("r2")),
    "q10": lambda: x.group_by("id1", "id2", "id3", "id4", "id5", "id6").agg(c("v3").sum(), pl.len().alias("count")),
    "f1": lambda: x.filter(c("v3") > 95),
    "s1": lambda: x.sort(["v3", "id6"], descending=[True, False]),
    "j1": lambda: x.join(scan(os.environ["RIGHT_SMALL"]), on="id3").group_by("id1").agg(c("v4").sum()),
    "j2": lambda: x.join(scan(os.environ["RIGHT_BIG"]), on="id3").group_by("id1").agg(c("v4").sum()),
}
answer = QUERIES[q]().collect()
if len(sys.argv) > 3:
    out = sys.argv[3]
    if out.endswith(".parquet"):
        answer.write_parquet(out, compression="zstd")
    else:
        answer.write_csv(out)
rows = answer.height
print(f"query_s={time.perf_counter() - start:.3f}", file=sys.stderr)
print(rows)
