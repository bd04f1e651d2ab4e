//! `cluster`: a dq program run on Apache DataFusion Ballista
//! (`--workers HOST:PORT`), and the `dq scheduler` / `dq worker` roles.
//!
//! ```text
//!  optimized LogicalPlan ──translate──▶ DataFusion plan ──Ballista──▶ record batches
//!        ──bridge──▶ polars frames ──▶ dq's own writers (every --format, -o, write)
//! ```
//!
//! The plan is translated on the client against dq's own schema and
//! absolute file list (`plan::ScanSpec`), so nothing is inferred twice and
//! anything without an exact cluster equivalent is refused before a
//! connection is made. Client, scheduler and workers must see the same
//! paths (a shared filesystem). Ballista re-runs the tasks of a lost
//! worker; see the README, "Running on a cluster".

mod bridge;
mod expr;
mod progress;
pub mod server;
mod server_log;
mod translate;

use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use polars::prelude::DataFrame;

use crate::plan::LogicalPlan;

/// Why a program did not run on the cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program uses something the cluster cannot do exactly as dq does.
    #[error("{what} is not available with --workers{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotOnCluster {
        /// The verb, function or option.
        what: String,
        /// Why, when it helps.
        reason: Option<String>,
    },
    /// The scheduler could not be reached.
    #[error("cannot reach the dq scheduler at {address}: {message}")]
    Connect {
        /// `HOST:PORT` as given.
        address: String,
        /// What failed.
        message: String,
    },
    /// The job failed on the cluster.
    #[error("the job failed on the cluster: {0}")]
    Job(String),
    /// An integer result did not fit in 64 bits (exit 3, as locally).
    #[error(
        "integer overflow: {0} does not fit in a 64-bit integer (cast an operand to float to compute it approximately)"
    )]
    Overflow(String),
    /// A result batch did not convert.
    #[error("a result from the cluster did not convert: {0}")]
    Convert(String),
    /// Setting up the client or a server failed.
    #[error("{0}")]
    Setup(String),
}

impl Error {
    /// A failed job's error, with dq's overflow check recognised (see
    /// `expr::checked`: its message is the text a cast failed to read).
    fn from_job_message(message: String) -> Error {
        match message.split_once(expr::OVERFLOW) {
            Some((_, rest)) => {
                let operation = rest.trim_start_matches(':').trim_start();
                Error::Overflow(operation.split('\'').next().unwrap_or(operation).to_string())
            }
            None => Error::Job(message),
        }
    }

    fn not_on_cluster(what: impl Into<String>) -> Error {
        Error::NotOnCluster { what: what.into(), reason: None }
    }

    fn not_on_cluster_because(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::NotOnCluster { what: what.into(), reason: Some(reason.into()) }
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Error {
        Error::from_job_message(e.to_string())
    }
}

/// How long the client waits for the scheduler to answer at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Setup(format!("cannot start the async runtime: {e}")))
}

fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new_with_ballista().with_target_partitions(4).with_ballista_job_name(&job_name());
    // A sort above a union is otherwise pushed into each input and merged;
    // Ballista 55 then returns every row of that union twice when its
    // workers have one task slot (found by the random cluster test).
    config.options_mut().optimizer.repartition_sorts = false;
    // Ballista 55's adaptive planner wedges a job when a worker dies
    // mid-stage: after the lost shuffle is resubmitted, status updates fail
    // with "Can't find active stage to update stage outputs" and the job
    // never ends (seen with `DQ_LOG=warn dq scheduler`; the cluster test
    // that kills a worker hung 4 runs in 5). The static planner recovers.
    config.set_str(ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED, "false")
}

/// The name every job of this client carries: dq and its version, which
/// the scheduler checks against its own (see `server::check_client`).
pub fn job_name() -> String {
    format!("dq {}", env!("CARGO_PKG_VERSION"))
}

