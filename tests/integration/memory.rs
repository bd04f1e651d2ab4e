//! The memory budget: blocking operators spill under a small
//! `--memory-limit` and give the same result as an unlimited run; the
//! accounted peak stays within the limit; no spill file is left behind —
//! after success, after an error and after Ctrl-C.

use std::collections::{HashMap, HashSet};

use crate::util::*;

const LIMIT: &str = "16MB";
const LIMIT_BYTES: u64 = 16_000_000;
const ROWS: u64 = 400_000;

/// A table larger than [`LIMIT`] once parsed: `k` has ~50k groups, `s` is
/// a string key where "hot" repeats, `f` has nulls.
fn big_table(t: &Tmp) -> String {
    let mut text = String::from("id,k,g,s,v,f\n");
    for i in 0..ROWS {
        let s = s_of(i);
        let f = if i % 17 == 0 { String::new() } else { format!("{:.3}", (i % 101) as f64 / 7.0) };
        text.push_str(&format!("{i},{},{},{s},{},{f}\n", (i * 7919) % 50_021, i % 7, (i * 13) % 1000));
    }
    t.file("big.csv", text)
}

/// Row `i`'s `s` in [`big_table`].
fn s_of(i: u64) -> String {
    if i.is_multiple_of(100_000) {
        "hot".to_string()
    } else {
        format!("s{}", (i * 31) % 100_003)
    }
}

/// Independent truth for a group-by of [`big_table`] by `key` (`key_of`
/// gives row `i`'s value): every group's `n` and `total` (of `v`) in `out`
/// match a count and a sum computed here, and no group is missing.
fn assert_counts_and_sums(out: &str, key: &str, key_of: impl Fn(u64) -> String) {
    let mut sums: HashMap<String, (i64, i64)> = HashMap::new();
    for i in 0..ROWS {
        let e = sums.entry(key_of(i)).or_default();
        e.0 += 1;
        e.1 += ((i * 13) % 1000) as i64;
    }
    let keys = column(out, key);
    assert_eq!(keys.len(), sums.len());
    for ((k, n), total) in keys.iter().zip(ints(out, "n")).zip(ints(out, "total")) {
        assert_eq!(sums[k], (n, total), "group {k}");
    }
}

/// Runs `program` without a limit and under [`LIMIT`], with spill files
/// under a directory of the test's own; checks that both succeed, that the
/// limited run spilled (if `must_spill`), kept its accounted peak within
/// the limit and left no spill file. Returns both outputs.
fn both(t: &Tmp, program: &str, must_spill: bool) -> (String, String) {
    let (free, limited, _) = both_with_stats(t, program, must_spill);
    (free, limited)
}

