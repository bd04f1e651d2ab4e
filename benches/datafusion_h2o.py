"""The h2o questions in DataFusion (SQL over the CSV, 2 target partitions),
for side-by-side timing with dq.

    python3 benches/datafusion_h2o.py DATA.csv q1
"""
import sys

from datafusion import SessionConfig, SessionContext

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from duckdb_h2o_queries import QUERIES  # noqa: E402

path, q = sys.argv[1], sys.argv[2]
ctx = SessionContext(SessionConfig().with_target_partitions(2))
ctx.register_csv("x", path)
sql = QUERIES[q].replace("pow(corr(v1, v2), 2)", "power(corr(v1, v2), 2)")
print(sum(b.num_rows for b in ctx.sql(sql).collect()))
