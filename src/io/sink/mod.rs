//! Sinks: result frames written as CSV, TSV, JSON, NDJSON, Parquet, Arrow
//! IPC, a terminal table or Markdown, to stdout or to a file. Files are
//! written under a temporary name in the destination directory and renamed
//! into place by [`AtomicFile::commit`], so a failed run leaves nothing behind.

mod background_write;
mod compress;
mod csv;
mod npy;
mod parquet;
mod parquet_dictionary;
mod partitioned;
mod table;

pub use partitioned::PartitionedWriter;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::{Compression, Error, Result};

/// The compression a destination's name asks for (`.gz`, `.zst`).
fn compression_of(path: &Path) -> Compression {
    super::paths::strip_compression(path).1
}
use background_write::BackgroundWriter;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Comma-separated, header first; null is an empty field.
    Csv,
    /// Tab-separated.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Apache Parquet (zstd).
    Parquet,
    /// Arrow IPC file.
    Arrow,
    /// A boxed table for terminals.
    Table,
    /// A Markdown pipe table.
    Markdown,
    /// A NumPy array of the (numeric) columns; regular files only.
    Npy,
}

impl OutputFormat {
    /// The format named by `--format`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "csv" => Self::Csv,
            "tsv" => Self::Tsv,
            "json" => Self::Json,
            "ndjson" | "jsonl" => Self::Ndjson,
            "parquet" => Self::Parquet,
            "arrow" | "ipc" | "feather" => Self::Arrow,
            "table" => Self::Table,
            "markdown" | "md" => Self::Markdown,
            "npy" => Self::Npy,
            _ => return None,
        })
    }

    /// The extension of a file in this format (`.parquet` for the
    /// terminal-only table formats, which are never written to files).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::Json => "json",
            Self::Ndjson => "ndjson",
            Self::Arrow => "arrow",
            Self::Npy => "npy",
            Self::Parquet | Self::Table | Self::Markdown => "parquet",
        }
    }

    /// The format a destination's extension implies.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for an unknown extension.
    pub fn from_path(path: &Path) -> Result<Self> {
        let (name, compression) = super::paths::strip_compression(path);
        let ext = Path::new(&name).extension().and_then(|e| e.to_str()).unwrap_or("");
        let format = Self::from_name(ext).filter(|f| !matches!(f, Self::Table)).ok_or_else(|| Error::Unsupported {
            message: format!(
                "cannot tell the output format of {} from its extension (use .csv .tsv .json .ndjson .parquet \
                 .arrow .npy, and .gz or .zst after a text format's)",
                path.display()
            ),
        })?;
        format.check_compression(path, compression)?;
        Ok(format)
    }

    /// Only text formats are compressed whole: Parquet and Arrow compress
    /// their own pages, and a `.npy` header is written last, in place.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a binary format with `.gz` / `.zst`.
    pub fn check_compression(self, path: &Path, compression: Compression) -> Result<()> {
        match self {
            Self::Parquet | Self::Arrow | Self::Npy if compression != Compression::None => Err(Error::Unsupported {
                message: format!(
                    "{}: {self:?} output is not compressed whole (Parquet and Arrow compress their own pages); \
                     drop the .gz/.zst",
                    path.display()
                ),
            }),
            _ => Ok(()),
        }
    }
}

/// Where `-o PATH` writes.
pub enum Target {
    /// `-o -`: standard output.
    Stdout,
    /// An existing file that is not a regular file (`/dev/null`,
    /// `/dev/stdout`, a FIFO, a device): written straight to, never replaced.
    Special(std::fs::File),
    /// A regular file (or a new one), written atomically; a symlink is
    /// followed, so the file it points to is replaced, not the link.
    Atomic(AtomicFile),
}

impl Target {
    /// Opens the target of `path`.
    ///
    /// # Errors
    /// [`Error::Write`] when it cannot be opened or created.
    pub fn open(path: &Path) -> Result<Target> {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout);
        }
        if super::is_stream(path) {
            let file = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| Error::write(path, e))?;
            return Ok(Target::Special(file));
        }
        Ok(Target::Atomic(AtomicFile::create(&resolve_links(path))?))
    }
}

/// `path` with symlinks followed (also a link to a file not yet there).
fn resolve_links(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(target) => p = p.parent().map_or(target.clone(), |dir| dir.join(&target)),
            Err(_) => break,
        }
    }
    p
}

/// A file written under a temporary name and renamed into place on commit;
/// dropped uncommitted, the temporary file is removed.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
    _registered: crate::cleanup::Registered,
}

