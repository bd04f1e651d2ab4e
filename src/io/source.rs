//! An opened source: the files a path or glob names, each behind its
//! format's [`FileReader`], and the schema they share.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::chunks::{ChunkJob, Chunks, ScanSummary};
use super::paths::{self, Compression};
use super::reader::{FileReader, ReadRequest};
use super::sample::{ColumnMeta, FileMeta, SampleBasis};
use super::{hive, ipc, npy, parquet, piped, text, unify};
use super::{CsvOptions, Error, Format, KeyDictionary, ReadSettings, Result, RowFilter, ScanOptions, StatsFilter};

/// An opened source: its files and the schema they share.
pub struct Source {
    /// The path or glob as written.
    pub pattern: String,
    /// The format of every file.
    pub format: Format,
    /// CSV options used for every file.
    pub csv: CsvOptions,
    /// The files in glob order.
    pub files: Vec<SourceFile>,
    /// Columns of all files unified by name (first-seen order), then the
    /// `filename=` column if asked for.
    pub schema: SchemaRef,
    /// The `filename=` column: each row's file path, as the glob named it.
    pub filename: Option<String>,
    /// Columns from `key=value` directories (see [`hive`]), after the files'
    /// own columns, and each file's values.
    pub partitions: hive::Partitions,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("pattern", &self.pattern).field("files", &self.files.len()).finish()
    }
}

/// One input file.
pub struct SourceFile {
    /// Its path (`-` for stdin).
    pub path: PathBuf,
    /// Size on disk in bytes (compressed size for compressed files; 0 for streams).
    pub size: u64,
    /// Stream compression.
    pub compression: Compression,
    /// The file's own columns, in file order.
    pub schema: SchemaRef,
    /// Its format's reader.
    pub(super) reader: Box<dyn FileReader>,
    /// For stdin or a pipe in a binary format: the temporary copy the
    /// reader reads, removed with it.
    _spool: Option<piped::Spool>,
}

impl Source {
    /// Opens a path, a glob or `-` (stdin): finds the files, reads their
    /// schemas (header + type inference for text, footer or header for
    /// binary formats) and unifies columns by name.
    ///
    /// # Errors
    /// [`Error::NotFound`] when nothing matches; read and decode errors.
    pub fn open(pattern: &str, options: &ScanOptions) -> Result<Source> {
        Source::open_all(&[pattern.to_string()], options)
    }

