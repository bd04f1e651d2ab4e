//! A filter pushed into a CSV scan: the filter's columns are parsed first,
//! the filter is evaluated on them, and only the records it keeps are
//! parsed into the other columns.
//!
//! Every record's field count is still checked and every projected value
//! still read as its type would read it (a value that is not plainly
//! written sends the chunk to the general path, which reports it), so the
//! rows, the errors and the bad-row counts are those of parsing every
//! column; what is saved is building the dropped rows' columns (strings
//! copied into views, numbers stored), which was most of `filter v3 > 95`
//! over a CSV. The same filter runs again after the scan.
//!
//! A filter that keeps most rows gains nothing and costs its first pass,
//! so a scan stops prefiltering a file once the filter has kept more than
//! [`MAX_KEPT`] of the rows it has seen.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use polars::io::predicates::PhysicalIoExpr;
use polars::prelude::*;

use super::csv_fast;
use crate::io::{CsvOptions, RowFilter};

/// Above this share of rows kept, parsing every column at once is cheaper.
pub const MAX_KEPT: f64 = 0.4;

/// Rows seen before the share kept decides.
const TRIAL_ROWS: u64 = 100_000;

/// How much of a file a pushed filter has kept so far.
#[derive(Debug, Default)]
pub struct Kept {
    seen: AtomicU64,
    kept: AtomicU64,
}

impl Kept {
    fn worth_it(&self) -> bool {
        let seen = self.seen.load(Relaxed);
        seen < TRIAL_ROWS || (self.kept.load(Relaxed) as f64) <= MAX_KEPT * seen as f64
    }

    fn add(&self, seen: usize, kept: usize) {
        self.seen.fetch_add(seen as u64, Relaxed);
        self.kept.fetch_add(kept as u64, Relaxed);
    }
}

/// A filter to apply while parsing, and what it has kept of the file.
#[derive(Clone, Copy)]
pub struct Prefilter<'a> {
    pub filter: &'a RowFilter,
    pub kept: &'a Kept,
}

impl Prefilter<'_> {
    /// Whether parsing `columns` can use the filter: it reads only some of
    /// them, and has kept few enough rows so far.
    pub fn applies(&self, columns: &[String]) -> bool {
        let filter = &self.filter.columns;
        !filter.is_empty()
            && filter.iter().all(|c| columns.contains(c))
            && columns.len() > filter.len()
            && self.kept.worth_it()
    }
}

