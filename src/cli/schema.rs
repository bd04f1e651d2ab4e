//! `dq schema`: the columns and types dq infers for a file or glob.

use polars::prelude::*;

use super::args::ScanFlags;
use super::output::{self, FormatArg};
use super::SourceText;
use crate::io::Source;
use crate::plan::types::DType;
use crate::Error;

/// Print the columns and inferred types of a file or glob.
///
/// Example:
///
///     dq schema "testdata/people/*.csv"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A file, a glob, or - for stdin.
    path: String,
    /// Output format.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    #[command(flatten)]
    scan: ScanFlags,
}

/// Runs `dq schema`.
pub fn run(args: &Args, text: &mut Option<SourceText>) -> Result<(), Error> {
    let source = Source::open(&args.path, &args.scan.scan_options(text)?)?;
    super::warn(&source.warnings(), false);
    let names: Vec<String> = source.schema.iter_names().map(|n| n.to_string()).collect();
    let types: Vec<String> = source.schema.iter_values().map(|t| DType::from_polars(t).to_string()).collect();
    let df = df!("column" => names, "type" => types).map_err(|e| crate::internal!("{e}"))?;
    output::write(std::slice::from_ref(&df), df.schema(), None, args.format)?;
    Ok(())
}