fn both_with_stats(t: &Tmp, program: &str, must_spill: bool) -> (String, String, serde_json::Value) {
    let free = ok_args(&["run", "-e", program]);
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let o =
        run(&["run", "-e", program, "--memory-limit", LIMIT, "--temp-dir", spill.to_str().unwrap(), "--stats=json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let stats = stats_json(&o.stderr);
    assert_eq!(stats["memory_limit"], LIMIT_BYTES);
    let peak = stats["peak_memory"].as_u64().unwrap();
    assert!(peak <= LIMIT_BYTES, "peak accounted {peak} > limit: {stats}");
    if must_spill {
        assert!(stats["spilled_bytes"].as_u64().unwrap() > 0, "expected spilling: {stats}");
        assert!(stats["spill_files"].as_u64().unwrap() > 0, "{stats}");
    }
    assert_no_spill_left(&spill);
    (free, o.stdout, stats)
}

fn assert_no_spill_left(dir: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "spill files left behind: {left:?}");
}

/// Equal tables, floats equal up to summation order (partials combine in
/// a different order when they were spilled).
fn assert_same_table(a: &str, b: &str) {
    let (ra, rb) = (csv(a), csv(b));
    assert_eq!(ra.len(), rb.len(), "row counts differ");
    for (x, y) in ra.iter().zip(&rb) {
        for (u, v) in x.iter().zip(y) {
            if u != v {
                let (p, q): (f64, f64) = (u.parse().unwrap_or(f64::NAN), v.parse().unwrap_or(f64::NAN));
                assert!((p - q).abs() <= 1e-9 * p.abs().max(1.0), "{u} != {v} in rows {x:?} / {y:?}");
            }
        }
    }
}

fn ints(text: &str, name: &str) -> Vec<i64> {
    column(text, name).iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn aggregation_with_many_groups_spills_and_matches() {
    let t = Tmp::new();
    let f = big_table(&t);
    let program = format!(
        r#"scan "{f}" | agg n = count(), total = sum(v), avg = mean(f), lo = min(s), sd = std(v) by k | sort k"#
    );
    let (free, limited) = both(&t, &program, true);
    assert_same_table(&free, &limited);
    assert_counts_and_sums(&limited, "k", |i| ((i * 7919) % 50_021).to_string());
}

/// Aggregates that each thread's lane folds across chunks (count, sum,
/// mean, max, std by a text key of ~100k groups): the lanes outgrow the
/// budget, are taken out as partials part way and spilled; every group's
/// count and sum match a fold here.
#[test]
fn lane_aggregation_taken_out_under_the_budget_spills_and_matches() {
    let t = Tmp::new();
    let f = big_table(&t);
    let program = format!(
        r#"scan "{f}" | agg n = count(), total = sum(v), avg = mean(f), hi = max(v), sd = std(v) by s | sort s"#
    );
    let (free, limited) = both(&t, &program, true);
    assert_same_table(&free, &limited);
    assert_counts_and_sums(&limited, "s", s_of);
}

#[test]
fn median_and_n_unique_spill_by_group_and_match() {
    let t = Tmp::new();
    let f = big_table(&t);
    let program =
        format!(r#"scan "{f}" | agg med = median(v), kinds = n_unique(s), p9 = quantile(f, 0.9) by k | sort k"#);
    let (free, limited) = both(&t, &program, true);
    assert_same_table(&free, &limited);
    // Group 0 by hand: rows i with i*7919 % 50021 == 0.
    let mut vals: Vec<i64> = (0..ROWS as i64).filter(|i| (i * 7919) % 50_021 == 0).map(|i| (i * 13) % 1000).collect();
    vals.sort();
    let n = vals.len();
    let med = if n % 2 == 1 { vals[n / 2] as f64 } else { (vals[n / 2 - 1] + vals[n / 2]) as f64 / 2.0 };
    close(num(&column(&limited, "med")[0]), med);
}

#[test]
fn collection_aggregates_spill_by_group_and_keep_input_order() {
    let t = Tmp::new();
    let f = big_table(&t);
    let program =
        format!(r#"scan "{f}" | agg ids = string_agg(id, " "), common = mode(g), vs = len(list(v)) by k | sort k"#);
    let (free, limited) = both(&t, &program, true);
    assert_eq!(free, limited);
    // Every group by hand: its ids in file order, its commonest g (the
    // smallest of those tied), its row count.
    let mut groups: HashMap<i64, Vec<i64>> = HashMap::new();
    for i in 0..ROWS as i64 {
        groups.entry((i * 7919) % 50_021).or_default().push(i);
    }
    let rows = records(&limited);
    assert_eq!(rows.len(), groups.len());
    for r in rows {
        let ids = &groups[&r["k"].parse::<i64>().unwrap()];
        let text: Vec<String> = ids.iter().map(i64::to_string).collect();
        assert_eq!(r["ids"], text.join(" "));
        let mut counts = [0usize; 7];
        ids.iter().for_each(|i| counts[(i % 7) as usize] += 1);
        let most = counts.iter().max().unwrap();
        let common = counts.iter().position(|c| c == most).unwrap();
        assert_eq!(r["common"], common.to_string());
        assert_eq!(r["vs"], ids.len().to_string());
    }
}

#[test]
fn as_of_join_with_a_right_side_over_the_budget_partitions_by_key_and_matches() {
    let t = Tmp::new();
    let f = big_table(&t);
    // Row j of the right side has time 2j + 1: row i takes the last row
    // j of its key with 2j + 1 <= i.
    let program = format!(
        r#"let q = scan "{f}" | select k, t2 = id * 2 + 1, s2 = s
scan "{f}" | join q on k asof id = t2 kind=left | select id, t2, s2 | sort id"#
    );
    let (free, limited) = both(&t, &program, true);
    assert_eq!(free, limited);
    let mut last: HashMap<u64, u64> = HashMap::new();
    let mut want: Vec<Option<u64>> = vec![None; ROWS as usize];
    let key = |i: u64| (i * 7919) % 50_021;
    // Walking i upwards, right row j becomes visible once 2j + 1 <= i.
    for i in 0..ROWS {
        if i >= 1 {
            let j = (i - 1) / 2;
            if 2 * j + 1 == i {
                last.insert(key(j), j);
            }
        }
        want[i as usize] = last.get(&key(i)).copied();
    }
    let rows = records(&limited);
    assert_eq!(rows.len(), ROWS as usize);
    for (i, r) in rows.iter().enumerate() {
        let t2 = want[i].map(|j| (2 * j + 1).to_string()).unwrap_or_default();
        assert_eq!(r["t2"], t2, "row {i}");
    }
    assert!(rows.iter().any(|r| !r["s2"].is_empty()), "some rows match");
}

#[test]
fn a_window_without_by_over_the_budget_is_a_clear_out_of_resources_error() {
    // One partition cannot be split: documented as held whole, so past the
    // budget it stops before any output (exit 6), naming what it needs.
    let t = Tmp::new();
    let f = big_table(&t);
    let program = format!(r#"scan "{f}" | derive r = row_number() over (sort v) | filter r < 0"#);
    fails(&["run", "-e", &program, "--memory-limit", LIMIT], 6, "window keeps its partial results in memory");
}

#[test]
fn full_sort_spills_runs_and_merges_stably() {
    let t = Tmp::new();
    let f = big_table(&t);
    // `v` has many ties: a stable merge keeps them in input (id) order.
    let program = format!(r#"scan "{f}" | sort -v, g | select id, v, g"#);
    let (free, limited) = both(&t, &program, true);
    assert_eq!(free, limited);
    let rows = csv(&limited);
    assert_eq!(rows.len() as u64, ROWS + 1);
    let key =
        |r: &Vec<String>| (-(r[1].parse::<i64>().unwrap()), r[2].parse::<i64>().unwrap(), r[0].parse::<i64>().unwrap());
    assert!(rows[1..].windows(2).all(|w| key(&w[0]) < key(&w[1])), "not sorted by -v, g, then input order");
}

#[test]
fn distinct_spills_and_matches() {
    let t = Tmp::new();
    let f = big_table(&t);
    // Every row twice, plus a projection with repeats: the copies of a row
    // meet in the same part wherever they were spilled from.
    let program = format!(
        r#"let a = scan "{f}"
a | union a | select k, s, v, g | distinct | sort k, s, v, g"#
    );
    let (free, limited) = both(&t, &program, true);
    assert_eq!(free, limited);
    let expected: HashSet<(i64, String, i64)> =
        (0..ROWS).map(|i| (((i * 7919) % 50_021) as i64, s_of(i), ((i * 13) % 1000) as i64)).collect();
    assert_eq!(csv(&limited).len() - 1, expected.len());
}

/// A right side indexed once is held whole while it and its index fit two
/// thirds of the budget, where polars' join of each chunk (three times the
/// side, within a quarter) would partition both sides to disk: no spill,
/// the process inside the limit, and counts and sums as computed here.
#[test]
fn an_indexed_join_side_within_two_thirds_of_the_budget_is_not_partitioned() {
    let t = Tmp::new();
    let f = big_table(&t);
    // 300k rows, each key of `big_table`'s `k` (0..50021) three times;
    // `pad` (used below, so read) makes the side 16 MB once parsed.
    let mut right = String::from("k,w,pad\n");
    for j in 0..300_000u64 {
        right.push_str(&format!("{},{j},{}\n", j % 100_000, "p".repeat(20)));
    }
    let r = t.file("right.csv", right);
    let program = format!(
        r#"let r = scan "{r}"
scan "{f}" | join r on k | agg n = count(), ws = sum(w), p = max(pad) by g | sort g"#
    );
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let limit = ["--memory-limit", "64MB", "--temp-dir", spill.to_str().unwrap()];
    let o = run(&[&["run", "-e", &program, "--stats=json"][..], &limit].concat());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let stats = stats_json(&o.stderr);
    assert_eq!(stats["spilled_bytes"], 0, "{stats}");
    assert!(stats["peak_memory"].as_u64().unwrap() <= 64_000_000, "{stats}");
    let mut want: HashMap<u64, (i64, i64)> = HashMap::new();
    for i in 0..ROWS {
        let k = (i * 7919) % 50_021;
        let e = want.entry(i % 7).or_default();
        e.0 += 3;
        e.1 += (3 * k + 300_000) as i64;
    }
    let rows = records(&o.stdout);
    assert_eq!(rows.len(), 7);
    for row in rows {
        let g: u64 = row["g"].parse().unwrap();
        assert_eq!(want[&g], (row["n"].parse().unwrap(), row["ws"].parse().unwrap()), "group {g}");
        assert_eq!(row["p"], "p".repeat(20));
    }
    let (code, rss) = peak_rss(&[&["run", "-e", &program, "-o", "/dev/null"][..], &limit].concat());
    assert_eq!(code, 0);
    let bar = 64_000_000 * 12 / 10 + (50 << 20);
    assert!(rss <= bar, "peak RSS {} MiB over the {} MiB bar", rss >> 20, bar >> 20);
    assert_no_spill_left(&spill);
}

/// A build side whose "hot" key alone is larger than the budget: the
/// partitioned join cannot split it, and joins it piece by piece.
fn skewed_right(t: &Tmp) -> String {
    let mut text = String::from("s,w,pad\n");
    for j in 0..60_000u64 {
        text.push_str(&format!("s{},{j},{}\n", j * 2, "p".repeat(20)));
    }
    for j in 0..250_000u64 {
        text.push_str(&format!("hot,{j},{}\n", "q".repeat(20)));
    }
    t.file("right.csv", text)
}

#[test]
fn join_with_a_skewed_key_stays_in_budget_and_matches() {
    let t = Tmp::new();
    let f = big_table(&t);
    let r = skewed_right(&t);
    for kind in ["inner", "left", "full", "anti"] {
        // `pad` is used so that the right side's rows stay wide.
        let ws = if kind == "anti" { "" } else { "ws = sum(w), p = max(pad), " };
        let program = format!(
            r#"let r = scan "{r}"
scan "{f}" | join r on s kind={kind} | agg n = count(), {ws}vs = sum(v) by s | sort s"#
        );
        // The anti join reads only the right side's keys: few enough to broadcast.
        let (free, limited, stats) = both_with_stats(&t, &program, kind != "anti");
        assert_eq!(free, limited, "kind={kind}");
        if kind != "anti" {
            assert!(stats["skewed_parts"].as_u64().unwrap() > 0, "the hot key should be joined in pieces: {stats}");
        }
        if kind == "inner" {
            // 4 hot rows on the left (ids 0, 100000, ...) × 250,000 on the right.
            let rows = records(&limited);
            let hot = rows.iter().find(|r| r["s"] == "hot").unwrap();
            assert_eq!(hot["n"], "1000000");
        }
    }
}

#[test]
fn pass_through_output_larger_than_the_budget_streams_without_spilling() {
    let t = Tmp::new();
    let f = big_table(&t);
    let out = t.path("out.csv");
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let o = run(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | derive w = v * 2 | filter g != 3"#),
        "-o",
        out.to_str().unwrap(),
        "--memory-limit",
        "8MB",
        "--temp-dir",
        spill.to_str().unwrap(),
        "--stats=json",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let stats = stats_json(&o.stderr);
    assert_eq!(stats["spilled_bytes"], 0, "{stats}");
    assert!(stats["peak_memory"].as_u64().unwrap() <= 8_000_000, "{stats}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.len() > 8_000_000, "the output should be larger than the budget");
    let ids = ints(&written, "id");
    let expected: Vec<i64> = (0..ROWS as i64).filter(|i| i % 7 != 3).collect();
    assert_eq!(ids, expected, "rows in input order");
}

#[test]
fn running_past_max_spill_is_a_clear_error_and_cleans_up() {
    let t = Tmp::new();
    let f = big_table(&t);
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let out = t.path("out.csv");
    let o = run(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | sort s"#),
        "-o",
        out.to_str().unwrap(),
        "--memory-limit",
        LIMIT,
        "--temp-dir",
        spill.to_str().unwrap(),
        "--max-spill",
        "100KB",
    ]);
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("--max-spill allows 97.7 KiB"), "{}", o.stderr);
    assert!(o.stderr.contains(spill.to_str().unwrap()), "the directory is named: {}", o.stderr);
    assert_no_spill_left(&spill);
    assert!(!out.exists(), "no partial output");
}

#[test]
fn a_budget_too_small_to_hold_one_group_says_what_it_needs() {
    let t = Tmp::new();
    let f = big_table(&t);
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    // A global median needs every value at once.
    let o = run(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | agg m = median(v)"#),
        "--memory-limit",
        "2MB",
        "--temp-dir",
        spill.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("the memory budget of 1.9 MiB is too small"), "{}", o.stderr);
    assert!(o.stderr.contains("it needs about"), "{}", o.stderr);
    assert_no_spill_left(&spill);
}

#[test]
fn interrupt_while_spilling_removes_spill_files() {
    use std::io::BufReader;
    use std::process::Command;
    let t = Tmp::new();
    let input = slow_sort_input(&t, 1_500_000);
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let program = format!(r#"scan "{input}" | sort -v, s"#);
    let dir = spill.to_str().unwrap();
    let args = ["run", "-e", &program, "-o", "result.csv", "--memory-limit", LIMIT, "--temp-dir", dir];
    let mut child = spawn_with_progress(t.dir.path(), &args);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Wait until spill files exist, then interrupt.
    assert!(crate::util::wait_until_spilled(&mut stderr, &spill), "the run should have spilled before finishing");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {rest}");
    assert_no_spill_left(&spill);
    assert!(!t.path("result.csv").exists(), "no partial output");
}

#[test]
fn memory_limit_flags_are_checked() {
    let o = run(&["run", "-e", r#"scan "testdata/sales.csv" | count"#, "--memory-limit", "lots"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("`lots` is not a size"), "{}", o.stderr);
    let o = run(&["run", "-e", r#"scan "testdata/sales.csv" | count"#, "--memory-limit", "150%"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    let out = ok_args(&["run", "-e", r#"scan "testdata/sales.csv" | count"#, "--memory-limit", "50%"]);
    assert_eq!(out, "count\n20\n");
}

#[test]
fn stats_and_analyze_report_spilling() {
    let t = Tmp::new();
    let f = big_table(&t);
    let program = format!(r#"scan "{f}" | select k, s, v | distinct | count"#);
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let dir = spill.to_str().unwrap();
    let o = run(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | sort v, id"#),
        "--memory-limit",
        LIMIT,
        "--temp-dir",
        dir,
        "--stats",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let first = o.stderr.lines().find(|l| l.starts_with("dq stats:")).unwrap_or_else(|| panic!("{}", o.stderr));
    assert!(first.contains("of 15.3 MiB budget"), "{first}");
    assert!(!first.contains("spilled 0 B in 0 files"), "{first}");
    assert!(o.stderr.contains("  stage 0: "), "{}", o.stderr);
    let out = ok_args(&["explain", "--analyze", "-e", &program, "--memory-limit", LIMIT, "--temp-dir", dir]);
    assert!(out.contains("total: ") && out.contains("of 15.3 MiB"), "{out}");
    let stage_spills: Vec<&str> = out.lines().filter(|l| l.contains("⏱")).collect();
    assert!(stage_spills.iter().any(|l| !l.ends_with(" 0 B spilled")), "{out}");
    assert_no_spill_left(&spill);
}

#[test]
fn parquet_input_spills_like_csv() {
    let t = Tmp::new();
    let f = big_table(&t);
    let pq = t.path("big.parquet");
    ok_args(&["run", "-e", &format!(r#"scan "{f}" | write "{}""#, pq.display())]);
    let program = format!(r#"scan "{}" | agg n = count(), total = sum(v) by k, g | sort k, g"#, pq.display());
    let (free, limited) = both(&t, &program, true);
    assert_same_table(&free, &limited);
    let from_csv = ok(&format!(r#"scan "{f}" | agg n = count(), total = sum(v) by k, g | sort k, g"#));
    assert_eq!(from_csv, limited);
}

#[test]
fn window_functions_spill_by_partition_and_match_a_row_at_a_time_computation() {
    let t = Tmp::new();
    let f = big_table(&t);
    // `g` orders rows within a partition with many ties; `id` breaks them.
    let program = format!(
        r#"scan "{f}" | derive prev = lag(v) over (by k sort g, id), rn = row_number() over (by k sort g, id), run = cum_sum(v) over (by k sort g, id), share = v / sum(v) over (by k) | select id, prev, rn, run, share | sort id"#
    );
    let (free, limited) = both(&t, &program, true);
    assert_same_table(&free, &limited);
    // By hand: rows of each k in (g, id) order.
    let mut parts: HashMap<i64, Vec<(i64, i64, i64)>> = HashMap::new();
    for i in 0..ROWS as i64 {
        parts.entry((i * 7919) % 50_021).or_default().push((i % 7, i, (i * 13) % 1000));
    }
    let mut want: HashMap<i64, (String, i64, i64, f64)> = HashMap::new();
    for rows in parts.values_mut() {
        rows.sort();
        let total: i64 = rows.iter().map(|r| r.2).sum();
        let mut run = 0;
        for (n, &(_, id, v)) in rows.iter().enumerate() {
            run += v;
            let prev = if n == 0 { String::new() } else { rows[n - 1].2.to_string() };
            let share = if total == 0 { f64::NAN } else { v as f64 / total as f64 };
            want.insert(id, (prev, n as i64 + 1, run, share));
        }
    }
    let got = records(&limited);
    assert_eq!(got.len(), ROWS as usize);
    for r in got {
        let (prev, rn, run, share) = &want[&r["id"].parse::<i64>().unwrap()];
        assert_eq!(&r["prev"], prev);
        assert_eq!(num(&r["rn"]) as i64, *rn);
        assert_eq!(num(&r["run"]) as i64, *run);
        if share.is_nan() {
            assert_eq!(r["share"], "", "a zero total divides to null");
        } else {
            close(num(&r["share"]), *share);
        }
    }
}