    /// Opens several paths or globs as one source (files in argument order).
    ///
    /// # Errors
    /// As [`Source::open`], for the first pattern that fails.
    pub fn open_all(patterns: &[String], options: &ScanOptions) -> Result<Source> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for p in patterns {
            for path in paths::expand(p)? {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
        if paths.is_empty() {
            return Err(Error::NotFound { pattern: patterns.join(" ") });
        }
        let pattern = patterns.join(" ");
        // A stream's format, unless given, is told by its first bytes.
        let mut format = match options.format {
            Some(f) => Some(f),
            None if paths::is_stream(&paths[0]) => None,
            None => Some(paths::format_of(&paths[0])?),
        };
        let mut csv = options.csv.clone();
        if !options.delimiter_set && paths.iter().all(|p| paths::is_tsv(p)) {
            csv.delimiter = b'\t';
        } else if !options.delimiter_set && format == Some(Format::Csv) {
            // No delimiter given: the first plain file's first records tell.
            if let Some(d) = paths.iter().find_map(|p| sniff(p, &csv)) {
                csv.delimiter = d;
            }
        }
        // One source has one format: a file whose name says another would
        // be misread (a Parquet file parsed as CSV), so it is refused.
        if let (None, Some(first)) = (options.format, format) {
            for p in paths.iter().filter(|p| !paths::is_stream(p)) {
                let its = paths::format_of(p)?;
                if its != first {
                    return Err(Error::Unsupported {
                        message: format!(
                            "{} is {its:?} but {} is {first:?}: one scan (or profile) reads files of one format; \
                             read them separately (or `union` two scans)",
                            p.display(),
                            paths[0].display()
                        ),
                    });
                }
            }
        }
        let mut files = Vec::with_capacity(paths.len());
        for p in &paths {
            let (file, its_format) = open_file(p, format, &csv)?;
            format = Some(its_format);
            files.push(file);
        }
        let format = format.unwrap_or(Format::Csv);
        if !csv.names.is_empty() && format != Format::Csv {
            return Err(Error::Unsupported {
                message: format!("names= names CSV columns; {pattern} is read as {format:?}"),
            });
        }
        if format == Format::Npy {
            npy::check_stackable(&files)?;
        }
        let mut schema = unify::unify_schemas(files.iter().map(|f| f.schema.as_ref()));
        if let Some(name) = &options.filename {
            if schema.contains(name) {
                return Err(Error::Unsupported {
                    message: format!("filename={name}: the files already have a column `{name}`; pick another name"),
                });
            }
            schema.with_column(name.into(), DataType::String);
        }
        let partitions = if options.no_hive { hive::Partitions::default() } else { hive::Partitions::detect(&paths) };
        for (name, dtype) in &partitions.columns {
            if schema.contains(name) {
                return Err(Error::Unsupported {
                    message: format!(
                        "{pattern}: the directories hold `{name}=…` and the files a column `{name}` too; add \
                         (hive=false) to the scan to read the files' column"
                    ),
                });
            }
            schema.with_column(name.into(), dtype.clone());
        }
        Ok(Source {
            pattern,
            format,
            csv,
            files,
            schema: Arc::new(schema),
            filename: options.filename.clone(),
            partitions,
        })
    }

    /// What the user should hear about how the files were read: a CSV
    /// that came out as one column whose name holds another likely
    /// delimiter (a `;` file read with `,`, where the delimiter could not be
    /// sniffed: compressed, stdin, or records that disagree).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.format != Format::Csv || self.schema.len() != 1 || self.csv.names.len() == 1 {
            return out;
        }
        let Some(name) = self.schema.iter_names().next() else { return out };
        let current = self.csv.delimiter;
        if let Some(&d) = [b';', b'\t', b'|', b','].iter().find(|&&d| d != current && name.as_bytes().contains(&d)) {
            let shown = if d == b'\t' { "\\t".to_string() } else { (d as char).to_string() };
            out.push(format!(
                "{} read as one column `{}`; if `{shown}` separates its fields, add (delimiter=\"{shown}\") to the scan",
                self.pattern,
                shortened(name, 40)
            ));
        }
        out
    }

    /// Counts the scan's jobs (after pruning with `filters`) for `explain`;
    /// reads no data.
    pub fn plan(&self, chunk_size: usize, filters: &[StatsFilter]) -> ScanSummary {
        let mut summary = ScanSummary::default();
        for (i, file) in self.files.iter().enumerate() {
            summary.bytes += file.size;
            if !self.partitions.may_match(i, filters) {
                summary.files_pruned += 1;
                continue;
            }
            file.reader.plan(chunk_size.max(1), filters, &mut summary);
        }
        summary
    }

    /// An iterator over all chunk jobs in file order, each file cut as the
    /// scan reaches it.
    pub fn chunks<'a>(&'a self, settings: &'a ReadSettings, filters: &[StatsFilter]) -> Chunks<'a> {
        Chunks::new(self, settings.chunk_size, filters, settings.disk_bytes.clone())
    }

    /// Reads one job into a frame with the `projection` columns (all when
    /// `None`), conformed to the unified schema.
    ///
    /// # Errors
    /// Malformed records (under [`super::BadRowPolicy::Error`]) and decode
    /// errors. A `filter` (the filter pushed into the scan, which still runs
    /// after it) lets a reader that can skip decoding rows it drops. A
    /// string column named in `dictionaries` may come back as that
    /// dictionary's ids (`UInt32`, see [`KeyDictionary`]) where the file
    /// allows.
    pub fn read_chunk(
        &self,
        job: &ChunkJob,
        projection: Option<&[String]>,
        filter: Option<&RowFilter>,
        dictionaries: &[(String, Arc<KeyDictionary>)],
        settings: &ReadSettings,
    ) -> Result<DataFrame> {
        let file = &self.files[job.file];
        let wanted: Vec<String> = match projection {
            Some(cols) => cols.to_vec(),
            None => self.schema.iter_names().map(|n| n.to_string()).collect(),
        };
        // Only ask the reader for columns this file has; the rest become nulls.
        let present: Vec<String> = wanted.iter().filter(|c| file.schema.contains(c)).cloned().collect();
        // The filter runs before the file's columns are conformed, so only
        // when its columns are read with the unified types.
        let filter = filter
            .filter(|f| f.columns.iter().all(|c| present.contains(c) && file.schema.get(c) == self.schema.get(c)));
        let string = |s: &Schema, name: &str| s.get(name) == Some(&DataType::String);
        let dictionaries: Vec<(String, Arc<KeyDictionary>)> = dictionaries
            .iter()
            .filter(|(name, _)| present.contains(name) && string(&file.schema, name) && string(&self.schema, name))
            .cloned()
            .collect();
        let request = ReadRequest { columns: &present, filter, dictionaries: &dictionaries, settings };
        let df = file.reader.read(job, &request)?;
        let df = self.conform(df, &wanted, &dictionaries).map_err(|e| Error::decode(&file.path, e))?;
        let mut df = df;
        if let Some(name) = self.filename.as_ref().filter(|n| wanted.contains(n)) {
            let path = AnyValue::StringOwned(file.path.to_string_lossy().as_ref().into());
            with_constant(&mut df, name, Scalar::new(DataType::String, path), &file.path)?;
        }
        for (c, (name, dtype)) in self.partitions.columns.iter().enumerate() {
            if wanted.contains(name) {
                let value = Scalar::new(dtype.clone(), self.partitions.values[job.file][c].clone());
                with_constant(&mut df, name, value, &file.path)?;
            }
        }
        Ok(df)
    }

    /// `df` conformed to the unified schema (string columns read as
    /// dictionary ids keep their `UInt32` type).
    fn conform(
        &self,
        df: DataFrame,
        wanted: &[String],
        dictionaries: &[(String, Arc<KeyDictionary>)],
    ) -> PolarsResult<DataFrame> {
        let coded: Vec<&str> = dictionaries
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| df.column(name).is_ok_and(|c| c.dtype() == &DataType::UInt32))
            .collect();
        if coded.is_empty() {
            return unify::conform(df, wanted, &self.schema);
        }
        let mut schema = self.schema.as_ref().clone();
        for name in coded {
            schema.with_column(name.into(), DataType::UInt32);
        }
        unify::conform(df, wanted, &schema)
    }

    /// Every row, in one frame: for small side inputs read while planning
    /// (the matrix of `matmul`), never for the data a pipeline streams.
    ///
    /// # Errors
    /// As [`Source::read_chunk`].
    pub fn read_all(&self) -> Result<DataFrame> {
        let settings = ReadSettings::new(16 << 20, super::BadRowPolicy::Error);
        let mut out: Option<DataFrame> = None;
        for job in self.chunks(&settings, &[]) {
            let df = self.read_chunk(&job?, None, None, &[], &settings)?;
            match &mut out {
                Some(all) => {
                    all.vstack_mut(&df).map_err(|e| Error::decode(&self.files[0].path, e))?;
                }
                None => out = Some(df),
            }
        }
        Ok(out.unwrap_or_else(|| DataFrame::empty_with_schema(&self.schema)))
    }

    /// Total bytes of all files (compressed sizes for compressed files).
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Jobs covering about `fraction` of every file, for `profile --sample`:
    /// pieces of about `piece` bytes spread over each file where its reader
    /// can read at random, the whole file where it cannot.
    pub fn sample_jobs(&self, fraction: f64, piece: usize, seed: u64) -> (Vec<ChunkJob>, SampleBasis) {
        let mut jobs = Vec::new();
        let mut basis = SampleBasis::default();
        let mut rng = seed ^ 0xD1B5_4A32_D192_ED03;
        for (i, file) in self.files.iter().enumerate() {
            let s = file.reader.sample(i, fraction, piece, &mut rng);
            jobs.extend(s.jobs);
            basis.sampled_bytes.push(s.sampled);
            basis.total_bytes.push(s.total);
            basis.whole.push(s.whole);
        }
        (jobs, basis)
    }

    /// What file metadata alone tells: rows per file (exact from footers
    /// and headers, estimated from the first MiB of text) and, where the
    /// format records them, null counts and min/max per column.
    pub fn metadata(&self) -> (Vec<FileMeta>, Vec<ColumnMeta>) {
        let files = self
            .files
            .iter()
            .map(|f| {
                let (rows, estimated) = f.reader.row_count();
                FileMeta { rows, estimated }
            })
            .collect();
        let columns = self
            .schema
            .iter()
            .map(|(name, dtype)| {
                let mut col =
                    ColumnMeta { name: name.to_string(), dtype: dtype.clone(), nulls: None, min: None, max: None };
                let summaries: Option<Vec<_>> = self
                    .files
                    .iter()
                    .filter(|f| f.schema.contains(name))
                    .map(|f| f.reader.column_summary(name, dtype))
                    .collect();
                if let Some(summaries) = summaries.filter(|s| !s.is_empty()) {
                    let mut nulls = Some(0u64);
                    for (n, lo, hi) in summaries {
                        nulls = nulls.zip(n).map(|(a, b)| a + b);
                        if lo.is_some() && (col.min.is_none() || lo < col.min) {
                            col.min = lo;
                        }
                        if hi.is_some() && (col.max.is_none() || hi > col.max) {
                            col.max = hi;
                        }
                    }
                    col.nulls = nulls;
                }
                col
            })
            .collect();
        (files, columns)
    }
}

