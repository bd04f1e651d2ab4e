//! Where results go: a file (written atomically, format from the
//! extension) or stdout (a table on a terminal, CSV when piped, unless
//! `--format` says otherwise).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use polars::prelude::{DataFrame, Schema as PlSchema};

use crate::io::sink::{AtomicFile, OutputFormat, PartitionedWriter, ResultWriter, Target};
use crate::Error;

/// Output formats for `--format`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A boxed table (the default on a terminal).
    Table,
    /// A Markdown table.
    Markdown,
    /// Parquet (files or pipes only).
    Parquet,
    /// Arrow IPC (files or pipes only).
    Arrow,
    /// A NumPy array of the numeric columns (regular files only).
    Npy,
}

impl FormatArg {
    fn to_format(self) -> OutputFormat {
        match self {
            FormatArg::Csv => OutputFormat::Csv,
            FormatArg::Tsv => OutputFormat::Tsv,
            FormatArg::Json => OutputFormat::Json,
            FormatArg::Ndjson => OutputFormat::Ndjson,
            FormatArg::Table => OutputFormat::Table,
            FormatArg::Markdown => OutputFormat::Markdown,
            FormatArg::Parquet => OutputFormat::Parquet,
            FormatArg::Arrow => OutputFormat::Arrow,
            FormatArg::Npy => OutputFormat::Npy,
        }
    }
}

/// Output flags.
#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    /// Write the result to this file (format from its extension) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Output format [default: table on a terminal, csv otherwise; for files, the extension].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

/// Why `.npy` output goes to regular files only.
const NPY_NEEDS_A_FILE: &str =
    "a .npy array needs a regular file (its header holds the row count, written last): use -o out.npy";

/// Binary bytes would garble a terminal: Parquet and Arrow go to a file or
/// a pipe (`zstd` refuses a terminal too).
fn refuse_binary_on_terminal(format: OutputFormat) -> Result<(), Error> {
    if matches!(format, OutputFormat::Parquet | OutputFormat::Arrow) && std::io::stdout().is_terminal() {
        return Err(Error::Usage(format!(
            "standard output is a terminal: {format:?} output goes to a file (`-o out.parquet`) or a pipe"
        )));
    }
    Ok(())
}

/// Rows shown by a terminal table.
const TABLE_ROWS: usize = 50;

/// Rows handed to the writer at once, so that cancellation is noticed
/// between batches of a large result.
const WRITE_BATCH_ROWS: usize = 1 << 20;

/// A result being written: frames arrive in order (possibly while the
/// pipeline still runs); the format's writer starts at the first frame, so
/// it takes that frame's exact column types.
pub struct Destination {
    path: Option<PathBuf>,
    format: Option<FormatArg>,
    file: Option<AtomicFile>,
    writer: Option<ResultWriter>,
    /// `write "dir/" (partition_by=…)`: files in key directories instead.
    partitioned: Option<PartitionedWriter>,
}

impl Destination {
    /// Output to `path` (atomically, format from the extension unless given) or stdout.
    pub fn new(path: Option<&Path>, format: Option<FormatArg>) -> Self {
        Destination { path: path.map(Path::to_path_buf), format, file: None, writer: None, partitioned: None }
    }

    /// Output split into `key=value` directories under `dir`.
    ///
    /// # Errors
    /// When `dir` is a file or its parent cannot be made.
    pub fn partitioned(dir: &Path, keys: Vec<String>, format: Option<OutputFormat>) -> Result<Self, Error> {
        let writer = PartitionedWriter::create(dir, keys, format.unwrap_or(OutputFormat::Parquet))?;
        Ok(Destination { partitioned: Some(writer), ..Destination::new(Some(dir), None) })
    }

    /// Checks, before any work is done, that the output format follows
    /// from the path's extension (a missing directory is created on write).
    pub fn validate(&self, schema: &crate::plan::types::Schema) -> Result<(), Error> {
        if self.partitioned.is_some() {
            return Ok(());
        }
        self.refuse_nested_in_text(schema)?;
        if let (None, Some(format)) = (&self.path, self.format) {
            refuse_binary_on_terminal(format.to_format())?;
        }
        if let (Some(path), None) = (&self.path, self.format) {
            // `-o -`, a device or a FIFO needs no extension (CSV by default).
            if !crate::io::is_stream(path) {
                OutputFormat::from_path(path)?;
            }
        }
        Ok(())
    }

    /// The format results will be written in, when it is known before the
    /// run (a terminal's table is decided then too).
    fn planned_format(&self) -> Option<OutputFormat> {
        match (&self.path, self.format) {
            (_, Some(f)) => Some(f.to_format()),
            (Some(path), None) => {
                OutputFormat::from_path(path).ok().or(crate::io::is_stream(path).then_some(OutputFormat::Csv))
            }
            (None, None) if std::io::stdout().is_terminal() => Some(OutputFormat::Table),
            (None, None) => Some(OutputFormat::Csv),
        }
    }

