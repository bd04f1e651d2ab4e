//! `dq profile`: exact statistics on fixtures checked against values
//! computed here, sketch estimates within their stated error, and the
//! metadata and sample tiers.

use serde_json::Value;

use crate::util::*;

fn profile(args: &[&str]) -> Value {
    let mut all = vec!["profile"];
    all.extend_from_slice(args);
    if !args.contains(&"--format") {
        all.extend(["--format", "json"]);
    }
    serde_json::from_str(&ok_args(&all)).expect("profile prints JSON")
}

fn col<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["columns"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no column {name}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn exact_statistics_match_an_independent_computation() {
    let p = profile(&["testdata/sales.csv"]);
    assert_eq!(
        (p["tier"].as_str(), p["rows"].as_u64(), p["rows_estimated"].as_bool()),
        (Some("full"), Some(20), Some(false))
    );
    // qty = i % 7 + 1 for i = 1..=20.
    let mut qty: Vec<f64> = (1..=20).map(|i| (i % 7 + 1) as f64).collect();
    qty.sort_by(f64::total_cmp);
    let n = qty.len() as f64;
    let mean = qty.iter().sum::<f64>() / n;
    let std = (qty.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let quantile = |q: f64| {
        let pos = q * (n - 1.0);
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        qty[lo] + (qty[hi] - qty[lo]) * (pos - lo as f64)
    };
    let c = col(&p, "qty");
    assert_eq!((c["type"].as_str(), c["rows"].as_u64(), c["nulls"].as_u64()), (Some("int"), Some(20), Some(0)));
    assert_eq!((c["distinct"].as_u64(), c["distinct_exact"].as_bool()), (Some(7), Some(true)));
    assert_eq!((c["min"].as_str(), c["max"].as_str()), (Some("1"), Some("7")));
    close(f(&c["mean"]), mean);
    close(f(&c["std"]), std);
    assert_eq!(c["quantiles_exact"], true);
    for (k, q) in [("p1", 0.01), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p99", 0.99)] {
        close(f(&c["quantiles"][k]), quantile(q));
    }
    assert_eq!(c["histogram"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 20);
    let product = col(&p, "product");
    assert_eq!(product["top"][0], serde_json::json!({"value": "pear", "count": 7}));
    assert_eq!(product["top"][2], serde_json::json!({"value": "apple", "count": 6}));
    assert_eq!(product["top_error"], 0);
    // pear and plum have 4 characters (7 rows each), apple 5 (6 rows): 86 / 20.
    assert_eq!(product["length"], serde_json::json!({"min": 4, "max": 5, "mean": 4.3}));
    let date = col(&p, "date");
    assert_eq!(
        (date["type"].as_str(), date["min"].as_str(), date["max"].as_str()),
        (Some("date"), Some("2024-01-01"), Some("2024-01-20"))
    );
}

#[test]
fn nulls_are_counted_and_skipped() {
    let p = profile(&["testdata/nulls.csv"]);
    let v = col(&p, "v");
    assert_eq!((v["rows"].as_u64(), v["nulls"].as_u64(), v["distinct"].as_u64()), (Some(6), Some(3), Some(3)));
    close(f(&v["null_pct"]), 50.0);
    close(f(&v["mean"]), 3.0);
    let events = profile(&["testdata/events.ndjson"]);
    let ms = col(&events, "ms");
    assert_eq!((ms["nulls"].as_u64(), ms["min"].as_str(), ms["max"].as_str()), (Some(1), Some("80"), Some("200")));
}

#[test]
fn sketches_stay_within_their_stated_error() {
    // 300k rows, 150k distinct values (past the exact limit of 100k).
    let t = Tmp::new();
    let mut text = String::from("k\n");
    for i in 0..300_000u64 {
        text.push_str(&format!("{}\n", (i * 7919) % 150_000));
    }
    let file = t.file("k.csv", text);
    let p = profile(&[&file, "--chunk-size", "256KB"]);
    let k = col(&p, "k");
    assert_eq!(k["distinct_exact"], false);
    let est = f(&k["distinct"]);
    let err = f(&k["distinct_error"]);
    assert!((est - 150_000.0).abs() / 150_000.0 < 3.0 * err, "estimate {est}, stated error {err}");
    assert_eq!(k["quantiles_exact"], false);
    // Uniform over 0..150000: the median is 74999.5, p99 148499.01.
    assert!((f(&k["quantiles"]["p50"]) - 74_999.5).abs() < 1_500.0, "{}", k["quantiles"]);
    assert!((f(&k["quantiles"]["p99"]) - 148_499.0).abs() < 1_500.0, "{}", k["quantiles"]);
    close(f(&k["mean"]), 74_999.5);
}

#[test]
fn globs_profile_files_together_with_per_file_rows() {
    let p = profile(&["testdata/people/*.csv"]);
    assert_eq!(p["rows"], 9);
    let files: Vec<(String, u64)> = p["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        files,
        vec![("testdata/people/part-1.csv".to_string(), 5), ("testdata/people/part-2.csv".to_string(), 4)]
    );
    let age = col(&p, "age");
    assert_eq!((age["min"].as_str(), age["max"].as_str()), (Some("19"), Some("57")));
}

#[test]
fn compressed_input_profiles_like_the_plain_file() {
    let plain = profile(&["testdata/sales.csv"]);
    let zst = profile(&["testdata/sales.csv.zst"]);
    assert_eq!(plain["columns"], zst["columns"]);
}

#[test]
fn metadata_tier_reads_only_footers() {
    let p = profile(&["testdata/trips.parquet", "--metadata"]);
    assert_eq!(
        (p["tier"].as_str(), p["rows"].as_u64(), p["rows_estimated"].as_bool()),
        (Some("metadata"), Some(3000), Some(false))
    );
    let id = col(&p, "trip_id");
    assert_eq!((id["min"].as_str(), id["max"].as_str(), id["nulls"].as_u64()), (Some("0"), Some("2999"), Some(0)));
    assert_eq!(col(&p, "pickup_day")["min"], "2024-02-01");
    assert_eq!(col(&p, "vendor")["max"], "cabco");
    assert!(id["distinct"].is_null() && id["quantiles"].is_null());
    // Text: small files are counted, large ones estimated from the first MiB.
    let csv = profile(&["testdata/trips.csv", "--metadata"]);
    assert_eq!((csv["rows"].as_u64(), csv["rows_estimated"].as_bool()), (Some(3000), Some(false)));
    let t = Tmp::new();
    let big = t.file("big.csv", format!("a,b\n{}", "123,456789\n".repeat(300_000)));
    let p = profile(&[&big, "--metadata"]);
    let rows = f(&p["rows"]);
    assert!(p["rows_estimated"] == true && (rows - 300_000.0).abs() < 3_000.0, "{rows}");
}

#[test]
fn sample_tier_extrapolates_rows_and_says_so() {
    let t = Tmp::new();
    let mut text = String::from("id,v\n");
    for i in 0..400_000u64 {
        text.push_str(&format!("{i},{}\n", i % 1000));
    }
    let file = t.file("s.csv", text);
    let p = profile(&[&file, "--sample", "10%", "--seed", "3"]);
    assert_eq!((p["tier"].as_str(), p["rows_estimated"].as_bool()), (Some("sample"), Some(true)));
    assert!(p["basis"].as_str().unwrap().contains("sampled rows"), "{}", p["basis"]);
    let rows = f(&p["rows"]);
    assert!((rows - 400_000.0).abs() / 400_000.0 < 0.05, "estimated {rows} rows");
    let v = col(&p, "v");
    assert!(v["rows"].as_u64().unwrap() < 100_000, "only a sample was read: {}", v["rows"]);
    assert!((f(&v["mean"]) - 499.5).abs() < 25.0, "{}", v["mean"]);
    // The same seed gives the same sample.
    assert_eq!(profile(&[&file, "--sample", "10%", "--seed", "3"])["columns"], p["columns"]);
    // Parquet samples row groups; row counts stay exact.
    let pq = profile(&["testdata/trips.parquet", "--sample", "0.2"]);
    assert_eq!(pq["rows"], 3000);
    // Every figure is labelled as the sample's, and the basis gives the
    // share actually read: the share of rows seen, within a piece's rounding.
    assert_eq!(p["statistics_describe"], "the sampled rows");
    let basis = p["basis"].as_str().unwrap();
    let read: f64 = basis.split("% of the input read").next().unwrap().rsplit('(').next().unwrap().parse().unwrap();
    let seen = 100.0 * v["rows"].as_u64().unwrap() as f64 / 400_000.0;
    assert!((read - seen).abs() < 0.5, "basis says {read}% read, {seen}% of the rows were seen: {basis}");
    // A file smaller than the pieces is read whole, and the basis says so.
    let small = profile(&["testdata/sales.csv", "--sample", "10%"]);
    assert!(
        small["basis"].as_str().unwrap().contains("(100.0% of the input read, 10.0% asked for"),
        "{}",
        small["basis"]
    );
    let table = ok_args(&["profile", "testdata/sales.csv", "--sample", "10%", "--format", "table"]);
    for header in ["nulls (sample)", "distinct (sample)", "top values (sample)"] {
        assert!(table.contains(header), "{header} in\n{table}");
    }
    assert_eq!(profile(&["testdata/sales.csv"])["statistics_describe"], "all rows");
}

#[test]
fn a_pipeline_is_profiled_by_its_result_rows() {
    // The east region of sales.csv, by hand: 5 orders, qty 1+3+4+5+7 = 20
    // (mean 4), prices 1.5, 1.5, 2.0, 3.25, 3.25 (mean 2.3).
    let p = profile(&["-e", r#"scan "testdata/sales.csv" | filter region == "east" | select price, qty, product"#]);
    assert_eq!((p["tier"].as_str(), p["rows"].as_u64()), (Some("full"), Some(5)));
    let names: Vec<&str> = p["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["price", "qty", "product"]);
    assert_eq!(f(&col(&p, "qty")["mean"]), 4.0);
    assert!((f(&col(&p, "price")["mean"]) - 2.3).abs() < 1e-12);
    assert_eq!(col(&p, "product")["distinct"], 3);
    // A file and a pipeline at once, or a pipeline that writes, are refused.
    fails(&["profile", "testdata/sales.csv", "-e", r#"scan "testdata/sales.csv""#], 2, "cannot be used with");
    fails(&["profile", "-e", r#"scan "testdata/sales.csv" | write "x.csv""#], 2, "ends before `write`");
}

#[test]
fn csv_and_table_formats() {
    let out = ok_args(&["profile", "testdata/sales.csv", "--format", "csv"]);
    let r = records(&out);
    assert_eq!(r.len(), 6);
    assert_eq!((r[5]["column"].as_str(), r[5]["distinct"].as_str(), r[5]["p50"].as_str()), ("qty", "7", "4"));
    assert_eq!(r[3]["top_values"], r#"[["pear",7],["plum",7],["apple",6]]"#);
    let table = ok_args(&["profile", "testdata/sales.csv", "--format", "table"]);
    assert!(table.contains("full tier") && table.contains("20 rows") && table.contains("pear (7)"), "{table}");
}

#[test]
fn top_values_are_exact_counts_up_to_100k_distinct_values() {
    // 730 dates over many chunks, skewed so that the most frequent one is
    // known: chunk-local truncation (the old 256 values per chunk) made
    // its count an estimate and could rank another date first.
    let t = Tmp::new();
    let mut text = String::from("d,k\n");
    let mut counts = std::collections::HashMap::<String, u64>::new();
    let mut x = 7u64;
    for row in 0..60_000u64 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let day = if row % 50 == 0 { 400 } else { (x >> 33) % 730 };
        let d = format!("2023-{:03}", day);
        *counts.entry(d.clone()).or_default() += 1;
        text.push_str(&format!("{d},\"a: b {}\"\n", row % 3));
    }
    let file = t.file("dates.csv", &text);
    let p = profile(&[&file, "--chunk-size", "64KB"]);
    let d = &p["columns"][0];
    assert_eq!(d["top_error"], 0, "{d}");
    let mut want: Vec<(String, u64)> = counts.into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let got: Vec<(String, u64)> = d["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["value"].as_str().unwrap().to_string(), v["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want[..5].to_vec());
    // In CSV, values with spaces and colons stay readable as JSON pairs.
    let out = ok_args(&["profile", &file, "--format", "csv"]);
    let r = records(&out);
    let top: serde_json::Value = serde_json::from_str(&r[1]["top_values"]).unwrap();
    assert_eq!(top, serde_json::json!([["a: b 0", 20000], ["a: b 1", 20000], ["a: b 2", 20000]]));
}

#[test]
fn metadata_tier_shows_unknown_nulls_of_text_as_unknown() {
    let p = profile(&["testdata/nulls.csv", "--metadata"]);
    for c in p["columns"].as_array().unwrap() {
        assert!(c["nulls"].is_null() && c["null_pct"].is_null(), "{c}");
    }
    let out = ok_args(&["profile", "testdata/nulls.csv", "--metadata", "--format", "csv"]);
    assert!(records(&out).iter().all(|r| r["nulls"].is_empty()), "{out}");
    let table = ok_args(&["profile", "testdata/nulls.csv", "--metadata", "--format", "table"]);
    assert!(table.contains("unknown"), "{table}");
    // Parquet footers do record nulls.
    let p = profile(&["testdata/trips.parquet", "--metadata"]);
    assert!(p["columns"][0]["nulls"].is_u64(), "{}", p["columns"][0]);
}

#[test]
fn files_of_different_formats_in_one_source_are_refused() {
    // Regression: the Parquet file was parsed as CSV (the first file's format).
    fails(&["profile", "testdata/nulls.csv", "testdata/trips.parquet"], 2, "trips.parquet is Parquet but");
}

#[test]
fn the_same_input_and_threads_give_the_same_profile_also_where_it_estimates() {
    // Past 100k distinct values, frequent values and quantiles come from
    // pruned summaries and t-digests, merged per thread: which chunks a
    // thread folds is fixed by chunk number, not by scheduling, so two
    // runs agree to the last digit; exact figures agree across thread
    // counts too.
    let t = Tmp::new();
    let mut text = String::from("k,x\n");
    let mut truth = std::collections::HashMap::<String, u64>::new();
    for i in 0..300_000u64 {
        // 150,001 distinct keys (past the exact limit) and one frequent one.
        let k = if i % 10 == 0 { "hot".to_string() } else { format!("k{}", (i * 7919) % 150_001) };
        *truth.entry(k.clone()).or_default() += 1;
        text.push_str(&format!("{k},{}\n", (i * 31) % 9973));
    }
    let file = t.file("many.csv", text);
    let run = |threads: &str| {
        let mut p = profile(&[&file, "--chunk-size", "64KB", "--threads", threads]);
        p["elapsed_seconds"] = Value::Null;
        p
    };
    let (a, b) = (run("2"), run("2"));
    let error = col(&a, "k")["top_error"].as_u64().unwrap();
    assert!(error > 0, "the test means to reach the estimating regime");
    assert_eq!(a, b);
    // Past the limit, only values counted more often than the error bound
    // are listed, each at most the bound short of its true count.
    let top = col(&a, "k")["top"].as_array().unwrap();
    assert_eq!(top[0]["value"], "hot", "{top:?}");
    for v in top {
        let (got, want) = (v["count"].as_u64().unwrap(), truth[v["value"].as_str().unwrap()]);
        assert!(got > error && got <= want && want - got <= error, "{v}: true count {want}, bound {error}");
    }
    let one = run("1");
    for name in ["k", "x"] {
        for key in ["rows", "nulls", "min", "max"] {
            assert_eq!(col(&one, name)[key], col(&a, name)[key], "{name}.{key}");
        }
    }
    // A sum in another order differs in the last bits only.
    close(f(&col(&one, "x")["mean"]), f(&col(&a, "x")["mean"]));
    // x has 9,973 distinct values: counted exactly whatever the threads.
    assert_eq!(col(&one, "x")["distinct"], 9973);
    assert_eq!(col(&one, "x")["top"], col(&a, "x")["top"]);
}
