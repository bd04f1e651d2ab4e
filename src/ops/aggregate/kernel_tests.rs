//! The aggregation sink (dq's own group-id and accumulator kernels, with
//! partials compacted and combined) checked against a plain HashMap fold
//! written here, on random data with many groups, null keys, long and
//! short text keys, nulls and NaN in the values, empty chunks and partials
//! merged before the finish.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::{AggKind, AggSpec, HashAggregate};
use crate::ops::{ChunkCtx, Sink};
use crate::test_rng::Rng;

type Key = (Option<i64>, Option<String>);

struct Data {
    k1: Vec<Option<i64>>,
    k2: Vec<Option<String>>,
    /// Short text only (held whole in its view).
    k3: Vec<Option<String>>,
    x: Vec<Option<i64>>,
    y: Vec<Option<f64>>,
    /// Never null (min and max take their no-null path).
    z: Vec<i64>,
}

fn data(rng: &mut Rng, rows: usize) -> Data {
    let texts: Vec<String> = (0..40)
        .map(|i| if i % 2 == 0 { format!("k{i}") } else { format!("a long key sharing a prefix {i}") })
        .collect();
    let mut d = Data { k1: vec![], k2: vec![], k3: vec![], x: vec![], y: vec![], z: vec![] };
    for _ in 0..rows {
        d.k1.push((rng.below(10) != 0).then(|| rng.below(700) as i64 - 350));
        d.k2.push((rng.below(12) != 0).then(|| texts[rng.below(40) as usize].clone()));
        d.k3.push((rng.below(15) != 0).then(|| format!("s{}", rng.below(300))));
        d.x.push((rng.below(8) != 0).then(|| rng.below(2_000_001) as i64 - 1_000_000));
        d.y.push(match rng.below(50) {
            0 => None,
            1 => Some(f64::NAN),
            _ => Some((rng.below(1_000_000) as f64) / 997.0 - 400.0),
        });
        d.z.push(rng.below(2_000_001) as i64 - 1_000_000);
    }
    d
}

fn frame(d: &Data, rows: std::ops::Range<usize>) -> DataFrame {
    df!(
        "k1" => &d.k1[rows.clone()],
        "k2" => &d.k2[rows.clone()],
        "k3" => &d.k3[rows.clone()],
        "x" => &d.x[rows.clone()],
        "y" => &d.y[rows.clone()],
        "z" => &d.z[rows],
    )
    .unwrap()
}

fn spec(name: &str, kind: AggKind, arg: Option<&str>, arg2: Option<&str>, dtype: DataType) -> AggSpec {
    AggSpec {
        name: name.into(),
        kind,
        arg: arg.map(col),
        arg2: arg2.map(col),
        quantile: 0.25,
        separator: String::new(),
        dtype,
        label: name.into(),
    }
}

/// Every decomposable aggregate; with `holistic`, medians, a quantile and
/// n_unique too (so the sink gathers rows and aggregates them once).
fn specs(holistic: bool) -> Vec<AggSpec> {
    use AggKind::*;
    use DataType::{Float64 as F, Int64 as I};
    let mut specs = vec![
        spec("n", CountRows, None, None, I),
        spec("nx", Count, Some("x"), None, I),
        spec("sx", Sum, Some("x"), None, I),
        spec("sy", Sum, Some("y"), None, F),
        spec("my", Mean, Some("y"), None, F),
        spec("lox", Min, Some("x"), None, I),
        spec("hiy", Max, Some("y"), None, F),
        spec("loy", Min, Some("y"), None, F),
        spec("sdy", Std, Some("y"), None, F),
        spec("vx", Var, Some("x"), None, F),
        spec("r", Corr, Some("x"), Some("y"), F),
        spec("c", Cov, Some("x"), Some("y"), F),
        spec("fx", First, Some("x"), None, I),
        spec("ly", Last, Some("y"), None, F),
        spec("hiz", Max, Some("z"), None, I),
        spec("loz", Min, Some("z"), None, I),
    ];
    if holistic {
        specs.push(spec("medx", Median, Some("x"), None, F));
        specs.push(spec("medy", Median, Some("y"), None, F));
        specs.push(spec("q1y", Quantile, Some("y"), None, F));
        specs.push(spec("ux", NUnique, Some("x"), None, I));
        specs.push(spec("uk2", NUnique, Some("k2"), None, I));
    }
    specs
}

