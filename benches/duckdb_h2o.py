"""The same h2o questions in DuckDB over the same CSV, for side-by-side timing.

    python3 benches/duckdb_h2o.py DATA.csv q1
"""
import sys

import duckdb

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from duckdb_h2o_queries import QUERIES  # noqa: E402


path, q = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute(f"CREATE VIEW x AS SELECT * FROM read_csv('{path}')")
con.execute(f"CREATE TEMP TABLE ans AS {QUERIES[q]}")
print(con.execute("SELECT count(*) FROM ans").fetchone()[0])
