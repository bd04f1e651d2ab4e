"""A right table for the out-of-core join benchmark: N rows keyed by the
h2o `id3` values (`id0000000001`, ...), so that each left row of an h2o
table with N/K <= N distinct id3 values matches exactly one right row.

    python3 benches/gen_right.py 10000000 benches/data/right_10000000.csv
"""
import sys

n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("id3,v4\n")
    step = 1_000_000
    for start in range(1, n + 1, step):
        end = min(start + step, n + 1)
        f.write("".join(f"id{i:010d},{(i * 7919) % 1000 / 10}\n" for i in range(start, end)))
