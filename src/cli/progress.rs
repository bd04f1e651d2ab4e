//! Progress on stderr, never stdout: an indicatif bar on a terminal (shown
//! once a run has taken about a second), or with `--progress json` one JSON
//! object per interval for ETL logs:
//!
//! ```text
//! {"elapsed_s":1.0,"stage":0,"stages":2,"label":"scan \"x.csv\" ⇒ hash_aggregate",
//!  "bytes_read":123,"bytes_total":456,"rows_read":789,"rows_per_s":789.0,
//!  "mb_per_s":0.1,"eta_s":2.7,"done":false}
//! ```
//!
//! The last object of a run has `"done":true`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::{Progress, Snapshot};

/// How progress is shown.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, nothing otherwise.
    #[default]
    Auto,
    /// One JSON object per interval on stderr.
    Json,
    /// Nothing.
    None,
}

/// A thread drawing progress until the run is done.
pub struct Reporter {
    progress: Arc<Progress>,
    handle: Option<JoinHandle<()>>,
}

/// One JSON progress line.
pub fn json_line(s: &Snapshot) -> String {
    let rate = |v: u64| if s.elapsed > 0.0 { v as f64 / s.elapsed } else { 0.0 };
    let bytes_per_s = rate(s.bytes);
    let eta = if bytes_per_s > 0.0 && s.total_bytes >= s.bytes {
        Some((s.total_bytes - s.bytes) as f64 / bytes_per_s)
    } else {
        None
    };
    serde_json::json!({
        "elapsed_s": (s.elapsed * 1000.0).round() / 1000.0,
        "stage": s.stage,
        "stages": s.stages,
        "label": s.label,
        "bytes_read": s.bytes,
        "bytes_total": s.total_bytes,
        "rows_read": s.rows,
        "rows_per_s": rate(s.rows).round(),
        "mb_per_s": (bytes_per_s / 1e6 * 10.0).round() / 10.0,
        "eta_s": eta.map(|e| (e * 10.0).round() / 10.0),
        "done": s.done,
    })
    .to_string()
}

impl Reporter {
    /// Starts reporting, or returns `None` when nothing is to be shown.
    pub fn start(mode: ProgressMode, quiet: bool, interval: Duration) -> Option<Reporter> {
        let progress = Arc::new(Progress::default());
        let p = progress.clone();
        let handle = match mode {
            ProgressMode::None => return None,
            _ if quiet && mode == ProgressMode::Auto => return None,
            ProgressMode::Auto if !std::io::stderr().is_terminal() => return None,
            ProgressMode::Auto => std::thread::spawn(move || draw_bar(&p)),
            ProgressMode::Json => std::thread::spawn(move || emit_json(&p, interval)),
        };
        Some(Reporter { progress, handle: Some(handle) })
    }

    /// The counters the executor should update.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.progress.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Sleeps up to `d`, waking early when the run is done.
fn wait(p: &Progress, d: Duration) {
    let step = Duration::from_millis(20);
    let mut slept = Duration::ZERO;
    while slept < d && !p.done.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

fn emit_json(p: &Progress, interval: Duration) {
    let mut err = std::io::stderr();
    loop {
        wait(p, interval);
        let s = p.snapshot();
        let _ = writeln!(err, "{}", json_line(&s));
        if s.done {
            return;
        }
    }
}

/// The text after the bar: `eta 12s · stage 1/2 scan · 120/487 MB ·
/// 2.4M rows/s` (MB/s is in `--progress json`).
fn bar_line(s: &Snapshot) -> String {
    let v: serde_json::Value = serde_json::from_str(&json_line(s)).unwrap_or_default();
    let eta = v["eta_s"].as_f64().map_or("eta ?".to_string(), |e| format!("eta {e:.0}s"));
    let mb = |b: u64| format!("{:.0}", b as f64 / 1e6);
    let rows = v["rows_per_s"].as_f64().unwrap_or(0.0);
    let rows = if rows >= 1e6 {
        format!("{:.1}M", rows / 1e6)
    } else if rows >= 1e3 {
        format!("{:.0}k", rows / 1e3)
    } else {
        format!("{rows:.0}")
    };
    format!(
        "{eta} · stage {}/{} {} · {}/{} MB · {rows} rows/s",
        s.stage + 1,
        s.stages.max(1),
        s.label,
        mb(s.bytes),
        mb(s.total_bytes)
    )
}

fn draw_bar(p: &Progress) {
    // Runs shorter than about a second show nothing.
    wait(p, Duration::from_millis(1000));
    if p.done.load(Ordering::Relaxed) {
        return;
    }
    let bar =
        ProgressBar::with_draw_target(Some(p.total_bytes.load(Ordering::Relaxed).max(1)), ProgressDrawTarget::stderr());
    // Rates and ETA are dq's own (averaged since the start): indicatif's
    // would count the bytes read before the bar appeared as one burst.
    // Fits 80 columns: ETA and stage first, one unit system (MB, 10^6
    // bytes), whole rows per second.
    let style = ProgressStyle::with_template("{spinner} [{bar:12}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    while !p.done.load(Ordering::Relaxed) {
        let s = p.snapshot();
        bar.set_length(s.total_bytes.max(1));
        bar.set_position(s.bytes.min(s.total_bytes.max(1)));
        bar.set_message(bar_line(&s));
        wait(p, Duration::from_millis(100));
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_line_fits_80_columns_with_whole_units() {
        let s = Snapshot {
            elapsed: 3.0,
            stage: 0,
            stages: 2,
            label: "combining".into(),
            bytes: 1_020_000_000,
            total_bytes: 4_870_000_000,
            rows: 7_200_000,
            done: false,
        };
        let line = bar_line(&s);
        assert_eq!(line, "eta 11s · stage 1/2 combining · 1020/4870 MB · 2.4M rows/s");
        // Spinner, space, the 14-column bar and a space before it.
        assert!(line.chars().count() + 17 <= 80, "{line}");
    }

    #[test]
    fn json_line_has_the_documented_fields() {
        let s = Snapshot {
            elapsed: 2.0,
            stage: 1,
            stages: 3,
            label: "x".into(),
            bytes: 50,
            total_bytes: 150,
            rows: 10,
            done: false,
        };
        let v: serde_json::Value = serde_json::from_str(&json_line(&s)).unwrap();
        assert_eq!(v["eta_s"], 4.0);
        assert_eq!(v["rows_per_s"], 5.0);
        for key in
            ["elapsed_s", "stage", "stages", "label", "bytes_read", "bytes_total", "rows_read", "mb_per_s", "done"]
        {
            assert!(v.get(key).is_some(), "{key}");
        }
    }
}
