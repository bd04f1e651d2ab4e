//! Quote-aware record scanning over CSV bytes: finding chunk boundaries,
//! splitting records into fields, and locating the first bad record when a
//! chunk fails to parse.
//!
//! A field is quoted when it starts with the quote byte; inside it the quote
//! is escaped by doubling (RFC 4180). Line ends are `\n` or `\r\n`.

use memchr::memchr;

/// Byte-level CSV dialect used for scanning.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Field separator.
    pub delimiter: u8,
    /// Quote byte, or `None` when quoting is off.
    pub quote: Option<u8>,
}

/// Finds the end (exclusive, after the `\n`) of the record starting at `start`,
/// or `bytes.len()` when the last record has no line end.
pub fn record_end(bytes: &[u8], start: usize, dialect: Dialect) -> usize {
    let Some(q) = dialect.quote else {
        return memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i + 1);
    };
    let mut in_quotes = false;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if b == q {
            in_quotes = !in_quotes;
        } else if b == b'\n' && !in_quotes {
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// Splits `bytes` into about `target`-sized ranges that start and end on
/// record boundaries, honouring quoted line breaks.
///
/// Quote parity at any offset is the number of quote bytes before it mod 2,
/// so the quotes of each segment are counted in parallel first; then each
/// split point walks forward to the first line end outside quotes.
pub fn split_records(bytes: &[u8], start: usize, target: usize, dialect: Dialect) -> Vec<(usize, usize)> {
    split_region(bytes, start, target, usize::MAX, dialect)
}

/// [`split_records`] for at most `max_ranges` ranges from `start`: the
/// region just ahead of a reader. Only the bytes of those ranges are read.
/// When the region does not reach the end, the last range ends on a record
/// boundary and the caller continues from there.
pub fn split_region(
    bytes: &[u8],
    start: usize,
    target: usize,
    max_ranges: usize,
    dialect: Dialect,
) -> Vec<(usize, usize)> {
    use rayon::prelude::*;
    let len = bytes.len();
    if start >= len {
        return Vec::new();
    }
    let target = target.max(1);
    let total = (len - start).div_ceil(target);
    let reaches_end = total <= max_ranges;
    let cut_count = if reaches_end { total - 1 } else { max_ranges };
    let cuts: Vec<usize> = (1..=cut_count).map(|i| start + i * target).collect();
    // Parity of quotes before each cut, from per-segment counts.
    let parity_before: Vec<bool> = match dialect.quote {
        None => vec![false; cuts.len()],
        Some(q) => {
            let bounds: Vec<(usize, usize)> =
                std::iter::once(start).chain(cuts.iter().copied()).zip(cuts.iter().copied()).collect();
            let counts: Vec<usize> =
                bounds.par_iter().map(|&(a, b)| memchr::memchr_iter(q, &bytes[a..b]).count()).collect();
            let mut acc = 0usize;
            counts
                .iter()
                .map(|c| {
                    acc += c;
                    acc % 2 == 1
                })
                .collect()
        }
    };
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut prev = start;
    for (cut, odd) in cuts.into_iter().zip(parity_before) {
        if cut <= prev {
            continue;
        }
        let end = first_line_end_outside_quotes(bytes, cut, odd, dialect);
        if end > prev && end < len {
            out.push((prev, end));
            prev = end;
        }
    }
    // The rest of the file when the region reaches it — or when no line end
    // outside quotes follows any cut (then the rest is one record).
    if prev < len && (reaches_end || out.is_empty()) {
        out.push((prev, len));
    }
    out
}

/// Offset after the first line end at or after `from` that lies outside
/// quotes, given whether `from` itself is inside quotes (the end if none).
pub fn first_line_end_outside_quotes(bytes: &[u8], from: usize, mut in_quotes: bool, dialect: Dialect) -> usize {
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        if Some(b) == dialect.quote {
            in_quotes = !in_quotes;
        } else if b == b'\n' && !in_quotes {
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// One record: its byte range and its fields (unquoted, escapes resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset past the line end.
    pub end: usize,
    /// Field values.
    pub fields: Vec<String>,
}

/// Parses the record starting at `start`.
pub fn parse_record(bytes: &[u8], start: usize, dialect: Dialect) -> Record {
    let mut fields = Vec::new();
    let mut cur = Vec::new();
    let mut i = start;
    let mut in_quotes = false;
    let mut at_field_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quotes {
            if Some(b) == dialect.quote {
                if bytes.get(i + 1).copied() == dialect.quote {
                    cur.push(b);
                    i += 2;
                    continue;
                }
                in_quotes = false;
            } else {
                cur.push(b);
            }
        } else if at_field_start && Some(b) == dialect.quote {
            in_quotes = true;
        } else if b == dialect.delimiter {
            fields.push(String::from_utf8_lossy(&cur).into_owned());
            cur.clear();
            at_field_start = true;
            i += 1;
            continue;
        } else if b == b'\n' {
            i += 1;
            break;
        } else if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            cur.push(b);
        }
        at_field_start = false;
        i += 1;
    }
    fields.push(String::from_utf8_lossy(&cur).into_owned());
    Record { start, end: i, fields }
}

