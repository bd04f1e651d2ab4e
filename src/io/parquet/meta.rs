//! Parquet: footer reading, row-group planning with min/max pruning, and
//! reading a slice of rows with polars' Parquet decoder (or a string key
//! column as dictionary ids, see [`super::key_dictionary`]).

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::{Arc, Mutex};

use polars::io::parquet::metadata::FileMetadataRef;
use polars::io::predicates::PhysicalIoExpr;
use polars::prelude::*;
use polars_arrow::array::{DictionaryArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField, IntegerType, Metadata, DTYPE_CATEGORICAL};
use polars_parquet::parquet::statistics::Statistics;
use polars_parquet::read::{column_iter_to_arrays, BasicDecompressor, Filter, PageReader, PhysicalType};
use polars_parquet_format::thrift::protocol::TCompactInputProtocol;
use polars_parquet_format::PageHeader;
use polars_utils::mmap::{MemReader, MemSlice};

use super::key_dictionary::KeyDictionary;
use super::top_bound::TopBound;
use crate::io::{Error, Result};

/// A footer and the schema it describes.
pub(crate) struct Meta {
    pub schema: SchemaRef,
    md: FileMetadataRef,
}

/// Comparison in a [`StatsFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsOp {
    /// `==`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// A literal compared against column statistics.
#[derive(Debug, Clone, PartialEq)]
pub enum StatValue {
    /// Integers, and dates as days since 1970-01-01.
    Int(i64),
    /// Floats.
    Float(f64),
    /// Strings (compared bytewise).
    Str(String),
}

/// `column op value`, a conjunct of a pushed-down filter that row-group
/// statistics can rule out.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsFilter {
    /// Column name.
    pub column: String,
    /// Comparison.
    pub op: StatsOp,
    /// Literal.
    pub value: StatValue,
}

impl std::fmt::Display for StatsFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            StatsOp::Eq => "==",
            StatsOp::Lt => "<",
            StatsOp::LtEq => "<=",
            StatsOp::Gt => ">",
            StatsOp::GtEq => ">=",
        };
        match &self.value {
            StatValue::Int(i) => write!(f, "{} {op} {i}", self.column),
            StatValue::Float(x) => write!(f, "{} {op} {x}", self.column),
            StatValue::Str(s) => write!(f, "{} {op} {s:?}", self.column),
        }
    }
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Bound {
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
}

impl Meta {
    pub fn read(path: &Path, file: File) -> Result<Meta> {
        let mut reader = ParquetReader::new(file);
        let arrow_schema = reader.schema().map_err(|e| Error::decode(path, e))?;
        let schema = Schema::from_arrow_schema(&arrow_schema);
        let md = reader.get_metadata().map_err(|e| Error::decode(path, e))?.clone();
        Ok(Meta { schema: Arc::new(schema), md })
    }

    /// Row slices to read: consecutive surviving row groups are merged up
    /// to about `max_rows` rows (a task per tiny row group costs more than
    /// it reads), and row groups larger than that are cut into slices.
    /// Returns (slices, row groups, row groups pruned).
    pub fn plan(&self, filters: &[StatsFilter], max_rows: usize) -> (Vec<(usize, usize)>, usize, usize) {
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut offset = 0usize;
        let mut pruned = 0;
        // The slice being grown from adjacent kept row groups.
        let mut open: Option<(usize, usize)> = None;
        for rg in &self.md.row_groups {
            let rows = rg.num_rows();
            let keep = filters.iter().all(|f| may_match(rg, f));
            if !keep {
                pruned += 1;
                out.extend(open.take());
            } else if rows > 0 {
                match &mut open {
                    Some((start, len)) if *start + *len == offset && *len + rows <= max_rows => *len += rows,
                    _ => {
                        out.extend(open.take());
                        // Slicing re-decodes the group per slice: only worth it for big ones.
                        if rows > 2 * max_rows {
                            let pieces = rows.div_ceil(max_rows);
                            let step = rows.div_ceil(pieces);
                            let mut s = 0;
                            while s < rows {
                                out.push((offset + s, step.min(rows - s)));
                                s += step;
                            }
                        } else {
                            open = Some((offset, rows));
                        }
                    }
                }
            }
            offset += rows;
        }
        out.extend(open);
        (out, self.md.row_groups.len(), pruned)
    }
}

impl Meta {
    /// Rows in the file.
    pub fn num_rows(&self) -> usize {
        self.md.num_rows
    }

