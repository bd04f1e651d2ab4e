//! Hive-style partitioned output (`write "dir/" (partition_by=[…])`) and
//! input (`scan "dir/**/*.parquet"` with the key columns restored and
//! files pruned by filters on them), checked against rows computed in the
//! test from the input it wrote.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::*;

/// `n` rows `id,k,g,v`: `k` cycles through values that need escaping in a
/// path (and an empty field, read as null), `g` through 0..3.
fn input(n: usize) -> String {
    let keys = ["EU", "a/b", "x=y", "100%", "", "é ü"];
    let mut s = String::from("id,k,g,v\n");
    for i in 0..n {
        s.push_str(&format!("{i},{},{},{}\n", keys[i % keys.len()], i % 3, i * 7 % 11));
    }
    s
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// Rows of CSV text as sorted lines of `id,k,g,v` (whatever the column order).
fn rows(text: &str) -> Vec<String> {
    let mut v: Vec<String> =
        records(text).iter().map(|r| format!("{},{},{},{}", r["id"], r["k"], r["g"], r["v"])).collect();
    v.sort();
    v
}

#[test]
fn partitioned_files_read_back_to_the_rows_written() {
    for format in ["parquet", "csv", "ndjson"] {
        let t = Tmp::new();
        let src = t.file("in.csv", input(60));
        let program = format!(r#"scan "{src}" | write "out" (partition_by=[k, g], format={format})"#);
        let o = t.run(&["run", "-e", &program]);
        assert_eq!(o.code, 0, "{format}: {}", o.stderr);
        // One directory per (k, g) seen: 6 keys (one null) x 3 = 18, as the
        // test's own loop makes (6 and 3 are not coprime: i%6 fixes i%3).
        let mut want: BTreeMap<String, usize> = BTreeMap::new();
        let keys = ["EU", "a%2Fb", "x%3Dy", "100%25", "__HIVE_DEFAULT_PARTITION__", "%C3%A9 %C3%BC"];
        for i in 0..60 {
            *want.entry(format!("k={}/g={}/part-0.{format}", keys[i % 6], i % 3)).or_default() += 1;
        }
        assert_eq!(files_under(&t.path("out")), want.keys().cloned().collect::<Vec<_>>(), "{format}");
        // The keys live in the directories, not in the files.
        let one = t.path("out").join(want.keys().next().unwrap());
        let o = t.run(&["schema", "--options", "hive=false", one.to_str().unwrap()]);
        assert_eq!(column(&o.stdout, "column"), ["id", "v"], "{format}: {}", o.stderr);
        // Read back: the same rows, keys restored with their types (g an
        // integer, the empty key null as it was read).
        let back = t.run(&["run", "-e", &format!(r#"scan "out/**/*.{format}" | select id, k, g, v"#)]);
        assert_eq!(back.code, 0, "{format}: {}", back.stderr);
        let orig = t.run(&["run", "-e", &format!(r#"scan "{src}""#)]);
        assert_eq!(rows(&back.stdout), rows(&orig.stdout), "{format}");
        // g is an integer again: it compares and sums as one.
        let twos = t.run(&[
            "run",
            "-e",
            &format!(r#"scan "out/**/*.{format}" | filter g == 2 | agg n = count(), s = sum(g)"#),
        ]);
        assert_eq!(records(&twos.stdout)[0]["n"], "20", "{format}: {}", twos.stderr);
        assert_eq!(records(&twos.stdout)[0]["s"], "40", "{format}");
    }
}

#[test]
fn a_filter_on_a_partition_column_skips_the_other_files() {
    let t = Tmp::new();
    let src = t.file("in.csv", input(30));
    assert_eq!(t.run(&["run", "-e", &format!(r#"scan "{src}" | write "out" (partition_by=[g])"#)]).code, 0);
    let program = r#"scan "out/**/*.parquet" | filter g >= 1 | agg n = count() by g | sort g"#;
    let plan = t.run(&["explain", "-e", program]);
    assert!(plan.stdout.contains("partitions (g): 1 of 3 files pruned"), "{}", plan.stdout);
    let out = t.run(&["run", "--stats=json", "-e", program]);
    assert_eq!(csv(&out.stdout), [["g", "n"], ["1", "10"], ["2", "10"]]);
    // Two of the three files are read: one chunk each.
    assert_eq!(stats_json(&out.stderr)["stages"][0]["chunks"], 2, "{}", out.stderr);
    let all = t.run(&["run", "--stats=json", "-e", r#"scan "out/**/*.parquet" | agg n = count() by g"#]);
    assert_eq!(stats_json(&all.stderr)["stages"][0]["chunks"], 3, "{}", all.stderr);
    // hive=false reads the files alone: no g column.
    let plain = t.run(&["run", "-e", r#"scan "out/**/*.parquet" (hive=false) | filter g == 1"#]);
    assert_eq!(plain.code, 2, "{}", plain.stderr);
    assert!(plain.stderr.contains("`g`"), "{}", plain.stderr);
}

#[test]
fn more_partitions_than_open_files_continue_in_further_parts() {
    // 150 keys arriving in many small chunks: no more than 64 files are
    // open at once, so a key seen again after its file was closed starts
    // part-1, part-2, ...; every row is still there, once.
    let t = Tmp::new();
    let mut s = String::from("id,k\n");
    for i in 0..3000 {
        s.push_str(&format!("{i},{}\n", i % 150));
    }
    let src = t.file("in.csv", &s);
    let o = t.run(&[
        "run",
        "--chunk-size",
        "2KB",
        "-e",
        &format!(r#"scan "{src}" | write "out" (partition_by=[k], format=csv)"#),
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let files = files_under(&t.path("out"));
    assert!(files.iter().any(|f| f.ends_with("part-1.csv")), "{files:?}");
    assert!(files.iter().filter(|f| f.starts_with("k=7/")).count() > 1, "{files:?}");
    let back = t.run(&["run", "-e", r#"scan "out/**/*.csv" | agg n = count(), keys = n_unique(k), ids = n_unique(id), bad = sum(if(id % 150 == k, 0, 1))"#]);
    let r = &records(&back.stdout)[0];
    assert_eq!(
        (r["n"].as_str(), r["keys"].as_str(), r["ids"].as_str(), r["bad"].as_str()),
        ("3000", "150", "3000", "0"),
        "{}",
        back.stderr
    );
}

#[test]
fn a_second_write_replaces_the_directory_and_a_failed_one_leaves_it() {
    let t = Tmp::new();
    let src = t.file("in.csv", input(30));
    let write = |filter: &str| {
        t.run(&["run", "-e", &format!(r#"scan "{src}" | filter {filter} | write "out" (partition_by=[g])"#)])
    };
    assert_eq!(write("true").code, 0);
    assert_eq!(files_under(&t.path("out")).len(), 3);
    assert_eq!(write("g == 0").code, 0);
    assert_eq!(files_under(&t.path("out")), ["g=0/part-0.parquet"]);
    // A run that fails half way (a bad record after the first chunks)
    // leaves the last result as it was and no temporary directory.
    let mut bad = input(2000);
    bad.push_str("1,2\n");
    let bad = t.file("bad.csv", bad);
    let o = t.run(&["run", "--chunk-size", "1KB", "-e", &format!(r#"scan "{bad}" | write "out" (partition_by=[g])"#)]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(files_under(&t.path("out")), ["g=0/part-0.parquet"]);
    assert!(t.listing().iter().all(|f| !f.starts_with(".dq-partial")), "{:?}", t.listing());
}

#[test]
fn bad_partitioned_writes_are_refused_before_any_work() {
    let src = root().join("testdata/sales.csv");
    let src = src.to_str().unwrap();
    let t = Tmp::new();
    let cases = [
        (format!(r#"scan "{src}" | write "out" (partition_by=[regoin])"#), "regoin"),
        (format!(r#"scan "{src}" | write "out" (partition_by=[price])"#), "partition keys are text, integers"),
        (format!(r#"scan "{src}" | write "out.csv" (format=csv)"#), "format= names the files of a partitioned write"),
        (format!(r#"scan "{src}" | write "out" (partition_by=[region], format=table)"#), "is one of csv"),
        (format!(r#"scan "{src}" | write "out" (partiton_by=[region])"#), "did you mean `partition_by`"),
        (
            format!(r#"scan "{src}" | select region | write "out" (partition_by=[region])"#),
            "every column is a partition key",
        ),
    ];
    for (program, needle) in cases {
        let o = t.run(&["run", "-e", &program]);
        assert_eq!(o.code, 2, "{program}: {}", o.stderr);
        assert!(o.stderr.contains(needle), "{program}: expected {needle:?} in {}", o.stderr);
    }
    // --format would be silently ignored: format= belongs to the write.
    let program = format!(r#"scan "{src}" | write "out" (partition_by=[region])"#);
    let o = t.run(&["run", "--format", "csv", "-e", &program]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("give format= in the `write`"), "{}", o.stderr);
    assert!(t.listing().is_empty(), "{:?}", t.listing());
}

#[test]
fn a_key_in_both_the_directories_and_the_files_is_refused() {
    let t = Tmp::new();
    t.file("d/g=1/a.csv", "g,v\n5,1\n");
    let o = t.run(&["run", "-e", r#"scan "d/**/*.csv""#]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("hive=false"), "{}", o.stderr);
    let plain = t.run(&["run", "-e", r#"scan "d/**/*.csv" (hive=false)"#]);
    assert_eq!(csv(&plain.stdout), [["g", "v"], ["5", "1"]]);
}

#[test]
fn a_partitioned_write_streams_inside_the_memory_limit() {
    // 1.2M rows (about 50 MB of CSV) into 50 partitions under a 64 MiB
    // limit: pieces go to their files as chunks arrive, so the process's
    // peak stays near the limit's bar (1.2 x limit + 50 MB of runtime,
    // as for the other verbs), and every row arrives.
    let t = Tmp::new();
    let input = wide_text_table(&t, 1_200_000);
    let out = t.path("out");
    let program = format!(r#"scan "{input}" | derive b = id % 50 | write "{}" (partition_by=[b])"#, out.display());
    let (code, rss) = peak_rss(&["run", "-e", &program, "--memory-limit", "64MiB"]);
    assert_eq!(code, 0);
    let bar = (64u64 << 20) * 12 / 10 + (50 << 20);
    assert!(rss <= bar, "peak RSS {} MiB over the {} MiB bar", rss >> 20, bar >> 20);
    let back = t.run(&[
        "run",
        "-e",
        &format!(
            r#"scan "{}/**/*.parquet" | agg n = count(), parts = n_unique(b), bad = sum(if(id % 50 == b, 0, 1))"#,
            out.display()
        ),
    ]);
    let r = &records(&back.stdout)[0];
    assert_eq!((r["n"].as_str(), r["parts"].as_str(), r["bad"].as_str()), ("1200000", "50", "0"), "{}", back.stderr);
}