/// Iterates over the records of `bytes`, skipping blank lines.
pub fn records(bytes: &[u8], dialect: Dialect) -> impl Iterator<Item = Record> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        if pos >= bytes.len() {
            return None;
        }
        let rec = parse_record(bytes, pos, dialect);
        pos = rec.end.max(pos + 1);
        let blank = rec.fields.len() == 1 && rec.fields[0].is_empty();
        if !blank {
            return Some(rec);
        }
    })
}

/// What [`check_field_counts`] found in a chunk without errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Records.
    pub records: usize,
    /// Empty lines outside quotes (polars would read each as a row of nulls).
    pub blank_lines: usize,
}

/// Counts records and blank lines and checks that each record has
/// `n_fields` fields, without allocating. Returns the counts, or the offset
/// of the first bad record.
///
/// This is the fast check every chunk gets; [`records`] is the slow path
/// used only to explain a failure.
pub fn check_field_counts(bytes: &[u8], n_fields: usize, dialect: Dialect) -> Result<Counts, usize> {
    let unquoted = dialect.quote.is_none_or(|q| memchr(q, bytes).is_none());
    if unquoted {
        return check_unquoted(bytes, n_fields, dialect.delimiter);
    }
    check_quoted(bytes, n_fields, dialect)
}

/// The quote-aware state machine behind [`check_field_counts`].
fn check_quoted(bytes: &[u8], n_fields: usize, dialect: Dialect) -> Result<Counts, usize> {
    let mut records = 0usize;
    let mut blank_lines = 0usize;
    let mut fields = 1usize;
    let mut rec_start = 0usize;
    let mut line_len = 0usize;
    let mut in_quotes = false;
    let q = dialect.quote.unwrap_or(0);
    let quoting = dialect.quote.is_some();
    let d = dialect.delimiter;
    for (i, &b) in bytes.iter().enumerate() {
        if quoting && b == q {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            if b == d {
                fields += 1;
            } else if b == b'\n' {
                let blank = line_len == 0 || (line_len == 1 && i > 0 && bytes[i - 1] == b'\r');
                if blank {
                    blank_lines += 1;
                } else {
                    if fields != n_fields {
                        return Err(rec_start);
                    }
                    records += 1;
                }
                fields = 1;
                rec_start = i + 1;
                line_len = 0;
                continue;
            }
        }
        line_len += 1;
    }
    let trailing_blank = line_len == 0 || (line_len == 1 && bytes.last() == Some(&b'\r'));
    if !trailing_blank {
        if fields != n_fields {
            return Err(rec_start);
        }
        records += 1;
    } else if line_len == 1 {
        blank_lines += 1;
    }
    Ok(Counts { records, blank_lines })
}

/// A copy of `bytes` without its blank lines (outside quotes).
pub fn strip_blank_lines(bytes: &[u8], dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_quotes = false;
    let mut line_start = 0;
    let keep = |line: &[u8], out: &mut Vec<u8>| {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if !content.is_empty() {
            out.extend_from_slice(line);
        }
    };
    for (i, &b) in bytes.iter().enumerate() {
        if Some(b) == dialect.quote {
            in_quotes = !in_quotes;
        } else if b == b'\n' && !in_quotes {
            keep(&bytes[line_start..=i], &mut out);
            line_start = i + 1;
        }
    }
    if line_start < bytes.len() {
        keep(&bytes[line_start..], &mut out);
    }
    out
}

