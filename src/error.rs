//! The library-wide error and its exit codes.

/// The text a panic was raised with, when it is text.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Any error dq reports to a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program text does not parse.
    #[error(transparent)]
    Parse(#[from] crate::lang::Error),
    /// Names, types or options in the program are wrong.
    #[error(transparent)]
    Plan(#[from] crate::plan::Error),
    /// Running the pipeline failed.
    #[error(transparent)]
    Exec(#[from] crate::exec::Error),
    /// Reading input or writing output failed.
    #[error(transparent)]
    Io(#[from] crate::io::Error),
    /// Running on the cluster (`--workers`) failed or was refused.
    #[cfg(feature = "cluster")]
    #[error(transparent)]
    Cluster(#[from] crate::cluster::Error),
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// A bug in dq.
    #[error("internal error at {file}:{line}: {message} (this is a bug in dq; please report it)")]
    Internal {
        /// What happened.
        message: String,
        /// Source file.
        file: &'static str,
        /// Source line.
        line: u32,
    },
}

/// Exit codes, documented in the README.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// An internal error (a bug).
    pub const INTERNAL: i32 = 1;
    /// Usage, parse, name or type error in the command line or program.
    pub const USAGE: i32 = 2;
    /// Input data is malformed (bad CSV record, undecodable file, failed computation on a value).
    pub const BAD_DATA: i32 = 3;
    /// An input file or glob matched nothing or cannot be read.
    pub const MISSING_INPUT: i32 = 4;
    /// The output cannot be written.
    pub const OUTPUT: i32 = 5;
    /// Out of resources: the memory budget is too small for something that
    /// must be held at once, or spill files would pass `--max-spill` or
    /// fill the disk.
    pub const RESOURCES: i32 = 6;
    /// The cluster (`--workers`) could not be reached, or the job failed on it.
    pub const CLUSTER: i32 = 7;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: i32 = 130;
}

fn io_exit_code(e: &crate::io::Error) -> i32 {
    use crate::io::Error as E;
    match e {
        E::NotFound { .. } | E::Read { .. } => exit::MISSING_INPUT,
        E::BadRecord { .. } | E::Decode { .. } => exit::BAD_DATA,
        E::Unsupported { .. } => exit::USAGE,
        E::Write { .. } => exit::OUTPUT,
    }
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Parse(_) | Error::Usage(_) => exit::USAGE,
            Error::Plan(crate::plan::Error::Source { source, .. }) => io_exit_code(source),
            Error::Plan(_) => exit::USAGE,
            Error::Exec(crate::exec::Error::Io(e)) | Error::Io(e) => io_exit_code(e),
            Error::Exec(crate::exec::Error::Compute { .. }) => exit::BAD_DATA,
            Error::Exec(crate::exec::Error::Interrupted) => exit::INTERRUPTED,
            Error::Exec(
                crate::exec::Error::SpillLimit { .. }
                | crate::exec::Error::SpillDisk { .. }
                | crate::exec::Error::BudgetTooSmall { .. },
            ) => exit::RESOURCES,
            #[cfg(feature = "cluster")]
            Error::Cluster(crate::cluster::Error::NotOnCluster { .. }) => exit::USAGE,
            #[cfg(feature = "cluster")]
            Error::Cluster(crate::cluster::Error::Convert(_)) => exit::INTERNAL,
            #[cfg(feature = "cluster")]
            Error::Cluster(crate::cluster::Error::Overflow(_)) => exit::BAD_DATA,
            #[cfg(feature = "cluster")]
            Error::Cluster(_) => exit::CLUSTER,
            Error::Internal { .. } => exit::INTERNAL,
        }
    }
}

/// Builds an [`Error::Internal`] that records where it was raised.
#[macro_export]
macro_rules! internal {
    ($($arg:tt)*) => {
        $crate::Error::Internal { message: format!($($arg)*), file: file!(), line: line!() }
    };
}
