//! `dq scheduler` and `dq worker`: the two cluster roles (see `cluster`).

use std::net::SocketAddr;

use crate::Error;

/// Run a cluster scheduler: the address `dq run --workers` and `dq worker
/// --scheduler` connect to. Prints the address it listens on; stops on
/// Ctrl-C or SIGTERM.
///
/// Examples:
///
///     dq scheduler                       # 127.0.0.1:50050
///     dq scheduler --bind 0.0.0.0:50050  # reachable from other machines
///     dq scheduler --bind 127.0.0.1:0    # any free port
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SchedulerArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:50050")]
    bind: SocketAddr,
    /// Seconds without a heartbeat after which a worker counts as lost
    /// (its tasks are re-run elsewhere).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    worker_timeout: u64,
}

/// Run a cluster worker: registers with the scheduler and runs its tasks.
/// Stops on Ctrl-C or SIGTERM, telling the scheduler first.
///
/// Examples:
///
///     dq worker --scheduler 127.0.0.1:50050
///     dq worker --scheduler 10.0.0.5:50050 --bind 10.0.0.7:50051 --threads 8 --memory-limit 16GB
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct WorkerArgs {
    /// The scheduler's address.
    #[arg(long, value_name = "HOST:PORT")]
    scheduler: String,
    /// Address to serve task results on (port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Tasks run at once [default: all cores].
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Memory for the worker's tasks, e.g. 4GB [default: Ballista's share of the machine].
    #[arg(long, value_name = "SIZE", value_parser = crate::exec::memory::parse_bytes)]
    memory_limit: Option<u64>,
    /// Directory for shuffle files [default: a temporary directory].
    #[arg(long, value_name = "DIR")]
    work_dir: Option<std::path::PathBuf>,
}

/// Runs `dq scheduler`.
#[cfg(feature = "cluster")]
pub fn scheduler(args: &SchedulerArgs) -> Result<(), Error> {
    use std::io::Write;
    let opts = crate::cluster::server::SchedulerOptions { bind: args.bind, worker_timeout: args.worker_timeout };
    Ok(crate::cluster::server::scheduler(&opts, |address| {
        println!("dq scheduler listening on {address}");
        let _ = std::io::stdout().flush();
    })?)
}

/// Runs `dq worker`.
#[cfg(feature = "cluster")]
pub fn worker(args: &WorkerArgs) -> Result<(), Error> {
    use std::io::Write;
    let opts = crate::cluster::server::WorkerOptions {
        scheduler: args.scheduler.clone(),
        bind: args.bind,
        threads: args.threads,
        memory_limit: args.memory_limit,
        work_dir: args.work_dir.as_ref().map(|d| d.display().to_string()),
    };
    Ok(crate::cluster::server::worker(&opts, |address| {
        println!("dq worker serving on {address}, scheduler {}", args.scheduler);
        let _ = std::io::stdout().flush();
    })?)
}

#[cfg(not(feature = "cluster"))]
pub fn scheduler(_: &SchedulerArgs) -> Result<(), Error> {
    Err(without_cluster())
}

#[cfg(not(feature = "cluster"))]
pub fn worker(_: &WorkerArgs) -> Result<(), Error> {
    Err(without_cluster())
}

#[cfg(not(feature = "cluster"))]
fn without_cluster() -> Error {
    Error::Usage("this dq was built without the `cluster` feature (build with default features)".into())
}
