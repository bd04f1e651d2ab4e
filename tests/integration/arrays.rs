//! NumPy `.npy` and Arrow IPC sources, and `.npy` output. Every array is
//! written by the test itself byte by byte (header and data, in C and
//! Fortran order, both byte orders), so what dq reads is checked against
//! values the test knows, never against dq's own writer.

use crate::util::*;

/// A `.npy` file: version 1.0 header padded to 64 bytes, then `data`.
fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let order = if fortran { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Element bytes of `values`, little- or big-endian.
fn f64_bytes(values: &[f64], big: bool) -> Vec<u8> {
    values.iter().flat_map(|v| if big { v.to_be_bytes() } else { v.to_le_bytes() }).collect()
}

/// `rows` x `cols` values in C order: v[r][c] = r * 10 + c + 0.5.
fn grid(rows: usize, cols: usize) -> Vec<f64> {
    (0..rows).flat_map(|r| (0..cols).map(move |c| (r * 10 + c) as f64 + 0.5)).collect()
}

/// The same matrix in Fortran (column-major) order.
fn fortran(values: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| values[r * cols + c])).collect()
}

/// The CSV dq should print for a `rows` x `cols` grid.
fn grid_csv(rows: usize, cols: usize) -> String {
    let mut out = (0..cols).map(|c| format!("c{c}")).collect::<Vec<_>>().join(",") + "\n";
    for r in 0..rows {
        let row: Vec<String> = (0..cols).map(|c| format!("{}", (r * 10 + c) as f64 + 0.5)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

#[test]
fn a_2d_array_reads_as_columns_in_c_and_fortran_order_and_either_byte_order_at_any_chunk_size() {
    let t = Tmp::new();
    let (rows, cols) = (7, 3);
    let v = grid(rows, cols);
    let files = [
        t.file("c_le.npy", npy("<f8", false, &[rows, cols], &f64_bytes(&v, false))),
        t.file("c_be.npy", npy(">f8", false, &[rows, cols], &f64_bytes(&v, true))),
        t.file("f_le.npy", npy("<f8", true, &[rows, cols], &f64_bytes(&fortran(&v, rows, cols), false))),
        t.file("f_be.npy", npy(">f8", true, &[rows, cols], &f64_bytes(&fortran(&v, rows, cols), true))),
    ];
    let want = grid_csv(rows, cols);
    for f in &files {
        for chunk in ["16MiB", "1", "50"] {
            let out = ok_args(&["run", "-e", &format!(r#"scan "{f}""#), "--chunk-size", chunk]);
            assert_eq!(out, want, "{f} at chunk size {chunk}");
        }
        // A projection reads only the columns asked for, in the order asked.
        let out = ok(&format!(r#"scan "{f}" | select c2, c0 | head 2"#));
        assert_eq!(out, "c2,c0\n2.5,0.5\n12.5,10.5\n", "{f}");
    }
}

#[test]
fn every_supported_dtype_reads_its_values_exactly() {
    let t = Tmp::new();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("|b1", vec![1, 0, 1], "true,false,true"),
        ("|i1", vec![0x80, 0xff, 0x7f], "-128,-1,127"),
        ("|u1", vec![0, 200, 255], "0,200,255"),
        ("<i2", [-300i16, 0, 32767].iter().flat_map(|v| v.to_le_bytes()).collect(), "-300,0,32767"),
        (">u2", [1u16, 513, 65535].iter().flat_map(|v| v.to_be_bytes()).collect(), "1,513,65535"),
        ("<i4", [-7i32, 1 << 30, 5].iter().flat_map(|v| v.to_le_bytes()).collect(), "-7,1073741824,5"),
        (">u4", [4_000_000_000u32, 0, 9].iter().flat_map(|v| v.to_be_bytes()).collect(), "4000000000,0,9"),
        (
            "<i8",
            [i64::MIN, -1, i64::MAX].iter().flat_map(|v| v.to_le_bytes()).collect(),
            "-9223372036854775808,-1,9223372036854775807",
        ),
        ("<u8", [u64::MAX, 0, 3].iter().flat_map(|v| v.to_le_bytes()).collect(), "18446744073709551615,0,3"),
        ("<f4", [1.5f32, -0.25, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect(), "1.5,-0.25,3.0"),
        (">f8", [1e300f64, -2.5, 0.125].iter().flat_map(|v| v.to_be_bytes()).collect(), "1e300,-2.5,0.125"),
    ];
    for (i, (descr, data, want)) in cases.iter().enumerate() {
        let f = t.file(&format!("d{i}.npy"), npy(descr, false, &[3], data));
        let out = ok(&format!(r#"scan "{f}""#));
        let got: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(out.lines().next(), Some("c0"), "{descr}");
        assert_eq!(got.join(","), *want, "{descr}");
    }
}

#[test]
fn column_means_and_stds_over_tiny_chunks_match_a_two_pass_computation_near_1e9() {
    let t = Tmp::new();
    let (rows, cols) = (5000, 4);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let values: Vec<f64> = (0..rows * cols)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1e9 + (x % 1_000_000) as f64 / 1000.0
        })
        .collect();
    let f = t.file("x.npy", npy("<f8", false, &[rows, cols], &f64_bytes(&values, false)));
    let program = format!(
        r#"scan "{f}" | agg {}"#,
        (0..cols)
            .map(|c| format!("m{c} = mean(c{c}), s{c} = std(c{c}), t{c} = sum(c{c})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let out = ok_args(&["run", "-e", &program, "--chunk-size", "1KB", "--threads", "2"]);
    let r = &records(&out)[0];
    for c in 0..cols {
        let col: Vec<f64> = (0..rows).map(|i| values[i * cols + c]).collect();
        let mean = col.iter().sum::<f64>() / rows as f64;
        let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (rows - 1) as f64;
        let got_mean = num(&r[&format!("m{c}")]);
        let got_std = num(&r[&format!("s{c}")]);
        assert!((got_mean - mean).abs() / mean < 1e-12, "mean c{c}: {got_mean} vs {mean}");
        // A naive sum of squares at 1e9 would be off by far more than this.
        assert!((got_std - var.sqrt()).abs() / var.sqrt() < 1e-6, "std c{c}: {got_std} vs {}", var.sqrt());
        close(num(&r[&format!("t{c}")]), col.iter().sum::<f64>());
    }
}

#[test]
fn a_glob_of_arrays_stacks_along_axis_0_and_a_width_mismatch_is_an_error_naming_both_files() {
    let t = Tmp::new();
    let a = grid(3, 2);
    t.file("parts/a.npy", npy("<f8", false, &[3, 2], &f64_bytes(&a, false)));
    t.file("parts/b.npy", npy("<f8", true, &[3, 2], &f64_bytes(&fortran(&a, 3, 2), false)));
    let glob = t.path("parts/*.npy");
    let out = ok(&format!(r#"scan "{}" | agg n = count(), s = sum(c1)"#, glob.display()));
    let want: f64 = 2.0 * (0..3).map(|r| (r * 10 + 1) as f64 + 0.5).sum::<f64>();
    assert_eq!(out, format!("n,s\n6,{want:?}\n"));

    t.file("parts/c.npy", npy("<f8", false, &[2, 3], &f64_bytes(&grid(2, 3), false)));
    let o = t.run(&["run", "-e", &format!(r#"scan "{}""#, glob.display())]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("c.npy") && o.stderr.contains("a.npy"), "{}", o.stderr);
    assert!(o.stderr.contains("cannot stack"), "{}", o.stderr);
}

#[test]
fn malformed_and_unsupported_arrays_are_errors_naming_the_file_and_the_problem() {
    let t = Tmp::new();
    let good = npy("<f8", false, &[4, 2], &f64_bytes(&grid(4, 2), false));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.npy", good[..good.len() - 5].to_vec(), "truncated"),
        ("notnpy.npy", b"a,b\n1,2\n".to_vec(), "not a .npy file"),
        ("empty.npy", Vec::new(), "empty"),
        ("complex.npy", npy("<c16", false, &[2], &[0; 32]), "complex"),
        ("object.npy", npy("|O", false, &[2], &[0; 16]), "objects"),
        ("dates.npy", npy("<M8[D]", false, &[2], &[0; 16]), "datetimes"),
        ("strings.npy", npy("<U3", false, &[2], &[0; 24]), "strings"),
        ("cube.npy", npy("<f8", false, &[2, 2, 2], &[0; 64]), "(2, 2, 2)"),
        ("cutheader.npy", good[..30].to_vec(), "truncated header"),
    ];
    for (name, bytes, what) in cases {
        let f = t.file(name, bytes);
        let o = run(&["run", "-e", &format!(r#"scan "{f}""#)]);
        assert_eq!(o.code, 3, "{name}: {}", o.stderr);
        assert!(o.stderr.contains(name), "{name}: {}", o.stderr);
        assert!(o.stderr.contains(what), "{name}: expected {what:?} in {}", o.stderr);
    }
}

/// Reads a `.npy` file the test's own way: (descr, shape text, data bytes).
fn parse_npy(bytes: &[u8]) -> (String, String, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "data not aligned");
    let dict = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    let field = |key: &str, end: char| {
        let at = dict.find(key).unwrap() + key.len();
        dict[at..at + dict[at..].find(end).unwrap() + 1].to_string()
    };
    let descr = field("'descr': '", '\'').trim_end_matches('\'').to_string();
    (descr, field("'shape': ", ')'), bytes[10 + len..].to_vec())
}

#[test]
fn write_npy_gives_numpy_a_c_order_array_of_the_columns_and_round_trips() {
    let t = Tmp::new();
    let (rows, cols) = (9, 3);
    let v = grid(rows, cols);
    let f = t.file("f.npy", npy(">f8", true, &[rows, cols], &f64_bytes(&fortran(&v, rows, cols), true)));
    let out = t.path("out.npy");
    let o = t.run(&["run", "-e", &format!(r#"scan "{f}""#), "-o", out.to_str().unwrap(), "--chunk-size", "40"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (descr, shape, data) = parse_npy(&std::fs::read(&out).unwrap());
    assert_eq!((descr.as_str(), shape.as_str()), ("<f8", "(9, 3)"));
    assert_eq!(data, f64_bytes(&v, false));
    // And back: what dq wrote reads as the same table.
    assert_eq!(ok(&format!(r#"scan "{}""#, out.display())), grid_csv(rows, cols));

    // One integer column: a 1-D int64 array; `write` in the program does the same.
    let csv = t.file("n.csv", "n,s\n3,a\n-4,b\n5,c\n");
    let one = t.path("one.npy");
    ok(&format!(r#"scan "{csv}" | select n | write "{}""#, one.display()));
    let (descr, shape, data) = parse_npy(&std::fs::read(&one).unwrap());
    assert_eq!((descr.as_str(), shape.as_str()), ("<i8", "(3,)"));
    assert_eq!(data, [3i64, -4, 5].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
}

#[test]
fn npy_output_refuses_text_columns_nulls_in_integers_and_stdout_leaving_no_file() {
    let t = Tmp::new();
    let csv = t.file("n.csv", "n,s\n3,a\n,b\n5,c\n");
    let cases = [
        (format!(r#"scan "{csv}""#), "column `s` is str"),
        (format!(r#"scan "{csv}" | select n"#), "column `n` has 1 null"),
    ];
    for (program, what) in cases {
        let o = t.run(&["run", "-e", &program, "-o", "bad.npy"]);
        assert_eq!(o.code, 5, "{program}: {}", o.stderr);
        assert!(o.stderr.contains(what), "{program}: {}", o.stderr);
        assert!(!t.listing().iter().any(|f| f.contains("bad") || f.contains(".dq-partial")), "{:?}", t.listing());
    }
    // A float column keeps its nulls as NaN, as NumPy would.
    let o = t.run(&["run", "-e", &format!(r#"scan "{csv}" | select x = n * 1.0"#), "-o", "nan.npy"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (_, _, data) = parse_npy(&std::fs::read(t.path("nan.npy")).unwrap());
    assert!(f64::from_le_bytes(data[8..16].try_into().unwrap()).is_nan());
    let o = t.run(&["run", "-e", &format!(r#"scan "{csv}" | select n"#), "--format", "npy"]);
    assert_eq!(o.code, 5, "{}", o.stderr);
    assert!(o.stderr.contains("regular file"), "{}", o.stderr);
}

#[test]
fn arrow_ipc_files_read_back_what_dq_writes_batch_by_batch() {
    let t = Tmp::new();
    let mut text = String::from("id,name,v\n");
    for i in 0..3000 {
        text.push_str(&format!("{i},n{},{}\n", i % 7, if i % 5 == 0 { String::new() } else { format!("{}.25", i) }));
    }
    let csv = t.file("in.csv", &text);
    let want = ok(&format!(r#"scan "{csv}""#));
    for ext in ["arrow", "ipc", "feather"] {
        let out = t.path(&format!("out.{ext}"));
        // A small chunk size makes many record batches.
        let o = t.run(&["run", "-e", &format!(r#"scan "{csv}""#), "-o", out.to_str().unwrap(), "--chunk-size", "4KB"]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(ok(&format!(r#"scan "{}""#, out.display())), want, "{ext}");
        let agg = ok(&format!(r#"scan "{}" | agg n = count(), s = sum(v) by name | sort name"#, out.display()));
        let direct = ok(&format!(r#"scan "{csv}" | agg n = count(), s = sum(v) by name | sort name"#));
        assert_eq!(agg, direct, "{ext}");
    }
    let plan = ok_args(&["explain", "-e", &format!(r#"scan "{}" | select v"#, t.path("out.arrow").display())]);
    assert!(plan.contains("tasks"), "{plan}");
    let bad = t.file("bad.arrow", "id,v\n1,2\n");
    let o = run(&["run", "-e", &format!(r#"scan "{bad}""#)]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("bad.arrow") && o.stderr.contains("not an Arrow IPC file"), "{}", o.stderr);
}

#[test]
fn profile_and_schema_describe_an_array_per_column() {
    let t = Tmp::new();
    let f = t.file("x.npy", npy("<f8", false, &[6, 2], &f64_bytes(&grid(6, 2), false)));
    let schema = ok_args(&["schema", &f]);
    assert!(schema.contains("c0") && schema.contains("c1") && schema.contains("float"), "{schema}");
    let o = run(&["profile", &f, "--format", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let p: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(p["rows"], 6, "{p}");
    let c1 = p["columns"].as_array().unwrap().iter().find(|c| c["name"] == "c1").unwrap();
    let number = |v: &serde_json::Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
    assert_eq!(number(&c1["min"]), Some(1.5), "{c1}");
    assert_eq!(number(&c1["max"]), Some(51.5), "{c1}");
}

/// A deterministic pseudo-random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The test's own reduction of some values: (count, sum, mean, sample var,
/// population var, min, max), nulls (None) skipped, by direct loops.
fn direct(values: &[Option<f64>]) -> (usize, f64, f64, f64, f64, f64, f64) {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    let n = v.len();
    let sum: f64 = v.iter().sum();
    let mean = sum / n as f64;
    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (n, sum, mean, ss / (n - 1) as f64, ss / n as f64, min, max)
}

/// Within 1e-6 relative: the test's own loops round too, and values near
/// 1e9 leave spreads about 7 significant digits; a naive sum of squares
/// would be off by orders of magnitude.
fn near(got: &str, want: f64, what: &str) {
    let g = num(got);
    assert!((g - want).abs() <= 1e-6 * want.abs().max(1.0), "{what}: got {got}, want {want}");
}

#[test]
fn reduce_along_each_axis_matches_direct_loops_with_nulls_over_tiny_chunks() {
    let t = Tmp::new();
    let (rows, cols) = (3000, 4);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut grid: Vec<Vec<Option<f64>>> = Vec::new();
    let mut text = (0..cols).map(|c| format!("x{c}")).collect::<Vec<_>>().join(",") + "\n";
    for _ in 0..rows {
        let row: Vec<Option<f64>> = (0..cols)
            .map(|_| match rng.next() % 10 {
                0 => None,
                r => Some(1e9 + r as f64 + (rng.next() % 1000) as f64 / 1000.0),
            })
            .collect();
        let cells: Vec<String> = row.iter().map(|v| v.map_or(String::new(), |x| format!("{x:?}"))).collect();
        text.push_str(&(cells.join(",") + "\n"));
        grid.push(row);
    }
    let f = t.file("m.csv", text);
    let stats = "count, sum, mean, var, var_pop, min, max";
    let args = |program: String| vec!["run".to_string(), "-e".into(), program, "--chunk-size".into(), "2KB".into()];
    let run_ok = |program: String| {
        let a = args(program);
        ok_args(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // axis 0: a row per statistic, a column per input column.
    let out = run_ok(format!(r#"scan "{f}" | reduce {stats}"#));
    let table = csv(&out);
    assert_eq!(table[0], ["stat", "x0", "x1", "x2", "x3"]);
    for c in 0..cols {
        let column: Vec<Option<f64>> = grid.iter().map(|r| r[c]).collect();
        let (n, sum, mean, var, var_pop, min, max) = direct(&column);
        for (row, want) in table[1..].iter().zip([n as f64, sum, mean, var, var_pop, min, max]) {
            near(&row[c + 1], want, &format!("{} of x{c}", row[0]));
        }
    }

    // axis 1: a column per statistic, a row per input row, in input order.
    let out = run_ok(format!(r#"scan "{f}" | reduce {stats} axis=1"#));
    let table = csv(&out);
    assert_eq!(table.len(), rows + 1);
    for (r, row) in grid.iter().enumerate() {
        let (n, sum, mean, var, var_pop, min, max) = direct(row);
        let got = &table[r + 1];
        assert_eq!(got[0], n.to_string(), "count of row {r}");
        if n >= 2 {
            for (i, want) in [sum, mean, var, var_pop, min, max].into_iter().enumerate() {
                near(&got[i + 1], want, &format!("stat {i} of row {r}"));
            }
        }
    }

    // all: one row over every value.
    let all: Vec<Option<f64>> = grid.iter().flatten().copied().collect();
    let (n, sum, mean, var, var_pop, min, max) = direct(&all);
    let out = run_ok(format!(r#"scan "{f}" | reduce {stats} axis=all"#));
    let r = &records(&out)[0];
    assert_eq!(r["count"], n.to_string());
    for (name, want) in [("sum", sum), ("mean", mean), ("var", var), ("var_pop", var_pop), ("min", min), ("max", max)] {
        near(&r[name], want, name);
    }
}

#[test]
fn reduce_keeps_integer_sums_exact_and_nan_spreads_as_in_numpy() {
    let t = Tmp::new();
    // Sums past 2^53 that a float would round.
    let big = 4_503_599_627_370_497i64; // 2^52 + 1
    let data: Vec<u8> = [big, big, big, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f = t.file("i.npy", npy("<i8", false, &[4], &data));
    let out = ok_args(&["run", "-e", &format!(r#"scan "{f}" | reduce sum, min, max"#), "--chunk-size", "1"]);
    assert_eq!(out, format!("stat,c0\nsum,{}\nmin,1\nmax,{big}\n", 3 * big as i128 + 1));

    let nan: Vec<u8> = [1.0f64, f64::NAN, 3.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f = t.file("nan.npy", npy("<f8", false, &[3], &nan));
    let out = ok(&format!(r#"scan "{f}" | reduce sum, max, count"#));
    assert_eq!(out, "stat,c0\nsum,NaN\nmax,NaN\ncount,3.0\n");
}

#[test]
fn row_reductions_keep_integer_sums_exact_and_spread_nan_per_row() {
    let t = Tmp::new();
    let big = 9_007_199_254_740_993i64; // 2^53 + 1: no float holds it
    let data: Vec<u8> = [big, big, big, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f = t.file("i.npy", npy("<i8", false, &[2, 2], &data));
    let out = ok(&format!(r#"scan "{f}" | reduce sum, min, max, mean axis=1"#));
    assert_eq!(
        out,
        format!(
            "sum,min,max,mean\n{},{big},{big},{:?}\n{},1,{big},{:?}\n",
            2 * big as i128,
            big as f64,
            big as i128 + 1,
            (big as i128 + 1) as f64 / 2.0
        )
    );

    let nan: Vec<u8> = [1.0f64, f64::NAN, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f = t.file("nan.npy", npy("<f8", false, &[2, 2], &nan));
    let out = ok(&format!(r#"scan "{f}" | reduce sum, max, min axis=1"#));
    assert_eq!(out, "sum,max,min\nNaN,NaN,NaN\n7.0,4.0,3.0\n");
}

#[test]
fn a_wide_c_order_array_reads_every_column_in_place_at_any_chunk_size() {
    // 1,100 columns: the reader transposes 32 columns at a time, so this
    // covers whole blocks and a partial last one; the explain line elides.
    let t = Tmp::new();
    let (rows, cols) = (45, 1100);
    let f = t.file("wide.npy", npy("<f8", false, &[rows, cols], &f64_bytes(&grid(rows, cols), false)));
    for chunk in ["16MiB", "100KB", "1"] {
        let run = |program: String| ok_args(&["run", "-e", &program, "--chunk-size", chunk]);
        let sums = csv(&run(format!(r#"scan "{f}" | reduce sum"#)));
        assert_eq!(sums[1].len(), cols + 1);
        for c in 0..cols {
            let want: f64 = (0..rows).map(|r| (r * 10 + c) as f64 + 0.5).sum();
            assert_eq!(num(&sums[1][c + 1]), want, "sum of c{c} at chunk size {chunk}");
        }
        let per_row = csv(&run(format!(r#"scan "{f}" | reduce sum, max axis=1"#)));
        for r in 0..rows {
            let want: f64 = (0..cols).map(|c| (r * 10 + c) as f64 + 0.5).sum();
            assert_eq!(num(&per_row[r + 1][0]), want, "sum of row {r} at chunk size {chunk}");
            assert_eq!(num(&per_row[r + 1][1]), (r * 10 + cols - 1) as f64 + 0.5, "max of row {r}");
        }
    }
    let plan = ok_args(&["explain", "-e", &format!(r#"scan "{f}" | reduce mean"#)]);
    assert!(plan.contains("c9, …, c1099 (1100 columns)"), "{plan}");
}

/// The test's own quantile: sort, then NumPy's linear interpolation.
fn sorted_quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[test]
fn medians_and_percentiles_along_each_axis_match_a_sort_with_nulls_over_tiny_chunks() {
    let t = Tmp::new();
    let (rows, cols) = (2001, 3);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut grid: Vec<Vec<Option<f64>>> = Vec::new();
    let mut text = "a,b,c\n".to_string();
    for _ in 0..rows {
        let row: Vec<Option<f64>> = (0..cols)
            .map(|_| if rng.next().is_multiple_of(9) { None } else { Some((rng.next() % 5000) as f64 / 8.0 - 100.0) })
            .collect();
        let cells: Vec<String> = row.iter().map(|v| v.map_or(String::new(), |x| format!("{x:?}"))).collect();
        text.push_str(&(cells.join(",") + "\n"));
        grid.push(row);
    }
    let f = t.file("m.csv", text);
    let run = |program: String| ok_args(&["run", "-e", &program, "--chunk-size", "1KB"]);
    let quantiles = [("median", 0.5), ("p0", 0.0), ("p10", 0.1), ("p99", 0.99), ("p100", 1.0)];
    let stats = quantiles.map(|(n, _)| n).join(", ");

    let table = csv(&run(format!(r#"scan "{f}" | reduce {stats}, count"#)));
    for c in 0..cols {
        let column: Vec<f64> = grid.iter().filter_map(|r| r[c]).collect();
        for (row, (name, q)) in table[1..].iter().zip(quantiles) {
            assert_eq!(row[0], name);
            near(&row[c + 1], sorted_quantile(&column, q), &format!("{name} of column {c}"));
        }
        assert_eq!(num(&table[6][c + 1]), column.len() as f64, "count beside the quantiles");
    }

    let table = csv(&run(format!(r#"scan "{f}" | reduce {stats} axis=1"#)));
    for (r, row) in grid.iter().enumerate() {
        let values: Vec<f64> = row.iter().flatten().copied().collect();
        for (i, (name, q)) in quantiles.iter().enumerate() {
            let got = &table[r + 1][i];
            if values.is_empty() {
                assert_eq!(got, "", "{name} of an all-null row {r}");
            } else {
                near(got, sorted_quantile(&values, *q), &format!("{name} of row {r}"));
            }
        }
    }

    let every: Vec<f64> = grid.iter().flatten().flatten().copied().collect();
    let r = &records(&run(format!(r#"scan "{f}" | reduce median, p90, sum axis=all"#)))[0];
    near(&r["median"], sorted_quantile(&every, 0.5), "median of everything");
    near(&r["p90"], sorted_quantile(&every, 0.9), "p90 of everything");
    near(&r["sum"], every.iter().sum(), "sum beside them");
}

#[test]
fn reduce_refuses_text_columns_unknown_statistics_and_axes() {
    let cases = [
        (r#"scan "testdata/sales.csv" | reduce mean"#, "`date` is date"),
        (r#"scan "testdata/matrix.npy" | reduce meen"#, "mean"),
        (r#"scan "testdata/matrix.npy" | reduce mean axis=2"#, "axis=2"),
        (r#"scan "testdata/matrix.npy" | reduce mean, mean"#, "twice"),
        (r#"scan "testdata/matrix.npy" | reduce p101"#, "`p101`"),
    ];
    for (program, what) in cases {
        fails(&["run", "-e", program], 2, what);
    }
}

#[test]
fn an_array_ten_times_the_memory_limit_reduces_with_peak_rss_near_the_limit() {
    let t = Tmp::new();
    let (rows, cols) = (2_500_000usize, 10usize); // 200 MB of float64
    let mut data = Vec::with_capacity(rows * cols * 8);
    let mut sums = vec![0f64; cols];
    for r in 0..rows {
        for (c, sum) in sums.iter_mut().enumerate() {
            let v = ((r * 7 + c * 13) % 1000) as f64;
            *sum += v;
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    let f = t.file("big.npy", npy("<f8", false, &[rows, cols], &data));
    drop(data);
    let limit_mib = 20u64;
    let bar = (limit_mib << 20) * 12 / 10 + (50 << 20);
    let program = format!(r#"scan "{f}" | reduce sum, std"#);
    let (code, rss) =
        peak_rss(&["run", "-e", &program, "--memory-limit", &format!("{limit_mib}MiB"), "-o", "/dev/null"]);
    assert_eq!(code, 0);
    assert!(rss <= bar, "peak RSS {} MiB over the {} MiB bar", rss >> 20, bar >> 20);
    let out = ok_args(&["run", "-e", &format!(r#"scan "{f}" | reduce sum"#), "--memory-limit", "20MiB"]);
    let row = &csv(&out)[1];
    for (c, want) in sums.iter().enumerate() {
        near(&row[c + 1], *want, &format!("sum of c{c}"));
    }
}

#[test]
#[allow(clippy::needless_range_loop)] // i and j index the matrix and the columns alike
fn gram_cov_and_corr_match_direct_sums_over_many_chunks_near_1e9() {
    let t = Tmp::new();
    let (rows, cols) = (4000, 3);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let values: Vec<f64> = (0..rows * cols)
        .map(|i| if i % cols == 0 { 1e9 } else { 0.0 } + (rng.next() % 10_000) as f64 / 100.0)
        .collect();
    let f = t.file("x.npy", npy("<f8", false, &[rows, cols], &f64_bytes(&values, false)));
    let col = |c: usize| -> Vec<f64> { (0..rows).map(|r| values[r * cols + c]).collect() };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for verb in ["gram", "cov", "corr"] {
        let out = ok_args(&["run", "-e", &format!(r#"scan "{f}" | {verb}"#), "--chunk-size", "3KB"]);
        let table = csv(&out);
        assert_eq!(table[0], ["c0", "c1", "c2"], "{verb}");
        assert_eq!(table.len(), cols + 1, "{verb}");
        for i in 0..cols {
            for j in 0..cols {
                let (a, b) = (col(i), col(j));
                let (ma, mb) = (mean(&a), mean(&b));
                let dev = |x: &[f64], m: f64| -> Vec<f64> { x.iter().map(|v| v - m).collect() };
                let dot = |x: &[f64], y: &[f64]| -> f64 { x.iter().zip(y).map(|(p, q)| p * q).sum() };
                let (da, db) = (dev(&a, ma), dev(&b, mb));
                let want = match verb {
                    "gram" => dot(&a, &b),
                    "cov" => dot(&da, &db) / (rows - 1) as f64,
                    _ => dot(&da, &db) / (dot(&da, &da) * dot(&db, &db)).sqrt(),
                };
                let got = num(&table[i + 1][j]);
                assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "{verb}[{i}][{j}]: {got} vs {want}");
            }
        }
    }
}

#[test]
fn matmul_multiplies_every_row_and_refuses_a_matrix_of_the_wrong_shape() {
    let t = Tmp::new();
    let (rows, k, m) = (500, 3, 2);
    let x: Vec<f64> = (0..rows * k).map(|i| ((i * 31) % 97) as f64 - 40.0).collect();
    let w: Vec<f64> = (0..k * m).map(|i| i as f64 * 0.5 - 1.0).collect();
    let fx = t.file("x.npy", npy("<f8", false, &[rows, k], &f64_bytes(&x, false)));
    let fw = t.file("w.npy", npy("<f8", true, &[k, m], &f64_bytes(&fortran(&w, k, m), false)));
    let out = ok_args(&["run", "-e", &format!(r#"scan "{fx}" | matmul "{fw}""#), "--chunk-size", "1KB"]);
    let table = csv(&out);
    assert_eq!(table[0], ["c0", "c1"]);
    for r in 0..rows {
        for j in 0..m {
            let want: f64 = (0..k).map(|i| x[r * k + i] * w[i * m + j]).sum();
            assert_eq!(num(&table[r + 1][j]), want, "row {r} col {j}");
        }
    }
    let o = run(&["run", "-e", &format!(r#"scan "{fx}" | select c0, c1 | matmul "{fw}""#)]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("shapes do not fit") && o.stderr.contains("(3, 2)"), "{}", o.stderr);
}

#[test]
fn cols_a_to_b_selects_columns_by_position_as_an_array_slice() {
    let t = Tmp::new();
    let (rows, cols) = (4, 300);
    let f = t.file("w.npy", npy("<f8", false, &[rows, cols], &f64_bytes(&grid(rows, cols), false)));
    let out = ok(&format!(r#"scan "{f}" | cols 298:400 | rows 1:3"#));
    assert_eq!(out, "c298,c299\n308.5,309.5\n318.5,319.5\n");
    let out = ok(&format!(r#"scan "{f}" | cols :2 | head 1"#));
    assert_eq!(out, "c0,c1\n0.5,1.5\n");
    fails(&["run", "-e", &format!(r#"scan "{f}" | cols 300:301"#)], 2, "selects no columns: the input has 300");
}

#[test]
fn each_broadcasts_a_row_vector_one_value_per_column() {
    // matrix.npy rows are (i, 2i, 100 + (i - 1) % 3) for i = 1..8.
    let out = ok(r#"scan "testdata/matrix.npy" | each (_ - [1, 2, 100]) * [1, 0.5, 2] | head 3"#);
    assert_eq!(out, "c0,c1,c2\n0.0,0.0,0.0\n1.0,1.0,2.0\n2.0,2.0,4.0\n");
    // An item may itself use the column: the first column scaled by its max.
    let out = ok(r#"scan "testdata/matrix.npy" | each _ / [max(_), 1, 1] | head 2"#);
    assert_eq!(out, "c0,c1,c2\n0.125,2.0,100.0\n0.25,4.0,101.0\n");
    for (program, what) in [
        (
            r#"scan "testdata/matrix.npy" | each _ - [1, 2]"#,
            "the vector has 2 values but `each` applies to 3 numeric columns",
        ),
        (r#"scan "testdata/matrix.npy" | derive x = [1, 2]"#, "belongs inside `each`"),
    ] {
        fails(&["run", "-e", program], 2, what);
    }
}

#[test]
fn each_standardizes_in_two_passes_and_leaves_other_columns_alone() {
    let t = Tmp::new();
    let mut text = String::from("id,a,b\n");
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..2000 {
        let (x, y) = (1e9 + ((i * 7919) % 1000) as f64 / 10.0, (i % 13) as f64 - 6.0);
        text.push_str(&format!("k{i},{x:?},{y:?}\n"));
        a.push(x);
        b.push(y);
    }
    let f = t.file("t.csv", text);
    let out = ok_args(&["run", "-e", &format!(r#"scan "{f}" | each (_ - mean(_)) / std(_)"#), "--chunk-size", "4KB"]);
    let table = csv(&out);
    assert_eq!(table[0], ["id", "a", "b"]);
    for (c, values) in [(1, &a), (2, &b)] {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let std = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (values.len() - 1) as f64).sqrt();
        for (r, v) in values.iter().enumerate() {
            assert_eq!(table[r + 1][0], format!("k{r}"), "rows keep their order");
            near(&table[r + 1][c], (v - mean) / std, &format!("row {r} col {c}"));
        }
    }
    // Without aggregates it is one streamed pass; math functions apply too.
    let out = ok(&format!(r#"scan "{f}" | each abs(_) * 2 | head 2"#));
    assert_eq!(csv(&out)[2][2], format!("{:?}", (b[1] * 2.0).abs()));
    let o = run(&["run", "-e", &format!(r#"scan "{f}" | each a * 2"#)]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("`_`"), "{}", o.stderr);
}
