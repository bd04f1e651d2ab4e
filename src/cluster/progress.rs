//! The cluster job's state on stderr while `dq run --workers` waits.
//!
//! Ballista's client polls the scheduler for the job's state and reports
//! each change through the `log` facade (queued, running, finished in …);
//! dq turns exactly those records into progress lines. Ballista 55's job
//! status carries no stage counts, so state changes are what there is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Where Ballista's client logs the job state.
const JOB_STATE_TARGET: &str = "ballista_core::execution_plans::distributed_query";

static SHOW: AtomicBool = AtomicBool::new(false);

/// Shows (or hides) job-state lines from now on.
pub fn show(on: bool) {
    static INSTALL: Once = Once::new();
    SHOW.store(on, Ordering::Relaxed);
    if on {
        INSTALL.call_once(|| {
            // Fails only if a logger is already installed; then there is
            // simply no progress.
            if log::set_logger(&JobState).is_ok() {
                log::set_max_level(log::LevelFilter::Info);
            }
        });
    }
}

struct JobState;

impl log::Log for JobState {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= log::Level::Info && meta.target() == JOB_STATE_TARGET
    }

    fn log(&self, record: &log::Record) {
        if SHOW.load(Ordering::Relaxed) && self.enabled(record.metadata()) {
            if let Some(line) = job_state(&record.args().to_string()) {
                eprintln!("dq: {line}");
            }
        }
    }

    fn flush(&self) {}
}

/// The progress line for one of Ballista's job-state messages, or None
/// for its other messages (connections, warnings).
fn job_state(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Job ")?;
    let (id, state) = rest.split_once(' ')?;
    let state = state.trim_end_matches('.').trim();
    let state = match state {
        "is in initialization" => "being planned".to_string(),
        "is queued" => "queued: waiting for a worker".to_string(),
        "is running" => "running".to_string(),
        other => format!("finished in {}", other.strip_prefix("finished executing in ")?),
    };
    Some(format!("cluster job {id} {state}"))
}

#[cfg(test)]
mod tests {
    use super::job_state;

    #[test]
    fn ballistas_job_states_become_progress_lines() {
        assert_eq!(job_state("Job 038H is queued...").unwrap(), "cluster job 038H queued: waiting for a worker");
        assert_eq!(job_state("Job 038H is running...").unwrap(), "cluster job 038H running");
        assert_eq!(job_state("Job 038H is in initialization ...").unwrap(), "cluster job 038H being planned");
        assert_eq!(job_state("Job 038H finished executing in 12.5ms ").unwrap(), "cluster job 038H finished in 12.5ms");
        assert_eq!(job_state("Connecting to Ballista scheduler at df://x"), None);
    }
}
