//! Errors from reading sources and writing sinks. Each names the file, and
//! for bad records the line and column, plus the flag that changes the
//! behaviour.

use std::path::PathBuf;

/// An input/output failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing matched a path or glob.
    #[error("no input matches `{pattern}`")]
    NotFound {
        /// The path or glob as written.
        pattern: String,
    },
    /// A file exists but could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A record is malformed (wrong field count, unparsable value).
    #[error("{path}:{line}: {message}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// 1-based line where the record starts.
        line: u64,
        /// 1-based field number, when one field is at fault.
        column: Option<usize>,
        /// What is wrong.
        message: String,
        /// How to get past it.
        hint: String,
    },
    /// A file could not be decoded at all (corrupt Parquet, invalid JSON).
    #[error("cannot decode {path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error (polars', zstd's, serde's, or dq's own
        /// message), kept whole so that callers can inspect it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The format could not be told from the name, or an option is invalid for it.
    #[error("{message}")]
    Unsupported {
        /// What is unsupported and what to do instead.
        message: String,
    },
    /// An output could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The destination.
        path: PathBuf,
        /// Why.
        message: String,
        /// The OS error's kind, when the cause was one (a closed pipe is
        /// found by its kind, not by its message).
        kind: Option<std::io::ErrorKind>,
    },
}

impl Error {
    pub(crate) fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Read { path: path.into(), source }
    }

    pub(crate) fn decode(path: impl Into<PathBuf>, cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Decode { path: path.into(), source: cause.into() }
    }

    /// A write failure; an `std::io::Error` cause (also inside a polars
    /// error) keeps its kind.
    pub(crate) fn write<E: std::fmt::Display + 'static>(path: impl Into<PathBuf>, cause: E) -> Self {
        let any = &cause as &dyn std::any::Any;
        let kind =
            any.downcast_ref::<std::io::Error>().map(std::io::Error::kind).or_else(|| match any
                .downcast_ref::<polars::prelude::PolarsError>(
            ) {
                Some(polars::prelude::PolarsError::IO { error, .. }) => Some(error.kind()),
                _ => None,
            });
        Error::Write { path: path.into(), message: cause.to_string(), kind }
    }

    /// Whether this is a write to a reader that went away (`dq ... | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write { kind: Some(std::io::ErrorKind::BrokenPipe), .. })
    }
}

/// Shorthand for io results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_decode_error_keeps_its_typed_cause() {
        let cause = polars::prelude::PolarsError::ComputeError("bad page".into());
        let e = Error::decode("x.parquet", cause);
        assert_eq!(e.to_string(), "cannot decode x.parquet: bad page");
        let kept = e.source().and_then(|s| s.downcast_ref::<polars::prelude::PolarsError>());
        assert!(matches!(kept, Some(polars::prelude::PolarsError::ComputeError(_))), "{kept:?}");
        let io = Error::decode("x.gz", std::io::Error::new(std::io::ErrorKind::InvalidData, "corrupt deflate stream"));
        let kind = io.source().and_then(|s| s.downcast_ref::<std::io::Error>()).map(|e| e.kind());
        assert_eq!(kind, Some(std::io::ErrorKind::InvalidData));
    }
}
