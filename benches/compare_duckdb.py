#!/usr/bin/env python3
"""Differential check: the same pipelines in dq and in DuckDB over generated
h2o data; results must agree (as multisets of rows, floats to 1e-9 relative).

    python3 benches/compare_duckdb.py [N]      # default N = 1000000
    DQ_ARGS="--memory-limit 32MB" python3 benches/compare_duckdb.py   # dq spilling

Needs `pip install duckdb` and a built dq (cargo build --release).
Prints one line per case and exits non-zero on any mismatch.
"""
import csv
import io
import math
import os
import subprocess
import sys

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/dq-target"))
DQ = os.path.join(TARGET, "release", "dq")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
DATA = os.path.join(ROOT, "benches", "data")
CSV = os.path.join(DATA, f"h2o_{N}_100.csv")
PQ = os.path.join(DATA, f"h2o_{N}_100.parquet")
DIM = os.path.join(DATA, f"dim_{N}.csv")

os.makedirs(DATA, exist_ok=True)
if not os.path.exists(CSV):
    subprocess.run([os.path.join(TARGET, "release", "examples", "gen_h2o"), str(N), "100", CSV], check=True)
if not os.path.exists(PQ):
    subprocess.run([DQ, "run", "-q", "-e", f'scan "{CSV}" | write "{PQ}"'], check=True)
if not os.path.exists(DIM):
    # A dimension table over id6 with some keys missing, for joins.
    subprocess.run([DQ, "run", "-q", "-e", f'scan "{CSV}" | agg top_v2 = max(v2) by id6 | filter id6 % 3 != 0 | write "{DIM}"'], check=True)

