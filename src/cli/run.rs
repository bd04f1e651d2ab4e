//! `dq run`: parse, plan, optimize, execute, write.

use std::path::PathBuf;

use polars::prelude::DataFrame;

use super::args::{ExecArgs, ProgramArgs};
use super::output::{self, OutputArgs};
use super::{usage, SourceText};
use crate::{exec, pipeline, Error};

/// Run a pipeline and print or write its result.
///
/// Examples:
///
///     dq run queries/top_cities.dq
///     dq run -e 'scan "testdata/sales.csv" | agg revenue = sum(price * qty) by region'
///     dq run queries/trips_by_vendor.dq -o out/vendors.parquet
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    program: ProgramArgs,
    #[command(flatten)]
    out: OutputArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// After the run, print to stderr: wall time, rows in and out and bytes
    /// spilled per stage, peak accounted memory, bytes and files spilled,
    /// bytes read. `--stats=json` prints one JSON object instead.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "text", require_equals = true)]
    stats: Option<StatsFormat>,
}

/// How `--stats` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum StatsFormat {
    /// Lines for people.
    Text,
    /// One JSON object.
    Json,
}

/// Runs `dq run`.
pub fn run(args: &Args, source: &mut Option<SourceText>) -> Result<(), Error> {
    let config = args.exec.config()?;
    let src = args.program.load()?;
    *source = Some(src.clone());
    let prepared = pipeline::compile_for(&src.text, &args.program.params()?, &config)?;
    super::warn(&prepared.sources.warnings(), args.exec.quiet);
    let dest_path: Option<PathBuf> = match (&prepared.write, &args.out.output) {
        (Some(_), Some(_)) => return Err(usage("the program ends in `write` and -o was given too; keep one")),
        (Some(w), None) => Some(PathBuf::from(&w.path)),
        (None, o) => o.clone(),
    };
    let reporter = args.exec.reporter();
    let config = exec::ExecConfig { progress: reporter.as_ref().map(|r| r.progress()), ..config };
    // Chunks of a pipeline that ends without a blocking operator are written
    // as they are made; anything else arrives as the final partitions.
    let mut dest = match &prepared.write {
        Some(w) if !w.partition_by.is_empty() => {
            if args.out.format.is_some() {
                return Err(usage("--format does not apply to a partitioned write; give format= in the `write`"));
            }
            output::Destination::partitioned(std::path::Path::new(&w.path), w.partition_by.clone(), w.format)?
        }
        _ => output::Destination::new(dest_path.as_deref(), args.out.format),
    };
    dest.validate(&prepared.optimized.schema())?;
    let mut write_error = None;
    let (frames, stats) = {
        let mut emit = |df: DataFrame| -> Result<(), crate::io::Error> {
            dest.push(&df).map_err(|e| {
                // The writer's own error is reported (it keeps its cause);
                // this one only stops the run.
                let stop = crate::io::Error::Write { path: "<output>".into(), message: e.to_string(), kind: None };
                write_error = Some(e);
                stop
            })
        };
        let backend = match &args.exec.workers {
            Some(address) => pipeline::Backend::Cluster(pipeline::ClusterRun {
                scheduler: address.clone(),
                cancel: config.cancel.clone(),
                progress: config.progress.is_some(),
            }),
            None => pipeline::Backend::Local(config.clone()),
        };
        match pipeline::execute(&prepared, &backend, Some(&mut emit)) {
            Ok(r) => r,
            Err(e) => return Err(write_error.take().unwrap_or(e)),
        }
    };
    if let Some(p) = &config.progress {
        let target = dest_path.as_ref().map_or("stdout".to_string(), |d| d.display().to_string());
        p.enter_stage(prepared.graph.stages.len().saturating_sub(1), format!("writing {target}"));
    }
    for f in &frames {
        dest.push(f)?;
    }
    let rows = dest.finish(&crate::graph::output_schema(&prepared.optimized))?;
    drop(reporter);
    if !args.exec.quiet {
        if stats.bad_rows > 0 {
            let verb = match args.exec.on_bad_rows {
                super::args::BadRows::Skip => "skipped",
                _ => "set fields to null in",
            };
            eprintln!("dq: {verb} {} malformed record{}", stats.bad_rows, if stats.bad_rows == 1 { "" } else { "s" });
        }
        if let Some(d) = &dest_path {
            eprintln!("dq: wrote {rows} row{} to {}", if rows == 1 { "" } else { "s" }, d.display());
        }
    }
    match args.stats {
        Some(StatsFormat::Text) => eprint!("{}", stats.render()),
        Some(StatsFormat::Json) => eprintln!("{}", stats.to_json()),
        None => {}
    }
    Ok(())
}
