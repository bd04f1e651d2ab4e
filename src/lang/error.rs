//! Parse errors: where (a span) and what was expected.

use super::span::Span;

/// A syntax error with the span of the offending text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The text the parser stopped at.
    pub span: Span,
    /// What went wrong, e.g. "expected a verb after `|`, found `)`".
    pub message: String,
    /// Optional advice, e.g. "use `==` to compare".
    pub hint: Option<String>,
}

impl Error {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        Error { span, message: message.into(), hint: None }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