impl AtomicFile {
    /// Creates the temporary file beside `dest`.
    ///
    /// # Errors
    /// [`Error::Write`] when the directory is missing or not writable.
    pub fn create(dest: &Path) -> Result<Self> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if dest.is_dir() {
            return Err(Error::write(dest, "it is a directory"));
        }
        // Like `mkdir -p`: ETL jobs write into dated directories that may not exist yet.
        std::fs::create_dir_all(&dir).map_err(|e| Error::write(dest, e))?;
        // Partial files of runs that were killed go first.
        crate::cleanup::remove_stale(&dir, ".dq-partial-");
        let mut builder = tempfile::Builder::new();
        let prefix = crate::cleanup::prefix(".dq-partial-");
        builder.prefix(&prefix);
        // Temporary files are private by default; the result should not be.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let tmp = builder.tempfile_in(&dir).map_err(|e| Error::write(dest, e))?;
        let _registered = crate::cleanup::register(tmp.path());
        Ok(AtomicFile { tmp, dest: dest.to_path_buf(), _registered })
    }

    /// A handle to write through.
    ///
    /// # Errors
    /// When the handle cannot be duplicated.
    pub fn writer(&self) -> Result<std::fs::File> {
        self.tmp.as_file().try_clone().map_err(|e| Error::write(&self.dest, e))
    }

    /// Renames the finished file into place. It is not synced to disk
    /// first: the rename makes the result appear whole to every reader, and
    /// a result is not a database that must survive a power cut (DuckDB's
    /// COPY stopped syncing its output files for the same reason, in
    /// duckdb#12371; polars and DataFusion never did). Syncing cost 1.5 s
    /// of a 4 s run writing 500 MB of CSV here.
    ///
    /// # Errors
    /// [`Error::Write`] when renaming fails.
    pub fn commit(self) -> Result<()> {
        let dest = self.dest.clone();
        self.tmp.persist(&dest).map_err(|e| Error::write(&dest, e.error))?;
        Ok(())
    }

    /// Where the file will land.
    pub fn dest(&self) -> &Path {
        &self.dest
    }
}

/// A `Write` that several owners share, so the sink can flush (and see
/// errors) after polars' writers, which own their writer, are done. Bytes
/// are written on a thread of their own.
#[derive(Clone)]
struct Shared(Arc<Mutex<BackgroundWriter>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned writer"))?.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned writer"))?.flush()
    }
}

// One writer per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Csv(csv::CsvSink<Shared>),
    Parquet(parquet::ParquetSink<Shared>),
    Arrow(polars::io::ipc::BatchedWriter<Shared>),
    Npy(npy::NpySink),
    Ndjson,
    Json { first: bool },
    Table { frames: Vec<DataFrame>, rows: usize, markdown: bool, max_rows: usize },
}

/// Writes result frames one after another in one format.
pub struct ResultWriter {
    inner: Inner,
    out: Shared,
    name: PathBuf,
    schema: Schema,
    rows: u64,
    /// A second handle on the output file, for formats whose header is
    /// written last (`.npy`).
    patch: Option<std::fs::File>,
}

impl ResultWriter {
    /// A writer of `format` to `out`; `name` is used in error messages and
    /// `max_table_rows` caps how many rows a table shows.
    ///
    /// # Errors
    /// When the format's writer cannot start (e.g. a schema Parquet cannot hold).
    pub fn new(
        format: OutputFormat,
        out: Box<dyn Write + Send>,
        name: &Path,
        schema: &Schema,
        max_table_rows: usize,
    ) -> Result<Self> {
        let compression = compression_of(name);
        format.check_compression(name, compression)?;
        let out = compress::Encoded::new(out, compression).map_err(|e| Error::write(name, e))?;
        let out = BackgroundWriter::new(out).map_err(|e| Error::write(name, e))?;
        let out = Shared(Arc::new(Mutex::new(out)));
        let err = |e: PolarsError| Error::write(name, e);
        let inner = match format {
            OutputFormat::Csv | OutputFormat::Tsv => {
                let separator = if format == OutputFormat::Tsv { b'\t' } else { b',' };
                Inner::Csv(csv::CsvSink::new(out.clone(), schema, separator).map_err(err)?)
            }
            OutputFormat::Parquet => Inner::Parquet(parquet::ParquetSink::new(out.clone(), schema).map_err(err)?),
            OutputFormat::Arrow => Inner::Arrow(IpcWriter::new(out.clone()).batched(schema).map_err(err)?),
            OutputFormat::Npy => {
                Inner::Npy(npy::NpySink::new(&mut out.clone(), schema).map_err(|e| Error::write(name, e))?)
            }
            OutputFormat::Ndjson => Inner::Ndjson,
            OutputFormat::Json => Inner::Json { first: true },
            OutputFormat::Table | OutputFormat::Markdown => Inner::Table {
                frames: Vec::new(),
                rows: 0,
                markdown: format == OutputFormat::Markdown,
                max_rows: max_table_rows,
            },
        };
        if let Inner::Json { .. } = inner {
            out.clone().write_all(b"[").map_err(|e| Error::write(name, e))?;
        }
        Ok(ResultWriter { inner, out, name: name.to_path_buf(), schema: schema.clone(), rows: 0, patch: None })
    }

