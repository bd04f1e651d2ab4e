//! `dq explain`: the logical plan before and after optimization, and the
//! task graph (or its Graphviz DOT).

use super::args::{ExecArgs, ProgramArgs};
use super::SourceText;
use crate::{exec, graph, pipeline, Error};

/// Show what dq will do: the logical plan, the optimized plan and the task graph.
///
/// Examples:
///
///     dq explain queries/top_cities.dq
///     dq explain queries/top_cities.dq --dot | dot -Tsvg > plan.svg
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    program: ProgramArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// Print the task graph as Graphviz DOT only.
    #[arg(long, conflicts_with = "analyze")]
    dot: bool,
    /// Run the pipeline (discarding its result) and annotate every stage with
    /// time, chunks, rows in and out, estimated memory held and bytes spilled.
    #[arg(long)]
    analyze: bool,
}

/// Runs `dq explain`.
pub fn run(args: &Args, source: &mut Option<SourceText>) -> Result<(), Error> {
    let config = args.exec.config()?;
    let src = args.program.load()?;
    *source = Some(src.clone());
    let p = pipeline::compile_for(&src.text, &args.program.params()?, &config)?;
    if args.exec.workers.is_some() {
        return explain_on_cluster(&p);
    }
    if args.dot {
        print!("{}", graph::to_dot(&p.graph, config.chunk_size));
        return Ok(());
    }
    let rules = if p.rules.is_empty() { "none".to_string() } else { p.rules.join(", ") };
    let mut stages = graph::explain_stages(&p.graph, config.chunk_size);
    let mut total = String::new();
    if args.analyze {
        let reporter = args.exec.reporter();
        let config = exec::ExecConfig { progress: reporter.as_ref().map(|r| r.progress()), ..config };
        // The result is counted, not kept: analyzing a large result holds none of it.
        let mut discard = |_: polars::prelude::DataFrame| Ok(());
        let (_, stats) = pipeline::execute(&p, &pipeline::Backend::Local(config), Some(&mut discard))?;
        drop(reporter);
        for (block, s) in stages.iter_mut().zip(&stats.stages) {
            block.push_str(&format!(
                "  ⏱ {:.3}s, {} chunk{}, {} rows in → {} rows out, peak memory {}, {} spilled\n",
                s.elapsed.as_secs_f64(),
                s.chunks,
                if s.chunks == 1 { "" } else { "s" },
                s.rows_in,
                s.rows_out,
                graph::human_bytes(s.held_bytes),
                graph::human_bytes(s.spilled_bytes),
            ));
        }
        total = format!(
            "total: {:.3}s, {} read, peak memory {} of {}, {} spilled\n",
            stats.elapsed.as_secs_f64(),
            graph::human_bytes(stats.bytes_read),
            graph::human_bytes(stats.peak_memory),
            graph::human_bytes(stats.memory_limit),
            graph::human_bytes(stats.spilled_bytes)
        );
    }
    print!(
        "logical plan:\n{}\noptimized plan (rules that changed it: {rules}):\n{}\ntask graph:\n{}{total}",
        indent(&p.logical.display_tree()),
        indent(&p.optimized.display_tree()),
        stages.concat()
    );
    if let Some(w) = p.write {
        println!("output: write {w}");
    }
    Ok(())
}

/// The plans, and the DataFusion plan the cluster would run (checked
/// without connecting: a refused construct is the same error `run` gives).
#[cfg(feature = "cluster")]
fn explain_on_cluster(p: &pipeline::Compiled) -> Result<(), Error> {
    let cluster = crate::cluster::explain(&p.optimized)?;
    print!(
        "logical plan:\n{}\noptimized plan:\n{}\n{}",
        indent(&p.logical.display_tree()),
        indent(&p.optimized.display_tree()),
        cluster
    );
    Ok(())
}

#[cfg(not(feature = "cluster"))]
fn explain_on_cluster(_: &pipeline::Compiled) -> Result<(), Error> {
    Err(Error::Usage("--workers needs the `cluster` feature, which this dq was built without".into()))
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