    /// CSV and TSV hold no structs or lists: refused before the run, not
    /// after it (the writer would fail on the first chunk).
    fn refuse_nested_in_text(&self, schema: &crate::plan::types::Schema) -> Result<(), Error> {
        let Some(format @ (OutputFormat::Csv | OutputFormat::Tsv)) = self.planned_format() else { return Ok(()) };
        let Some(nested) = schema.fields.iter().find(|f| f.dtype.is_nested()) else { return Ok(()) };
        let what = if format == OutputFormat::Csv { "CSV" } else { "TSV" };
        let fix = match &nested.dtype {
            crate::plan::types::DType::Struct(_) => format!("flatten it first (`| flatten {}`)", nested.name),
            _ => format!("explode it first (`| explode {}`)", nested.name),
        };
        Err(Error::Usage(format!(
            "column `{}` is {}, which {what} cannot hold: {fix}, select its parts, or write NDJSON or Parquet (--format ndjson)",
            nested.name, nested.dtype
        )))
    }

    fn start(&mut self, schema: &PlSchema) -> Result<&mut ResultWriter, Error> {
        if self.writer.is_none() {
            let writer = match &self.path {
                Some(path) => {
                    let format = match self.format {
                        Some(f) => f.to_format(),
                        // `-o -`, `-o /dev/stdout`, a FIFO: CSV unless the name says otherwise.
                        None if crate::io::is_stream(path) => {
                            OutputFormat::from_path(path).unwrap_or(OutputFormat::Csv)
                        }
                        None => OutputFormat::from_path(path)?,
                    };
                    let target = Target::open(path)?;
                    if format == OutputFormat::Npy && !matches!(target, Target::Atomic(_)) {
                        return Err(crate::io::Error::write(path, NPY_NEEDS_A_FILE).into());
                    }
                    let mut patch = None;
                    let out: Box<dyn std::io::Write + Send> = match target {
                        Target::Stdout => Box::new(std::io::stdout()),
                        Target::Special(file) => Box::new(file),
                        Target::Atomic(file) => {
                            let w = Box::new(file.writer()?);
                            patch = Some(file.writer()?);
                            self.file = Some(file);
                            w
                        }
                    };
                    let writer = ResultWriter::new(format, out, path, schema, usize::MAX)?;
                    match patch {
                        Some(file) => writer.header_patch(file),
                        None => writer,
                    }
                }
                None => {
                    let stdout = std::io::stdout();
                    let format = match self.format {
                        Some(f) => f.to_format(),
                        None if stdout.is_terminal() => OutputFormat::Table,
                        None => OutputFormat::Csv,
                    };
                    if format == OutputFormat::Npy {
                        return Err(crate::io::Error::write("<stdout>", NPY_NEEDS_A_FILE).into());
                    }
                    refuse_binary_on_terminal(format)?;
                    ResultWriter::new(format, Box::new(stdout), Path::new("<stdout>"), schema, TABLE_ROWS)?
                }
            };
            self.writer = Some(writer);
        }
        self.writer.as_mut().ok_or_else(|| crate::internal!("writer missing after start"))
    }

    /// Appends a frame, in batches, stopping if the run is cancelled.
    ///
    /// # Errors
    /// Write failures; [`crate::exec::Error::Interrupted`] after Ctrl-C.
    pub fn push(&mut self, df: &DataFrame) -> Result<(), Error> {
        let cancel = super::cancel_flag();
        if let Some(p) = &mut self.partitioned {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::Exec(crate::exec::Error::Interrupted));
            }
            return Ok(p.write(df)?);
        }
        let w = self.start(df.schema())?;
        let mut offset = 0;
        while offset < df.height() || (offset == 0 && df.height() == 0) {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::Exec(crate::exec::Error::Interrupted));
            }
            w.write(&df.slice(offset as i64, WRITE_BATCH_ROWS))?;
            offset += WRITE_BATCH_ROWS;
        }
        Ok(())
    }

    /// Finishes the format (with `schema` if no frame came) and renames a
    /// file into place. Returns the rows written.
    ///
    /// # Errors
    /// Write failures.
    pub fn finish(mut self, schema: &PlSchema) -> Result<u64, Error> {
        if let Some(p) = self.partitioned.take() {
            return Ok(p.finish()?);
        }
        self.start(schema)?;
        let rows = match self.writer.take() {
            Some(w) => w.finish()?,
            None => 0,
        };
        if let Some(file) = self.file.take() {
            file.commit()?;
        }
        Ok(rows)
    }
}

/// Writes `frames` to `path` (atomically) or stdout. Returns rows written.
pub fn write(
    frames: &[DataFrame],
    schema: &PlSchema,
    path: Option<&Path>,
    format: Option<FormatArg>,
) -> Result<u64, Error> {
    let mut dest = Destination::new(path, format);
    for f in frames {
        dest.push(f)?;
    }
    dest.finish(schema)
}
