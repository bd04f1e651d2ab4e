//! Group-by aggregation against a plain HashMap fold in the test, on
//! generated rows with many groups, null keys, NaN, long and short text
//! keys, integers in and out of every table's range, and chunks a filter
//! empties; run whole, in tiny chunks (so each thread's lane folds many
//! chunks), on one thread, and under a memory limit small enough that the
//! lanes are taken out and spilled part way. (The accounted peak under the
//! limit is checked in `memory.rs`, at 16 MB; at this 1.5 MB one it passes
//! the limit by up to a fifth, as it did before lanes: the fold of held
//! partials sizes its pieces for at least 1 MB free, `exec/partials.rs`.)

use std::collections::HashMap;

use crate::util::*;

const ROWS: usize = 20_000;

/// One generated row: `id`, the keys, an integer and a float value.
struct Row {
    id: usize,
    k: Option<i64>,
    t: Option<String>,
    s: i64,
    v: Option<i64>,
    f: Option<f64>,
}

fn rows() -> Vec<Row> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..ROWS)
        .map(|id| {
            let r = next();
            let k = (r % 13 != 0).then(|| match r % 5 {
                0 => -(((r >> 8) % 50) as i64),
                1 => 5_000_000_000 + ((r >> 8) % 40) as i64,
                _ => ((r >> 8) % 3000) as i64,
            });
            // Long texts (past what a view holds) in a band of rows only:
            // chunks with them are grouped on their own, the rest in lanes.
            let t = (r % 11 != 0).then(|| {
                if (8000..9000).contains(&id) && (r >> 20) % 3 == 0 {
                    format!("a long text key number {}", (r >> 24) % 500)
                } else {
                    format!("t{}", (r >> 24) % 2000)
                }
            });
            let v = ((r >> 30) % 9 != 0).then(|| ((r >> 32) % 2001) as i64 - 1000);
            let f = match (r >> 40) % 23 {
                0 => None,
                1 => Some(f64::NAN),
                _ => Some(((r >> 44) % 100_000) as f64 / 64.0 - 700.0),
            };
            Row { id, k, t, s: ((r >> 50) % 4) as i64, v, f }
        })
        .collect()
}

fn table(t: &Tmp, rows: &[Row]) -> String {
    let mut text = String::from("id,k,t,s,v,f\n");
    let opt = |o: Option<String>| o.unwrap_or_default();
    for r in rows {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.id,
            opt(r.k.map(|k| k.to_string())),
            opt(r.t.clone()),
            r.s,
            opt(r.v.map(|v| v.to_string())),
            opt(r.f.map(|f| if f.is_nan() { "NaN".into() } else { f.to_string() })),
        ));
    }
    t.file("rows.csv", text)
}

/// The aggregates of one group, folded row by row.
#[derive(Default)]
struct Fold {
    n: i64,
    count_v: i64,
    sum_v: i64,
    max_v: Option<i64>,
    f: Vec<f64>,
}

impl Fold {
    fn add(&mut self, r: &Row) {
        self.n += 1;
        if let Some(v) = r.v {
            self.count_v += 1;
            self.sum_v += v;
            self.max_v = Some(self.max_v.map_or(v, |m| m.max(v)));
        }
        self.f.extend(r.f);
    }

    /// n, count(v), sum(v), max(v), mean(f), min(f), std(f) as dq writes
    /// them (nulls empty; NaN in a mean or std makes it NaN; min takes NaN
    /// only when there is nothing else).
    fn expected(&self) -> [Option<f64>; 7] {
        let nf = self.f.len() as f64;
        let mean = (nf > 0.0).then(|| self.f.iter().sum::<f64>() / nf);
        let std = (nf > 1.0).then(|| {
            let m = mean.unwrap_or(0.0);
            (self.f.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (nf - 1.0)).sqrt()
        });
        let numbers: Vec<f64> = self.f.iter().copied().filter(|x| !x.is_nan()).collect();
        let min = if numbers.is_empty() {
            (!self.f.is_empty()).then_some(f64::NAN)
        } else {
            Some(numbers.iter().copied().fold(f64::INFINITY, f64::min))
        };
        [
            Some(self.n as f64),
            Some(self.count_v as f64),
            (self.count_v > 0).then_some(self.sum_v as f64),
            self.max_v.map(|v| v as f64),
            mean,
            min,
            std,
        ]
    }
}