CASES = [
    ("filter + few groups",
     f'scan "{CSV}" | filter v1 >= 3 and id4 <= 50 | agg n = count(), s = sum(v3) by id1',
     f"SELECT id1, count(*), sum(v3) FROM '{CSV}' WHERE v1 >= 3 AND id4 <= 50 GROUP BY id1"),
    ("many groups, mean and std",
     f'scan "{CSV}" | agg n = count(), m = mean(v3), sd = std(v3) by id3',
     f"SELECT id3, count(*), avg(v3), stddev_samp(v3) FROM '{CSV}' GROUP BY id3"),
    ("parquet, two keys",
     f'scan "{PQ}" | filter v2 > 7 | agg s = sum(v1), mx = max(v3) by id2, id5',
     f"SELECT id2, id5, sum(v1), max(v3) FROM '{CSV}' WHERE v2 > 7 GROUP BY id2, id5"),
    ("median and quantile",
     f'scan "{CSV}" | agg med = median(v3), q9 = quantile(v3, 0.9), u = n_unique(id6) by id4',
     f"SELECT id4, median(v3), quantile_cont(v3, 0.9), count(DISTINCT id6) FROM '{CSV}' GROUP BY id4"),
    ("inner join then group",
     f'scan "{CSV}" | join "{DIM}" on id6 | agg n = count(), s = sum(top_v2) by id1',
     f"SELECT id1, count(*), sum(top_v2) FROM '{CSV}' JOIN '{DIM}' USING (id6) GROUP BY id1"),
    ("left join keeps unmatched rows",
     f'scan "{CSV}" | filter id4 == 7 | join "{DIM}" on id6 kind=left | agg n = count(), matched = count(top_v2)',
     f"SELECT count(*), count(top_v2) FROM '{CSV}' LEFT JOIN '{DIM}' USING (id6) WHERE id4 = 7"),
    ("anti join",
     f'scan "{CSV}" | join "{DIM}" on id6 kind=anti | agg n = count(), s = sum(v1)',
     f"SELECT count(*), sum(v1) FROM '{CSV}' WHERE id6 NOT IN (SELECT id6 FROM '{DIM}')"),
    ("top-k",
     f'scan "{CSV}" | sort -v3, id3, id6 | head 50 | select id3, id6, v3',
     f"SELECT id3, id6, v3 FROM '{CSV}' ORDER BY v3 DESC, id3, id6 LIMIT 50"),
    ("full sort, tail",
     f'scan "{PQ}" | sort v3, id3, id6, v1 | tail 20 | select id3, id6, v1, v3',
     f"SELECT * FROM (SELECT id3, id6, v1, v3 FROM '{CSV}' ORDER BY v3 DESC, id3 DESC, id6 DESC, v1 DESC LIMIT 20)"),
    ("distinct",
     f'scan "{CSV}" | distinct id1, id4 | count',
     f"SELECT count(*) FROM (SELECT DISTINCT id1, id4 FROM '{CSV}')"),
    ("expressions",
     f'scan "{CSV}" | derive r = v3 / v1, fd = v2 // 4, b = if(v3 > 50, "hi", "lo") | agg s = sum(r), f = sum(fd) by b',
     f"SELECT if(v3 > 50, 'hi', 'lo') AS b, sum(v3 / v1), sum(v2 // 4) FROM '{CSV}' GROUP BY b"),
    ("semi join",
     f'scan "{CSV}" | join "{DIM}" on id6 kind=semi | agg n = count() by id4',
     f"SELECT id4, count(*) FROM '{CSV}' WHERE id6 IN (SELECT id6 FROM '{DIM}') GROUP BY id4"),
    ("right join",
     f'scan "{CSV}" | filter id1 == "id001" | join "{DIM}" on id6 kind=right | agg n = count(), m = count(v1)',
     f"SELECT count(*), count(v1) FROM (SELECT * FROM '{CSV}' WHERE id1 = 'id001') x RIGHT JOIN '{DIM}' USING (id6)"),
    ("full join",
     f'scan "{CSV}" | filter id1 == "id002" | join "{DIM}" on id6 kind=full | agg n = count(), l = count(v1), r = count(top_v2)',
     f"SELECT count(*), count(v1), count(top_v2) FROM (SELECT * FROM '{CSV}' WHERE id1 = 'id002') x FULL JOIN '{DIM}' USING (id6)"),
    ("union then group",
     f'scan "{CSV}" | filter v1 == 1 | select id1, v3 | union "{PQ}" | agg n = count(), s = sum(v3) by id1',
     f"SELECT id1, count(*), sum(v3) FROM (SELECT id1, v3 FROM '{CSV}' WHERE v1 = 1 UNION ALL BY NAME SELECT * FROM '{PQ}') GROUP BY id1"),
    ("string functions",
     f'scan "{CSV}" | derive a = upper(substr(id3, 3, 4)), b = len(replace(id1, "0", "")), c = starts_with(id2, "id09") | agg n = count(), lb = sum(b) by a, c',
     f"SELECT upper(substr(id3, 3, 4)) AS a, starts_with(id2, 'id09') AS c, count(*), sum(length(replace(id1, '0', ''))) FROM '{CSV}' GROUP BY a, c"),
    ("nulls via if and coalesce",
     f'scan "{CSV}" | derive x = if(v2 > 10, null, v3) | agg n = count(x), s = sum(x), m = mean(coalesce(x, 0)), mn = min(x) by v1',
     f"SELECT v1, count(x), sum(x), avg(coalesce(x, 0)), min(x) FROM (SELECT v1, CASE WHEN v2 > 10 THEN NULL ELSE v3 END AS x FROM '{CSV}') GROUP BY v1"),
    ("between, in, not",
     f'scan "{CSV}" | filter v3 between 10 and 20 and id4 in [1, 2, 3] and not (v1 == 2) | count',
     f"SELECT count(*) FROM '{CSV}' WHERE v3 BETWEEN 10 AND 20 AND id4 IN (1, 2, 3) AND NOT (v1 = 2)"),
    ("var and min/max of strings",
     f'scan "{PQ}" | agg v = var(v3), lo = min(id3), hi = max(id3) by id5',
     f"SELECT id5, var_samp(v3), min(id3), max(id3) FROM '{CSV}' GROUP BY id5"),
    ("quoted CSV with newlines",
     f'scan "{ROOT}/testdata/quoted.csv" | agg n = count(), s = sum(amount), l = sum(len(comment))',
     f"SELECT count(*), sum(amount), sum(length(comment)) FROM read_csv('{ROOT}/testdata/quoted.csv', quote='\"', escape='\"')"),
    ("compressed input",
     f'scan "{ROOT}/testdata/sales.csv.zst" | agg r = sum(price * qty) by region',
     f"SELECT region, sum(price * qty) FROM read_csv('{ROOT}/testdata/sales.csv') GROUP BY region"),
    ("top-2 per group",
     f'scan "{CSV}" | select id4, id6, v3 | sort -v3, id6 | head 2 by id4',
     f"SELECT id4, id6, v3 FROM (SELECT id4, id6, v3, row_number() OVER (PARTITION BY id4 ORDER BY v3 DESC, id6) AS rn FROM '{CSV}') WHERE rn <= 2"),
    ("corr and cov (h2o q9)",
     f'scan "{CSV}" | agg r = corr(v1, v2), c = cov(v1, v3) by id2, id4',
     f"SELECT id2, id4, corr(v1, v2), covar_samp(v1, v3) FROM '{CSV}' GROUP BY id2, id4"),
    # Language v2 (issue 13). Windows, then a filter that keeps a sample of
    # the rows (the windows see all of them); with DQ_ARGS="--memory-limit
    # 32MB" dq computes them partition by partition from disk.
    ("windows: lag, row_number, running sum, share of total",
     f'scan "{CSV}" | derive prev = lag(v3) over (by id1 sort id6, v3, id3), rn = row_number() over (by id1 sort id6, v3, id3), run = cum_sum(v1) over (by id1 sort id6, v3, id3), share = v1 / sum(v1) over (by id1) | filter id4 == 7 | select id1, id3, id6, v3, prev, rn, run, share',
     f"SELECT * EXCLUDE (id4) FROM (SELECT id1, id3, id6, v3, lag(v3) OVER w, row_number() OVER w, sum(v1) OVER (w ROWS UNBOUNDED PRECEDING), v1 / sum(v1) OVER (PARTITION BY id1), id4 FROM '{CSV}' WINDOW w AS (PARTITION BY id1 ORDER BY id6, v3, id3)) WHERE id4 = 7"),
    ("windows: rank, dense_rank, moving mean of 3 rows",
     f'scan "{CSV}" | derive r = rank() over (by id2 sort v1), dr = dense_rank() over (by id2 sort v1), mv = mean(v3) over (by id2 sort id6, v3, id3 rows 3) | filter id5 == 3 | select id2, id3, id6, v1, v3, r, dr, mv',
     f"SELECT * EXCLUDE (id5) FROM (SELECT id2, id3, id6, v1, v3, rank() OVER (PARTITION BY id2 ORDER BY v1), dense_rank() OVER (PARTITION BY id2 ORDER BY v1), avg(v3) OVER (PARTITION BY id2 ORDER BY id6, v3, id3 ROWS 2 PRECEDING), id5 FROM '{CSV}') WHERE id5 = 3"),
    ("as-of join by key",
     f'let q = scan "{PQ}" | filter id5 == 1 | select id1, qv = v3\nscan "{CSV}" | filter id4 <= 10 | join q on id1 asof v3 = qv kind=left | agg n = count(), m = count(qv), s = sum(qv) by id1',
     f"SELECT t.id1, count(*), count(q.qv), sum(q.qv) FROM (SELECT * FROM '{CSV}' WHERE id4 <= 10) t ASOF LEFT JOIN (SELECT id1, v3 AS qv FROM '{PQ}' WHERE id5 = 1) q ON t.id1 = q.id1 AND t.v3 >= q.qv GROUP BY t.id1"),
    ("pivot",
     f'scan "{CSV}" | pivot id4 in [1, 2, 3] using sum(v1) by id1',
     f"SELECT id1, sum(v1) FILTER (WHERE id4 = 1), sum(v1) FILTER (WHERE id4 = 2), sum(v1) FILTER (WHERE id4 = 3) FROM '{CSV}' GROUP BY id1"),
    ("case, ||, lpad, split_part, regex_extract",
     f'scan "{CSV}" | derive c = case when v1 > 3 then "hi" when v1 > 1 then "mid" else "lo" end, t = lpad(split_part(id3, "d", 2), 12, "*") || "/" || regex_extract(id2, "id0*([0-9]+)", 1) | agg n = count(), hi = max(t), lo = min(t) by c',
     f"SELECT c, count(*), max(t), min(t) FROM (SELECT CASE WHEN v1 > 3 THEN 'hi' WHEN v1 > 1 THEN 'mid' ELSE 'lo' END AS c, lpad(split_part(id3, 'd', 2), 12, '*') || '/' || regexp_extract(id2, 'id0*([0-9]+)', 1) AS t FROM '{CSV}') GROUP BY c"),
    ("null keys group together",
     f'scan "{ROOT}/testdata/nulls.csv" | agg n = count(), s = sum(v) by k',
     f"SELECT k, count(*), sum(v) FROM read_csv('{ROOT}/testdata/nulls.csv') GROUP BY k"),
]


