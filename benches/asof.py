"""As-of join side by side: dq, DuckDB and Polars, 2 threads each.

10M trades (100 symbols, times 0..10^9) each take the last of 1M quotes of
their symbol at or before their time (quote times are distinct, so every
engine must pick the same quote). Each engine answers
`count of matched trades, sum of the matched prices`; they must agree.
dq is timed as a whole process (`/usr/bin/time`), the peers inside their
process around the query (reading the Parquet files included).

    python3 benches/asof.py [DQ_BINARY]

The data goes to benches/data/asof_{trades,quotes}.parquet (git-ignored).
"""
import os
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
TRADES = os.path.join(DATA, "asof_trades.parquet")
QUOTES = os.path.join(DATA, "asof_quotes.parquet")
DQ = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "target", "release", "dq")


def generate():
    if os.path.exists(TRADES) and os.path.exists(QUOTES):
        return
    os.makedirs(DATA, exist_ok=True)
    rng = np.random.default_rng(7)
    n, m = 10_000_000, 1_000_000
    trades = pa.table({
        "id": np.arange(n, dtype=np.int64),
        "sym": rng.integers(0, 100, n, dtype=np.int64),
        "t": rng.integers(0, 1_000_000_000, n, dtype=np.int64),
        "qty": rng.integers(1, 100, n, dtype=np.int64),
    })
    quotes = pa.table({
        "sym": rng.integers(0, 100, m, dtype=np.int64),
        "qt": rng.choice(1_000_000_000, m, replace=False).astype(np.int64),
        "price": rng.integers(1, 10_000, m, dtype=np.int64),
    })
    pq.write_table(trades, TRADES, compression="zstd")
    pq.write_table(quotes, QUOTES, compression="zstd")


def run_dq():
    program = (f'scan "{TRADES}" | join "{QUOTES}" on sym asof t = qt '
               f'| agg n = count(), s = sum(price)')
    log = "/tmp/dq_asof_time.log"
    out = subprocess.run(["/usr/bin/time", "-v", "-o", log, DQ, "run", "--threads", "2", "-e", program],
                         check=True, capture_output=True, text=True).stdout
    text = open(log).read()
    wall = [l for l in text.splitlines() if "Elapsed (wall clock)" in l][0].split()[-1]
    parts = [float(p) for p in wall.split(":")]
    seconds = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) == 3 else 0)
    rss = int([l for l in text.splitlines() if "Maximum resident" in l][0].split()[-1]) // 1024
    n, s = out.strip().splitlines()[1].split(",")
    return seconds, rss, (int(n), int(s))


def run_duckdb():
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    start = time.perf_counter()
    n, s = con.execute(
        f"SELECT count(*), sum(price) FROM read_parquet('{TRADES}') t "
        f"ASOF JOIN read_parquet('{QUOTES}') q ON t.sym = q.sym AND t.t >= q.qt").fetchone()
    return time.perf_counter() - start, (int(n), int(s))


def run_polars():
    os.environ["POLARS_MAX_THREADS"] = "2"
    import polars as pl
    start = time.perf_counter()
    trades = pl.scan_parquet(TRADES).sort("t")
    quotes = pl.scan_parquet(QUOTES).sort("qt")
    out = (trades.join_asof(quotes, left_on="t", right_on="qt", by="sym", strategy="backward")
           .filter(pl.col("price").is_not_null())
           .select(pl.len().alias("n"), pl.col("price").sum().alias("s")).collect())
    return time.perf_counter() - start, (int(out["n"][0]), int(out["s"][0]))


def main():
    generate()
    dq_s, dq_rss, dq_ans = run_dq()
    # Each peer in its own process, so that thread settings and memory stay apart.
    peers = {}
    for name in ["duckdb", "polars"]:
        code = (f"import sys; sys.path.insert(0, {HERE!r}); import asof; "
                f"t, a = asof.run_{name}(); print(t, a[0], a[1])")
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
        t, n, s = out.split()[-3:]
        peers[name] = (float(t), (int(n), int(s)))
    print(f"dq      {dq_s:6.2f} s  peak RSS {dq_rss} MB  answer {dq_ans}")
    for name, (t, ans) in peers.items():
        print(f"{name:7} {t:6.2f} s  answer {ans}  {'agrees' if ans == dq_ans else 'DIFFERS'}")
    best = min(t for t, _ in peers.values())
    print(f"dq / best peer: {dq_s / best:.2f}")


if __name__ == "__main__":
    main()
