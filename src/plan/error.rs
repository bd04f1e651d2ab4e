//! Planning errors: each carries the span of the text at fault so the CLI
//! can underline it, and, where it helps, the names the user may have meant.

use crate::lang::Span;

/// A problem found while resolving names and types.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A column that the input does not have.
    #[error("unknown column `{name}`")]
    UnknownColumn {
        /// The name as written.
        name: String,
        /// Where.
        span: Span,
        /// Close matches among the available columns.
        candidates: Vec<String>,
        /// All available columns (shown when nothing is close).
        available: Vec<String>,
    },
    /// A `let` name that was never defined.
    #[error("unknown pipeline `{name}`")]
    UnknownName {
        /// The name.
        name: String,
        /// Where.
        span: Span,
        /// Close `let` names.
        candidates: Vec<String>,
    },
    /// A function dq does not have.
    #[error("unknown function `{name}`")]
    UnknownFunction {
        /// The name.
        name: String,
        /// Where.
        span: Span,
        /// Close function names.
        candidates: Vec<String>,
    },
    /// Operands of the wrong types.
    #[error("type error in `{expr}`: {message}")]
    Type {
        /// The expression text.
        expr: String,
        /// What types met.
        message: String,
        /// Where.
        span: Span,
        /// How to fix it.
        hint: Option<String>,
    },
    /// Anything else wrong with a verb or option.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// Where.
        span: Span,
        /// How to fix it.
        hint: Option<String>,
    },
    /// A source could not be opened.
    #[error("{source}")]
    Source {
        /// The underlying error.
        source: crate::io::Error,
        /// The path in the program.
        span: Span,
    },
}

impl Error {
    /// The text at fault.
    pub fn span(&self) -> Span {
        match self {
            Error::UnknownColumn { span, .. }
            | Error::UnknownName { span, .. }
            | Error::UnknownFunction { span, .. }
            | Error::Type { span, .. }
            | Error::Invalid { span, .. }
            | Error::Source { span, .. } => *span,
        }
    }

    /// Advice for the user, if any.
    pub fn hint(&self) -> Option<String> {
        let did_you_mean = |c: &[String]| match c {
            [] => None,
            [one] => Some(format!("did you mean `{one}`?")),
            many => Some(format!(
                "did you mean one of: {}?",
                many.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            )),
        };
        match self {
            Error::UnknownColumn { candidates, available, .. } => did_you_mean(candidates).or_else(|| {
                if available.is_empty() {
                    Some("the input has no columns".into())
                } else {
                    Some(format!("available columns: {}", available.join(", ")))
                }
            }),
            Error::UnknownName { candidates, .. } => did_you_mean(candidates)
                .or_else(|| Some("define it first with `let NAME = scan \"...\"`, or join a quoted path".into())),
            Error::UnknownFunction { candidates, .. } => did_you_mean(candidates),
            Error::Type { hint, .. } | Error::Invalid { hint, .. } => hint.clone(),
            Error::Source { source: crate::io::Error::BadRecord { hint, .. }, .. } => Some(hint.clone()),
            Error::Source { .. } => None,
        }
    }

    pub(crate) fn invalid(span: Span, message: impl Into<String>) -> Self {
        Error::Invalid { message: message.into(), span, hint: None }
    }
}

/// Names among `options` close to `name`: those at the smallest edit
/// distance (at most 3, case-insensitive), or containing the name.
pub fn close_matches(name: &str, options: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<String> {
    let lower = name.to_lowercase();
    let scored: Vec<(usize, String)> = options
        .into_iter()
        .filter_map(|o| {
            let o = o.as_ref();
            let ol = o.to_lowercase();
            let d = strsim::osa_distance(&lower, &ol);
            let contains = lower.len() >= 3 && (ol.contains(&lower) || lower.contains(&ol));
            (d <= 3.min(lower.len().max(2) - 1) || contains)
                .then(|| (if contains { d.min(1) } else { d }, o.to_string()))
        })
        .collect();
    let best = scored.iter().map(|(d, _)| *d).min().unwrap_or(0);
    let mut out: Vec<String> = scored.into_iter().filter(|(d, _)| *d == best).map(|(_, s)| s).collect();
    out.sort();
    out.dedup();
    out.truncate(3);
    out
}
