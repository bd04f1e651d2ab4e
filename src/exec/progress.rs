//! Progress counters shared between the executor (which only counts) and
//! whoever reports them (the CLI draws a bar or prints JSON lines).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Live counters of one run.
#[derive(Debug)]
pub struct Progress {
    /// Bytes on disk to read (compressed sizes for compressed input).
    pub total_bytes: AtomicU64,
    /// Bytes on disk read so far (shared with the readers).
    pub disk_bytes: Arc<AtomicU64>,
    /// Rows read by scans.
    pub rows: AtomicU64,
    /// Index of the running stage.
    pub stage: AtomicUsize,
    /// Number of stages.
    pub stages: AtomicUsize,
    /// What the running stage is doing, e.g. "scan → hash_aggregate".
    pub label: Mutex<String>,
    /// What part of the stage runs, e.g. "combining 12/64 parts" (empty
    /// while chunks are read).
    pub phase: Mutex<String>,
    /// When the run started.
    pub started: Instant,
    /// Set by the owner when everything (output included) is finished.
    pub done: AtomicBool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            total_bytes: AtomicU64::new(0),
            disk_bytes: Arc::new(AtomicU64::new(0)),
            rows: AtomicU64::new(0),
            stage: AtomicUsize::new(0),
            stages: AtomicUsize::new(0),
            label: Mutex::new(String::new()),
            phase: Mutex::new(String::new()),
            started: Instant::now(),
            done: AtomicBool::new(false),
        }
    }
}

/// A consistent-enough reading of the counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Seconds since the start.
    pub elapsed: f64,
    /// Running stage (0-based) and stage count.
    pub stage: usize,
    /// Stage count.
    pub stages: usize,
    /// What the stage does.
    pub label: String,
    /// Bytes read and to read.
    pub bytes: u64,
    /// Total bytes.
    pub total_bytes: u64,
    /// Rows read.
    pub rows: u64,
    /// Finished.
    pub done: bool,
}

impl Progress {
    /// Sets the running stage and its label.
    pub fn enter_stage(&self, stage: usize, label: String) {
        self.stage.store(stage, Ordering::Relaxed);
        if let Ok(mut l) = self.label.lock() {
            *l = label;
        }
        self.set_phase(String::new());
    }

    /// Sets what part of the running stage runs (shown after its label).
    pub fn set_phase(&self, phase: String) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
    }

    /// Reads the counters.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            elapsed: self.started.elapsed().as_secs_f64(),
            stage: self.stage.load(Ordering::Relaxed),
            stages: self.stages.load(Ordering::Relaxed),
            label: {
                let label = self.label.lock().map(|l| l.clone()).unwrap_or_default();
                match self.phase.lock().map(|p| p.clone()).unwrap_or_default() {
                    p if p.is_empty() => label,
                    p => format!("{label} ({p})"),
                }
            },
            bytes: self.disk_bytes.load(Ordering::Relaxed),
            total_bytes: self.total_bytes.load(Ordering::Relaxed),
            rows: self.rows.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
        }
    }
}
