//! Quote-aware record scanning over CSV bytes: finding chunk boundaries,
//! splitting records into fields, and locating the first bad record when a
//! chunk fails to parse.
//!
//! One rule everywhere (the cutter, the field-count check, the record parser
//! and polars' field parser agree on it): a quote byte opens a quoted section
//! only at the start of a field, or again inside a field that began quoted
//! (so `""` is an escaped quote, RFC 4180). A quote inside an unquoted field
//! is an ordinary byte — `5" bolt` is the text `5" bolt` (the lenient reading
//! of DuckDB and polars). Line ends are `\n` or `\r\n`.
//!
//! polars' own line splitter toggles on *every* quote byte, so a chunk that
//! holds a quote inside an unquoted field is rewritten with proper quoting
//! ([`normalize`]) before polars sees it; [`Counts::literal_quotes`] says when.

use memchr::{memchr, memrchr2};

/// Byte-level CSV dialect used for scanning.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Field separator.
    pub delimiter: u8,
    /// Quote byte, or `None` when quoting is off.
    pub quote: Option<u8>,
}

/// Where the current field stands, outside quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Nothing of the field read yet: a quote opens a quoted section.
    Start,
    /// The field began with another byte: quotes are ordinary bytes.
    Unquoted,
    /// The field began with a quote, now closed: another quote reopens it.
    Quoted,
}

/// A forward scan over CSV bytes that knows, at its position, whether it is
/// inside quotes. It starts at a record start and only moves forward,
/// jumping from quote to quote with `memchr`, so cutting a file costs a few
/// vectorized passes, not a state machine per byte.
#[derive(Debug, Clone)]
pub struct RecordScanner {
    dialect: Dialect,
    pos: usize,
    inside: bool,
    field: Field,
}

impl RecordScanner {
    /// A scanner at `start`, which must be the start of a record.
    pub fn new(start: usize, dialect: Dialect) -> Self {
        RecordScanner { dialect, pos: start, inside: false, field: Field::Start }
    }

    /// Offset after the first line end outside quotes at or after `from`
    /// (`None` when the bytes end first). Line ends before `from` are passed
    /// over, but their quotes still count. The scanner moves past what it read.
    pub fn next_record_end(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        let len = bytes.len();
        let Some(q) = self.dialect.quote else {
            let at = from.max(self.pos).min(len);
            return match memchr(b'\n', &bytes[at..]) {
                Some(i) => {
                    self.pos = at + i + 1;
                    Some(self.pos)
                }
                None => {
                    self.pos = len;
                    None
                }
            };
        };
        // The first line end at or after max(pos, from), while it is valid.
        let mut line_end: Option<(usize, Option<usize>)> = None;
        loop {
            if self.pos >= len {
                self.pos = len;
                return None;
            }
            if self.inside {
                match memchr(q, &bytes[self.pos..]) {
                    Some(i) => {
                        self.pos += i + 1;
                        self.inside = false;
                        self.field = Field::Quoted;
                    }
                    None => {
                        self.pos = len;
                        return None;
                    }
                }
                continue;
            }
            let search_from = from.max(self.pos);
            let nl = match line_end {
                Some((at, nl)) if at == search_from => nl,
                _ => {
                    let nl = memchr(b'\n', &bytes[search_from.min(len)..]).map(|i| search_from + i);
                    line_end = Some((search_from, nl));
                    nl
                }
            };
            let horizon = nl.unwrap_or(len);
            let Some(qi) = memchr(q, &bytes[self.pos..horizon]).map(|i| self.pos + i) else {
                return match nl {
                    Some(n) => {
                        self.pos = n + 1;
                        self.field = Field::Start;
                        Some(n + 1)
                    }
                    None => {
                        self.pos = len;
                        None
                    }
                };
            };
            // The field state just before the quote.
            let seg = &bytes[self.pos..qi];
            match memrchr2(self.dialect.delimiter, b'\n', seg) {
                Some(j) if self.pos + j + 1 == qi => self.field = Field::Start,
                Some(_) => self.field = Field::Unquoted,
                None if !seg.is_empty() && self.field == Field::Start => self.field = Field::Unquoted,
                None => {}
            }
            if self.field != Field::Unquoted {
                self.inside = true;
            }
            self.pos = qi + 1;
            // pos may now pass the cached search start: recompute then.
            if self.pos > search_from {
                line_end = None;
            }
        }
    }
}

