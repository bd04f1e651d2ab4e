//! dq runs dataframe pipelines over files larger than memory.
//!
//! ```text
//! text ──lang──▶ AST ──plan──▶ logical plan ──optimize──▶ logical plan
//!      ──graph──▶ task graph ──exec──▶ frames ──io::sink──▶ stdout / file
//! ```
//!
//! Each arrow is a module; data flows one way. `io` (sources, sinks) and
//! `ops` (per-chunk kernels on polars frames) are leaves used by the
//! stages. `cli` is the only module that talks to the user.
//!
//! Using the library directly (the same calls `dq run` makes; see
//! `tests/integration/library.rs`):
//!
//! ```text
//! let src = r#"scan "testdata/sales.csv" | agg n = count() by region"#;
//! let compiled = dq::pipeline::compile(src)?;
//! let backend = dq::pipeline::Backend::Local(dq::exec::ExecConfig::default());
//! let (frames, _stats) = dq::pipeline::execute(&compiled, &backend, None)?;
//! ```
//!
//! or step by step (the same calls `compile` makes):
//!
//! ```text
//! let program = dq::lang::parse(src)?;
//! let query = dq::plan::build(&program, src)?;
//! let (plan, _rules) = dq::plan::optimize::optimize(query.plan);
//! let graph = dq::graph::build(&plan, &query.sources);
//! let (frames, _stats) = dq::exec::execute(&graph, &dq::exec::ExecConfig::default())?;
//! ```

#![deny(missing_docs)]

pub mod cleanup;
pub mod cli;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod duration;
mod error;
pub mod exec;
pub mod graph;
pub mod io;
pub mod lang;
pub mod ops;
pub mod pipeline;
pub mod plan;
pub mod temporal;
#[cfg(test)]
mod test_rng;

pub use error::{exit, Error};
