"""The h2o questions in SQL, shared by the DuckDB and DataFusion runners.

j1 and j2 join x with the tables `small` (N/1000 rows) and `big` (N rows),
keyed by h2o's id3 values (`benches/gen_right.py`), whose files the runners
take from the RIGHT_SMALL and RIGHT_BIG environment variables."""

QUERIES = {
    "q1": "SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1",
    "q2": "SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2",
    "q3": "SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3",
    "q4": "SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4",
    "q5": "SELECT id6, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM x GROUP BY id6",
    "q6": "SELECT id4, id5, quantile_cont(v3, 0.5) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id4, id5",
    "q7": "SELECT id3, max(v1) - min(v2) AS range_v1_v2 FROM x GROUP BY id3",
    "q8": "SELECT id6, v3 FROM (SELECT id6, v3, row_number() OVER (PARTITION BY id6 ORDER BY v3 DESC) AS rn FROM x) WHERE rn <= 2",
    "q9": "SELECT id2, id4, pow(corr(v1, v2), 2) AS r2 FROM x GROUP BY id2, id4",
    "q10": "SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS count FROM x GROUP BY id1, id2, id3, id4, id5, id6",
    "f1": "SELECT * FROM x WHERE v3 > 95",
    "s1": "SELECT * FROM x ORDER BY v3 DESC, id6",
    "j1": "SELECT id1, sum(v4) AS v4 FROM x JOIN small USING (id3) GROUP BY id1",
    "j2": "SELECT id1, sum(v4) AS v4 FROM x JOIN big USING (id3) GROUP BY id1",
}

# The join's right tables by name and the environment variable holding its file.
RIGHT_TABLES = {"small": "RIGHT_SMALL", "big": "RIGHT_BIG"}
