//! `DQ_LOG=warn|info|debug dq scheduler` (or `worker`): the scheduler's
//! and workers' own messages (Ballista's, through the `log` facade) on
//! stderr, for finding out why a cluster job is slow or stuck. Off by
//! default: a long-running server should be quiet.

/// Installs the stderr logger at the level `DQ_LOG` names, if any.
pub fn install_from_env() {
    let level = match std::env::var("DQ_LOG").ok().as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("error") => log::LevelFilter::Error,
        Some("warn") => log::LevelFilter::Warn,
        Some("info") => log::LevelFilter::Info,
        Some("debug") => log::LevelFilter::Debug,
        Some("trace") => log::LevelFilter::Trace,
        _ => return,
    };
    if log::set_logger(&Stderr).is_ok() {
        log::set_max_level(level);
    }
}

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!("{} {}: {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}