def norm(v):
    if v is None or v == "":
        return None
    if isinstance(v, bool) or v in ("true", "false"):
        return float(v in (True, "true"))
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def rows_equal(xs, ys):
    key = lambda r: tuple((0, "") if v is None else ((1, v) if isinstance(v, float) else (2, v)) for v in r)
    xs, ys = sorted(xs, key=key), sorted(ys, key=key)
    return len(xs) == len(ys) and all(len(x) == len(y) and all(same(a, b) for a, b in zip(x, y)) for x, y in zip(xs, ys))


failures = 0
con = duckdb.connect()
for name, program, sql in CASES:
    extra = os.environ.get("DQ_ARGS", "").split()
    out = subprocess.run([DQ, "run", "-q", "--format", "csv", *extra, "-e", program], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"FAIL {name}: dq exited {out.returncode}: {out.stderr.strip()}")
        failures += 1
        continue
    dq_rows = [[norm(v) for v in r] for r in list(csv.reader(io.StringIO(out.stdout)))[1:]]
    duck_rows = [[norm(v) for v in r] for r in con.execute(sql).fetchall()]
    ok = rows_equal(dq_rows, duck_rows)
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(dq_rows)} rows")
    if not ok:
        print("  dq:    ", dq_rows[:3], "\n  duckdb:", duck_rows[:3])
print(f"{len(CASES) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
