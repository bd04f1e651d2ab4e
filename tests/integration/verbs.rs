//! Each verb, checked on small fixtures against hand-computed results.

use crate::util::*;

#[test]
fn filter_select_derive_drop_rename() {
    let out = ok(
        r#"scan "testdata/sales.csv" | where qty >= 7 | derive total = price * qty | select order_id, region, total | rename id = order_id | drop region"#,
    );
    // qty = i % 7 + 1 is 7 for i = 6, 13, 20; price = [1.5, 2.0, 3.25][i % 3].
    assert_eq!(out, "id,total\n6,10.5\n13,14.0\n20,22.75\n");
}

#[test]
fn select_star_except_keeps_order() {
    let out = ok(r#"scan "testdata/sales.csv" | select * except (date, price) | head 1"#);
    assert_eq!(out, "order_id,region,product,qty\n1,south,pear,2\n");
}

#[test]
fn derive_replaces_in_place_and_sees_earlier_assignments() {
    let out = ok(
        r#"scan "testdata/sales.csv" | derive qty = qty * 10, double = qty * 2 | select order_id, qty, double | head 2"#,
    );
    assert_eq!(out, "order_id,qty,double\n1,20,40\n2,30,60\n");
}

#[test]
fn aggregates_match_hand_computed_values() {
    let t = Tmp::new();
    let f = t.file("v.csv", "g,x\na,1\na,2\na,3\na,4\na,10\nb,\nb,7\n");
    let out = ok(&format!(
        r#"scan "{f}" | agg n = count(), nx = count(x), s = sum(x), m = mean(x), lo = min(x), hi = max(x), sd = std(x), v = var(x), med = median(x), q9 = quantile(x, 0.9), u = n_unique(x), au = approx_n_unique(x), f = first(x), l = last(x) by g | sort g"#
    ));
    let r = records(&out);
    let a = &r[0];
    assert_eq!((a["g"].as_str(), a["n"].as_str(), a["nx"].as_str(), a["s"].as_str()), ("a", "5", "5", "20"));
    close(num(&a["m"]), 4.0);
    assert_eq!((a["lo"].as_str(), a["hi"].as_str()), ("1", "10"));
    // Sample variance: ((1-4)² + (2-4)² + (3-4)² + 0 + (10-4)²) / 4 = 50 / 4.
    close(num(&a["v"]), 12.5);
    close(num(&a["sd"]), 12.5f64.sqrt());
    close(num(&a["med"]), 3.0);
    // Linear interpolation at position 0.9 * 4 = 3.6: 4 + 0.6 * (10 - 4).
    close(num(&a["q9"]), 7.6);
    assert_eq!((a["u"].as_str(), a["au"].as_str(), a["f"].as_str(), a["l"].as_str()), ("5", "5", "1", "10"));
    // Group b: one null, one 7. Aggregates skip nulls; std of one value is null.
    let b = &r[1];
    assert_eq!((b["n"].as_str(), b["nx"].as_str(), b["s"].as_str(), b["sd"].as_str()), ("2", "1", "7", ""));
}

#[test]
fn sum_and_mean_of_only_nulls_are_null_and_null_keys_group() {
    let out =
        ok(r#"scan "testdata/nulls.csv" | agg n = count(), nv = count(v), s = sum(v), m = mean(v) by k | sort k"#);
    assert_eq!(out, "k,n,nv,s,m\na,2,1,1,1.0\nb,2,0,,\n,2,2,8,4.0\n");
}

#[test]
fn two_phase_std_and_mean_agree_with_a_direct_computation_across_many_chunks() {
    let t = Tmp::new();
    let mut text = String::from("g,x\n");
    let mut by_g: std::collections::BTreeMap<u32, Vec<f64>> = Default::default();
    for i in 0..20_000u32 {
        let g = i % 7;
        let x = ((i as f64) * 0.37).sin() * 1000.0 + 1e6; // large offset: naive sum-of-squares would cancel
        text.push_str(&format!("{g},{x}\n"));
        by_g.entry(g).or_default().push(x);
    }
    let f = t.file("big.csv", text);
    let out = ok_args(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | agg m = mean(x), sd = std(x), n = count() by g | sort g"#),
        "--chunk-size",
        "4KB",
    ]);
    for (r, (g, xs)) in records(&out).iter().zip(&by_g) {
        assert_eq!(r["g"], g.to_string());
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        close(num(&r["m"]), mean);
        assert!((num(&r["sd"]) - var.sqrt()).abs() < 1e-6 * var.sqrt(), "{} vs {}", r["sd"], var.sqrt());
        assert_eq!(num(&r["n"]), n);
    }
}

#[test]
fn global_aggregate_over_no_rows_gives_one_row() {
    let out = ok(r#"scan "testdata/sales.csv" | filter qty > 100 | agg n = count(), s = sum(qty)"#);
    assert_eq!(out, "n,s\n0,\n");
}

#[test]
fn computed_group_keys() {
    let out = ok(r#"scan "testdata/sales.csv" | agg n = count() by big = qty > 4 | sort big"#);
    // qty = i % 7 + 1 > 4 for i % 7 in {4, 5, 6}: i = 4,5,6,11,12,13,18,19,20.
    assert_eq!(out, "big,n\nfalse,11\ntrue,9\n");
}

#[test]
fn sort_is_stable_with_nulls_last_both_ways() {
    let asc = ok(r#"scan "testdata/nulls.csv" | select k, v | sort v"#);
    assert_eq!(column(&asc, "v"), vec!["1", "3", "5", "", "", ""]);
    let desc = ok(r#"scan "testdata/nulls.csv" | select k, v | sort -v"#);
    assert_eq!(column(&desc, "v"), vec!["5", "3", "1", "", "", ""]);
    // Stable: rows with equal keys keep input order (k = a, b, b for the nulls).
    assert_eq!(column(&desc, "k"), vec!["", "", "a", "a", "b", "b"]);
    let multi = ok(r#"scan "testdata/sales.csv" | sort region desc, -qty, order_id | select order_id | head 3"#);
    // west: i % 4 == 3 → 3,7,11,15,19 with qty 4,1,5,2,6.
    assert_eq!(column(&multi, "order_id"), vec!["19", "11", "3"]);
}

#[test]
fn top_k_equals_full_sort_then_head() {
    let topk = ok(r#"scan "testdata/trips.parquet" | sort -fare, trip_id | head 7"#);
    let full = ok(r#"scan "testdata/trips.parquet" | sort -fare, trip_id | tail 3000 | head 7"#);
    assert_eq!(topk, full);
    assert_eq!(csv(&topk).len(), 8);
}

#[test]
fn head_and_tail_keep_file_order() {
    let out = ok_args(&["run", "-e", r#"scan "testdata/trips.csv" | select trip_id | tail 2"#, "--chunk-size", "2KB"]);
    assert_eq!(out, "trip_id\n2998\n2999\n");
    let out = ok_args(&["run", "-e", r#"scan "testdata/trips.csv" | select trip_id | head 3"#, "--chunk-size", "2KB"]);
    assert_eq!(out, "trip_id\n0\n1\n2\n");
}

#[test]
fn rows_a_to_b_keeps_positions_a_up_to_b_in_file_order_over_many_chunks() {
    let run = |program: &str| ok_args(&["run", "-e", program, "--chunk-size", "2KB"]);
    let trips = r#"scan "testdata/trips.csv" | select trip_id"#;
    assert_eq!(run(&format!("{trips} | rows 1500:1503")), "trip_id\n1500\n1501\n1502\n");
    assert_eq!(run(&format!("{trips} | rows :2")), "trip_id\n0\n1\n");
    assert_eq!(run(&format!("{trips} | rows 2998:5000")), "trip_id\n2998\n2999\n");
    assert_eq!(run(&format!("{trips} | rows 4000:4002")), "trip_id\n");
    assert_eq!(run(&format!("{trips} | rows 7:7")), "trip_id\n");
    // Positions count the rows that reach the verb.
    assert_eq!(run(&format!("{trips} | filter trip_id % 2 == 0 | rows 10:12")), "trip_id\n20\n22\n");
    for (program, what) in [("rows 5:", "end of the range"), ("rows 5:3", "ends before it starts"), ("rows 5", "`:`")] {
        fails(&["run", "-e", &format!("{trips} | {program}")], 2, what);
    }
}

#[test]
fn distinct_rows_and_columns() {
    let out = ok(r#"scan "testdata/sales.csv" | distinct region | sort region"#);
    assert_eq!(out, "region\neast\nnorth\nsouth\nwest\n");
    let out = ok(r#"scan "testdata/sales.csv" | select region, product | distinct | count"#);
    // i % 4 and i % 3 over i = 1..20 cover all 12 combinations.
    assert_eq!(out, "count\n12\n");
}

fn join_fixture(t: &Tmp) -> (String, String) {
    let l = t.file("l.csv", "k,a\n1,x\n2,y\n3,z\n,n\n");
    let r = t.file("r.csv", "k,b\n2,B2\n3,B3\n3,B3b\n4,B4\n,Bn\n");
    (l, r)
}

#[test]
fn join_kinds() {
    let t = Tmp::new();
    let (l, r) = join_fixture(&t);
    let q = |kind: &str| {
        let keys = if kind == "semi" || kind == "anti" { "k, a" } else { "k, a, b" };
        ok(&format!(
            r#"let r = scan "{r}"
scan "{l}" | join r on k kind={kind} | sort {keys}"#
        ))
    };
    assert_eq!(q("inner"), "k,a,b\n2,y,B2\n3,z,B3\n3,z,B3b\n");
    assert_eq!(q("left"), "k,a,b\n1,x,\n2,y,B2\n3,z,B3\n3,z,B3b\n,n,\n");
    assert_eq!(q("right"), "k,a,b\n2,y,B2\n3,z,B3\n3,z,B3b\n4,,B4\n,,Bn\n");
    assert_eq!(q("full"), "k,a,b\n1,x,\n2,y,B2\n3,z,B3\n3,z,B3b\n4,,B4\n,n,\n,,Bn\n");
    assert_eq!(q("semi"), "k,a\n2,y\n3,z\n");
    assert_eq!(q("anti"), "k,a\n1,x\n,n\n");
}

/// The kinds above again by a text key (the right side's key index) and a
/// float key (polars' join per chunk), in chunks of a few rows: the same
/// rows, and explain says which way each goes.
#[test]
fn join_kinds_by_text_and_float_keys_give_the_same_rows() {
    let t = Tmp::new();
    let l = t.file("l.csv", "k,a\nk1,x\nk2,y\nk3,z\n,n\nk2,w\n");
    let r = t.file("r.csv", "k,b\nk2,B2\nk3,B3\nk3,B3b\nk4,B4\n,Bn\n");
    let lf = t.file("lf.csv", "k,a\n1.5,x\n2.5,y\n3.5,z\n,n\n2.5,w\n");
    let rf = t.file("rf.csv", "k,b\n2.5,B2\n3.5,B3\n3.5,B3b\n4.5,B4\n,Bn\n");
    let want = [
        ("inner", "a,b\nw,B2\ny,B2\nz,B3\nz,B3b\n"),
        ("left", "a,b\nn,\nw,B2\nx,\ny,B2\nz,B3\nz,B3b\n"),
        ("semi", "a\nw\ny\nz\n"),
        ("anti", "a\nn\nx\n"),
    ];
    for (left, right, how) in [(&l, &r, "indexed once"), (&lf, &rf, "polars' join of each chunk")] {
        for (kind, rows) in want {
            let keep = if kind == "semi" || kind == "anti" { "a" } else { "a, b" };
            let program = format!(r#"scan "{left}" | join "{right}" on k kind={kind} | select {keep} | sort {keep}"#);
            let out = ok_args(&["run", "--chunk-size", "16B", "-e", &program]);
            assert_eq!(out, rows, "{kind} join of {left}");
            let plan = ok_args(&["explain", "-e", &program]);
            assert!(plan.contains(how), "{plan}");
            // When the right side is too large for memory is said, too.
            assert!(plan.contains("partitioned to disk if"), "{plan}");
        }
    }
}

/// `sort | head k` over Parquet pushes its bound into the scan (rows worse
/// than the k-th best key so far are not decoded): over many row groups,
/// with ties, nulls and NaN, ascending and descending, with a second key
/// and a filter, the rows equal a stable sort done here.
#[test]
fn top_k_over_parquet_with_its_bound_in_the_scan_matches_a_stable_sort() {
    let t = Tmp::new();
    let value = |i: u64| match i % 41 {
        0 => None,
        1 => Some(f64::NAN),
        _ => Some(((i * 7919) % 997) as f64 / 10.0),
    };
    let mut text = String::from("i,v,w\n");
    for i in 0..20_000u64 {
        let v = value(i).map_or(String::new(), |v| if v.is_nan() { "NaN".into() } else { v.to_string() });
        text.push_str(&format!("{i},{v},{}\n", i % 3));
    }
    let csv = t.file("t.csv", &text);
    let pq = t.path("t.parquet").display().to_string();
    ok_args(&["run", "-q", "--chunk-size", "16KB", "-e", &format!(r#"scan "{csv}" | write "{pq}""#)]);
    // Order of v: numbers, then NaN, then null (nulls last both ways); ties by row.
    let rank = |v: Option<f64>, descending: bool| match v {
        None => (2, 0i64),
        Some(x) if x.is_nan() => (if descending { 0 } else { 1 }, 0),
        Some(x) => (if descending { 1 } else { 0 }, if descending { -(x * 10.0) as i64 } else { (x * 10.0) as i64 }),
    };
    for (program, descending, keep) in [
        ("sort -v | head 7", true, (|_: u64| true) as fn(u64) -> bool),
        ("sort v | head 7", false, |_| true),
        ("filter w == 1 | sort -v | head 7", true, |i| i % 3 == 1),
    ] {
        let mut rows: Vec<u64> = (0..20_000u64).filter(|&i| keep(i)).collect();
        rows.sort_by_key(|&i| rank(value(i), descending));
        let want: Vec<String> = rows[..7].iter().map(|i| i.to_string()).collect();
        let full = format!(r#"scan "{pq}" | {program} | select i"#);
        let out = ok_args(&["run", "--chunk-size", "16KB", "-e", &full]);
        assert_eq!(column(&out, "i"), want, "{program}");
        let plan = ok_args(&["explain", "-e", &full]);
        assert!(plan.contains("skipped while the scan decodes"), "{plan}");
    }
    // A k past 65536 is not bounded (merging each chunk's k best keys into
    // the k best so far would cost more than the bound saves).
    let plan = ok_args(&["explain", "-e", &format!(r#"scan "{pq}" | sort -v | head 100000"#)]);
    assert!(plan.contains("top_k k=100000") && !plan.contains("skipped while the scan decodes"), "{plan}");
    // A second key orders the ties of the first.
    let out = ok_args(&["run", "-e", &format!(r#"scan "{pq}" | sort -v, -i | head 4 | select i"#)]);
    let mut rows: Vec<u64> = (0..20_000u64).collect();
    rows.sort_by_key(|&i| (rank(value(i), true), std::cmp::Reverse(i)));
    assert_eq!(column(&out, "i"), rows[..4].iter().map(|i| i.to_string()).collect::<Vec<_>>());
}

/// A right side of 40k rows takes the prefetched table of the join index
/// (smaller ones take hashbrown's): every join kind's count and sum match
/// a HashMap of the right side computed here.
#[test]
fn joins_with_a_large_right_side_match_a_hash_map() {
    let t = Tmp::new();
    let key = |i: u64| (i * 7919) % 30_011;
    let mut right = String::from("k,b\n");
    let mut by_key: std::collections::HashMap<u64, Vec<u64>> = std::collections::HashMap::new();
    for i in 0..40_000u64 {
        // Every 97th right key is null and matches nothing.
        if i % 97 == 0 {
            right.push_str(&format!(",{i}\n"));
        } else {
            right.push_str(&format!("key{},{i}\n", key(i)));
            by_key.entry(key(i)).or_default().push(i);
        }
    }
    let mut left = String::from("k,a\n");
    let (mut inner, mut inner_sum, mut left_rows, mut semi, mut anti) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for j in 0..60_000u64 {
        let k = (j * 104_729) % 45_000;
        left.push_str(&format!("key{k},{j}\n"));
        match by_key.get(&k) {
            Some(bs) => {
                inner += bs.len() as u64;
                inner_sum += bs.iter().sum::<u64>();
                left_rows += bs.len() as u64;
                semi += 1;
            }
            None => {
                left_rows += 1;
                anti += 1;
            }
        }
    }
    let (l, r) = (t.file("l.csv", &left), t.file("r.csv", &right));
    let count = |kind: &str, agg: &str| {
        ok_args(&["run", "--chunk-size", "64KB", "-e", &format!(r#"scan "{l}" | join "{r}" on k kind={kind} | {agg}"#)])
    };
    assert_eq!(count("inner", "agg n = count(), s = sum(b)"), format!("n,s\n{inner},{inner_sum}\n"));
    assert_eq!(count("left", "agg n = count(), s = sum(b)"), format!("n,s\n{left_rows},{inner_sum}\n"));
    assert_eq!(count("semi", "count"), format!("count\n{semi}\n"));
    assert_eq!(count("anti", "count"), format!("count\n{anti}\n"));
    assert!(semi > 10_000 && anti > 10_000, "both matched and unmatched left rows");
}

#[test]
fn join_on_differently_named_keys_with_clashing_columns() {
    let t = Tmp::new();
    let l = t.file("l.csv", "id,name\n1,left-one\n2,left-two\n");
    let r = t.file("r.csv", "person,name\n2,right-two\n");
    let out = ok(&format!(r#"scan "{l}" | join "{r}" on id = person"#));
    assert_eq!(out, "id,name,name_right\n2,left-two,right-two\n");
}

#[test]
fn union_unifies_columns_by_name() {
    let out = ok_args(&["run", "queries/all_people.dq"]);
    let r = records(&out);
    assert_eq!(r.len(), 9);
    assert_eq!((r[0]["name"].as_str(), r[0]["city"].as_str(), r[0]["salary"].as_str()), ("Anna", "Berlin", ""));
    assert_eq!((r[8]["name"].as_str(), r[8]["city"].as_str(), r[8]["salary"].as_str()), ("Ilse", "", "2800"));
}

#[test]
fn sample_is_repeatable_with_a_seed() {
    let a = ok(r#"scan "testdata/trips.csv" | sample 25 seed=7 | select trip_id"#);
    let b =
        ok_args(&["run", "-e", r#"scan "testdata/trips.csv" | sample 25 seed=7 | select trip_id"#, "--threads", "1"]);
    let mut ra = column(&a, "trip_id");
    let mut rb = column(&b, "trip_id");
    assert_eq!(ra.len(), 25);
    ra.sort();
    rb.sort();
    assert_eq!(ra, rb, "same seed, same rows however threads interleave");
    let mut dedup = ra.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), 25, "without replacement");
    // Spread over the whole file, not its first rows (trip_id runs 0..3000):
    // a uniform sample of 25 has rows in both halves with near certainty.
    let ids: Vec<u32> = ra.iter().map(|s| s.parse().unwrap()).collect();
    assert!(ids.iter().any(|&i| i < 1500) && ids.iter().any(|&i| i >= 1500), "{ids:?}");
    let other_seed = ok(r#"scan "testdata/trips.csv" | sample 25 seed=8 | select trip_id"#);
    let mut rc = column(&other_seed, "trip_id");
    rc.sort();
    assert_ne!(ra, rc, "another seed picks other rows");
    let frac = ok(r#"scan "testdata/trips.csv" | sample 0.1 seed=3 | count"#);
    let n = num(&column(&frac, "count")[0]);
    assert!((200.0..400.0).contains(&n), "10% of 3000 rows, got {n}");
}

#[test]
fn count_verb() {
    assert_eq!(ok(r#"scan "testdata/trips.parquet" | count"#), "count\n3000\n");
    assert_eq!(ok(r#"scan "testdata/people/*.csv" | filter country == "FR" | count"#), "count\n2\n");
}

#[test]
fn explode_splits_strings_into_rows() {
    let out = ok_args(&["run", "queries/word_count.dq"]);
    // Independent count of testdata/words.txt.
    let text = std::fs::read_to_string(root().join("testdata/words.txt")).unwrap().to_lowercase();
    let mut counts: std::collections::HashMap<&str, usize> = Default::default();
    for w in text.split_whitespace() {
        *counts.entry(w).or_default() += 1;
    }
    let mut expected: Vec<(&str, usize)> = counts.into_iter().collect();
    expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let got: Vec<(String, usize)> =
        records(&out).iter().map(|r| (r["word"].clone(), r["n"].parse().unwrap())).collect();
    let want: Vec<(String, usize)> = expected.into_iter().take(5).map(|(w, n)| (w.to_string(), n)).collect();
    assert_eq!(got, want);
}

#[test]
fn write_round_trips_through_every_file_format() {
    let t = Tmp::new();
    let expected = ok(r#"scan "testdata/sales.csv" | sort order_id"#);
    for ext in ["csv", "tsv", "parquet", "ndjson", "arrow", "json"] {
        let path = t.path(&format!("out/sales.{ext}"));
        let p = path.to_str().unwrap();
        ok(&format!(r#"scan "testdata/sales.csv" | write "{p}""#));
        assert!(path.exists(), "{ext} written");
        if ext == "json" {
            // One array of 20 objects; qty = i % 7 + 1 sums to 83 over i = 1..=20.
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let rows = v.as_array().expect("a JSON array");
            assert_eq!(rows.len(), 20);
            assert_eq!(rows[0]["order_id"], 1);
            assert_eq!(rows[0]["region"], "south");
            assert_eq!(rows.iter().map(|r| r["qty"].as_i64().unwrap()).sum::<i64>(), 83);
            continue;
        }
        if ext == "arrow" {
            // dq does not read Arrow IPC back: check the file format's magic at both ends.
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.starts_with(b"ARROW1") && bytes.ends_with(b"ARROW1"), "not an Arrow IPC file");
            continue;
        }
        let back = ok(&format!(r#"scan "{p}" | sort order_id"#));
        assert_eq!(back, expected, "round trip through {ext}");
    }
}

#[test]
fn count_after_a_projection_that_needs_no_columns() {
    // Regression: an empty projection (only the row count is needed) used to yield 0 rows.
    assert_eq!(
        ok(r#"scan "testdata/sales.csv" | rename id = order_id | filter region == "east" | count"#),
        "count\n5\n"
    );
}

#[test]
fn nearly_unique_group_keys_switch_to_row_wise_partials_with_the_same_result() {
    // 150k rows, 75k keys: the first chunk's partial aggregate barely reduces,
    // so later chunks skip it; the result must not change.
    let t = Tmp::new();
    let mut text = String::from("k,x\n");
    let mut sums = vec![0i64; 75_000];
    for i in 0..150_000i64 {
        let k = (i * 48_271) % 75_000;
        text.push_str(&format!("{k},{}\n", i % 97));
        sums[k as usize] += i % 97;
    }
    let f = t.file("u.csv", text);
    let out = ok_args(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | agg n = count(), s = sum(x), lo = min(x), sd = std(x) by k | sort k"#),
        "--chunk-size",
        "400KB",
    ]);
    let r = records(&out);
    assert_eq!(r.len(), 75_000);
    for (k, row) in r.iter().enumerate().step_by(997) {
        assert_eq!(row["k"], k.to_string());
        assert_eq!(row["n"], "2");
        assert_eq!(row["s"], sums[k].to_string());
    }
    let total: i64 = r.iter().map(|row| row["s"].parse::<i64>().unwrap()).sum();
    assert_eq!(total, sums.iter().sum::<i64>());
}

#[test]
fn inner_join_broadcasts_the_smaller_side_with_the_same_result() {
    let t = Tmp::new();
    let small = t.file("small.csv", "passengers,label\n1,one\n2,two\n4,four\n");
    let big_left = ok(&format!(
        r#"scan "testdata/trips.csv" | join "{small}" on passengers | agg n = count(), f = sum(fare) by label | sort label"#
    ));
    let small_left = ok(&format!(
        r#"scan "{small}" | join "testdata/trips.csv" on passengers | agg n = count(), f = sum(fare) by label | sort label"#
    ));
    let (a, b) = (records(&big_left), records(&small_left));
    assert_eq!(column(&big_left, "n"), column(&small_left, "n"));
    assert_eq!(column(&big_left, "label"), vec!["four", "one", "two"]);
    for (x, y) in a.iter().zip(&b) {
        close(num(&x["f"]), num(&y["f"]));
    }
    // passengers = i % 4 + 1: 750 trips each for 1, 2 and 4.
    assert_eq!(column(&small_left, "n"), vec!["750", "750", "750"]);
    // Only where row order is free (here: counted by group) does the join stream the right side.
    let plan = ok_args(&[
        "explain",
        "-e",
        &format!(r#"scan "{small}" | join "testdata/trips.csv" on passengers | agg n = count() by label"#),
    ]);
    assert!(plan.contains("left side is smaller"), "{plan}");
    // Column order follows the program, whichever side was built.
    let row = ok(&format!(r#"scan "{small}" | join "testdata/trips.csv" on passengers | sort trip_id | head 1"#));
    assert_eq!(row.lines().next().unwrap(), "passengers,label,trip_id,vendor,distance_km,fare,pickup_day");
}

#[test]
fn distinct_finds_duplicates_across_chunks_after_switching_off_per_chunk_passes() {
    // Rows i and i + 100000 are equal: every chunk is all-distinct (so later
    // chunks skip per-chunk de-duplication), the duplicates are across chunks.
    let t = Tmp::new();
    let mut text = String::from("a,b\n");
    for i in 0..200_000u64 {
        let k = i % 100_000;
        text.push_str(&format!("{k},x{}\n", k % 7));
    }
    let f = t.file("d.csv", text);
    let out = ok_args(&["run", "-e", &format!(r#"scan "{f}" | distinct | count"#), "--chunk-size", "512KB"]);
    assert_eq!(out, "count\n100000\n");
    let out = ok_args(&["run", "-e", &format!(r#"scan "{f}" | distinct b | sort b"#), "--chunk-size", "512KB"]);
    assert_eq!(column(&out, "b"), vec!["x0", "x1", "x2", "x3", "x4", "x5", "x6"]);
}

#[test]
fn head_by_keeps_the_first_rows_of_each_group() {
    // Groups in order of first appearance; rows in input order.
    let out = ok(r#"scan "testdata/sales.csv" | head 2 by region | select region, order_id"#);
    assert_eq!(out, "region,order_id\nsouth,1\nsouth,5\neast,2\neast,6\nwest,3\nwest,7\nnorth,4\nnorth,8\n");
    // After a sort it is a per-group top-k; qty = i % 7 + 1, region = i % 4.
    let out = ok(
        r#"scan "testdata/sales.csv" | sort -qty, order_id | head 2 by region | select region, order_id, qty | sort region, -qty"#,
    );
    assert_eq!(out, "region,order_id,qty\neast,6,7\neast,18,5\nnorth,20,7\nnorth,12,6\nsouth,13,7\nsouth,5,6\nwest,19,6\nwest,11,5\n");
}

#[test]
fn top_k_per_group_matches_a_direct_computation_across_chunks() {
    let mut by_vendor: std::collections::BTreeMap<String, Vec<(f64, i64)>> = Default::default();
    let text = std::fs::read_to_string(root().join("testdata/trips.csv")).unwrap();
    for r in records(&text) {
        by_vendor.entry(r["vendor"].clone()).or_default().push((num(&r["fare"]), r["trip_id"].parse().unwrap()));
    }
    let mut expected = String::from("vendor,trip_id\n");
    for (v, rows) in &mut by_vendor {
        rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, id) in rows.iter().take(3) {
            expected.push_str(&format!("{v},{id}\n"));
        }
    }
    let out = ok_args(&[
        "run",
        "-e",
        r#"scan "testdata/trips.csv" | sort -fare, trip_id | head 3 by vendor | select vendor, trip_id | sort vendor"#,
        "--chunk-size",
        "8KB",
    ]);
    assert_eq!(out, expected);
    let plan = ok_args(&["explain", "-e", r#"scan "testdata/trips.csv" | sort -fare | head 3 by vendor"#]);
    assert!(plan.contains("TopKPerGroup k=3"), "{plan}");
}

#[test]
fn corr_and_cov_of_non_null_pairs() {
    let t = Tmp::new();
    let f = t.file("c.csv", "g,x,y\na,1,2\na,2,4\na,3,5\na,4,9\na,5,\nb,1,1\n");
    // Pairs (1,2), (2,4), (3,5), (4,9): co-moment 11, M2x 5, M2y 26.
    for extra in ["", ", m = median(x)"] {
        let out = ok(&format!(r#"scan "{f}" | agg r = corr(x, y), c = cov(x, y){extra} by g | sort g"#));
        let r = records(&out);
        close(num(&r[0]["r"]), 11.0 / 130f64.sqrt());
        close(num(&r[0]["c"]), 11.0 / 3.0);
        assert_eq!((r[1]["r"].as_str(), r[1]["c"].as_str()), ("", ""), "one pair has no correlation");
    }
}

#[test]
fn two_phase_corr_matches_a_direct_computation_across_chunks() {
    let t = Tmp::new();
    let mut text = String::from("g,x,y\n");
    let mut pairs: std::collections::BTreeMap<u32, Vec<(f64, f64)>> = Default::default();
    for i in 0..20_000u32 {
        let g = i % 3;
        let x = ((i as f64) * 0.13).sin() * 100.0 + 1e5;
        let y = x * 0.5 + ((i as f64) * 0.71).cos() * 30.0;
        text.push_str(&format!("{g},{x},{y}\n"));
        pairs.entry(g).or_default().push((x, y));
    }
    let f = t.file("p.csv", text);
    let out = ok_args(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | agg r = corr(x, y), c = cov(x, y) by g | sort g"#),
        "--chunk-size",
        "16KB",
    ]);
    for (row, (_, ps)) in records(&out).iter().zip(&pairs) {
        let n = ps.len() as f64;
        let (mx, my) = (ps.iter().map(|p| p.0).sum::<f64>() / n, ps.iter().map(|p| p.1).sum::<f64>() / n);
        let c: f64 = ps.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sx: f64 = ps.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sy: f64 = ps.iter().map(|p| (p.1 - my).powi(2)).sum();
        assert!((num(&row["r"]) - c / (sx * sy).sqrt()).abs() < 1e-9, "{} vs {}", row["r"], c / (sx * sy).sqrt());
        assert!((num(&row["c"]) - c / (n - 1.0)).abs() < 1e-6 * (c / (n - 1.0)).abs());
    }
}

#[test]
fn a_large_group_by_finished_in_pieces_side_by_side_keeps_every_group_once() {
    // 240k distinct keys: enough partial rows that the finish splits them
    // into key-disjoint pieces finished on both threads at once.
    let t = Tmp::new();
    let mut text = String::from("k,x\n");
    for i in 0..480_000u64 {
        let k = i % 240_000;
        text.push_str(&format!("key{k},{}\n", k * 3 + i / 240_000));
    }
    let f = t.file("big.csv", &text);
    for threads in ["1", "2"] {
        let out =
            ok_args(&["run", "--threads", threads, "-e", &format!(r#"scan "{f}" | agg n = count(), s = sum(x) by k"#)]);
        let mut seen = vec![false; 240_000];
        for line in out.lines().skip(1) {
            let mut parts = line.split(',');
            let k: usize = parts.next().unwrap().trim_start_matches("key").parse().unwrap();
            let (n, s): (u64, u64) = (parts.next().unwrap().parse().unwrap(), parts.next().unwrap().parse().unwrap());
            assert!(!seen[k], "key{k} twice");
            seen[k] = true;
            // Rows key{k} hold 3k and 3k + 1.
            assert_eq!((n, s), (2, 6 * k as u64 + 1), "key{k}");
        }
        assert!(seen.iter().all(|&s| s), "every key once ({threads} threads)");
    }
}