/// The `q` quantile, sorting a copy: NaN above every number, linear
/// interpolation between the two nearest ranks.
fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or_else(|| a.is_nan().cmp(&b.is_nan())));
    let at = (v.len().checked_sub(1)? as f64) * q;
    let (lo, hi) = (v[at.floor() as usize], v[at.ceil() as usize]);
    Some(if lo == hi { lo } else { lo + (hi - lo) * (at - at.floor()) })
}

/// What each aggregate should be for one group's rows, computed directly.
fn fold(rows: &[usize], d: &Data) -> Vec<Option<f64>> {
    let xs: Vec<f64> = rows.iter().filter_map(|&r| d.x[r]).map(|v| v as f64).collect();
    let ys: Vec<f64> = rows.iter().filter_map(|&r| d.y[r]).collect();
    let pairs: Vec<(f64, f64)> = rows.iter().filter_map(|&r| Some((d.x[r]? as f64, d.y[r]?))).collect();
    let sum = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>());
    let mean = |v: &[f64]| sum(v).map(|s| s / v.len() as f64);
    let var = |v: &[f64]| {
        (v.len() > 1).then(|| {
            let m = mean(v).unwrap_or(0.0);
            v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / (v.len() - 1) as f64
        })
    };
    let skip_nan = |v: &[f64], max: bool| {
        let numbers: Vec<f64> = v.iter().copied().filter(|a| !a.is_nan()).collect();
        if numbers.is_empty() {
            return v.first().copied();
        }
        Some(
            numbers
                .into_iter()
                .fold(if max { f64::MIN } else { f64::MAX }, |a, b| if max { a.max(b) } else { a.min(b) }),
        )
    };
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let co = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>();
    let (sxx, syy) =
        (pairs.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>(), pairs.iter().map(|p| (p.1 - my).powi(2)).sum::<f64>());
    vec![
        Some(rows.len() as f64),
        Some(xs.len() as f64),
        sum(&xs),
        sum(&ys),
        mean(&ys),
        skip_nan(&xs, false),
        skip_nan(&ys, true),
        skip_nan(&ys, false),
        var(&ys).map(f64::sqrt),
        var(&xs),
        (n > 1.0 && sxx * syy != 0.0).then(|| co / (sxx * syy).sqrt()),
        (n > 1.0).then(|| co / (n - 1.0)),
        d.x[rows[0]].map(|v| v as f64),
        d.y[*rows.last().unwrap_or(&0)],
        rows.iter().map(|&r| d.z[r]).max().map(|v| v as f64),
        rows.iter().map(|&r| d.z[r]).min().map(|v| v as f64),
        quantile(&xs, 0.5),
        quantile(&ys, 0.5),
        quantile(&ys, 0.25),
        Some(rows.iter().filter_map(|&r| d.x[r]).collect::<HashSet<i64>>().len() as f64),
        Some(rows.iter().filter_map(|&r| d.k2[r].as_deref()).collect::<HashSet<&str>>().len() as f64),
    ]
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
        _ => false,
    }
}

fn values(column: &Column) -> Vec<Option<f64>> {
    column.cast(&DataType::Float64).unwrap().f64().unwrap().into_iter().collect()
}

fn run(keys: &[&str], d: &Data, rng: &mut Rng, holistic: bool) -> DataFrame {
    let sink = HashAggregate::new(keys.iter().map(|k| (k.to_string(), col(*k))).collect(), specs(holistic));
    let ctx = ChunkCtx { index: 0, side: &[], lane: None };
    let rows = d.k1.len();
    let mut partials = Vec::new();
    let mut at = 0;
    while at < rows {
        // Chunks of 0 to 600 rows: some empty, some with one row per group.
        let len = (rng.below(601) as usize).min(rows - at);
        partials.push(sink.partial(frame(d, at..at + len), &ctx).unwrap());
        at += len;
        // Now and then the partials so far are merged, as under a budget.
        if sink.can_compact() && rng.below(4) == 0 && partials.len() > 1 {
            let all = std::mem::take(&mut partials);
            partials.push(sink.compact(all).unwrap());
        }
    }
    sink.finish(partials, &ctx).unwrap().remove(0)
}