/// `text` cut to `max` characters, with "…" when cut.
fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `value` in every row of column `name` (in place of the null column
/// `conform` put there): the `filename=` column, a partition key.
fn with_constant(df: &mut DataFrame, name: &str, value: Scalar, path: &Path) -> Result<()> {
    let column = Column::new_scalar(name.into(), value, df.height());
    df.with_column(column).map_err(|e| Error::decode(path, e))?;
    Ok(())
}

/// The delimiter of a CSV file (plain or compressed, not streamed), from
/// its first 64 KiB of text; `None` for streams and when nothing is
/// consistent.
fn sniff(path: &Path, csv: &CsvOptions) -> Option<u8> {
    if paths::is_stream(path) {
        return None;
    }
    const HEAD: u64 = 64 << 10;
    let mut head = Vec::with_capacity(HEAD as usize);
    let file = std::fs::File::open(path).ok()?;
    // A compressed file's first 64 KiB of text: decompressing them is cheap.
    let compression = paths::strip_compression(path).1;
    let reader = paths::decompressed(std::io::BufReader::new(file), compression, path).ok()?;
    std::io::Read::read_to_end(&mut std::io::Read::take(reader, HEAD + 1), &mut head).ok()?;
    let whole = head.len() as u64 <= HEAD;
    head.truncate(HEAD as usize);
    text::sniff_delimiter(&head, csv.quote, whole)
}

/// Opens one file with its format's reader (the one place that maps a
/// format to a reader), and says which format that was: `format` is `None`
/// only for a stream, whose first bytes then decide.
fn open_file(path: &Path, format: Option<Format>, csv: &CsvOptions) -> Result<(SourceFile, Format)> {
    if paths::is_stream(path) {
        return match piped::open(path, format)? {
            piped::Piped::Text { reader, format } => {
                let reader = text::StreamedText::from_stream(path, reader, format, csv)?;
                let file = SourceFile {
                    path: path.into(),
                    size: 0,
                    compression: Compression::None,
                    schema: reader.schema().clone(),
                    reader: Box::new(reader),
                    _spool: None,
                };
                Ok((file, format))
            }
            piped::Piped::Spooled { spool, format } => {
                let (mut file, format) = open_file(spool.path(), Some(format), csv)?;
                file.path = path.into();
                file._spool = Some(spool);
                Ok((file, format))
            }
        };
    }
    let format = match format {
        Some(f) => f,
        None => paths::format_of(path)?,
    };
    let (_, compression) = paths::strip_compression(path);
    let size = std::fs::metadata(path).map_err(|e| Error::read(path, e))?.len();
    let reader: Box<dyn FileReader> = match format {
        Format::Parquet => Box::new(parquet::ParquetFile::open(path)?),
        Format::Npy => Box::new(npy::NpyFile::open(path)?),
        Format::Ipc => Box::new(ipc::IpcFile::open(path)?),
        Format::Csv | Format::Ndjson | Format::Lines => {
            if compression != Compression::None {
                Box::new(text::StreamedText::open(path, format, csv, compression)?)
            } else {
                Box::new(text::MappedText::open(path, format, csv)?)
            }
        }
    };
    let file =
        SourceFile { path: path.into(), size, compression, schema: reader.schema().clone(), reader, _spool: None };
    Ok((file, format))
}