    /// (first row, rows) of every row group.
    pub fn row_groups(&self) -> Vec<(usize, usize)> {
        let mut offset = 0;
        self.md
            .row_groups
            .iter()
            .map(|rg| {
                let g = (offset, rg.num_rows());
                offset += rg.num_rows();
                g
            })
            .collect()
    }

    /// (null count, min, max) of a column over all row groups, from
    /// statistics; `None` where a row group lacks them.
    pub fn column_summary(&self, name: &str, dtype: &DataType) -> (Option<u64>, Option<String>, Option<String>) {
        let mut nulls = Some(0u64);
        let (mut lo, mut hi): (Option<Bound>, Option<Bound>) = (None, None);
        let mut complete = true;
        for rg in &self.md.row_groups {
            let stats = rg
                .columns_under_root_iter(name)
                .filter(|c| c.len() == 1)
                .and_then(|mut c| c.next().and_then(|c| c.statistics()))
                .and_then(|s| s.ok());
            let Some(stats) = stats else {
                nulls = None;
                complete = false;
                continue;
            };
            let (n, min, max) = bounds(&stats);
            nulls = nulls.zip(n).map(|(a, b)| a + b as u64);
            match (min, max) {
                (Some(min), Some(max)) => {
                    if lo.as_ref().is_none_or(|l| min < *l) {
                        lo = Some(min);
                    }
                    if hi.as_ref().is_none_or(|h| max > *h) {
                        hi = Some(max);
                    }
                }
                _ => complete = false,
            }
        }
        if !complete {
            return (nulls, None, None);
        }
        (nulls, lo.and_then(|b| show(b, dtype)), hi.and_then(|b| show(b, dtype)))
    }
}

fn bounds(stats: &Statistics) -> (Option<i64>, Option<Bound>, Option<Bound>) {
    match stats {
        Statistics::Int32(s) => {
            (s.null_count, s.min_value.map(|v| Bound::Int(v as i64)), s.max_value.map(|v| Bound::Int(v as i64)))
        }
        Statistics::Int64(s) => (s.null_count, s.min_value.map(Bound::Int), s.max_value.map(Bound::Int)),
        Statistics::Float(s) => {
            (s.null_count, s.min_value.map(|v| Bound::Float(v as f64)), s.max_value.map(|v| Bound::Float(v as f64)))
        }
        Statistics::Double(s) => (s.null_count, s.min_value.map(Bound::Float), s.max_value.map(Bound::Float)),
        Statistics::Binary(s) => {
            (s.null_count, s.min_value.clone().map(Bound::Bytes), s.max_value.clone().map(Bound::Bytes))
        }
        Statistics::Boolean(s) => (s.null_count, None, None),
        _ => (None, None, None),
    }
}

/// A statistics bound as dq prints the column's values.
fn show(b: Bound, dtype: &DataType) -> Option<String> {
    Some(match (b, dtype) {
        (Bound::Int(d), DataType::Date) => {
            chrono::NaiveDate::from_num_days_from_ce_opt(d as i32 + 719_163)?.to_string()
        }
        (Bound::Int(_), DataType::Datetime(_, _)) => return None,
        (Bound::Int(i), _) => i.to_string(),
        (Bound::Float(f), _) => f.to_string(),
        (Bound::Bytes(v), DataType::String) => String::from_utf8_lossy(&v).into_owned(),
        (Bound::Bytes(_), _) => return None,
    })
}

