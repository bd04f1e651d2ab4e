//! Plain text read as one string column, `line`, a row per line (`\n` or
//! `\r\n`); for logs and word counts.

use polars::prelude::*;

/// The schema of every text file.
pub(super) fn schema() -> Schema {
    let mut s = Schema::default();
    s.with_column("line".into(), DataType::String);
    s
}

/// The lines of `bytes` (whole lines) as a frame.
pub(super) fn parse_chunk(bytes: &[u8], columns: &[String]) -> DataFrame {
    let mut body = bytes;
    if body.last() == Some(&b'\n') {
        body = &body[..body.len() - 1];
    }
    let lines: Vec<String> = if bytes.is_empty() {
        Vec::new()
    } else {
        body.split(|b| *b == b'\n')
            .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
            .collect()
    };
    if columns.is_empty() {
        return crate::io::height_only(lines.len());
    }
    let col = Column::new("line".into(), lines);
    DataFrame::new(vec![col]).unwrap_or_else(|_| DataFrame::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_strips_crlf() {
        let df = parse_chunk(b"a b\r\n\nc\n", &["line".to_string()]);
        let v: Vec<Option<&str>> = df.column("line").unwrap().str().unwrap().into_iter().collect();
        assert_eq!(v, vec![Some("a b"), Some(""), Some("c")]);
    }
}
