"""The same h2o questions in DuckDB over the same file (CSV or Parquet), for
side-by-side timing. Prints the answer's row count on stdout and the query's
own time on stderr as `query_s=SECONDS` (connection set-up and the Python
start excluded, as a DuckDB CLI user would not pay them).

    python3 benches/duckdb_h2o.py DATA.csv|DATA.parquet q1 [OUT.csv|OUT.parquet]

With OUT, the answer is written there (COPY, zstd for Parquet) instead of
held in a temporary table.
"""
import os
import sys
import time

import duckdb

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from duckdb_h2o_queries import QUERIES, RIGHT_TABLES  # noqa: E402


path, q = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads = 2")
reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
start = time.perf_counter()
con.execute(f"CREATE VIEW x AS SELECT * FROM {reader}('{path}')")
for table, var in RIGHT_TABLES.items():
    if os.environ.get(var):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {reader}('{os.environ[var]}')")
if len(sys.argv) > 3:
    out = sys.argv[3]
    options = "FORMAT parquet, COMPRESSION zstd" if out.endswith(".parquet") else "FORMAT csv, HEADER"
    rows = con.execute(f"COPY ({QUERIES[q]}) TO '{out}' ({options})").fetchone()[0]
else:
    con.execute(f"CREATE TEMP TABLE ans AS {QUERIES[q]}")
    rows = con.execute("SELECT count(*) FROM ans").fetchone()[0]
print(f"query_s={time.perf_counter() - start:.3f}", file=sys.stderr)
print(rows)
