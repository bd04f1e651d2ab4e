#!/usr/bin/env python3
"""Array workloads in dq beside NumPy (and Polars, Dask where installed).

    python3 benches/arrays.py [--big]

Generates float64 `.npy` arrays under benches/data/ once (not committed):
10,000,000 x 10 (800 MB), 200,000 x 1,000 and 20,000 x 10,000 (1.6 GB
each), and with --big a 10,000,000 x 100
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
# Where peers save a result that dq writes as a .npy file ("→ .npy"
# workloads): the same output on the same disk, timed with the compute.
SAVED = os.path.join(DATA, "peer_out.npy")
# Every engine at 2 threads (set before polars is imported).
os.environ["POLARS_MAX_THREADS"] = "2"
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
        out["numpy"] = timed(lambda: np.save(SAVED, x().sum(axis=1)))
    elif what == "gram":
        out["numpy"] = timed(lambda: x().T @ x())
    elif what == "standardize":
        out["numpy"] = timed(lambda: np.save(SAVED, (x() - x().mean(axis=0)) / x().std(axis=0)))
    elif what == "median":
        out["numpy"] = timed(lambda: np.median(x(), axis=0))
    elif what == "matmul":
        w = np.load(os.path.join(DATA, "w_10_4.npy"))
        out["numpy"] = timed(lambda: np.save(SAVED, x() @ w))
    try:
        import polars as pl

        if what == "mean_std":
            def run():
                df = pl.from_numpy(np.load(path, mmap_mode="r"))
                return df.select(pl.all().mean()), df.select(pl.all().std(ddof=0))
            out["polars"] = timed(run)
        if what == "median":
            out["polars"] = timed(lambda: pl.from_numpy(np.load(path, mmap_mode="r")).select(pl.all().median()))
    except ImportError:
        pass
    try:
        import dask
        import dask.array as da

        dask.config.set(num_workers=2)
        dx = lambda: da.from_array(np.load(path, mmap_mode="r"), chunks=(1 << 17, -1))
        if what == "mean_std":
            out["dask"] = timed(lambda: dask.compute(dx().mean(axis=0), dx().std(axis=0)))
        elif what == "sum_axis1":
            out["dask"] = timed(lambda: np.save(SAVED, dx().sum(axis=1).compute()))
        elif what == "gram":
            out["dask"] = timed(lambda: (dx().T @ dx()).compute())
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
    for rows, cols in [(10_000_000, 10), (200_000, 1000), (20_000, 10_000)]:
        path = array(rows, cols)
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # page cache
        result = dq(f'scan "{path}" | reduce mean, std_pop', "--format", "json")
        got = json.loads(result[2])
        want = np.load(path, mmap_mode="r").mean(axis=0)
        dq_means = np.array([got[0][f"c{c}"] for c in range(cols)])
        assert np.allclose(dq_means, want, rtol=1e-9), "dq and NumPy disagree"
        report(f"mean+std axis 0, {rows}x{cols}", result, peers(path, "mean_std"))
        if cols == 10:
            # "→ .npy": every engine writes its result to a .npy file.
            out = os.path.join(DATA, "out.npy")
            report(f"sum axis 1 → .npy, {rows}x{cols}", dq(f'scan "{path}" | reduce sum axis=1', "-o", out),
                   peers(path, "sum_axis1"))
            report(f"X.T @ X, {rows}x{cols}", dq(f'scan "{path}" | gram', "-o", "/dev/null"), peers(path, "gram"))
            np.save(os.path.join(DATA, "w_10_4.npy"), np.arange(40, dtype="<f8").reshape(10, 4) / 40)
            w = os.path.join(DATA, "w_10_4.npy")
            report(f"X @ W(10x4) → .npy, {rows}x{cols}", dq(f'scan "{path}" | matmul "{w}"', "-o", out),
                   peers(path, "matmul"))
            report(f"median axis 0, {rows}x{cols}", dq(f'scan "{path}" | reduce median', "-o", "/dev/null"),
                   peers(path, "median"))
            report(f"standardize → .npy, {rows}x{cols}",
                   dq(f'scan "{path}" | each (_ - mean(_)) / std_pop(_)', "-o", out), peers(path, "standardize"))
            os.remove(out)
            os.remove(SAVED)
    if "--big" in sys.argv:
        path = array(10_000_000, 100)
        with_limit = dq(f'scan "{path}" | reduce mean, std_pop', "--memory-limit", "1GB", "-o", "/dev/null")
        report("mean+std 10000000x100 under 1GB", with_limit, {})


if __name__ == "__main__":
    main()
