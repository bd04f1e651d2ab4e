//! `dq scheduler` and `dq worker`: Ballista's scheduler and executor,
//! started from the dq binary (nothing else to install).
//!
//! Defaults notice a lost worker within 30 s (Ballista's stock defaults:
//! a heartbeat a minute, lost after three): workers beat every 2 s, the
//! scheduler declares one lost after 30 s without a beat and checks every
//! 2 s; jobs fail 30 s after the last worker is gone. Both stop cleanly on
//! Ctrl-C / SIGTERM, a worker telling the scheduler first.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use super::{runtime, Error};

/// Seconds without a heartbeat after which a worker counts as lost.
pub const WORKER_TIMEOUT_SECS: u64 = 30;
/// Seconds between a worker's heartbeats.
pub const HEARTBEAT_SECS: u64 = 2;

/// Settings of `dq scheduler`.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Where to listen (port 0 picks a free one).
    pub bind: SocketAddr,
    /// Seconds without a heartbeat before a worker is lost.
    pub worker_timeout: u64,
}

/// Runs a scheduler until Ctrl-C / SIGTERM; `ready` receives the address
/// it listens on as soon as it does.
///
/// # Errors
/// The address cannot be bound, or the scheduler fails.
pub fn scheduler(opts: &SchedulerOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    super::server_log::install_from_env();
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|e| Error::Setup(format!("cannot listen on {}: {e}", opts.bind)))?;
        let address = listener.local_addr().map_err(|e| Error::Setup(e.to_string()))?;
        let config = Arc::new(SchedulerConfig {
            bind_host: address.ip().to_string(),
            external_host: address.ip().to_string(),
            bind_port: address.port(),
            executor_timeout_seconds: opts.worker_timeout,
            expire_dead_executor_interval_seconds: 2,
            no_executors_grace_period_seconds: opts.worker_timeout,
            override_session_builder: Some(Arc::new(|config| {
                check_client(&config)?;
                ballista_core::utils::default_session_builder(config)
            })),
            ..Default::default()
        });
        let setup = |e: ballista_core::error::BallistaError| Error::Setup(format!("scheduler: {e}"));
        let cluster = BallistaCluster::new_from_config(&config).await.map_err(setup)?;
        let server = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config).await.map_err(setup)?;
        ready(address);
        tokio::select! {
            served = start_grpc_service_with_listener(listener, server) => served.map_err(setup),
            _ = shutdown() => Ok(()),
        }
    })
}

/// Refuses a job from another dq version (its plan encoding and its
/// translation of dq's semantics may differ) or from a client that is not
/// dq, with a message the client shows.
fn check_client(config: &datafusion::prelude::SessionConfig) -> datafusion::common::Result<()> {
    let ours = super::job_name();
    let theirs = config
        .options()
        .entries()
        .into_iter()
        .find(|e| e.key == ballista_core::config::BALLISTA_JOB_NAME)
        .and_then(|e| e.value)
        .unwrap_or_default();
    if theirs == ours {
        return Ok(());
    }
    let client = if theirs.starts_with("dq ") { theirs } else { "not dq".to_string() };
    datafusion::common::plan_err!(
        "version mismatch: the client is {client}, this scheduler is {ours}; run the same dq version everywhere"
    )
}

/// Settings of `dq worker`.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The scheduler's `HOST:PORT`.
    pub scheduler: String,
    /// Where to serve results to other workers and the client (port 0
    /// picks a free one).
    pub bind: SocketAddr,
    /// Tasks run at once (0: one per core).
    pub threads: usize,
    /// Memory for the worker's tasks, in bytes (None: Ballista's share of
    /// the machine).
    pub memory_limit: Option<u64>,
    /// Where shuffle files go (None: a temporary directory).
    pub work_dir: Option<String>,
}

/// Runs a worker until Ctrl-C / SIGTERM (it deregisters first).
///
/// # Errors
/// A bad scheduler address, ports that cannot be bound, or the worker failing.
pub fn worker(opts: &WorkerOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    super::server_log::install_from_env();
    let (host, port) = opts
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| Error::Setup(format!("--scheduler {:?} is not HOST:PORT", opts.scheduler)))?;
    // Ballista advertises the ports as given: pick free ones now.
    let flight = free_port(opts.bind)?;
    let grpc = free_port(SocketAddr::new(opts.bind.ip(), 0))?;
    let config = ExecutorProcessConfig {
        bind_host: opts.bind.ip().to_string(),
        external_host: Some(opts.bind.ip().to_string()),
        port: flight,
        grpc_port: grpc,
        scheduler_host: host,
        scheduler_port: port,
        scheduler_connect_timeout_seconds: 10,
        vcores: opts.threads,
        work_dir: opts.work_dir.clone(),
        executor_heartbeat_interval_seconds: HEARTBEAT_SECS,
        memory_pool_size: opts.memory_limit,
        ..Default::default()
    };
    ready(SocketAddr::new(opts.bind.ip(), flight));
    runtime()?.block_on(start_executor_process(Arc::new(config))).map_err(|e| Error::Setup(format!("worker: {e}")))
}

fn free_port(at: SocketAddr) -> Result<u16, Error> {
    if at.port() != 0 {
        return Ok(at.port());
    }
    let listener = std::net::TcpListener::bind(at).map_err(|e| Error::Setup(format!("cannot listen on {at}: {e}")))?;
    Ok(listener.local_addr().map_err(|e| Error::Setup(e.to_string()))?.port())
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballista::prelude::SessionConfigExt;
    use datafusion::prelude::SessionConfig;

    fn named(job: &str) -> SessionConfig {
        SessionConfig::new_with_ballista().with_ballista_job_name(job)
    }

    #[test]
    fn a_client_of_the_same_version_is_served() {
        assert!(check_client(&named(&super::super::job_name())).is_ok());
    }

    #[test]
    fn a_client_of_another_version_is_refused_naming_both() {
        let err = check_client(&named("dq 0.0.1")).unwrap_err().to_string();
        assert!(err.contains("version mismatch") && err.contains("dq 0.0.1"), "{err}");
        assert!(err.contains(&super::super::job_name()), "{err}");
        let err = check_client(&named("someone else")).unwrap_err().to_string();
        assert!(err.contains("the client is not dq"), "{err}");
    }
}