/// False only when the statistics prove no row of the group satisfies `f`.
fn may_match(rg: &polars_parquet::parquet::metadata::RowGroupMetadata, f: &StatsFilter) -> bool {
    let Some(mut cols) = rg.columns_under_root_iter(&f.column) else { return true };
    if cols.len() != 1 {
        return true;
    }
    let Some(Ok(stats)) = cols.next().and_then(|c| c.statistics()) else { return true };
    let (min, max) = match stats {
        Statistics::Int32(s) => (s.min_value.map(|v| Bound::Int(v as i64)), s.max_value.map(|v| Bound::Int(v as i64))),
        Statistics::Int64(s) => (s.min_value.map(Bound::Int), s.max_value.map(Bound::Int)),
        Statistics::Float(s) => {
            (s.min_value.map(|v| Bound::Float(v as f64)), s.max_value.map(|v| Bound::Float(v as f64)))
        }
        Statistics::Double(s) => (s.min_value.map(Bound::Float), s.max_value.map(Bound::Float)),
        Statistics::Binary(s) => (s.min_value.map(Bound::Bytes), s.max_value.map(Bound::Bytes)),
        _ => return true,
    };
    let (Some(min), Some(max)) = (min, max) else { return true };
    let value = match (&f.value, &min) {
        (StatValue::Int(i), Bound::Int(_)) => Bound::Int(*i),
        (StatValue::Int(i), Bound::Float(_)) => Bound::Float(*i as f64),
        (StatValue::Float(x), Bound::Float(_)) => Bound::Float(*x),
        (StatValue::Float(x), Bound::Int(_)) => {
            // Compare an integer column with a float literal in floats.
            let (Bound::Int(lo), Bound::Int(hi)) = (&min, &max) else { return true };
            return may_match_f64(*lo as f64, *hi as f64, f.op, *x);
        }
        (StatValue::Str(s), Bound::Bytes(_)) => Bound::Bytes(s.as_bytes().to_vec()),
        _ => return true,
    };
    if let Bound::Float(x) = value {
        if x.is_nan() {
            return true;
        }
    }
    match f.op {
        StatsOp::Eq => min <= value && value <= max,
        StatsOp::Lt => min < value,
        StatsOp::LtEq => min <= value,
        StatsOp::Gt => max > value,
        StatsOp::GtEq => max >= value,
    }
}

fn may_match_f64(lo: f64, hi: f64, op: StatsOp, x: f64) -> bool {
    match op {
        StatsOp::Eq => lo <= x && x <= hi,
        StatsOp::Lt => lo < x,
        StatsOp::LtEq => lo <= x,
        StatsOp::Gt => hi > x,
        StatsOp::GtEq => hi >= x,
    }
}

impl Meta {
    /// A footer that lists only the row groups holding rows
    /// `start..start+len`, and the first row of the first of them.
    ///
    /// polars 0.46 decodes every row group from the one *before* a slice's
    /// start (its range search stops one group early when the slice starts
    /// on a boundary), so a task per row group decoded twice the data; with
    /// only the task's row groups in its footer, each group is decoded once.
    fn row_groups_holding(&self, start: usize, len: usize) -> (FileMetadataRef, usize) {
        let mut md = self.md.as_ref().clone();
        let mut offset = 0;
        let mut first = None;
        md.row_groups.retain(|rg| {
            let (lo, hi) = (offset, offset + rg.num_rows());
            offset = hi;
            let keep = hi > start && lo < start + len;
            if keep && first.is_none() {
                first = Some(lo);
            }
            keep
        });
        md.num_rows = md.row_groups.iter().map(|rg| rg.num_rows()).sum();
        (Arc::new(md), first.unwrap_or(start))
    }
}

/// A filter the reader may apply while decoding: the columns it reads are
/// decoded first, the rest only for the rows it keeps (polars' prefiltered
/// Parquet read). The same filter still runs after the scan, so a reader
/// that cannot use it loses nothing but time; a top-k's bound drops only
/// rows the top-k would drop.
#[derive(Clone, Debug)]
pub struct RowFilter {
    /// The predicate, as polars evaluates it.
    pub expr: Option<Expr>,
    /// The columns it reads.
    pub columns: Vec<String>,
    /// A top-k's bound on its first key (see [`TopBound`]).
    pub bound: Option<Arc<TopBound>>,
}

impl PhysicalIoExpr for RowFilter {
    /// The predicate is row-wise (dq rejects aggregates outside `agg`), so
    /// one row group at a time gives the rows the whole chunk would. A mask
    /// of another type or length is an error here, not polars' panic.
    fn evaluate_io(&self, df: &DataFrame) -> PolarsResult<Series> {
        let mask = match &self.expr {
            Some(expr) => {
                let mask = df.clone().lazy().select([expr.clone().alias("mask")]).collect()?;
                let mask = mask.column("mask")?.as_materialized_series().clone();
                polars_ensure!(
                    mask.dtype() == &DataType::Boolean && mask.len() == df.height(),
                    ComputeError: "a pushed-down filter gave {} values of type {} for {} rows", mask.len(), mask.dtype(), df.height()
                );
                Some(mask.bool()?.clone())
            }
            None => None,
        };
        let keep = match &self.bound {
            Some(bound) => bound.keeps(df.column(&bound.column)?.as_materialized_series()),
            None => None,
        };
        let mask = match (mask, keep) {
            (Some(mask), Some(keep)) => &mask & &keep,
            (Some(mask), None) => mask,
            (None, Some(keep)) => keep,
            (None, None) => BooleanChunked::full(PlSmallStr::EMPTY, true, df.height()),
        };
        Ok(mask.with_name("mask".into()).into_series())
    }

