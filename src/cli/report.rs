//! Renders errors for people: the offending line with a caret under the
//! fault, what was expected, and a hint. The only place that formats errors.

use super::SourceText;
use crate::lang::Span;
use crate::Error;

/// Whether the error is a closed stdout pipe (`dq ... | head`), which is success.
pub fn is_broken_pipe(e: &Error) -> bool {
    match e {
        Error::Io(io) | Error::Exec(crate::exec::Error::Io(io)) => io.is_broken_pipe(),
        _ => false,
    }
}

/// The full report for stderr.
pub fn render(e: &Error, source: Option<&SourceText>) -> String {
    let (message, span, hint) = match e {
        Error::Parse(p) => (format!("syntax error: {}", p.message), Some(p.span), p.hint.clone()),
        Error::Plan(p) => (p.to_string(), Some(p.span()), p.hint()),
        Error::Io(crate::io::Error::BadRecord { hint, .. }) => (e.to_string(), None, Some(hint.clone())),
        Error::Exec(crate::exec::Error::Io(crate::io::Error::BadRecord { hint, .. })) => {
            (e.to_string(), None, Some(hint.clone()))
        }
        _ => (e.to_string(), None, None),
    };
    let mut out = format!("error: {message}\n");
    if let (Some(span), Some(src)) = (span, source) {
        out.push_str(&snippet(src, span));
    }
    if let Some(h) = hint {
        out.push_str(&format!("  = hint: {h}\n"));
    }
    out
}

/// `--> file:line:col`, the line, and carets under the span.
fn snippet(src: &SourceText, span: Span) -> String {
    let text = &src.text;
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_no = text[..start].matches('\n').count() + 1;
    let col = text[line_start..start].chars().count() + 1;
    let line = &text[line_start..line_end];
    let width = text[start..span.end.clamp(start, line_end)].chars().count().max(1);
    let gutter = line_no.to_string().len();
    let pad = " ".repeat(gutter);
    format!(
        "{pad}--> {}:{line_no}:{col}\n{pad} |\n{line_no} | {line}\n{pad} | {}{}\n",
        src.name,
        " ".repeat(col - 1),
        "^".repeat(width)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_span() {
        let src = SourceText { name: "q.dq".into(), text: "scan \"a\"\n| filter x = 1".into() };
        let s = snippet(&src, Span::new(20, 21));
        assert_eq!(s, " --> q.dq:2:12\n  |\n2 | | filter x = 1\n  |            ^\n");
    }
}