/// What `dq explain --workers` shows: the DataFusion plan of `plan` and
/// the stages Ballista's planner cuts it into (a stage ends where rows are
/// shuffled between workers), made on the client without connecting.
///
/// # Errors
/// [`Error::NotOnCluster`] naming the first construct the cluster cannot run.
pub fn explain(plan: &LogicalPlan) -> Result<String, Error> {
    use ballista_scheduler::planner::{DefaultDistributedPlanner, DistributedPlanner};
    use datafusion::physical_plan::{displayable, ExecutionPlan};
    use std::fmt::Write;

    runtime()?.block_on(async {
        let ctx = SessionContext::new_with_config(session_config());
        let df = translate::translate(&ctx, plan).await?;
        let mut text = format!("cluster plan (DataFusion):\n{}\n", df.logical_plan().display_indent());
        let config = ctx.state().config_options().as_ref().clone();
        let physical = df.create_physical_plan().await?;
        let stages = DefaultDistributedPlanner::new()
            .plan_query_stages(&ballista_core::JobId::new("explain"), physical, &config)
            .map_err(|e| Error::Setup(format!("planning the cluster's stages: {e}")))?;
        let _ =
            writeln!(text, "stages ({}, each one task per partition; rows are shuffled between them):", stages.len());
        for stage in &stages {
            let plan: &dyn ExecutionPlan = stage.as_ref();
            let _ = write!(text, "stage {}:\n{}", stage.stage_id(), displayable(plan).indent(false));
        }
        Ok(text)
    })
}

/// How often the client looks at Ctrl-C while it waits for the cluster.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// Runs `plan` on the cluster `how` names, handing each result frame to
/// `emit` in order.
///
/// # Errors
/// Constructs the cluster cannot run (before connecting), an unreachable
/// scheduler, a failed job, Ctrl-C / SIGTERM (the job is cancelled on the
/// cluster), and whatever `emit` returns.
pub fn run(
    plan: &LogicalPlan,
    how: &crate::pipeline::ClusterRun,
    emit: &mut dyn FnMut(DataFrame) -> Result<(), crate::Error>,
) -> Result<(), crate::Error> {
    let address = how.scheduler.as_str();
    let rt = runtime()?;
    progress::show(how.progress);
    rt.block_on(async {
        // Translated first on a local context: a refusal needs no scheduler.
        let local = SessionContext::new_with_config(session_config());
        let df = translate::translate(&local, plan).await?;
        let plan = df.logical_plan().clone();
        // A scheduler that is not there fails in seconds, not at the
        // client's own (long) retry timeouts.
        let unreachable = |message: String| Error::Connect { address: address.into(), message };
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(unreachable(e.to_string()).into()),
            Err(_) => return Err(unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())).into()),
        }
        let state = SessionStateBuilder::new()
            .with_config(session_config())
            .with_default_features()
            .with_optimizer_rules(client_optimizer_rules())
            .build();
        let ctx = SessionContext::remote_with_state(&format!("df://{address}"), state)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let job = async {
            let mut stream = ctx
                .execute_logical_plan(plan)
                .await
                .map_err(Error::from)?
                .execute_stream()
                .await
                .map_err(Error::from)?;
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(Error::from)?;
                if batch.num_rows() > 0 {
                    emit(bridge::to_polars(&batch)?)?;
                }
            }
            Ok::<(), crate::Error>(())
        };
        // Dropping the job's stream on Ctrl-C makes Ballista's client
        // cancel the job on the scheduler.
        tokio::select! {
            done = job => done,
            () = cancelled(how.cancel.as_deref()) => Err(crate::exec::Error::Interrupted.into()),
        }
    })
}

/// DataFusion's optimizer rules for the client, without those that make an
/// empty relation: DataFusion 55's plan protobuf drops an empty relation's
/// schema, so a plan holding one cannot be decoded by the scheduler (e.g.
/// `filter false | rename b = a | agg …`). The scheduler optimizes again
/// after decoding, so nothing is lost.
fn client_optimizer_rules() -> Vec<std::sync::Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> {
    // push_down_filter moves a predicate that names no column (`false`)
    // below an aggregate without keys, whose one row it then keeps; the
    // scheduler, optimizing again with every rule, removes such a filter
    // (eliminate_filter) before it pushes the others down.
    const SKIPPED: [&str; 4] = ["eliminate_filter", "propagate_empty_relation", "eliminate_limit", "push_down_filter"];
    datafusion::optimizer::Optimizer::new().rules.into_iter().filter(|r| !SKIPPED.contains(&r.name())).collect()
}

/// Resolves once `flag` is set (never without one).
async fn cancelled(flag: Option<&std::sync::atomic::AtomicBool>) {
    let Some(flag) = flag else { return std::future::pending().await };
    while !flag.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(CANCEL_POLL).await;
    }
}