    fn collect_live_columns(&self, live: &mut PlIndexSet<PlSmallStr>) {
        live.extend(self.columns.iter().map(|c| PlSmallStr::from(c.as_str())));
    }
}

/// Reads rows `start..start+len` (file-wide numbering) of `columns`; with
/// a `filter`, only rows it may keep (see [`RowFilter`]). With `want_mask`,
/// the filter is applied only where its mask can be given back (rows of
/// one row group), and the mask comes with the rows.
pub(crate) fn read_rows(
    path: &Path,
    meta: &Meta,
    (start, len): (usize, usize),
    columns: &[String],
    filter: Option<&RowFilter>,
    want_mask: bool,
    bytes_read: &AtomicU64,
) -> Result<(DataFrame, Option<BooleanChunked>)> {
    if columns.is_empty() {
        return Ok((crate::io::height_only(len), None));
    }
    let file = File::open(path).map_err(|e| Error::read(path, e))?;
    let mut reader = ParquetReader::new(file);
    let (md, offset) = meta.row_groups_holding(start, len);
    // polars' prefiltered read takes whole row groups (it ignores a slice);
    // it evaluates the filter once per row group, so the mask of a read of
    // one row group is the filter's only mask. (polars 0.46 fails on a row
    // index beside a prefiltered read, which would number the rows kept.)
    let filter = filter.filter(|_| start == offset && len == md.num_rows && (!want_mask || md.row_groups.len() == 1));
    reader.set_metadata(md);
    let reader = reader.with_columns(Some(columns.to_vec()));
    let recorded = filter.map(|f| Arc::new(Recorded { filter: f.clone(), mask: Mutex::new(None) }));
    let df = match &recorded {
        Some(f) => {
            let predicate: Arc<dyn PhysicalIoExpr> = f.clone();
            reader.with_predicate(Some(predicate)).read_parallel(ParallelStrategy::Prefiltered)
        }
        None => reader.with_slice(Some((start - offset, len))).read_parallel(ParallelStrategy::None),
    }
    .finish()
    .map_err(|e| Error::decode(path, e))?;
    bytes_read.fetch_add(df.estimated_size() as u64, Ordering::Relaxed);
    let mask = recorded.and_then(|f| f.mask.lock().unwrap_or_else(|e| e.into_inner()).take());
    Ok((df, mask.filter(|_| want_mask)))
}

/// A [`RowFilter`] that keeps the mask it gave.
struct Recorded {
    filter: RowFilter,
    mask: Mutex<Option<BooleanChunked>>,
}

impl PhysicalIoExpr for Recorded {
    fn evaluate_io(&self, df: &DataFrame) -> PolarsResult<Series> {
        let mask = self.filter.evaluate_io(df)?;
        *self.mask.lock().unwrap_or_else(|e| e.into_inner()) = Some(mask.bool()?.clone());
        Ok(mask)
    }

    fn collect_live_columns(&self, live: &mut PlIndexSet<PlSmallStr>) {
        self.filter.collect_live_columns(live);
    }
}

