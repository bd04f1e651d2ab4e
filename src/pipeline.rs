//! A program from text to result, for the library and `cli` alike:
//! [`compile`] (parse → plan → optimize → task graph) and [`execute`], the
//! one seam where a compiled program runs. Today a program runs on this
//! machine's threads ([`Backend::Local`]); a cluster backend plugs in
//! beside it, reading the same backend-neutral plan (see
//! [`crate::plan::sources`]).

use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use polars::prelude::DataFrame;

use crate::exec::{self, Emit, ExecConfig, RunStats};
use crate::graph::{self, TaskGraph};
use crate::plan::{self, LogicalPlan, Sources};
use crate::{lang, Error};

/// A program planned, optimized and lowered, ready to run.
pub struct Compiled {
    /// The plan before optimization.
    pub logical: LogicalPlan,
    /// After optimization.
    pub optimized: LogicalPlan,
    /// Names of the rules that changed the plan.
    pub rules: Vec<&'static str>,
    /// The sources the plan's scans read, opened.
    pub sources: Sources,
    /// The local task graph.
    pub graph: TaskGraph,
    /// `write "path"` at the end of the program.
    pub write: Option<crate::plan::WriteSpec>,
}

/// Parses, plans, optimizes and lowers the program `src`.
///
/// # Errors
/// Parse, name and type errors, and sources that cannot be opened.
pub fn compile(src: &str) -> Result<Compiled, Error> {
    compile_with(src, &lang::Params::new())
}

/// [`compile`] with values for the program's `$name` parameters.
///
/// # Errors
/// As [`compile`]; also a parameter the program uses that is not set.
pub fn compile_with(src: &str, params: &lang::Params) -> Result<Compiled, Error> {
    compile_for(src, params, &ExecConfig::default())
}

/// [`compile_with`] for a run with `config`: a first pass the planner
/// needs (`pivot`'s values) runs on this machine under the same memory
/// limit, threads and temporary directory as the run itself.
///
/// # Errors
/// As [`compile_with`]; a first pass that fails gives its own error (and
/// exit code), not a planning one.
pub fn compile_for(src: &str, params: &lang::Params, config: &ExecConfig) -> Result<Compiled, Error> {
    let program = lang::parse_with(src, params)?;
    let failed: RefCell<Option<exec::Error>> = RefCell::new(None);
    let first_pass = |plan: &LogicalPlan, sources: &Sources| -> Result<Vec<DataFrame>, String> {
        let (optimized, _) = plan::optimize::optimize(plan.clone());
        let graph = graph::build(&optimized, sources);
        let quiet = ExecConfig { progress: None, ..config.clone() };
        exec::execute_streaming(&graph, &quiet, None).map(|(frames, _)| frames).map_err(|e| {
            let why = e.to_string();
            *failed.borrow_mut() = Some(e);
            why
        })
    };
    let query = match plan::build_with(&program, src, Some(&first_pass)) {
        Ok(query) => query,
        Err(e) => return Err(failed.take().map_or_else(|| e.into(), Error::from)),
    };
    let logical = query.plan.clone();
    let (optimized, rules) = plan::optimize::optimize(query.plan);
    let graph = graph::build(&optimized, &query.sources);
    Ok(Compiled { logical, optimized, rules, sources: query.sources, graph, write: query.write })
}

/// Where a compiled program runs.
pub enum Backend {
    /// On this machine, with these settings.
    Local(ExecConfig),
    /// On a cluster (`--workers`).
    Cluster(ClusterRun),
}

/// How a program runs on a cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterRun {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// Set by Ctrl-C / SIGTERM: the client stops waiting, the job is cancelled.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Report the job's state on stderr.
    pub progress: bool,
}

/// Runs `compiled`. With `emit`, every result frame goes to it in order as
/// soon as it is made and is not returned (see
/// [`exec::execute_streaming`]); without, the result comes back whole.
///
/// # Errors
/// The first error of the run, and whatever `emit` returns.
pub fn execute(
    compiled: &Compiled,
    backend: &Backend,
    emit: Option<Emit>,
) -> Result<(Vec<DataFrame>, RunStats), Error> {
    match backend {
        Backend::Local(config) => Ok(exec::execute_streaming(&compiled.graph, config, emit)?),
        Backend::Cluster(run) => on_cluster(compiled, run, emit),
    }
}

#[cfg(feature = "cluster")]
fn on_cluster(compiled: &Compiled, run: &ClusterRun, emit: Option<Emit>) -> Result<(Vec<DataFrame>, RunStats), Error> {
    let mut frames = Vec::new();
    let mut emit = emit;
    crate::cluster::run(&compiled.optimized, run, &mut |df| match emit.as_mut() {
        Some(e) => e(df).map_err(Error::Io),
        None => {
            frames.push(df);
            Ok(())
        }
    })?;
    Ok((frames, RunStats::default()))
}

#[cfg(not(feature = "cluster"))]
fn on_cluster(_: &Compiled, _: &ClusterRun, _: Option<Emit>) -> Result<(Vec<DataFrame>, RunStats), Error> {
    Err(Error::Usage(
        "--workers needs the `cluster` feature, which this dq was built without (build with default features)".into(),
    ))
}