/// The `columns` of the records of `bytes` that `pre`'s filter may keep
/// (see the module docs), or `None` for the general path (a chunk the
/// fast path refuses, or a filter that fails).
pub fn parse(
    bytes: &[u8],
    schema: &Schema,
    columns: &[String],
    opts: &CsvOptions,
    pre: Prefilter,
) -> Option<DataFrame> {
    let others: Vec<String> = columns.iter().filter(|c| !pre.filter.columns.contains(c)).cloned().collect();
    let mut ends = Vec::new();
    let keys = csv_fast::scan(bytes, schema, &pre.filter.columns, &others, opts, Some(&mut ends))?;
    let mask = pre.filter.evaluate_io(&keys).ok()?;
    let mask = mask.bool().ok()?;
    if mask.len() != ends.len() {
        return None;
    }
    let mut kept_bytes = Vec::new();
    let (mut start, mut kept) = (0, 0);
    for (&end, keep) in ends.iter().zip(mask) {
        if keep == Some(true) {
            kept_bytes.extend_from_slice(&bytes[start..end]);
            if kept_bytes.last() != Some(&b'\n') {
                kept_bytes.push(b'\n'); // the chunk's last record, without a line end
            }
            kept += 1;
        }
        start = end;
    }
    pre.kept.add(ends.len(), kept);
    if kept == 0 {
        return csv_fast::empty(schema, columns);
    }
    csv_fast::parse(&kept_bytes, schema, columns, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    fn schema() -> Schema {
        [("i", DataType::Int64), ("f", DataType::Float64), ("s", DataType::String), ("b", DataType::Boolean)]
            .into_iter()
            .map(|(n, t)| Field::new(n.into(), t))
            .collect()
    }

    fn all() -> Vec<String> {
        ["i", "f", "s", "b"].iter().map(|c| c.to_string()).collect()
    }

    fn filter(expr: Expr, columns: &[&str]) -> RowFilter {
        RowFilter { expr: Some(expr), columns: columns.iter().map(|c| c.to_string()).collect(), bound: None }
    }

    /// Random plain records, some values empty (null).
    fn chunk(rng: &mut Rng, rows: usize) -> Vec<u8> {
        let texts = ["a", "b", "héllo", "", "a longer text than twelve bytes"];
        let mut out = String::new();
        for r in 0..rows {
            let i = if rng.below(10) == 0 { String::new() } else { (rng.below(100) as i64 - 20).to_string() };
            let f = if rng.below(10) == 0 { String::new() } else { format!("{}.{}", rng.below(100), rng.below(1000)) };
            let b = ["true", "false", ""][rng.below(3) as usize];
            out.push_str(&format!("{i},{f},{},{b}", rng.pick(&texts)));
            if r + 1 < rows || rng.below(2) == 0 {
                out.push('\n');
            }
        }
        out.into_bytes()
    }

    /// Every filter keeps exactly the rows that parsing every column and
    /// then filtering keeps (the independent computation), nulls dropped,
    /// with the columns in schema order.
    #[test]
    fn the_rows_kept_are_those_of_parsing_everything_then_filtering() {
        let schema = schema();
        let mut rng = Rng(41);
        let filters = [
            (col("i").gt(lit(50)), vec!["i"]),
            (col("s").eq(lit("a")), vec!["s"]),
            (col("f").lt(lit(10.0)).and(col("b")), vec!["f", "b"]),
            (col("i").is_null(), vec!["i"]),
            (col("i").gt(lit(1000)), vec!["i"]), // keeps nothing
        ];
        for case in 0..60 {
            let bytes = chunk(&mut rng, 1 + case * 7);
            let (expr, columns) = &filters[case % filters.len()];
            let f = filter(expr.clone(), columns);
            let kept = Kept::default();
            let pre = Prefilter { filter: &f, kept: &kept };
            let wanted: Vec<String> =
                if case % 2 == 0 { all() } else { vec!["i".into(), "s".into(), "f".into(), "b".into()] };
            assert!(pre.applies(&wanted));
            let got = parse(&bytes, &schema, &wanted, &CsvOptions::default(), pre).expect("plain chunk");
            let everything = csv_fast::parse(&bytes, &schema, &wanted, &CsvOptions::default()).unwrap();
            assert_eq!(kept.seen.load(Relaxed) as usize, everything.height());
            let want = everything.lazy().filter(expr.clone()).collect().unwrap();
            assert!(got.equals_missing(&want), "case {case}:\ngot {got}\nwant {want}");
        }
    }

    /// A value the columns' type does not read plainly sends the chunk to
    /// the general path (which reports it) even in a row the filter drops;
    /// so does a bad field count.
    #[test]
    fn dropped_rows_are_still_checked() {
        let schema = schema();
        let f = filter(col("i").gt(lit(5)), &["i"]);
        let kept = Kept::default();
        let pre = Prefilter { filter: &f, kept: &kept };
        let good = b"9,1.5,a,true\n1,2.5,b,false\n";
        assert_eq!(parse(good, &schema, &all(), &CsvOptions::default(), pre).unwrap().height(), 1);
        for bad in [&b"9,1.5,a,true\n1,x,b,false\n"[..], b"9,1.5,a,true\n1,2.5,b,maybe\n", b"9,1.5,a,true\n1,2.5,b\n"] {
            assert!(
                parse(bad, &schema, &all(), &CsvOptions::default(), pre).is_none(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// A filter that keeps most rows stops being applied once enough rows
    /// were seen; one that reads every wanted column is never applied.
    #[test]
    fn a_filter_that_keeps_most_rows_is_left_to_run_after_the_scan() {
        let f = filter(col("i").gt(lit(0)), &["i"]);
        let kept = Kept::default();
        let pre = Prefilter { filter: &f, kept: &kept };
        assert!(pre.applies(&all()));
        assert!(!pre.applies(&["i".to_string()]), "nothing left to parse later");
        assert!(!pre.applies(&["s".to_string(), "f".to_string()]), "the filter's column is not read");
        let bytes = "1,1.5,a,true\n".repeat(TRIAL_ROWS as usize);
        let got = parse(bytes.as_bytes(), &schema(), &all(), &CsvOptions::default(), pre).unwrap();
        assert_eq!(got.height(), TRIAL_ROWS as usize);
        assert!(!pre.applies(&all()), "every row kept");
        // A selective filter stays.
        let kept = Kept::default();
        kept.add(TRIAL_ROWS as usize * 10, TRIAL_ROWS as usize);
        assert!(Prefilter { filter: &f, kept: &kept }.applies(&all()));
    }
}