/// Rows `start..start+len` (file-wide numbering) of the string column
/// `column` as ids of `dict`, or `None` when a row group holds the column
/// other than wholly dictionary-encoded (polars' decoder for dictionary
/// codes refuses such pages), its values repeat too little to pay off,
/// or they no longer fit `dict`.
/// Anything that fails here is left to the ordinary read, which reports it.
///
/// `kept`: the rows of `start..start+len` a filter kept, when they are one
/// whole row group: only their codes are decoded and remapped (else every
/// row's are, and the caller filters them).
pub(crate) fn read_codes(
    path: &Path,
    meta: &Meta,
    (start, len): (usize, usize),
    column: &str,
    dict: &KeyDictionary,
    kept: Option<&Bitmap>,
) -> Result<Option<Series>> {
    let file = File::open(path).map_err(|e| Error::read(path, e))?;
    let data = MemSlice::from_file(&file).map_err(|e| Error::decode(path, e))?;
    // The marker that selects polars' decoder of codes (it reads Polars'
    // own categorical columns this way).
    let marker = Metadata::from([(PlSmallStr::from_static(DTYPE_CATEGORICAL), PlSmallStr::EMPTY)]);
    let dtype = ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(ArrowDataType::Utf8View), false);
    let field = ArrowField::new(column.into(), dtype, true).with_metadata(marker);
    let mut out: Option<Series> = None;
    let mut offset = 0;
    for rg in &meta.md.row_groups {
        let (lo, hi) = (offset, offset + rg.num_rows());
        offset = hi;
        if hi <= start || lo >= start + len {
            continue;
        }
        let (from, to) = (start.max(lo) - lo, (start + len).min(hi) - lo);
        let mut chunks = rg.columns_under_root_iter(column).into_iter().flatten();
        let (Some(chunk), None) = (chunks.next(), chunks.next()) else { return Ok(None) };
        if chunk.physical_type() != PhysicalType::ByteArray {
            return Ok(None);
        }
        let range = chunk.byte_range();
        let bytes = data.slice(range.start as usize..range.end as usize);
        // Ids pay off when a row group repeats its values (how often:
        // `dict` says). The dictionary's size is in its page header, before
        // anything is decoded.
        match dictionary_len(&bytes) {
            Some(n) if dict.takes(n, to - from) => {}
            _ => return Ok(None),
        }
        let pages = PageReader::new(MemReader::new(bytes), chunk, vec![], usize::MAX);
        let whole = from == 0 && to == rg.num_rows() && len == rg.num_rows();
        let rows = match kept.filter(|k| whole && k.len() == len) {
            Some(kept) => Some(Filter::new_masked(kept.clone())),
            None => (from > 0 || to < rg.num_rows()).then(|| Filter::new_ranged(from, to)),
        };
        let primitive = &chunk.descriptor().descriptor.primitive_type;
        let Ok(array) =
            column_iter_to_arrays(vec![BasicDecompressor::new(pages, vec![])], vec![primitive], field.clone(), rows)
        else {
            return Ok(None);
        };
        let Some(codes) = array.as_any().downcast_ref::<DictionaryArray<u32>>() else { return Ok(None) };
        let Some(values) = codes.values().as_any().downcast_ref::<Utf8ViewArray>() else { return Ok(None) };
        let Some(ids) = dict.ids_of(values) else { return Ok(None) };
        let part = KeyDictionary::remap(column, codes.keys(), &ids);
        match &mut out {
            None => out = Some(part),
            Some(s) => {
                s.append(&part).map_err(|e| Error::decode(path, e))?;
            }
        }
    }
    Ok(out)
}

/// The number of values in the dictionary page a column chunk starts
/// with, or `None` when it starts with another page.
fn dictionary_len(chunk: &[u8]) -> Option<usize> {
    let mut protocol = TCompactInputProtocol::new(chunk, chunk.len());
    let header = PageHeader::read_from_in_protocol(&mut protocol).ok()?;
    header.dictionary_page_header.and_then(|d| usize::try_from(d.num_values).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row group whose values repeat about three times is read as ids
    /// for the only key of an aggregation, and as strings for one of
    /// several keys; the ids decode to the rows' strings.
    #[test]
    fn how_often_values_repeat_decides_ids_or_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.parquet");
        let values: Vec<String> = (0..3000).map(|i| format!("key number {}", (i * 7) % 1000)).collect();
        let mut df = DataFrame::new(vec![Column::new("k".into(), &values)]).unwrap();
        ParquetWriter::new(File::create(&path).unwrap()).finish(&mut df).unwrap();
        let meta = Meta::read(&path, File::open(&path).unwrap()).unwrap();
        let several = KeyDictionary::new(KeyDictionary::SEVERAL_KEYS);
        assert!(read_codes(&path, &meta, (0, 3000), "k", &several, None).unwrap().is_none());
        let one = KeyDictionary::new(KeyDictionary::ONE_KEY);
        let ids = read_codes(&path, &meta, (0, 3000), "k", &one, None).unwrap().expect("read as ids");
        assert_eq!(ids.dtype(), &DataType::UInt32);
        let back = one.decode(&ids.into_column()).unwrap();
        let back: Vec<&str> = back.str().unwrap().into_no_null_iter().collect();
        assert_eq!(back, values);
        // Only the kept rows' codes, when a filter kept some of the one row
        // group: the same strings as the rows kept.
        let kept = Bitmap::from_iter((0..3000).map(|i| i % 3 == 1 || i > 2990));
        let ids = read_codes(&path, &meta, (0, 3000), "k", &one, Some(&kept)).unwrap().expect("read as ids");
        let back = one.decode(&ids.into_column()).unwrap();
        let back: Vec<&str> = back.str().unwrap().into_no_null_iter().collect();
        let want: Vec<&str> =
            values.iter().enumerate().filter(|(i, _)| kept.get_bit(*i)).map(|(_, v)| v.as_str()).collect();
        assert_eq!(back, want);
    }
}
