//! Input formats and awkward files: quoting, CRLF, globs, compression,
//! stdin, Parquet row groups, NDJSON, options — and chunking that must not
//! change results.

use std::collections::HashMap;

use crate::util::*;

#[test]
fn quoted_newlines_and_crlf_survive_any_chunk_size() {
    let whole = ok(r#"scan "testdata/quoted.csv""#);
    let r = records(&whole);
    assert_eq!(r.len(), 4);
    assert_eq!(r[1]["comment"], "two\r\nlines");
    assert_eq!(r[2]["comment"], "has \"quotes\", and a comma");
    assert_eq!(r[3]["amount"], "40");
    for size in ["1", "7", "13", "40"] {
        let chunked = ok_args(&["run", "-e", r#"scan "testdata/quoted.csv""#, "--chunk-size", size]);
        assert_eq!(chunked, whole, "chunk size {size}");
    }
}

#[test]
fn many_quoted_records_split_across_threads_match_a_direct_count() {
    let t = Tmp::new();
    let mut text = String::from("id,note,v\r\n");
    let mut total = 0i64;
    for i in 0..30_000i64 {
        let note = if i % 3 == 0 { format!("\"line\r\nbreak, \"\"{i}\"\"\"") } else { format!("n{i}") };
        text.push_str(&format!("{i},{note},{}\r\n", i % 11));
        total += i % 11;
    }
    let f = t.file("q.csv", text);
    let out = ok_args(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | agg n = count(), s = sum(v), m = count(note)"#),
        "--chunk-size",
        "8KB",
        "--threads",
        "2",
    ]);
    assert_eq!(out, format!("n,s,m\n30000,{total},30000\n"));
}

#[test]
fn glob_unifies_columns_by_name_across_orders() {
    let out = ok(r#"scan "testdata/people/*.csv" | select id, name, age, city | sort id"#);
    let r = records(&out);
    assert_eq!(r.len(), 9);
    assert_eq!(
        (r[5]["id"].as_str(), r[5]["name"].as_str(), r[5]["age"].as_str(), r[5]["city"].as_str()),
        ("6", "Finn", "31", "Hamburg")
    );
}

#[test]
fn glob_with_different_columns_and_types() {
    let t = Tmp::new();
    t.file("d/a.csv", "x,y\n1,a\n");
    t.file("d/b.csv", "z,x\ntrue,2.5\n");
    let pattern = format!("{}/d/*.csv", t.dir.path().display());
    let out = ok(&format!(r#"scan "{pattern}""#));
    // x widens to float; y and z are null where a file lacks them.
    assert_eq!(out, "x,y,z\n1.0,a,\n2.5,,true\n");
}

#[test]
fn empty_and_header_only_files() {
    assert_eq!(ok(r#"scan "testdata/empty.csv" | count"#), "count\n0\n");
    assert_eq!(ok(r#"scan "testdata/header_only.csv""#), "a,b,c\n");
    assert_eq!(ok(r#"scan "testdata/header_only.csv" | agg n = count()"#), "n\n0\n");
}

#[test]
fn utf8_text_passes_through() {
    let out = ok(r#"scan "testdata/utf8.csv" | derive n = len(name) | select name, city, n"#);
    assert_eq!(out, "name,city,n\nZoë,Zürich,3\nJosé,São Paulo,4\n李雷,北京,2\nØrjan,Tromsø,5\n");
}

#[test]
fn compressed_inputs_equal_the_plain_file() {
    let plain = ok(r#"scan "testdata/sales.csv" | sort order_id"#);
    assert_eq!(ok(r#"scan "testdata/sales.csv.zst" | sort order_id"#), plain);
    assert_eq!(ok(r#"scan "testdata/sales.csv.gz" | sort order_id"#), plain);
    // Tiny chunks force many stream chunks.
    let small = ok_args(&["run", "-e", r#"scan "testdata/sales.csv.zst" | sort order_id"#, "--chunk-size", "16"]);
    assert_eq!(small, plain);
}

#[test]
fn stdin_is_a_source() {
    let data = std::fs::read(root().join("testdata/sales.csv")).unwrap();
    let o = run_in(&root(), &["run", "-e", r#"scan "-" | agg s = sum(qty)"#], Some(&data));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "s\n83\n");
}

#[test]
fn parquet_row_groups_are_pruned_and_results_match_csv() {
    let q = |src: &str| {
        records(&ok(&format!(
            r#"scan "{src}" | filter trip_id >= 2900 and vendor == "bolt" | agg n = count(), f = sum(fare)"#
        )))[0]
            .clone()
    };
    let (p, c) = (q("testdata/trips.parquet"), q("testdata/trips.csv"));
    assert_eq!(p["n"], c["n"]);
    close(num(&p["f"]), num(&c["f"]));
    let plan = ok_args(&["explain", "-e", r#"scan "testdata/trips.parquet" | filter trip_id >= 2900"#]);
    assert!(plan.contains("row groups: 24 of 25 pruned by statistics"), "{plan}");
}

#[test]
fn parquet_and_csv_agree_on_a_group_by() {
    let q = |src: &str| {
        ok(&format!(
            r#"scan "{src}" | agg n = count(), km = sum(distance_km), p = max(passengers) by vendor | sort vendor"#
        ))
    };
    let a = records(&q("testdata/trips.parquet"));
    let b = records(&q("testdata/trips.csv"));
    assert_eq!(a.len(), 3);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x["vendor"], &x["n"], &x["p"]), (&y["vendor"], &y["n"], &y["p"]));
        close(num(&x["km"]), num(&y["km"]));
    }
}

#[test]
fn ndjson_source() {
    let out = ok(r#"scan "testdata/events.ndjson" | filter ok | agg n = count() by user | sort user"#);
    assert_eq!(out, "user,n\nu1,1\nu2,2\nu3,1\n");
}

#[test]
fn csv_options() {
    let t = Tmp::new();
    let f = t.file("semi.txt", "a;b\n1;NA\n2;x\n");
    assert_eq!(ok(&format!(r#"scan "{f}" (format=csv, delimiter=";", null=["NA"]) | filter b is null"#)), "a,b\n1,\n");
    let f = t.file("nohead.csv", "1,2\n3,4\n");
    assert_eq!(ok(&format!(r#"scan "{f}" (header=false) | agg s = sum(column_2)"#)), "s\n6\n");
    let f = t.file("ids.csv", "id,v\n007,1\n010,2\n");
    assert_eq!(ok(&format!(r#"scan "{f}" (schema=(id: str))"#)), "id,v\n007,1\n010,2\n");
    let f = t.file("q.csv", "a,b\n'x,y',1\n");
    assert_eq!(ok(&format!(r#"scan "{f}" (quote="'")"#)), "a,b\n\"x,y\",1\n");
    let f = t.file("t.tsv", "a\tb\n1\t2\n");
    assert_eq!(ok(&format!(r#"scan "{f}""#)), "a,b\n1,2\n");
}

#[test]
fn infer_rows_controls_type_inference() {
    let t = Tmp::new();
    let f = t.file("late.csv", "id,v\n1,1\n2,2\n3,x\n");
    // Inference over 2 rows says int; the third row is then a bad record.
    let o = run(&["run", "-e", &format!(r#"scan "{f}" (infer_rows=2)"#)]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains(":4: cannot read \"x\" as int in column `v`"), "{}", o.stderr);
    assert_eq!(ok(&format!(r#"scan "{f}" | count"#)), "count\n3\n");
}

#[test]
fn large_csv_uses_many_chunks_and_matches_a_direct_computation() {
    let t = Tmp::new();
    let mut text = String::from("k,v\n");
    let mut sums = [0i64; 13];
    for i in 0..200_000i64 {
        let k = (i * 7919) % 13;
        text.push_str(&format!("{k},{}\n", i % 1000));
        sums[k as usize] += i % 1000;
    }
    let f = t.file("big.csv", text);
    let out = ok_args(&["run", "-e", &format!(r#"scan "{f}" | agg s = sum(v) by k | sort k"#), "--chunk-size", "64KB"]);
    let got: Vec<i64> = column(&out, "s").iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(got, sums.to_vec());
    let stats = run(&["run", "-e", &format!(r#"scan "{f}" | count"#), "--chunk-size", "64KB", "--stats=json"]);
    let chunks = stats_json(&stats.stderr)["stages"][0]["chunks"].as_u64().unwrap();
    assert!(chunks >= 15, "many chunks expected: {}", stats.stderr);
}

#[test]
fn text_files_are_lines() {
    assert_eq!(ok(r#"scan "testdata/words.txt" | count"#), "count\n4\n");
    assert_eq!(ok(r#"scan "testdata/words.txt" | head 1"#), "line\nthe quick brown fox\n");
}

#[test]
fn output_formats_on_stdout() {
    let q = r#"scan "testdata/sales.csv" | select order_id, region | head 2"#;
    assert_eq!(ok_args(&["run", "-e", q, "--format", "tsv"]), "order_id\tregion\n1\tsouth\n2\teast\n");
    assert_eq!(
        ok_args(&["run", "-e", q, "--format", "ndjson"]),
        "{\"order_id\":1,\"region\":\"south\"}\n{\"order_id\":2,\"region\":\"east\"}\n"
    );
    assert_eq!(
        ok_args(&["run", "-e", q, "--format", "json"]),
        "[\n{\"order_id\":1,\"region\":\"south\"},\n{\"order_id\":2,\"region\":\"east\"}\n]\n"
    );
    assert_eq!(
        ok_args(&["run", "-e", q, "--format", "markdown"]),
        "| order_id | region |\n| --- | --- |\n| 1 | south |\n| 2 | east |\n"
    );
    let table = ok_args(&["run", "-e", q, "--format", "table"]);
    assert!(table.contains("south") && table.contains("2 rows × 2 columns"), "{table}");
}

#[test]
fn schema_and_head_commands() {
    assert_eq!(
        ok_args(&["schema", "testdata/sales.csv", "--format", "csv"]),
        "column,type\norder_id,int\ndate,date\nregion,str\nproduct,str\nprice,float\nqty,int\n"
    );
    assert_eq!(
        ok_args(&["head", "testdata/sales.csv", "-n", "1", "--format", "csv"]),
        "order_id,date,region,product,price,qty\n1,2024-01-01,south,pear,2.0,2\n"
    );
}

#[test]
fn shortcut_forms_run_programs() {
    assert_eq!(ok_args(&[r#"scan "testdata/sales.csv" | count"#]), "count\n20\n");
    let out = ok_args(&["queries/mean_by_category.dq"]);
    assert_eq!(column(&out, "category"), vec!["alpha", "beta", "gamma"]);
    // Any other existing file is a program file, whatever its extension
    // (a data file, `.csv` `.parquet` …, is shown instead: tests/shell.rs).
    let t = Tmp::new();
    let program = t.file("q.txt", format!(r#"scan "{}/testdata/sales.csv" | count"#, root().display()));
    assert_eq!(ok_args(&[&program]), "count\n20\n");
    // Without a program, `run` is a usage error.
    assert_eq!(run(&["run"]).code, 2);
}

#[test]
fn small_parquet_row_groups_are_read_together() {
    // trips.parquet holds 25 row groups of 120 rows: one task reads them all.
    let plan = ok_args(&["explain", "-e", r#"scan "testdata/trips.parquet" | count"#]);
    assert!(plan.contains("→ 1 task\n"), "{plan}");
    // With pruning, the surviving groups still form one contiguous task.
    let plan = ok_args(&["explain", "-e", r#"scan "testdata/trips.parquet" | filter trip_id >= 2700"#]);
    assert!(plan.contains("row groups: 22 of 25 pruned") && plan.contains("→ 1 task\n"), "{plan}");
}

#[test]
fn iso_dates_and_datetimes_are_inferred() {
    let t = Tmp::new();
    let f = t.file("ts.csv", "d,ts,iso,not_a_date\n2024-02-29,2024-02-29 13:45:00,2024-02-29T13:45:00,2024-99-99\n2023-12-31,2023-12-31 01:02:03,2023-12-31T01:02:03,x\n");
    assert_eq!(
        ok_args(&["schema", &f, "--format", "csv"]),
        "column,type\nd,date\nts,datetime\niso,datetime\nnot_a_date,str\n"
    );
    assert_eq!(ok(&format!(r#"scan "{f}" | select y = year(d), h = hour(ts)"#)), "y,h\n2024,13\n2023,1\n");
}

#[test]
fn a_terminal_gets_a_table() {
    // `script` gives dq a pseudo-terminal as stdout (and one without a size).
    let dq = env!("CARGO_BIN_EXE_dq");
    let cmd = format!("{dq} 'scan \"testdata/sales.csv\" | select order_id, region | head 2'");
    let out = std::process::Command::new("script")
        .args(["-qc", &cmd, "/dev/null"])
        .current_dir(root())
        .output()
        .expect("script (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(text.contains("│ order_id ┆ region │"), "{text}");
    assert!(text.contains("│      int ┆ str    │"), "{text}");
    assert!(text.contains("│        1 ┆ south  │"), "{text}");
    assert!(text.contains("2 rows × 2 columns"), "{text}");
}

#[test]
fn blank_lines_are_skipped_not_read_as_null_rows() {
    let t = Tmp::new();
    let f = t.file("blank.csv", "a,b\n1,2\n\n3,4\r\n\r\n\n");
    assert_eq!(ok(&format!(r#"scan "{f}""#)), "a,b\n1,2\n3,4\n");
    assert_eq!(ok(&format!(r#"scan "{f}" | count"#)), "count\n2\n");
    // A blank line inside quotes is data.
    let q = t.file("q.csv", "a,b\n\"x\n\ny\",1\n\n");
    assert_eq!(column(&ok(&format!(r#"scan "{q}""#)), "a"), vec!["x\n\ny"]);
}

#[test]
fn pass_through_pipelines_stream_their_result_in_order() {
    let t = Tmp::new();
    let mut text = String::from("id,v\n");
    for i in 0..100_000u64 {
        text.push_str(&format!("{i},{}\n", i % 10));
    }
    let f = t.file("in.csv", text);
    let out = t.path("out.csv");
    let o = run(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | filter v == 3 | derive w = id * 2"#),
        "-o",
        out.to_str().unwrap(),
        "--chunk-size",
        "64KB",
        "--stats=json",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(stats_json(&o.stderr)["streamed"], true, "{}", o.stderr);
    let written = std::fs::read_to_string(&out).unwrap();
    let ids: Vec<u64> = column(&written, "id").iter().map(|s| s.parse().unwrap()).collect();
    let expected: Vec<u64> = (0..100_000).filter(|i| i % 10 == 3).collect();
    assert_eq!(ids, expected, "all rows, in file order");
    assert_eq!(column(&written, "w")[1], "26");
    // The same to stdout and as Parquet.
    let stdout =
        ok_args(&["run", "-e", &format!(r#"scan "{f}" | filter v == 3 | derive w = id * 2"#), "--chunk-size", "64KB"]);
    assert_eq!(stdout, written);
    let pq = t.path("out.parquet");
    ok_args(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | filter v == 3"#),
        "-o",
        pq.to_str().unwrap(),
        "--chunk-size",
        "64KB",
    ]);
    assert_eq!(ok(&format!(r#"scan "{}" | count"#, pq.display())), "count\n10000\n");
}

#[test]
fn an_error_after_streaming_began_leaves_no_partial_file() {
    let t = Tmp::new();
    let mut text = String::from("id,v\n");
    for i in 0..100_000u64 {
        text.push_str(&format!("{i},{}\n", i % 10));
    }
    text.push_str("100000\n"); // a short record at the very end
    let f = t.file("in.csv", text);
    let o = t.run(&["run", "-e", &format!(r#"scan "{f}""#), "-o", "result.csv", "--chunk-size", "64KB"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains(":100002: expected 2 fields, found 1"), "{}", o.stderr);
    assert_eq!(t.listing(), vec!["in.csv"]);
}

#[test]
fn parquet_tasks_of_any_size_read_every_row_once_in_order() {
    // Five row groups of about 6000 rows, read in slices of row groups
    // (64KB, 200KB chunks), in single and merged row groups (1MB, 16MB).
    // Each task's footer lists only its own row groups (io/parquet.rs).
    let t = Tmp::new();
    let mut text = String::from("i,s\n");
    for i in 0..30_000 {
        text.push_str(&format!("{i},v{}\n", i % 977));
    }
    let csv = t.file("n.csv", &text);
    let pq = t.path("n.parquet").display().to_string();
    ok_args(&["run", "-q", "--chunk-size", "64KB", "-e", &format!(r#"scan "{csv}" | write "{pq}""#)]);
    let plan = ok_args(&["explain", "-e", &format!(r#"scan "{pq}""#)]);
    assert!(plan.contains("row groups: 0 of 5 pruned"), "{plan}");
    for size in ["64KB", "200KB", "1MB", "16MB"] {
        let program = format!(r#"scan "{pq}" | agg n = count(), s = sum(i), f = first(i), l = last(i)"#);
        let out = ok_args(&["run", "--chunk-size", size, "-e", &program]);
        assert_eq!(out, "n,s,f,l\n30000,449985000,0,29999\n", "--chunk-size {size}");
    }
}

#[test]
fn parquet_filters_applied_while_decoding_keep_the_same_rows() {
    // A filter pushed into a Parquet scan is evaluated on its own columns
    // first and the others are decoded only for the rows kept (whole row
    // groups; slices of groups decode everything). Checked against the same
    // filter computed here, for tasks of both kinds.
    let t = Tmp::new();
    let mut text = String::from("i,s,x\n");
    let x = |i: i64| (i % 7 != 0).then_some((i * 37) % 1000);
    for i in 0..30_000i64 {
        let xs = x(i).map(|v| v.to_string()).unwrap_or_default();
        text.push_str(&format!("{i},v{},{xs}\n", i % 977));
    }
    let csv = t.file("n.csv", &text);
    let pq = t.path("n.parquet").display().to_string();
    ok_args(&["run", "-q", "--chunk-size", "64KB", "-e", &format!(r#"scan "{csv}" | write "{pq}""#)]);
    type Pred = fn(i64, &str, Option<i64>) -> bool;
    let cases: [(&str, Pred); 5] = [
        // Regression: a filter without columns was handed to the reader,
        // whose one-value mask was refused (found by the differential test).
        ("false", |_, _, _| false),
        ("x > 500", |_, _, x| x.is_some_and(|x| x > 500)),
        (r#"s == "v3" or x < 10"#, |_, s, x| s == "v3" || x.is_some_and(|x| x < 10)),
        ("x is null and i > 100", |i, _, x| x.is_none() && i > 100),
        ("i < 0", |_, _, _| false),
    ];
    for (filter, keep) in cases {
        let kept: Vec<i64> = (0..30_000).filter(|&i| keep(i, &format!("v{}", i % 977), x(i))).collect();
        // The sum and last of no rows are null (empty fields).
        let sum = if kept.is_empty() { String::new() } else { kept.iter().sum::<i64>().to_string() };
        let last = kept.last().map(|l| l.to_string()).unwrap_or_default();
        let want = format!("n,s,l\n{},{sum},{last}\n", kept.len());
        for size in ["64KB", "16MB"] {
            let program = format!(r#"scan "{pq}" | filter {filter} | agg n = count(), s = sum(i), l = last(i)"#);
            let out = ok_args(&["run", "--chunk-size", size, "-e", &program]);
            assert_eq!(out, want, "filter {filter}, --chunk-size {size}");
        }
    }
}

/// A Parquet file of rows `i, k, c` for i in 0..30000 (`k` empty where
/// `key` is `None`), written by dq in row groups of a 64 KB chunk; its path.
fn keyed_parquet(t: &Tmp, key: impl Fn(i64) -> Option<String>, other: impl Fn(i64) -> String) -> String {
    let mut text = String::from("i,k,c\n");
    for i in 0..30_000i64 {
        text.push_str(&format!("{i},{},{}\n", key(i).unwrap_or_default(), other(i)));
    }
    let csv = t.file("keyed.csv", &text);
    let pq = t.path("keyed.parquet").display().to_string();
    ok_args(&["run", "-q", "--chunk-size", "64KB", "-e", &format!(r#"scan "{csv}" | write "{pq}""#)]);
    pq
}

/// The rows `0..30_000` of [`keyed_parquet`] that `keep` keeps, by their key
/// (null as the empty text), in row order.
fn rows_by_key(key: &impl Fn(i64) -> Option<String>, keep: impl Fn(i64) -> bool) -> HashMap<String, Vec<i64>> {
    let mut groups: HashMap<String, Vec<i64>> = HashMap::new();
    for i in (0..30_000i64).filter(|&i| keep(i)) {
        groups.entry(key(i).unwrap_or_default()).or_default().push(i);
    }
    groups
}

/// The median of rows numbers in increasing order: the middle one, or the
/// mean of the middle two.
fn median_in_order(rows: &[i64]) -> f64 {
    let n = rows.len();
    if n % 2 == 1 {
        rows[n / 2] as f64
    } else {
        (rows[n / 2 - 1] + rows[n / 2]) as f64 / 2.0
    }
}

/// A filter pushed into the scan keeps fewer rows than the group key read
/// as dictionary ids: the ids are filtered by the mask the read used (a
/// job of one row group), or the filter runs after the scan (a job of
/// several, or a filter that reads the key itself). Every way, the groups
/// are those of the rows kept, computed here.
#[test]
fn filters_in_the_scan_keep_the_same_rows_of_keys_read_as_dictionary_ids() {
    let t = Tmp::new();
    let key = |i: i64| (i % 17 != 0).then(|| format!("k{}", i % 13));
    let other = |i: i64| i % 7;
    let pq = keyed_parquet(&t, key, |i| other(i).to_string());
    type Keep = fn(i64, Option<&str>) -> bool;
    // A filter that reads the key itself needs its strings: no ids then.
    let cases: [(&str, Keep, bool); 3] = [
        (r#"filter i > 25000 or i < 300"#, |i, _| !(300..=25_000).contains(&i), true),
        (r#"filter c == 3"#, |i, _| i % 7 == 3, true),
        (r#"filter k == "k3" or i < 100"#, |i, k| k == Some("k3") || i < 100, false),
    ];
    for (filter, keep, coded) in cases {
        let program = format!(r#"scan "{pq}" | {filter} | agg n = count(), s = sum(i), m = median(i) by k"#);
        let plan = ok_args(&["explain", "-e", &program]);
        assert_eq!(plan.contains("group keys read as dictionary ids where encoded so: k"), coded, "{plan}");
        let want: HashMap<String, (usize, i64, String)> = rows_by_key(&key, |i| keep(i, key(i).as_deref()))
            .into_iter()
            .map(|(k, rows)| (k, (rows.len(), rows.iter().sum(), median_in_order(&rows).to_string())))
            .collect();
        for chunk in ["16KB", "64KB", "16MB"] {
            let out = ok_args(&["run", "--chunk-size", chunk, "-e", &program]);
            let got: HashMap<String, (usize, i64, String)> = records(&out)
                .into_iter()
                .map(|r| {
                    let m: f64 = r["m"].parse().unwrap();
                    (r["k"].clone(), (r["n"].parse().unwrap(), r["s"].parse().unwrap(), m.to_string()))
                })
                .collect();
            assert_eq!(got, want, "{filter}, chunks of {chunk}");
        }
    }
}

/// The codes of a key read as dictionary ids are decoded only for the rows
/// the scan's filter kept; a row group whose key is not dictionary-encoded
/// throughout (unique long values) is read as strings with the same
/// filter. Both in one file, checked against groups computed here.
#[test]
fn a_filtered_scan_reads_codes_of_kept_rows_and_strings_where_codes_fail() {
    let t = Tmp::new();
    let key = |i: i64| match i {
        _ if i % 17 == 0 => None,
        0..20_000 => Some(format!("k{}", i % 13)),
        _ => Some(format!("a value long enough to live outside its view {i}")),
    };
    // `c` is null on every fifth row: the filter's mask is null there.
    let pq = keyed_parquet(&t, key, |i| if i % 5 == 0 { String::new() } else { (i % 7).to_string() });
    type Keep = fn(i64) -> bool;
    let cases: [(&str, Keep); 3] = [
        ("filter c == 3", |i| i % 5 != 0 && i % 7 == 3),
        ("filter i > 25000 or i < 300", |i| !(300..=25_000).contains(&i)),
        ("filter c > 100", |_| false),
    ];
    for (filter, keep) in cases {
        let program = format!(r#"scan "{pq}" | {filter} | agg n = count(), s = sum(i) by k"#);
        let want: HashMap<String, (usize, i64)> =
            rows_by_key(&key, keep).into_iter().map(|(k, rows)| (k, (rows.len(), rows.iter().sum()))).collect();
        for chunk in ["16KB", "16MB"] {
            let out = ok_args(&["run", "--chunk-size", chunk, "-e", &program]);
            let got: HashMap<String, (usize, i64)> = records(&out)
                .into_iter()
                .map(|r| (r["k"].clone(), (r["n"].parse().unwrap(), r["s"].parse().unwrap())))
                .collect();
            assert_eq!(got, want, "{filter}, chunks of {chunk}");
        }
    }
}

#[test]
fn holistic_aggregates_by_dictionary_ids_give_the_groups_of_their_strings() {
    // A median, n_unique or list gathers every row's key: from Parquet it
    // gathers dictionary ids, decoded only in the groups' keys. Row groups
    // of repeated short keys come as ids, row groups of unique long keys as
    // strings, so one key column arrives both ways; under a small memory
    // limit the gathered rows are spilled by key, where an id and its
    // string must land in the same part. Checked against groups computed
    // here.
    let t = Tmp::new();
    let key = |i: i64| match i {
        _ if i % 11 == 0 => None,
        0..20_000 => Some(format!("k{}", i % 13)),
        _ => Some(format!("a value long enough to live outside its view {}", i % 4_000)),
    };
    let other = |i: i64| i % 7;
    let pq = keyed_parquet(&t, key, |i| other(i).to_string());
    let program = format!(r#"scan "{pq}" | agg n = count(), m = median(i), u = n_unique(c), last = max(i) by k"#);
    let plan = ok_args(&["explain", "-e", &program]);
    assert!(plan.contains("group keys read as dictionary ids where encoded so: k"), "{plan}");

    let want: HashMap<String, (usize, String, usize, i64)> = rows_by_key(&key, |_| true)
        .into_iter()
        .map(|(k, rows)| {
            let distinct: std::collections::HashSet<i64> = rows.iter().map(|&i| other(i)).collect();
            (k, (rows.len(), median_in_order(&rows).to_string(), distinct.len(), rows[rows.len() - 1]))
        })
        .collect();
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let limited =
        ["--chunk-size", "16KB", "--memory-limit", "1MB", "--stats=json", "--temp-dir", spill.to_str().unwrap()];
    for extra in [&["--chunk-size", "64KB"][..], &["--chunk-size", "16MB"][..], &limited[..]] {
        let o = run(&[&["run", "-e", &program][..], extra].concat());
        assert_eq!(o.code, 0, "{extra:?}: {}", o.stderr);
        if extra.contains(&"--memory-limit") {
            let stats = stats_json(&o.stderr);
            assert!(stats["spilled_bytes"].as_u64().unwrap() > 0, "expected spilling: {stats}");
        }
        let got: HashMap<String, (usize, String, usize, i64)> = records(&o.stdout)
            .into_iter()
            .map(|r| {
                let m: f64 = r["m"].parse().unwrap();
                (
                    r["k"].clone(),
                    (r["n"].parse().unwrap(), m.to_string(), r["u"].parse().unwrap(), r["last"].parse().unwrap()),
                )
            })
            .collect();
        assert_eq!(got, want, "{extra:?}");
    }
}

#[test]
fn string_group_keys_read_as_dictionary_ids_give_the_groups_of_their_strings() {
    // Parquet string keys that only group are read as dictionary ids
    // (io/key_dictionary.rs) where a row group is dictionary-encoded; row
    // groups of nearly unique long strings are written plainly and read as
    // strings. Checked against groups computed here, with nulls, a filter
    // on another column, and tasks that slice row groups or span several.
    let t = Tmp::new();
    let key = |i: i64| match i {
        _ if i % 11 == 0 => None,
        0..20_000 => Some(format!("k{}", i % 13)),
        _ => Some(format!("a value long enough to live outside its view {i}")),
    };
    let other = |i: i64| format!("c{}", i % 3);
    let pq = keyed_parquet(&t, key, other);
    let program = format!(r#"scan "{pq}" | filter i % 3 != 1 | agg n = count(), s = sum(i) by k, c"#);
    let plan = ok_args(&["explain", "-e", &program]);
    assert!(plan.contains("group keys read as dictionary ids where encoded so: k, c"), "{plan}");

    let mut want: HashMap<(String, String), (i64, i64)> = HashMap::new();
    for i in (0..30_000i64).filter(|i| i % 3 != 1) {
        let g = want.entry((key(i).unwrap_or_default(), other(i))).or_default();
        *g = (g.0 + 1, g.1 + i);
    }
    for size in ["64KB", "16MB"] {
        let out = ok_args(&["run", "--chunk-size", size, "-e", &program]);
        let got: HashMap<(String, String), (i64, i64)> = records(&out)
            .into_iter()
            .map(|r| ((r["k"].clone(), r["c"].clone()), (r["n"].parse().unwrap(), r["s"].parse().unwrap())))
            .collect();
        assert_eq!(got, want, "--chunk-size {size}");
    }
    // Regression: a key computed from a key column saw its ids, not its strings.
    let program = format!(r#"scan "{pq}" | agg n = count() by k, kk = k, up = upper(k)"#);
    let plan = ok_args(&["explain", "-e", &program]);
    assert!(!plan.contains("dictionary ids"), "{plan}");
    let out = records(&ok_args(&["run", "-e", &program]));
    let groups: std::collections::HashSet<Option<String>> = (0..30_000).map(key).collect();
    assert_eq!(out.len(), groups.len());
    for r in out {
        assert_eq!(r["k"], r["kk"]);
        assert_eq!(r["k"].to_uppercase(), r["up"]);
    }
}

/// `t.csv`: columns `i` (0, 1, …) and `s` (`text number {i}`), `rows` rows.
fn numbered_texts(t: &Tmp, rows: usize) -> String {
    let mut text = String::from("i,s\n");
    for i in 0..rows {
        text.push_str(&format!("{i},text number {i}\n"));
    }
    t.file("t.csv", &text)
}

/// A row limit right after a Parquet scan (projections between are fine)
/// cuts the first job to that many rows, so a peek at a file decodes a few
/// rows, not a whole row group; a filter before the limit does not cut it.
/// Rows equal those of the same program over the CSV the file was made of.
#[test]
fn a_row_limit_on_a_parquet_scan_reads_only_its_rows() {
    let t = Tmp::new();
    let csv = numbered_texts(&t, 50_000);
    let pq = t.path("t.parquet").display().to_string();
    // Row groups of many thousand rows.
    ok_args(&["run", "-q", "--chunk-size", "4MB", "-e", &format!(r#"scan "{csv}" | write "{pq}""#)]);
    for (rest, cut) in [
        ("head 7", true),
        ("select s, i | derive j = i * 2 | head 3", true),
        ("rows 4:9", true),
        ("filter i > 40000 | head 2", false),
    ] {
        let o = run(&["run", "--stats=json", "-e", &format!(r#"scan "{pq}" | {rest}"#)]);
        assert_eq!(o.code, 0, "{rest}: {}", o.stderr);
        assert_eq!(o.stdout, ok_args(&["run", "-e", &format!(r#"scan "{csv}" | {rest}"#)]), "{rest}");
        let read = stats_json(&o.stderr)["bytes_read"].as_u64().unwrap();
        // A row group's two columns take well over 100 KB decoded.
        assert_eq!(read < 10_000, cut, "{rest}: {read} bytes read");
    }
}

/// Under a row limit (projections between are fine) a text file is cut in
/// chunks sized for the rows asked for, so `dq head` of a large CSV parses
/// a small piece of it, not a whole chunk; the rows are the file's first.
#[test]
fn a_row_limit_on_a_text_scan_parses_a_small_piece() {
    let t = Tmp::new();
    let csv = numbered_texts(&t, 200_000);
    let first: Vec<String> = (0..3).map(|i| i.to_string()).collect();
    for (program, limited) in [
        (format!(r#"scan "{csv}" | head 3"#), true),
        (format!(r#"scan "{csv}" | select s, i | head 3"#), true),
        (format!(r#"scan "{csv}" | filter i >= 0 | head 3"#), false),
    ] {
        let o = run(&["run", "--stats=json", "--chunk-size", "4MB", "-e", &program]);
        assert_eq!(o.code, 0, "{program}: {}", o.stderr);
        assert_eq!(column(&o.stdout, "i"), first, "{program}");
        let read = stats_json(&o.stderr)["bytes_read"].as_u64().unwrap();
        // The file is 4.4 MB; a piece for 3 rows is 64 KB.
        assert_eq!(read < 200_000, limited, "{program}: {read} bytes read");
    }
    let o = run(&["head", "-n", "3", &csv]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(column(&o.stdout, "i"), first);
}

/// A filter applied while parsing a CSV (`io/text/csv_filtered.rs`) keeps
/// the rows a direct computation keeps, at every chunk size, and still
/// reports a bad value in a row it drops, with its line, under the default
/// policy (and skips it under `--on-bad-rows skip`).
#[test]
fn a_filter_applied_while_parsing_keeps_the_same_rows_and_errors() {
    let t = Tmp::new();
    let mut text = String::from("id,v,s,w\n");
    let mut want = String::from("id,v,s,w\n");
    for i in 0..30_000u64 {
        let v = (i * 7919) % 1000;
        let row = format!("{i},{v},t{},{}.5\n", i % 13, i % 7);
        if v > 980 {
            want.push_str(&row);
        }
        text.push_str(&row);
    }
    let f = t.file("f.csv", &text);
    for chunk in ["4KB", "64KB", "8MB"] {
        let got = ok_args(&["run", "--chunk-size", chunk, "-e", &format!(r#"scan "{f}" | filter v > 980"#)]);
        assert_eq!(got, want, "chunk size {chunk}");
    }
    // The scan itself dropped the rows: only the kept ones came in.
    let o = run(&[
        "run",
        "--stats=json",
        "-o",
        &t.path("out.csv").to_string_lossy(),
        "-e",
        &format!(r#"scan "{f}" | filter v > 980"#),
    ]);
    let kept = want.lines().count() as u64 - 1;
    assert_eq!(stats_json(&o.stderr)["stages"][0]["rows_in"].as_u64(), Some(kept), "{}", o.stderr);
    // The same from a gzip file, read as a stream.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    let gz = t.file("f.csv.gz", gz.finish().unwrap());
    for chunk in ["4KB", "8MB"] {
        let program = format!(r#"scan "{gz}" | filter v > 980"#);
        let o = run(&["run", "--chunk-size", chunk, "--stats=json", "-e", &program]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(o.stdout, want, "gzip, chunk size {chunk}");
        assert_eq!(stats_json(&o.stderr)["stages"][0]["rows_in"].as_u64(), Some(kept), "{}", o.stderr);
    }
    // A bad value in `w` on a row the filter drops (v = 0 on line 2).
    let bad = text.replacen("0,0,t0,0.5\n", "0,0,t0,zero\n", 1);
    assert_ne!(bad, text);
    let f = t.file("bad.csv", &bad);
    let program = format!(r#"scan "{f}" (infer_rows=100, schema=(w: float)) | filter v > 980"#);
    let o = run(&["run", "-e", &program]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains(":2: cannot read \"zero\" as float in column `w`"), "{}", o.stderr);
    let skipped = ok_args(&["run", "--on-bad-rows", "skip", "-e", &program]);
    assert_eq!(skipped, want);
}