/// Finds the end (exclusive, after the `\n`) of the record starting at `start`,
/// or `bytes.len()` when the last record has no line end.
pub fn record_end(bytes: &[u8], start: usize, dialect: Dialect) -> usize {
    RecordScanner::new(start, dialect).next_record_end(bytes, start).unwrap_or(bytes.len())
}

/// Offset after the last record end in `bytes` (which start on a record),
/// or `None` when there is none.
pub fn last_record_end(bytes: &[u8], dialect: Dialect) -> Option<usize> {
    // Only the tail is walked line by line; the scan up to it jumps between quotes.
    const TAIL: usize = 1 << 16;
    for from in [bytes.len().saturating_sub(TAIL), 0] {
        let mut scanner = RecordScanner::new(0, dialect);
        let mut last = None;
        let mut at = from;
        while let Some(end) = scanner.next_record_end(bytes, at) {
            last = Some(end);
            at = end;
        }
        if last.is_some() || from == 0 {
            return last;
        }
    }
    None
}

/// Splits `bytes` into about `target`-sized ranges that start and end on
/// record boundaries, honouring quoted line breaks.
pub fn split_records(bytes: &[u8], start: usize, target: usize, dialect: Dialect) -> Vec<(usize, usize)> {
    split_region(bytes, start, target, usize::MAX, dialect)
}

/// [`split_records`] for at most `max_ranges` ranges from `start` (a record
/// start): the region just ahead of a reader. Only the bytes of those ranges
/// are read. When the region does not reach the end, the last range ends on
/// a record boundary and the caller continues from there.
pub fn split_region(
    bytes: &[u8],
    start: usize,
    target: usize,
    max_ranges: usize,
    dialect: Dialect,
) -> Vec<(usize, usize)> {
    let len = bytes.len();
    let target = target.max(1);
    let mut scanner = RecordScanner::new(start, dialect);
    let mut out = Vec::new();
    let mut prev = start;
    while prev < len && out.len() < max_ranges {
        let cut = prev.saturating_add(target);
        let end = if cut >= len { len } else { scanner.next_record_end(bytes, cut).unwrap_or(len) };
        out.push((prev, end));
        prev = end;
    }
    out
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
    /// Whether each field began with a quote (`""` is then an empty string,
    /// not a missing value).
    pub quoted: Vec<bool>,
}

/// Parses the record starting at `start`, by the rule in the module docs.
pub fn parse_record(bytes: &[u8], start: usize, dialect: Dialect) -> Record {
    let mut fields = Vec::new();
    let mut quoted = Vec::new();
    let mut cur = Vec::new();
    let mut i = start;
    let mut in_quotes = false;
    let mut field = Field::Start;
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
                field = Field::Quoted;
            } else {
                cur.push(b);
            }
        } else if Some(b) == dialect.quote && field != Field::Unquoted {
            in_quotes = true;
            if field == Field::Start {
                field = Field::Quoted;
            }
        } else if b == dialect.delimiter {
            fields.push(String::from_utf8_lossy(&cur).into_owned());
            quoted.push(field == Field::Quoted);
            cur.clear();
            field = Field::Start;
        } else if b == b'\n' {
            i += 1;
            break;
        } else {
            // A `\r` before the line end (or the end of the bytes) is part of it.
            if !(b == b'\r' && matches!(bytes.get(i + 1), Some(&b'\n') | None)) {
                cur.push(b);
            }
            if field == Field::Start {
                field = Field::Unquoted;
            }
        }
        i += 1;
    }
    fields.push(String::from_utf8_lossy(&cur).into_owned());
    quoted.push(field == Field::Quoted);
    Record { start, end: i, fields, quoted }
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
        let blank = rec.fields.len() == 1 && rec.fields[0].is_empty() && !rec.quoted[0];
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
    /// Whether a quote appears inside an unquoted field: polars' line
    /// splitter would misread the chunk, so it must be [`normalize`]d.
    pub literal_quotes: bool,
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
    let mut literal_quotes = false;
    let mut fields = 1usize;
    let mut rec_start = 0usize;
    let mut line_len = 0usize;
    let mut in_quotes = false;
    let mut field = Field::Start;
    let q = dialect.quote;
    let d = dialect.delimiter;
    for (i, &b) in bytes.iter().enumerate() {
        line_len += 1;
        if in_quotes {
            if Some(b) == q {
                in_quotes = false;
                field = Field::Quoted;
            }
        } else if Some(b) == q {
            if field == Field::Unquoted {
                literal_quotes = true;
            } else {
                in_quotes = true;
            }
        } else if b == d {
            fields += 1;
            field = Field::Start;
        } else if b == b'\n' {
            let blank = line_len == 1 || (line_len == 2 && bytes[i - 1] == b'\r');
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
            field = Field::Start;
        } else if field == Field::Start {
            field = Field::Unquoted;
        }
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
    Ok(Counts { records, blank_lines, literal_quotes })
}