    /// Gives the writer a second handle on its output file, so a format
    /// whose header is known last (`.npy`) can write it at the end.
    pub fn header_patch(mut self, file: std::fs::File) -> Self {
        self.patch = Some(file);
        self
    }

    /// Appends one frame.
    ///
    /// # Errors
    /// [`Error::Write`] on any write failure (a closed pipe included).
    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        self.rows += df.height() as u64;
        let name = self.name.clone();
        let err = |e: PolarsError| Error::write(&name, e);
        let text;
        let df = match &self.inner {
            // Binary formats keep the type; text has one spelling for datetimes.
            Inner::Parquet(_) | Inner::Arrow(_) | Inner::Npy(_) => df,
            _ => {
                text = datetimes_as_text(df).map_err(err)?;
                &text
            }
        };
        match &mut self.inner {
            Inner::Csv(w) => w.write(df).map_err(err)?,
            // Row groups cut from the batch, not from its in-memory chunks.
            Inner::Parquet(w) => w.write(df).map_err(err)?,
            Inner::Arrow(w) => w.write_batch(df).map_err(err)?,
            Inner::Npy(w) => w.write(&mut self.out.clone(), df).map_err(|e| Error::write(&name, e))?,
            Inner::Ndjson => {
                let mut df = df.clone();
                JsonWriter::new(self.out.clone())
                    .with_json_format(JsonFormat::JsonLines)
                    .finish(&mut df)
                    .map_err(err)?;
            }
            Inner::Json { first } => {
                let mut lines = Vec::new();
                let mut df = df.clone();
                JsonWriter::new(&mut lines).with_json_format(JsonFormat::JsonLines).finish(&mut df).map_err(err)?;
                let mut out = self.out.clone();
                for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    let sep: &[u8] = if *first { b"\n" } else { b",\n" };
                    *first = false;
                    out.write_all(sep).and_then(|_| out.write_all(line)).map_err(|e| Error::write(&name, e))?;
                }
            }
            Inner::Table { frames, rows, max_rows, .. } => {
                // Keep the head for display, and count the rest.
                if *rows < *max_rows {
                    frames.push(df.head(Some(*max_rows - *rows)));
                }
                *rows += df.height();
            }
        }
        Ok(())
    }

    /// Finishes the format (footers, closing bracket, the table) and flushes.
    /// Returns the number of rows written.
    ///
    /// # Errors
    /// [`Error::Write`] on any write failure.
    pub fn finish(self) -> Result<u64> {
        let name = self.name.clone();
        let err = |e: PolarsError| Error::write(&name, e);
        let mut out = self.out.clone();
        match self.inner {
            Inner::Csv(w) => w.finish().map_err(err)?,
            Inner::Parquet(w) => {
                w.finish().map_err(err)?;
            }
            Inner::Arrow(mut w) => w.finish().map_err(err)?,
            Inner::Npy(w) => {
                // The data must be on disk before the header goes in front of it.
                out.flush().map_err(|e| Error::write(&name, e))?;
                let file = self
                    .patch
                    .as_ref()
                    .ok_or_else(|| Error::write(&name, "internal: no file to finish the .npy header in"))?;
                std::os::unix::fs::FileExt::write_all_at(file, &w.header(), 0).map_err(|e| Error::write(&name, e))?;
            }
            Inner::Ndjson => {}
            Inner::Json { first } => {
                let close: &[u8] = if first { b"]\n" } else { b"\n]\n" };
                out.write_all(close).map_err(|e| Error::write(&name, e))?;
            }
            Inner::Table { frames, rows, markdown, max_rows } => {
                let text = if markdown {
                    table::markdown(&self.schema, &frames, rows)
                } else {
                    table::boxed(&self.schema, &frames, rows, max_rows, comfy_table::Table::new().width())
                };
                out.write_all(text.as_bytes()).map_err(|e| Error::write(&name, e))?;
            }
        }
        let mut background = out.0.lock().map_err(|_| Error::write(&name, "poisoned writer"))?;
        background.finish().map_err(|e| Error::write(&name, e))?;
        Ok(self.rows)
    }
}

/// `df` with its datetime and duration columns spelled the one way dq
/// writes them ([`crate::temporal::format_datetime`],
/// [`crate::duration::format_duration`]).
fn datetimes_as_text(df: &DataFrame) -> PolarsResult<DataFrame> {
    let mut out = df.clone();
    for col in df.get_columns() {
        let text = match col.dtype() {
            DataType::Datetime(..) => crate::temporal::datetimes_to_text(col)?,
            DataType::Duration(_) => crate::duration::durations_to_text(col)?,
            _ => continue,
        };
        out.replace(col.name(), text.into_series().with_name(col.name().clone()))?;
    }
    Ok(out)
}
