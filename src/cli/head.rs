//! `dq head`: the first rows of a file, without writing a pipeline.

use super::args::{ExecArgs, ScanFlags};
use super::output::{self, FormatArg};
use super::SourceText;
use crate::{pipeline, Error};

/// Print the first rows of a file or glob.
///
/// Example:
///
///     dq head testdata/sales.csv -n 5
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A file, a glob, or - for stdin.
    path: String,
    /// Number of rows.
    #[arg(short = 'n', long = "rows", default_value_t = 10)]
    rows: u64,
    /// Output format.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    #[command(flatten)]
    scan: ScanFlags,
    #[command(flatten)]
    exec: ExecArgs,
}

/// Runs `dq head`.
pub fn run(args: &Args, source: &mut Option<SourceText>) -> Result<(), Error> {
    let config = args.exec.config()?;
    let options = args.scan.options.as_deref().map(|o| format!(" ({o})")).unwrap_or_default();
    let text = format!("scan {:?}{options} | head {}", args.path, args.rows);
    let src = SourceText { name: "<dq head>".into(), text };
    *source = Some(src.clone());
    let p = pipeline::compile(&src.text)?;
    super::warn(&p.sources.warnings(), args.exec.quiet);
    let (frames, _) = pipeline::execute(&p, &pipeline::Backend::Local(config), None)?;
    output::write(&frames, &crate::graph::output_schema(&p.optimized), None, args.format)?;
    Ok(())
}