/// Line ends outside quotes, in order (each the offset after its `\n`).
fn record_ends(bytes: &[u8], dialect: Dialect) -> impl Iterator<Item = usize> + '_ {
    let mut scanner = RecordScanner::new(0, dialect);
    let mut at = 0;
    std::iter::from_fn(move || {
        let end = scanner.next_record_end(bytes, at)?;
        at = end;
        Some(end)
    })
}

/// A copy of `bytes` without its blank lines (outside quotes).
pub fn strip_blank_lines(bytes: &[u8], dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut line_start = 0;
    let keep = |line: &[u8], out: &mut Vec<u8>| {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if !content.is_empty() {
            out.extend_from_slice(line);
        }
    };
    for end in record_ends(bytes, dialect) {
        keep(&bytes[line_start..end], &mut out);
        line_start = end;
    }
    if line_start < bytes.len() {
        keep(&bytes[line_start..], &mut out);
    }
    out
}

/// The records of `bytes` written back with RFC 4180 quoting: a field is
/// quoted when it was, or when it holds a quote, delimiter or line break.
/// Blank lines are dropped. The result means the same by the rule of this
/// module, and polars' parser reads it the same way.
pub fn normalize(bytes: &[u8], dialect: Dialect) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    for rec in records(bytes, dialect) {
        for (i, (field, &quoted)) in rec.fields.iter().zip(&rec.quoted).enumerate() {
            if i > 0 {
                out.push(dialect.delimiter);
            }
            write_field(&mut out, field, quoted, dialect);
        }
        out.push(b'\n');
    }
    out
}

/// Writes one field, quoted when `quoted` or when its bytes need it.
pub fn write_field(out: &mut Vec<u8>, field: &str, quoted: bool, dialect: Dialect) {
    let Some(q) = dialect.quote else {
        out.extend_from_slice(field.as_bytes());
        return;
    };
    let needs = quoted || field.bytes().any(|b| b == q || b == dialect.delimiter || b == b'\n' || b == b'\r');
    if !needs {
        out.extend_from_slice(field.as_bytes());
        return;
    }
    out.push(q);
    for b in field.bytes() {
        if b == q {
            out.push(q);
        }
        out.push(b);
    }
    out.push(q);
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
    Ok(Counts { records, blank_lines: blank, literal_quotes: false })
}