#[test]
fn grouped_aggregates_match_a_hashmap_fold() {
    check_against_fold(false);
}

/// With a median the rows are gathered and grouped once (the holistic
/// kernel), the other aggregates finished from their partial form.
#[test]
fn grouped_aggregates_with_medians_match_a_hashmap_fold() {
    check_against_fold(true);
}

fn check_against_fold(holistic: bool) {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let d = data(&mut rng, 20_000);
    // k2 holds long text, which the kernels across chunks leave to the
    // per-chunk tables; k3 only short text.
    for keys in [&["k1"][..], &["k2"], &["k1", "k2"], &["k3"], &["k3", "k1"]] {
        let text_key = keys.iter().copied().find(|k| *k != "k1");
        let text = |r: usize| match text_key {
            Some("k2") => d.k2[r].clone(),
            Some(_) => d.k3[r].clone(),
            None => None,
        };
        let mut groups: HashMap<Key, Vec<usize>> = HashMap::new();
        for r in 0..d.k1.len() {
            let k1 = keys.contains(&"k1").then_some(d.k1[r]).flatten();
            groups.entry((k1, text(r))).or_default().push(r);
        }
        let out = run(keys, &d, &mut rng, holistic);
        assert_eq!(out.height(), groups.len(), "groups by {keys:?}");
        let k1: Vec<Option<i64>> = match out.column("k1") {
            Ok(c) => c.i64().unwrap().into_iter().collect(),
            Err(_) => vec![None; out.height()],
        };
        let k2: Vec<Option<String>> = match out.column(text_key.unwrap_or("none")) {
            Ok(c) => c.str().unwrap().into_iter().map(|s| s.map(str::to_string)).collect(),
            Err(_) => vec![None; out.height()],
        };
        let got: Vec<Vec<Option<f64>>> = specs(holistic).iter().map(|s| values(out.column(&s.name).unwrap())).collect();
        for row in 0..out.height() {
            let key = (k1[row], k2[row].clone());
            let want = fold(&groups[&key], &d);
            for (i, s) in specs(holistic).iter().enumerate() {
                assert!(
                    close(got[i][row], want[i]),
                    "by {keys:?}, group {key:?}, {}: {:?} != {:?}",
                    s.name,
                    got[i][row],
                    want[i]
                );
            }
        }
    }
}

/// Gathered rows hold each distinct argument once: `median(y), std(y),
/// quantile(y)` gathers the key and one y column, not three.
#[test]
fn gathered_rows_hold_each_argument_once() {
    use AggKind::*;
    let mut rng = Rng(7);
    let d = data(&mut rng, 100);
    let specs = vec![
        spec("m", Median, Some("y"), None, DataType::Float64),
        spec("s", Std, Some("y"), None, DataType::Float64),
        spec("q", Quantile, Some("y"), None, DataType::Float64),
        spec("u", NUnique, Some("x"), None, DataType::Int64),
    ];
    let sink = HashAggregate::new(vec![("k1".into(), col("k1"))], specs);
    let ctx = ChunkCtx { index: 0, side: &[], lane: None };
    let gathered = sink.partial(frame(&d, 0..100), &ctx).unwrap();
    assert_eq!(gathered.width(), 3, "{:?}", gathered.get_column_names());
    let out = sink.finish(vec![gathered], &ctx).unwrap().remove(0);
    let y: Vec<f64> = d.y.iter().zip(&d.k1).filter(|(_, k)| **k == d.k1[0]).filter_map(|(y, _)| *y).collect();
    let row = (0..out.height()).find(|&r| out.column("k1").unwrap().i64().unwrap().get(r) == d.k1[0]).unwrap();
    assert!(close(values(out.column("m").unwrap())[row], quantile(&y, 0.5)));
    assert!(close(values(out.column("q").unwrap())[row], quantile(&y, 0.25)));
}