const AGGS: &str = "n = count(), cv = count(v), sv = sum(v), hv = max(v), mf = mean(f), lf = min(f), df = std(f)";
const OUTPUTS: [&str; 7] = ["n", "cv", "sv", "hv", "mf", "lf", "df"];

fn same(got: &str, want: Option<f64>) -> bool {
    match want {
        None => got.is_empty(),
        Some(w) if w.is_nan() => got == "NaN",
        Some(w) => got.parse::<f64>().is_ok_and(|g| (g - w).abs() <= 1e-9 * w.abs().max(1.0)),
    }
}

/// Runs `agg ... by keys` (after `filter`, if any) with each setting and
/// checks every group against the fold of the rows `keep` keeps; under the
/// memory limit the run must spill.
fn check(keys: &[&str], filter: Option<&str>, keep: impl Fn(&Row) -> bool) {
    let t = Tmp::new();
    let rows = rows();
    let f = table(&t, &rows);
    let key_of = |r: &Row| -> Vec<String> {
        keys.iter()
            .map(|k| match *k {
                "k" => r.k.map(|k| k.to_string()).unwrap_or_default(),
                "t" => r.t.clone().unwrap_or_default(),
                "s" => r.s.to_string(),
                other => panic!("no key {other}"),
            })
            .collect()
    };
    let mut folds: HashMap<Vec<String>, Fold> = HashMap::new();
    for r in rows.iter().filter(|r| keep(r)) {
        folds.entry(key_of(r)).or_default().add(r);
    }
    let filter = filter.map(|c| format!(" | filter {c}")).unwrap_or_default();
    let program = format!(r#"scan "{f}"{filter} | agg {AGGS} by {}"#, keys.join(", "));
    let spill = t.path("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let settings: [&[&str]; 4] = [
        &[],
        &["--chunk-size", "4KB", "--threads", "2"],
        &["--chunk-size", "4KB", "--threads", "1"],
        &["--chunk-size", "4KB", "--threads", "2", "--memory-limit", "1500KB", "--stats=json"],
    ];
    for setting in settings {
        let mut args = vec!["run", "-e", &program, "--temp-dir", spill.to_str().unwrap()];
        args.extend_from_slice(setting);
        let o = run(&args);
        assert_eq!(o.code, 0, "{setting:?}: {}", o.stderr);
        if setting.contains(&"--memory-limit") {
            let stats = stats_json(&o.stderr);
            assert!(stats["spilled_bytes"].as_u64().unwrap() > 0, "expected spilling: {stats}");
        }
        let got = records(&o.stdout);
        assert_eq!(got.len(), folds.len(), "{setting:?}: groups of {program}");
        for row in &got {
            let key: Vec<String> = keys.iter().map(|k| row[*k].clone()).collect();
            let want = folds.get(&key).unwrap_or_else(|| panic!("{setting:?}: unexpected group {key:?}")).expected();
            for (name, want) in OUTPUTS.iter().zip(want) {
                assert!(
                    same(&row[*name], want),
                    "{setting:?}: group {key:?}: {name} = {:?}, want {want:?}",
                    row[*name]
                );
            }
        }
    }
}

#[test]
fn by_an_integer_key_matches_a_hashmap_fold() {
    check(&["k"], None, |_| true);
}

#[test]
fn by_a_text_key_matches_a_hashmap_fold() {
    check(&["t"], None, |_| true);
}

#[test]
fn by_three_keys_matches_a_hashmap_fold() {
    check(&["k", "t", "s"], None, |_| true);
}

/// Whole chunks filtered away (ids 2000 to 5999), and one row in seven.
#[test]
fn after_a_filter_that_empties_chunks_matches_a_hashmap_fold() {
    let keep = |r: &Row| r.id % 7 != 3 && (r.id < 2000 || r.id >= 6000);
    check(&["t", "s"], Some("id % 7 != 3 and (id < 2000 or id >= 6000)"), keep);
}

/// `explain` says how each aggregate runs: lanes where they fold it,
/// partials per chunk for `first`/`last`, gathered values for a median.
#[test]
fn explain_says_where_an_aggregate_folds_per_thread() {
    let plan =
        |aggs: &str| ok_args(&["explain", "-e", &format!(r#"scan "testdata/sales.csv" | agg {aggs} by region"#)]);
    assert!(plan("n = count(), q = sum(qty)").contains("partial aggregate per thread across its chunks, then combine"));
    assert!(plan("f = first(qty)").contains("partial aggregate per chunk, then combine"));
    assert!(plan("m = median(qty)").contains("gather keys and arguments, then aggregate once"));
}
