"""DuckDB's SUMMARIZE over a file, for side-by-side timing with dq profile.

    python3 benches/duckdb_summarize.py DATA.csv|DATA.parquet
"""
import sys

import duckdb

con = duckdb.connect()
con.execute("SET threads = 2")
path = sys.argv[1]
reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
rows = con.execute(f"SUMMARIZE SELECT * FROM {reader}('{path}')").fetchall()
print(len(rows))
