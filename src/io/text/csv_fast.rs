//! The fast path for clean CSV chunks: one pass that splits records, checks
//! every record's field count and parses only the projected columns straight
//! into typed columns.
//!
//! The general path ([`super::csv::parse_chunk`]) counts fields in one pass
//! and then has polars tokenize every column of every record in a second.
//! Most chunks of most files are plain (no quotes, no blank lines, numbers
//! written plainly), and for those this path does the same work once, on the
//! projected columns only. It accepts a chunk only where its result is
//! exactly the general path's; on anything else (a quote character, a blank
//! line, a lone `\r`, invalid UTF-8, a record with another field count, a
//! value that is not plainly written, a column type other than
//! int64/float64/string/bool) it returns `None` and the chunk takes the
//! general path, which owns every error message and bad-row policy.

use memchr::{memchr, memchr_iter};
use polars::prelude::*;

use crate::io::CsvOptions;

/// One projected column being built.
enum Builder {
    Int(PrimitiveChunkedBuilder<Int64Type>),
    Float(PrimitiveChunkedBuilder<Float64Type>),
    Bool(BooleanChunkedBuilder),
    Str(StringChunkedBuilder),
}

impl Builder {
    fn new(name: PlSmallStr, dtype: &DataType, rows: usize) -> Option<Builder> {
        Some(match dtype {
            DataType::Int64 => Builder::Int(PrimitiveChunkedBuilder::new(name, rows)),
            DataType::Float64 => Builder::Float(PrimitiveChunkedBuilder::new(name, rows)),
            DataType::Boolean => Builder::Bool(BooleanChunkedBuilder::new(name, rows)),
            DataType::String => Builder::Str(StringChunkedBuilder::new(name, rows)),
            _ => return None,
        })
    }

    /// Appends one field; `None` when it is not plainly a value of the type.
    #[inline]
    fn push(&mut self, field: &[u8], nulls: &[Vec<u8>]) -> Option<()> {
        if field.is_empty() || (!nulls.is_empty() && nulls.iter().any(|n| n == field)) {
            match self {
                Builder::Int(b) => b.append_null(),
                Builder::Float(b) => b.append_null(),
                Builder::Bool(b) => b.append_null(),
                Builder::Str(b) => b.append_null(),
            }
            return Some(());
        }
        match self {
            Builder::Int(b) => b.append_value(parse_int(field)?),
            Builder::Float(b) => b.append_value(parse_float(field)?),
            Builder::Bool(b) => b.append_value(parse_bool(field)?),
            // SAFETY: `parse` checked the chunk is UTF-8, and fields are
            // split at ASCII bytes, which never occur inside a multi-byte
            // character.
            Builder::Str(b) => b.append_value(unsafe { std::str::from_utf8_unchecked(field) }),
        }
        Some(())
    }

    fn finish(self) -> Column {
        match self {
            Builder::Int(b) => b.finish().into_column(),
            Builder::Float(b) => b.finish().into_column(),
            Builder::Bool(b) => b.finish().into_column(),
            Builder::Str(b) => b.finish().into_column(),
        }
    }
}

/// `-?[0-9]+` within 64 bits.
#[inline]
fn parse_int(f: &[u8]) -> Option<i64> {
    let (negative, digits) = match f.first()? {
        b'-' => (true, &f[1..]),
        _ => (false, f),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulated negative so that i64::MIN fits.
    let mut v: i64 = 0;
    if digits.len() < 19 {
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 - d as i64;
        }
    } else {
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v.checked_mul(10)?.checked_sub(d as i64)?;
        }
    }
    if negative {
        Some(v)
    } else {
        v.checked_neg()
    }
}

