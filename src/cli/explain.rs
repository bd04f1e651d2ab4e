//! `dq explain`: the logical plan before and after optimization, and the
//! task graph (or its Graphviz DOT).

use super::args::{ExecArgs, ProgramArgs};
use super::run::prepare;
use super::SourceText;
use crate::{graph, Error};

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
    #[arg(long)]
    dot: bool,
}

/// Runs `dq explain`.
pub fn run(args: &Args, source: &mut Option<SourceText>) -> Result<(), Error> {
    let config = args.exec.config()?;
    let src = args.program.load()?;
    *source = Some(src.clone());
    let p = prepare(&src)?;
    if args.dot {
        print!("{}", graph::to_dot(&p.graph, config.chunk_size));
        return Ok(());
    }
    let rules = if p.rules.is_empty() { "none".to_string() } else { p.rules.join(", ") };
    print!(
        "logical plan:\n{}\noptimized plan (rules that changed it: {rules}):\n{}\ntask graph:\n{}",
        indent(&p.logical.display_tree()),
        indent(&p.optimized.display_tree()),
        graph::explain_text(&p.graph, config.chunk_size)
    );
    if let Some(w) = p.write {
        println!("output: write {w:?}");
    }
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
