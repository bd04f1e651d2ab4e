#!/usr/bin/env python3
"""Writes the small, deterministic fixtures in testdata/ (checked in).

Run from the repository root: python3 testdata/generate.py
The Parquet fixture is written by dq itself (see the end of this file).
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, text, newline="\n"):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline=newline) as f:
        f.write(text)


# sales.csv: 20 orders, hand-checkable totals.
regions = ["north", "south", "east", "west"]
products = ["apple", "pear", "plum"]
rows = ["order_id,date,region,product,price,qty"]
for i in range(1, 21):
    region = regions[i % 4]
    product = products[i % 3]
    price = [1.5, 2.0, 3.25][i % 3]
    qty = i % 7 + 1
    rows.append(f"{i},2024-01-{i:02d},{region},{product},{price},{qty}")
write("sales.csv", "\n".join(rows) + "\n")

# people/: two files with different column order, joined to depts.csv.
write("people/part-1.csv",
      "id,name,age,city,country,dept_id,salary\n"
      "1,Anna,34,Berlin,DE,10,5200\n"
      "2,Ben,22,Hamburg,DE,20,3100\n"
      "3,Chloé,41,Paris,FR,10,6100\n"
      "4,Dieter,29,Berlin,DE,30,4500\n"
      "5,Eva,57,Munich,DE,20,7000\n")
write("people/part-2.csv",
      "city,country,id,salary,name,age,dept_id\n"
      "Hamburg,DE,6,3900,Finn,31,10\n"
      "Lyon,FR,7,4100,Gaspard,26,30\n"
      "Munich,DE,8,5600,Hanna,45,10\n"
      "Berlin,DE,9,2800,Ilse,19,40\n")
write("depts.csv", "dept_id,dept_name\n10,Engineering\n20,Sales\n30,Support\n")

# prices.csv: list prices per product since a date, for as-of joins with sales.csv.
write("prices.csv",
      "product,since,list_price\n"
      "apple,2024-01-01,1.4\n"
      "apple,2024-01-10,1.5\n"
      "pear,2024-01-05,1.9\n"
      "pear,2024-01-15,2.1\n"
      "plum,2023-12-01,3.0\n"
      "plum,2024-01-12,3.25\n"
      "plum,2024-01-18,3.5\n")

# quoted.csv: quoted newlines, doubled quotes, delimiters in quotes, CRLF.
write("quoted.csv",
      'id,comment,amount\r\n'
      '1,"plain",10\r\n'
      '2,"two\r\nlines",20\r\n'
      '3,"has ""quotes"", and a comma",30\r\n'
      '4,"",40\r\n', newline="")

write("empty.csv", "")
write("header_only.csv", "a,b,c\n")

# nulls.csv: SQL null semantics (empty field = null).
write("nulls.csv",
      "k,v,s\n"
      "a,1,x\n"
      "a,,y\n"
      ",3,\n"
      "b,,z\n"
      ",5,w\n"
      "b,,\n")

write("utf8.csv",
      "name,city,greeting\n"
      "Zoë,Zürich,Grüezi\n"
      "José,São Paulo,Olá\n"
      "李雷,北京,你好\n"
      "Ørjan,Tromsø,Hei 👋\n")

# bad_rows.csv: line 4 has a missing field, line 6 an extra one.
write("bad_rows.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n12,13,14,15\n16,17,18\n")
# bad_values.csv: line 5 holds text in an integer column.
write("bad_values.csv", "id,score\n1,10\n2,20\n3,30\n4,oops\n5,50\n")

write("events.ndjson",
      '{"user":"u1","event":"click","ms":120,"ok":true}\n'
      '{"user":"u2","event":"view","ms":80,"ok":true}\n'
      '{"user":"u1","event":"view","ms":95,"ok":false}\n'
      '{"user":"u3","event":"click","ms":null,"ok":true}\n'
      '{"user":"u2","event":"click","ms":200,"ok":true}\n')

# orders.ndjson: nested objects (one null, one missing a field) and lists
# (one empty, one null).
write("orders.ndjson",
      '{"id":1,"customer":{"name":"Ana","city":"Lisbon"},"items":["tea","cake"]}\n'
      '{"id":2,"customer":{"name":"Ben","city":null},"items":["coffee"]}\n'
      '{"id":3,"customer":null,"items":[]}\n'
      '{"id":4,"customer":{"name":"Dee"},"items":null}\n')

write("words.txt",
      "the quick brown fox\n"
      "jumps over the lazy dog\n"
      "The dog sleeps\n"
      "and the fox runs\n")

# measurements/: many CSV files, one category-value table split across them.
rng = random.Random(42)
for f in range(6):
    lines = ["station,category,value"]
    for i in range(50):
        cat = ["alpha", "beta", "gamma"][(f + i) % 3]
        lines.append(f"s{f},{cat},{rng.randint(0, 1000) / 10}")
    write(f"measurements/day-{f + 1}.csv", "\n".join(lines) + "\n")

# trips.csv: source of trips.parquet (several row groups), 3000 rows.
lines = ["trip_id,vendor,distance_km,fare,passengers,pickup_day"]
for i in range(3000):
    vendor = ["acme", "bolt", "cabco"][i % 3]
    dist = round((i * 37 % 250) / 10 + 0.5, 1)
    fare = round(2.5 + dist * [1.8, 1.6, 2.1][i % 3] + (i % 5), 2)
    lines.append(f"{i},{vendor},{dist},{fare},{i % 4 + 1},2024-02-{i % 28 + 1:02d}")
write("trips.csv", "\n".join(lines) + "\n")

# matrix.npy: an 8 x 3 float64 array (C order, little-endian), written
# byte by byte as numpy.save would. Column c0 is 1..8, c1 twice that, c2
# is 100 + (row % 3): column means 4.5, 9 and 100.875.
import struct

values = [[r + 1.0, 2.0 * (r + 1), 100.0 + r % 3] for r in range(8)]
header = "{'descr': '<f8', 'fortran_order': False, 'shape': (8, 3), }"
header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
with open(os.path.join(HERE, "matrix.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(b"".join(struct.pack("<d", v) for row in values for v in row))

# weights.npy: a 3 x 2 float64 matrix for `matmul`: [[1, 0], [0, 1], [1, -1]].
weights = [[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]
header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }"
header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
with open(os.path.join(HERE, "weights.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(b"".join(struct.pack("<d", v) for row in weights for v in row))

# corrupt_pages.parquet is not generated here: it is the exact bytes on
# which polars' decoder asserted (a dq-written file of 200 rows with two
# bytes changed, from regressions::issue8_mutated_inputs_never_crash_the_readers),
# kept as the regression input of regressions::corrupt_parquet_pages_are_bad_data_not_a_crash.
