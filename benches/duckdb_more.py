"""DuckDB's side of benches/more_queries.sh: one query of more_queries.txt
over FILE at 2 threads, timed inside the process around the query only;
prints query_s= on stderr.

    python3 benches/duckdb_more.py FILE NAME
"""
import sys
import time

import duckdb

path, name = sys.argv[1], sys.argv[2]
sql = None
with open("benches/more_queries.txt") as f:
    for line in f:
        if line.startswith("#") or not line.strip():
            continue
        q, _, text = line.rstrip("\n").split("\t")
        if q == name:
            sql = text
if sql is None:
    sys.exit(f"no query {name}")
src = f"read_csv('{path}')" if path.endswith(".csv") else f"'{path}'"
con = duckdb.connect()
con.execute("SET threads=2")
start = time.time()
con.execute(sql.format(src=src)).fetchall()
print(f"query_s={time.time() - start:.3f}", file=sys.stderr)
