#!/usr/bin/env python3
"""Array reductions in dq beside NumPy (and Polars, Dask where installed).

    python3 benches/arrays.py [--big]

Generates float64 `.npy` arrays under benches/data/ once (not committed):
10,000,000 x 10 (800 MB) and 1,000,000 x 1,000 (8 GB is too much for a
quick run: 200,000 x 1,000, 1.6 GB), and with --big a 10,000,000 x 100
array (7.5 GB) reduced under `--memory-limit 1GB`. Each workload prints
dq's wall seconds and peak RSS as a whole process (/usr/bin/time), and
each peer's seconds timed inside its process around the computation
(np.load with mmap_mode="r" included: that is how a NumPy user reads an
array larger than memory). Every engine uses 2 threads. NumPy runs with
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (this machine sets them and they
slow current NumPy). Results are compared: dq's column means must match
NumPy's to 1e-9.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "benches", "data")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/dq-target"))
DQ = os.path.join(TARGET, "release", "dq")
os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)


def array(rows, cols):
    path = os.path.join(DATA, f"x_{rows}_{cols}.npy")
    if not os.path.exists(path):
        print(f"generating {path}", file=sys.stderr)
        out = np.lib.format.open_memmap(path, mode="w+", dtype="<f8", shape=(rows, cols))
        rng = np.random.default_rng(7)
        step = max(1, (64 << 20) // (cols * 8))
        for start in range(0, rows, step):
            n = min(step, rows - start)
            out[start:start + n] = rng.standard_normal((n, cols)) * 3 + 1e3
        out.flush()
        del out
    return path


def dq(program, *flags):
    """Runs dq; returns (seconds, peak RSS MiB, stdout)."""
    cmd = ["/usr/bin/time", "-f", "%e %M", DQ, "run", "-q", "--threads", "2", "-e", program, *flags]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    secs, kb = p.stderr.strip().splitlines()[-1].split()
    return float(secs), int(kb) / 1024, p.stdout


def timed(f):
    start = time.perf_counter()
    value = f()
    return time.perf_counter() - start, value


def peers(path, what):
    out = {}
    x = lambda: np.load(path, mmap_mode="r")
    if what == "mean_std":
        out["numpy"] = timed(lambda: (x().mean(axis=0), x().std(axis=0)))
    elif what == "sum_axis1":
        out["numpy"] = timed(lambda: x().sum(axis=1))
    try:
        import polars as pl

        if what == "mean_std":
            def run():
                df = pl.from_numpy(np.load(path, mmap_mode="r"))
                return df.select(pl.all().mean()), df.select(pl.all().std(ddof=0))
            os.environ["POLARS_MAX_THREADS"] = "2"
            out["polars"] = timed(run)
    except ImportError:
        pass
    try:
        import dask
        import dask.array as da

        dask.config.set(num_workers=2)
        if what == "mean_std":
            out["dask"] = timed(lambda: dask.compute(da.from_array(np.load(path, mmap_mode="r"), chunks=(1 << 17, -1)).mean(axis=0)))
    except ImportError:
        pass
    return out


def report(name, dq_result, peer_results):
    secs, rss, _ = dq_result
    best = min(peer_results.items(), key=lambda kv: kv[1][0]) if peer_results else None
    line = f"{name:<34} dq {secs:6.2f} s {rss:7.0f} MiB"
    for peer, (t, _) in sorted(peer_results.items()):
        line += f" | {peer} {t:6.2f} s"
    if best:
        line += f" | dq/best {secs / best[1][0]:.2f}"
    print(line, flush=True)


def main():
    os.makedirs(DATA, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    for rows, cols in [(10_000_000, 10), (200_000, 1000)]:
        path = array(rows, cols)
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # page cache
        result = dq(f'scan "{path}" | reduce mean, std_pop', "--format", "json")
        got = json.loads(result[2])
        want = np.load(path, mmap_mode="r").mean(axis=0)
        dq_means = np.array([got[0][f"c{c}"] for c in range(cols)])
        assert np.allclose(dq_means, want, rtol=1e-9), "dq and NumPy disagree"
        report(f"mean+std axis 0, {rows}x{cols}", result, peers(path, "mean_std"))
        if cols == 10:
            report(f"sum axis 1, {rows}x{cols}", dq(f'scan "{path}" | reduce sum axis=1', "-o", "/dev/null"),
                   peers(path, "sum_axis1"))
    if "--big" in sys.argv:
        path = array(10_000_000, 100)
        with_limit = dq(f'scan "{path}" | reduce mean, std_pop', "--memory-limit", "1GB", "-o", "/dev/null")
        report("mean+std 10000000x100 under 1GB", with_limit, {})


if __name__ == "__main__":
    main()