/// 1-based line number of byte `offset` in `bytes`.
pub fn line_of(bytes: &[u8], offset: usize) -> u64 {
    memchr::memchr_iter(b'\n', &bytes[..offset.min(bytes.len())]).count() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Dialect = Dialect { delimiter: b',', quote: Some(b'"') };

    /// Random CSV-like bytes over a small alphabet, so quotes land everywhere.
    fn random_csv(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                b"ab,\"\n\r 5"[(x >> 33) as usize % 8]
            })
            .collect()
    }

    /// Line ends outside quotes, by the module's rule, one byte at a time:
    /// the reference for the scanner's jumps.
    fn reference_line_ends(bytes: &[u8]) -> Vec<usize> {
        let (mut out, mut inside, mut field) = (Vec::new(), false, Field::Start);
        for (i, &b) in bytes.iter().enumerate() {
            match (inside, b) {
                (true, b'"') => (inside, field) = (false, Field::Quoted),
                (true, _) => {}
                (false, b'"') if field != Field::Unquoted => inside = true,
                (false, b',') => field = Field::Start,
                (false, b'\n') => {
                    out.push(i + 1);
                    field = Field::Start;
                }
                (false, _) if field == Field::Start => field = Field::Unquoted,
                (false, _) => {}
            }
        }
        out
    }

    /// Record ends found by parsing record after record from the start.
    fn sequential_ends(bytes: &[u8]) -> Vec<usize> {
        let mut ends = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            pos = parse_record(bytes, pos, D).end;
            ends.push(pos);
        }
        ends
    }

    #[test]
    fn cuts_land_on_the_record_ends_of_a_sequential_parse() {
        for seed in 0..300 {
            let data = random_csv(seed, 60);
            let ends = sequential_ends(&data);
            let line_ends = reference_line_ends(&data);
            assert!(line_ends.iter().all(|e| ends.contains(e)), "seed {seed}");
            for target in 1..data.len() {
                let ranges = split_records(&data, 0, target, D);
                let mut pos = 0;
                for &(a, b) in &ranges {
                    assert_eq!(a, pos);
                    assert!(
                        b == data.len() || line_ends.contains(&b),
                        "seed {seed} target {target}: cut at {b}, {data:?}"
                    );
                    pos = b;
                }
                assert_eq!(pos, data.len());
            }
            let want = reference_line_ends(&data).last().copied();
            assert_eq!(last_record_end(&data, D), want, "seed {seed}: {:?}", String::from_utf8_lossy(&data));
        }
    }

    #[test]
    fn field_counts_agree_with_the_record_parser() {
        for seed in 0..2000 {
            let data = random_csv(seed, 40);
            let recs: Vec<Record> = records(&data, D).collect();
            for n in 1..4 {
                let want = recs.iter().find(|r| r.fields.len() != n).map(|r| r.start);
                match check_field_counts(&data, n, D) {
                    Ok(c) => {
                        assert_eq!(want, None, "seed {seed}, {n} fields: {:?}", String::from_utf8_lossy(&data));
                        assert_eq!(c.records, recs.len(), "seed {seed}: {:?}", String::from_utf8_lossy(&data));
                    }
                    Err(at) => assert_eq!(Some(at), want, "seed {seed}, {n} fields"),
                }
            }
        }
    }

    #[test]
    fn normalized_chunks_read_the_same_and_have_no_literal_quotes() {
        for seed in 0..2000 {
            let data = random_csv(seed, 40);
            let fixed = normalize(&data, D);
            // Values, and for empty values whether they were quoted (`""` is an empty string).
            let read = |bytes: &[u8]| -> Vec<Vec<(String, bool)>> {
                records(bytes, D)
                    .map(|r| r.fields.into_iter().zip(r.quoted).map(|(f, q)| (f.clone(), q && f.is_empty())).collect())
                    .collect()
            };
            let (before, after) = (read(&data), read(&fixed));
            assert_eq!(
                before,
                after,
                "seed {seed}: {:?} -> {:?}",
                String::from_utf8_lossy(&data),
                String::from_utf8_lossy(&fixed)
            );
            let n = after.first().map_or(1, |r| r.len());
            if let Ok(c) = check_field_counts(&fixed, n, D) {
                assert!(!c.literal_quotes, "seed {seed}");
            }
        }
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_text() {
        let data = b"1,5\" x\n2,y\n3,z\n";
        let recs: Vec<_> = records(data, D).collect();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].fields, vec!["1", "5\" x"]);
        let c = check_field_counts(data, 2, D).unwrap();
        assert_eq!((c.records, c.literal_quotes), (3, true));
        assert_eq!(split_records(data, 0, 1, D), vec![(0, 7), (7, 11), (11, 15)]);
        assert_eq!(normalize(data, D), b"1,\"5\"\" x\"\n2,y\n3,z\n".to_vec());
    }

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
                    assert!(r.len() <= max);
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
        let ok = Counts { records: 2, blank_lines: 1, literal_quotes: false };
        assert_eq!(check_field_counts(b"1,2\n3,\"4\n5\"\n\n", 2, D), Ok(ok));
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
        let counts = check_field_counts(text, 2, D).map(|c| (c.records, c.blank_lines));
        assert_eq!(counts, Ok((3, 3)));
        assert_eq!(strip_blank_lines(text, D), b"a,b\n\"x\n\ny\",1\r\nz,2\n".to_vec());
    }

    #[test]
    fn record_end_skips_quoted_newlines() {
        assert_eq!(record_end(b"\"a\nb\",c\nd", 0, D), 8);
        assert_eq!(record_end(b"a\"b\nc", 0, D), 4);
    }
}