/// [`check_field_counts`] for bytes without a quote character: every line is
/// a record, and counting a line's delimiters is a loop the compiler
/// vectorizes (several times faster than the quote-aware state machine).
fn check_unquoted(bytes: &[u8], n_fields: usize, delimiter: u8) -> Result<Counts, usize> {
    let mut records = 0usize;
    let mut blank = 0usize;
    let mut start = 0usize;
    let mut check = |line: &[u8], at: usize| -> Result<(), usize> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            blank += 1;
            return Ok(());
        }
        let fields = line.iter().filter(|&&b| b == delimiter).count() + 1;
        if fields != n_fields {
            return Err(at);
        }
        records += 1;
        Ok(())
    };
    for nl in memchr::memchr_iter(b'\n', bytes) {
        check(&bytes[start..nl], start)?;
        start = nl + 1;
    }
    if start < bytes.len() {
        check(&bytes[start..], start)?;
    }
    Ok(Counts { records, blank_lines: blank })
}

/// 1-based line number of byte `offset` in `bytes`.
pub fn line_of(bytes: &[u8], offset: usize) -> u64 {
    memchr::memchr_iter(b'\n', &bytes[..offset.min(bytes.len())]).count() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Dialect = Dialect { delimiter: b',', quote: Some(b'"') };

    #[test]
    fn splits_never_cut_inside_quotes() {
        let data = b"a,b\n1,\"x\ny\nz\"\n2,\"p\"\n3,q\n";
        for target in 1..data.len() {
            let ranges = split_records(data, 4, target, D);
            let mut joined = Vec::new();
            for (a, b) in &ranges {
                let recs: Vec<_> = records(&data[*a..*b], D).collect();
                assert!(recs.iter().all(|r| r.fields.len() == 2), "target {target}: {ranges:?}");
                joined.extend_from_slice(&data[*a..*b]);
            }
            assert_eq!(joined, &data[4..], "target {target}");
        }
    }

    #[test]
    fn regions_continue_where_the_last_one_stopped() {
        let data = b"a,b\n1,\"x\ny\nz\"\n2,\"p\"\n3,q\n4,r\n5,s\n";
        for target in 1..data.len() {
            for max in 1..4 {
                let mut pos = 4;
                let mut ranges = Vec::new();
                loop {
                    let r = split_region(data, pos, target, max, D);
                    if r.is_empty() {
                        break;
                    }
                    assert!(r.len() <= max.max(1) + 1);
                    pos = r.last().unwrap().1;
                    ranges.extend(r);
                }
                // The ranges tile the data after the header, each holding whole records.
                let mut joined = Vec::new();
                for (a, b) in &ranges {
                    assert!(records(&data[*a..*b], D).all(|r| r.fields.len() == 2), "target {target}, max {max}");
                    joined.extend_from_slice(&data[*a..*b]);
                }
                assert_eq!(joined, data[4..].to_vec(), "target {target}, max {max}");
            }
        }
    }

    #[test]
    fn parses_quotes_escapes_and_crlf() {
        let recs: Vec<_> = records(b"\"a \"\"b\"\",c\",d\r\n\r\ne,\r\n", D).collect();
        assert_eq!(recs[0].fields, vec!["a \"b\",c", "d"]);
        assert_eq!(recs[1].fields, vec!["e", ""]);
        assert_eq!(recs.len(), 2);
    }

    #[test]
    fn field_count_check_finds_the_bad_record() {
        assert_eq!(check_field_counts(b"1,2\n3,\"4\n5\"\n\n", 2, D), Ok(Counts { records: 2, blank_lines: 1 }));
        assert_eq!(check_field_counts(b"1,2\n3\n", 2, D), Err(4));
        assert_eq!(check_field_counts(b"1,2\n3,4,5", 2, D), Err(4));
        assert_eq!(check_field_counts(b"1,2\r\n3,4\r\n", 2, D).map(|c| c.records), Ok(2));
        // The same cases through the quote-free fast path and the quote-aware one agree.
        for text in [&b"1,2\n3\n"[..], b"1,2\n3,4,5", b"\n1,2\r\n\r\n3,4", b"a,b\nc,d\ne"] {
            let fast = check_unquoted(text, 2, b',');
            let slow = check_quoted(text, 2, D);
            assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn blank_lines_are_counted_and_stripped_outside_quotes() {
        let text = b"a,b\n\n\"x\n\ny\",1\r\n\r\nz,2\n\n";
        assert_eq!(check_field_counts(text, 2, D), Ok(Counts { records: 3, blank_lines: 3 }));
        assert_eq!(strip_blank_lines(text, D), b"a,b\n\"x\n\ny\",1\r\nz,2\n".to_vec());
    }

    #[test]
    fn record_end_skips_quoted_newlines() {
        assert_eq!(record_end(b"\"a\nb\",c\nd", 0, D), 8);
    }
}
