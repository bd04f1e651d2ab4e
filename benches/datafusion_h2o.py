"""The h2o questions in DataFusion (SQL over the CSV or Parquet file, 2
target partitions), for side-by-side timing with dq. Prints the answer's row
count on stdout and the query's own time on stderr as `query_s=SECONDS`
(registering the file, which reads its schema, is part of it).

    python3 benches/datafusion_h2o.py DATA.csv|DATA.parquet q1 [OUT.csv|OUT.parquet]

With OUT, the answer is written there (zstd for Parquet).
"""
import os
import sys
import time

from datafusion import SessionConfig, SessionContext

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from duckdb_h2o_queries import QUERIES, RIGHT_TABLES  # noqa: E402

path, q = sys.argv[1], sys.argv[2]
ctx = SessionContext(SessionConfig().with_target_partitions(2))
sql = QUERIES[q].replace("pow(corr(v1, v2), 2)", "power(corr(v1, v2), 2)")
start = time.perf_counter()
tables = {"x": path, **{t: os.environ[v] for t, v in RIGHT_TABLES.items() if os.environ.get(v)}}
for table, file in tables.items():
    if file.endswith(".parquet"):
        ctx.register_parquet(table, file)
    else:
        ctx.register_csv(table, file)
answer = ctx.sql(sql)
if len(sys.argv) > 3:
    out = sys.argv[3]
    if out.endswith(".parquet"):
        answer.write_parquet(out, compression="zstd")
    else:
        answer.write_csv(out, with_header=True)
    print(f"query_s={time.perf_counter() - start:.3f}", file=sys.stderr)
    # The rows written, counted after the timing.
    ctx.register_parquet("ans", out) if out.endswith(".parquet") else ctx.register_csv("ans", out)
    rows = ctx.sql("SELECT count(*) FROM ans").collect()[0].column(0)[0].as_py()
else:
    rows = sum(b.num_rows for b in answer.collect())
    print(f"query_s={time.perf_counter() - start:.3f}", file=sys.stderr)
print(rows)
