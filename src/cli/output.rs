//! Where results go: a file (written atomically, format from the
//! extension) or stdout (a table on a terminal, CSV when piped, unless
//! `--format` says otherwise).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use polars::prelude::{DataFrame, Schema as PlSchema};

use crate::io::sink::{AtomicFile, OutputFormat, ResultWriter};
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

/// Rows shown by a terminal table.
const TABLE_ROWS: usize = 50;

/// Rows handed to the writer at once, so that cancellation is noticed
/// between batches of a large result.
const WRITE_BATCH_ROWS: usize = 1 << 20;

/// Writes `frames` in batches, stopping if the run is cancelled.
fn write_all(w: &mut ResultWriter, frames: &[DataFrame]) -> Result<(), Error> {
    let cancel = super::cancel_flag();
    for f in frames {
        let mut offset = 0;
        while offset < f.height() || (offset == 0 && f.height() == 0) {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::Exec(crate::exec::Error::Interrupted));
            }
            w.write(&f.slice(offset as i64, WRITE_BATCH_ROWS))?;
            offset += WRITE_BATCH_ROWS;
        }
    }
    Ok(())
}

/// Writes `frames` to `path` (atomically) or stdout. Returns rows written.
pub fn write(
    frames: &[DataFrame],
    schema: &PlSchema,
    path: Option<&Path>,
    format: Option<FormatArg>,
) -> Result<u64, Error> {
    let schema = frames.first().map_or_else(|| schema.clone(), |f| f.schema().as_ref().clone());
    match path {
        Some(path) => {
            let format = match format {
                Some(f) => f.to_format(),
                None => OutputFormat::from_path(path)?,
            };
            let file = AtomicFile::create(path)?;
            let mut w = ResultWriter::new(format, Box::new(file.writer()?), path, &schema, usize::MAX)?;
            write_all(&mut w, frames)?;
            let rows = w.finish()?;
            file.commit()?;
            Ok(rows)
        }
        None => {
            let stdout = std::io::stdout();
            let format = match format {
                Some(f) => f.to_format(),
                None if stdout.is_terminal() => OutputFormat::Table,
                None => OutputFormat::Csv,
            };
            let mut w = ResultWriter::new(format, Box::new(stdout), Path::new("<stdout>"), &schema, TABLE_ROWS)?;
            write_all(&mut w, frames)?;
            Ok(w.finish()?)
        }
    }
}