/// `-?[0-9]*(\.[0-9]*)?([eE][+-]?[0-9]+)?` with at least one mantissa digit,
/// correctly rounded (as polars' parser rounds).
#[inline]
fn parse_float(f: &[u8]) -> Option<f64> {
    let mut i = usize::from(f.first() == Some(&b'-'));
    let mut digits = 0;
    while i < f.len() && f[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < f.len() && f[i] == b'.' {
        i += 1;
        while i < f.len() && f[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if i < f.len() && (f[i] == b'e' || f[i] == b'E') {
        i += 1;
        if i < f.len() && (f[i] == b'+' || f[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < f.len() && f[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != f.len() {
        return None;
    }
    if let Some(v) = exact_decimal(f) {
        return Some(v);
    }
    // All ASCII, checked above.
    std::str::from_utf8(f).ok()?.parse().ok()
}

/// `-?[0-9]*\.?[0-9]*` whose digits, read as an integer, are at most 2^53
/// (at most 15 of them after the point): that integer is exact in a double, and so is 10^k for k <= 22, so one
/// division rounds correctly (Clinger's fast path, which every correct
/// parser takes first).
#[inline]
fn exact_decimal(f: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let negative = f.first() == Some(&b'-');
    let digits = &f[usize::from(negative)..];
    if digits.len() > 16 {
        return None;
    }
    let mut m = 0u64;
    let mut scale = 0;
    let mut seen_point = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                m = m * 10 + u64::from(b - b'0');
                scale += usize::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if m > 1 << 53 {
        return None;
    }
    let v = m as f64 / POW10[scale];
    Some(if negative { -v } else { v })
}

#[inline]
fn parse_bool(f: &[u8]) -> Option<bool> {
    match f {
        b"true" => Some(true),
        b"false" => Some(false),
        _ => None,
    }
}

/// Bit i set where `block[i]` is the delimiter or `\n` (first), and where
/// it is `\n` (second).
#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks(block: &[u8; 64], d: u8) -> (u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline, and every unaligned
    // 16-byte load stays inside the 64-byte block.
    unsafe {
        let dv = _mm_set1_epi8(d as i8);
        let nv = _mm_set1_epi8(b'\n' as i8);
        let (mut seps, mut lines) = (0u64, 0u64);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let n = _mm_cmpeq_epi8(v, nv);
            let m = _mm_or_si128(_mm_cmpeq_epi8(v, dv), n);
            seps |= u64::from(_mm_movemask_epi8(m) as u16) << (16 * k);
            lines |= u64::from(_mm_movemask_epi8(n) as u16) << (16 * k);
        }
        (seps, lines)
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_masks(block: &[u8; 64], d: u8) -> (u64, u64) {
    let (mut seps, mut lines) = (0u64, 0u64);
    for (i, &b) in block.iter().enumerate() {
        seps |= u64::from(b == d || b == b'\n') << i;
        lines |= u64::from(b == b'\n') << i;
    }
    (seps, lines)
}

/// Parses a chunk of whole records (no header) into the `columns` of
/// `schema`, in schema order; `None` sends the chunk to the general path.
pub(super) fn parse(bytes: &[u8], schema: &Schema, columns: &[String], opts: &CsvOptions) -> Option<DataFrame> {
    let n_fields = schema.len();
    if bytes.is_empty() || columns.is_empty() || n_fields == 0 {
        return None;
    }
    if opts.quote.is_some_and(|q| memchr(q, bytes).is_some()) {
        return None;
    }
    // The general path refuses a chunk with invalid UTF-8 anywhere in it.
    if !bytes.is_ascii() && std::str::from_utf8(bytes).is_err() {
        return None;
    }
    // A `\r` is only ever part of a `\r\n` line end here.
    if memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    // Which builder, if any, each field feeds.
    let mut slot: Vec<Option<usize>> = vec![None; n_fields];
    let mut builders = Vec::with_capacity(columns.len());
    let rows_guess = bytes.len() / (2 * n_fields) + 1;
    for (i, (name, dtype)) in schema.iter().enumerate() {
        if columns.iter().any(|c| c.as_str() == name.as_str()) {
            slot[i] = Some(builders.len());
            builders.push(Builder::new(name.clone(), dtype, rows_guess.min(1 << 20))?);
        }
    }
    let nulls: Vec<Vec<u8>> = opts.null_values.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut records =
        Records { bytes, slot: &slot, builders: &mut builders, nulls: &nulls, n_fields, field: 0, start: 0 };
    let mut blocks = bytes.chunks_exact(64);
    let mut base = 0;
    for block in blocks.by_ref() {
        let (mut seps, lines) = block_masks(block.try_into().ok()?, opts.delimiter);
        while seps != 0 {
            let i = seps.trailing_zeros() as usize;
            records.separator(base + i, lines >> i & 1 != 0)?;
            seps &= seps - 1;
        }
        base += 64;
    }
    for (i, &b) in blocks.remainder().iter().enumerate() {
        if b == opts.delimiter || b == b'\n' {
            records.separator(base + i, b == b'\n')?;
        }
    }
    if records.start < bytes.len() || records.field > 0 {
        // The last record has no line end.
        records.separator(bytes.len(), true)?;
    }
    DataFrame::new(builders.into_iter().map(Builder::finish).collect()).ok()
}

/// Where the scan is inside the records of a chunk.
struct Records<'a> {
    bytes: &'a [u8],
    slot: &'a [Option<usize>],
    builders: &'a mut [Builder],
    nulls: &'a [Vec<u8>],
    n_fields: usize,
    /// The field being read, and where it starts.
    field: usize,
    start: usize,
}

impl Records<'_> {
    /// Ends the current field at `at`: a delimiter, or (`line_end`) a `\n`
    /// or the chunk's end.
    ///
    /// Inlined into the scan for the common case, a delimiter after a field
    /// that is not projected: a call per separator, with the frame the
    /// builders' code needs, took half of a CSV join's CPU (`j1`).
    #[inline(always)]
    fn separator(&mut self, at: usize, line_end: bool) -> Option<()> {
        if line_end {
            return self.line_end(at);
        }
        if let Some(b) = *self.slot.get(self.field)? {
            self.push(b, self.start, at)?;
        }
        self.field += 1;
        self.start = at + 1;
        Some(())
    }

    /// Ends the record at `at`; `None` for a blank line or a record with
    /// another field count.
    #[inline(never)]
    fn line_end(&mut self, at: usize) -> Option<()> {
        let mut end = at;
        if end > self.start && self.bytes[end - 1] == b'\r' {
            end -= 1;
        }
        if self.field == 0 && end == self.start {
            return None; // a blank line
        }
        if let Some(b) = *self.slot.get(self.field)? {
            self.push(b, self.start, end)?;
        }
        if self.field + 1 != self.n_fields {
            return None;
        }
        self.field = 0;
        self.start = at + 1;
        Some(())
    }

    #[inline(never)]
    fn push(&mut self, builder: usize, start: usize, end: usize) -> Option<()> {
        self.builders[builder].push(&self.bytes[start..end], self.nulls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_exactly_the_plain_ones() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-17"), Some(-17));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"00012"), Some(12));
        for bad in [&b""[..], b"-", b"+1", b" 1", b"1 ", b"1.0", b"1e3", b"x"] {
            assert_eq!(parse_int(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn floats_are_correctly_rounded_and_plain() {
        for (text, want) in [("1.5", 1.5), ("-0.1", -0.1), ("1.", 1.0), (".5", 0.5), ("2e3", 2000.0), ("1E-2", 0.01)] {
            assert_eq!(parse_float(text.as_bytes()), Some(want), "{text}");
        }
        for text in [
            "0.1",
            "-123.456",
            "999999999999999",
            "0.000000000000001",
            "12345678901234.5",
            "1.23456789012345678",
            "9007199254740993",
            "9007199254740992.5",
        ] {
            assert_eq!(parse_float(text.as_bytes()), text.parse::<f64>().ok(), "{text}");
        }
        for bad in ["", "-", ".", "e5", "1e", "+1", "nan", "inf", "1.5x", " 1"] {
            assert_eq!(parse_float(bad.as_bytes()), None, "{bad}");
        }
    }

    use crate::test_rng::Rng;

    fn schema() -> Schema {
        [("i", DataType::Int64), ("f", DataType::Float64), ("s", DataType::String), ("b", DataType::Boolean)]
            .into_iter()
            .map(|(n, t)| Field::new(n.into(), t))
            .collect()
    }

    /// A random chunk of plain records, some fields empty or the null text.
    fn chunk(rng: &mut Rng, rows: usize, crlf: bool, na: bool) -> Vec<u8> {
        let ints = ["0", "-1", "42", "9223372036854775807", "-9223372036854775808", "007", "", "NA"];
        let floats = ["1.5", "-0.25", "3", "1e10", "2.5E-3", "1.", ".5", "-0", "123456789.123456789", "", "NA"];
        let texts = ["a", "héllo", "NA", "", "x y", "12", "-", "longer text than twelve bytes"];
        let bools = ["true", "false", ""];
        let mut out = Vec::new();
        for _ in 0..rows {
            // "NA" in a number column only where it is the null text.
            let number = |v: &'static str| if v == "NA" && !na { "" } else { v };
            let (i, f) = (rng.pick(&ints), rng.pick(&floats));
            let row = [number(i), number(f), rng.pick(&texts), rng.pick(&bools)].join(",");
            out.extend_from_slice(row.as_bytes());
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        if rng.next().is_multiple_of(2) {
            out.pop(); // the last record without its line end
            if crlf {
                out.pop();
            }
        }
        out
    }

    /// The fast path gives exactly what polars' parser gives (the general
    /// path), for every projection, on random plain chunks.
    #[test]
    fn plain_chunks_parse_as_the_general_path_does() {
        let schema = Arc::new(schema());
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..200 {
            let mut opts = CsvOptions::default();
            if case % 3 == 0 {
                opts.null_values = vec!["NA".into()];
            }
            let bytes = chunk(&mut rng, 1 + case % 40, case % 5 == 0, !opts.null_values.is_empty());
            let names = ["i", "f", "s", "b"];
            let columns: Vec<String> =
                names.iter().filter(|_| rng.next().is_multiple_of(2)).map(|n| n.to_string()).collect();
            if columns.is_empty() {
                continue;
            }
            let Some(fast) = parse(&bytes, &schema, &columns, &opts) else {
                panic!("case {case}: plain chunk refused: {:?}", String::from_utf8_lossy(&bytes));
            };
            let general = super::super::csv::polars_parse(&bytes, &schema, &columns, &opts).unwrap();
            assert!(fast.equals_missing(&general), "case {case}:\nfast {fast}\ngeneral {general}");
        }
    }

    #[test]
    fn anything_unusual_goes_to_the_general_path() {
        let schema = schema();
        let opts = CsvOptions::default();
        let all: Vec<String> = ["i", "f", "s", "b"].iter().map(|n| n.to_string()).collect();
        assert!(parse(b"1,1.5,a,true\n", &schema, &all, &opts).is_some());
        for bad in [
            &b"1,1.5,\"a\",true\n"[..],         // a quote
            b"1,1.5,a,true\n\n2,2.5,b,false\n", // a blank line
            b"1,1.5,a\rb,true\n",               // a lone carriage return
            b"1,1.5,a,true,x\n",                // too many fields
            b"1,1.5,a\n",                       // too few
            b"1.0,1.5,a,true\n",                // not plainly an integer
            b"1,nan,a,true\n",                  // not plainly a float
            b"1,1.5,a,TRUE\n",                  // not plainly a bool
            b"1,1.5,\xff,true\n",               // invalid UTF-8
        ] {
            assert!(parse(bad, &schema, &all, &opts).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
        // A wrong field count is caught whichever fields are projected,
        // also in the middle of a 64-byte block.
        let first = ["i".to_string()];
        let plain = "1,1.5,a,true\n".repeat(9);
        for bad in ["1,1.5,a,true,x\n", "1,1.5,a\n", "1,1.5,a,true,,\n", "\n"] {
            let chunk = format!("{plain}{bad}{plain}");
            assert!(parse(chunk.as_bytes(), &schema, &first, &opts).is_none(), "{bad:?}");
        }
        assert!(parse(plain.as_bytes(), &schema, &first, &opts).is_some());
        let dates: Schema = [Field::new("d".into(), DataType::Date)].into_iter().collect();
        assert!(parse(b"2024-01-01\n", &dates, &["d".to_string()], &opts).is_none());
    }
}
