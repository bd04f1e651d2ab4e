"""The out-of-core benchmark in DuckDB: the h2o questions, a full sort and
a join, over the same CSV files, under a memory limit, spilling to a temp
directory. Results are written where dq writes them (a file), so that
neither engine keeps a result larger than memory.

    python3 benches/duckdb_ooc.py DATA.csv RIGHT.csv QUESTION LIMIT TMPDIR OUT
"""
import sys

import duckdb

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from duckdb_h2o_queries import QUERIES  # noqa: E402

QUERIES = dict(QUERIES)
QUERIES["sort"] = "SELECT * FROM x ORDER BY v3 DESC, id6"
QUERIES["join"] = "SELECT x.id1, count(*) AS n, sum(r.v4) AS s FROM x JOIN r ON x.id3 = r.id3 GROUP BY x.id1"

path, right, q, limit, tmp, out = sys.argv[1:7]
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute(f"SET memory_limit = '{limit}'")
con.execute(f"SET temp_directory = '{tmp}'")
con.execute("SET preserve_insertion_order = false")
con.execute(f"CREATE VIEW x AS SELECT * FROM read_csv('{path}')")
con.execute(f"CREATE VIEW r AS SELECT * FROM read_csv('{right}')")
con.execute(f"COPY ({QUERIES[q]}) TO '{out}' (FORMAT csv)")
