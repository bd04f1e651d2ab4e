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

use polars::prelude::*;

use crate::io::CsvOptions;

/// One projected column being built, or only checked.
enum Builder {
    Int(PrimitiveChunkedBuilder<Int64Type>),
    Float(PrimitiveChunkedBuilder<Float64Type>),
    Bool(BooleanChunkedBuilder),
    Str(StringChunkedBuilder),
    /// Values checked as a column of this type would read them, not kept.
    Check(Checked),
}

#[derive(Clone, Copy)]
enum Checked {
    Int,
    Float,
    Bool,
}

impl Builder {
    /// A builder that only checks values of `dtype` (`Some(None)`: nothing
    /// to check, any text is a string).
    fn checking(dtype: &DataType) -> Option<Option<Builder>> {
        Some(Some(Builder::Check(match dtype {
            DataType::Int64 => Checked::Int,
            DataType::Float64 => Checked::Float,
            DataType::Boolean => Checked::Bool,
            DataType::String => return Some(None),
            _ => return None,
        })))
    }

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
                Builder::Check(_) => {}
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
            Builder::Check(Checked::Int) => _ = parse_int(field)?,
            Builder::Check(Checked::Float) => _ = parse_float(field)?,
            Builder::Check(Checked::Bool) => _ = parse_bool(field)?,
        }
        Some(())
    }

    /// The column built (`None` for a checked one).
    fn finish(self) -> Option<Column> {
        Some(match self {
            Builder::Int(b) => b.finish().into_column(),
            Builder::Float(b) => b.finish().into_column(),
            Builder::Bool(b) => b.finish().into_column(),
            Builder::Str(b) => b.finish().into_column(),
            Builder::Check(_) => return None,
        })
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
///
/// One pass reads a plain decimal's digits as an integer; when there are
/// at most 16 of them and that integer is at most 2^53, it is exact in a
/// double, and so is 10^k for k <= 22, so one division rounds correctly
/// (Clinger's fast path, which every correct parser takes first). Other
/// numbers are checked against the pattern and handed to the standard
/// parser. (Checking first and reading the digits again was a seventh of
/// a CSV filter's CPU.)
#[inline]
fn parse_float(f: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let negative = f.first() == Some(&b'-');
    let mut i = usize::from(negative);
    // Wraps past 19 digits, where it is no longer used.
    let (mut m, mut digits, mut scale) = (0u64, 0usize, 0usize);
    let mut read_digits = |i: &mut usize, after_point: bool| {
        while let Some(d) = f.get(*i).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9) {
            m = m.wrapping_mul(10).wrapping_add(u64::from(d));
            digits += 1;
            scale += usize::from(after_point);
            *i += 1;
        }
    };
    read_digits(&mut i, false);
    if f.get(i) == Some(&b'.') {
        i += 1;
        read_digits(&mut i, true);
    }
    if digits == 0 {
        return None;
    }
    if i == f.len() && digits <= 16 && m <= 1 << 53 && scale < POW10.len() {
        let v = m as f64 / POW10[scale];
        return Some(if negative { -v } else { v });
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
    // All ASCII, checked above.
    std::str::from_utf8(f).ok()?.parse().ok()
}

#[inline]
fn parse_bool(f: &[u8]) -> Option<bool> {
    match f {
        b"true" => Some(true),
        b"false" => Some(false),
        _ => None,
    }
}

/// One bit a byte of a 64-byte block, for each kind of byte the scan
/// looks for.
#[derive(Default)]
struct Masks {
    /// The delimiter or `\n`.
    seps: u64,
    lines: u64,
    quotes: u64,
    returns: u64,
    /// Bytes past ASCII.
    high: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn block_masks(block: &[u8; 64], delimiter: u8, quote: u8) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline, and every unaligned
    // 16-byte load stays inside the 64-byte block.
    unsafe {
        let dv = _mm_set1_epi8(delimiter as i8);
        let nv = _mm_set1_epi8(b'\n' as i8);
        let qv = _mm_set1_epi8(quote as i8);
        let rv = _mm_set1_epi8(b'\r' as i8);
        let mut m = Masks::default();
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let bits = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
            let n = _mm_cmpeq_epi8(v, nv);
            m.seps |= bits(_mm_or_si128(_mm_cmpeq_epi8(v, dv), n));
            m.lines |= bits(n);
            m.quotes |= bits(_mm_cmpeq_epi8(v, qv));
            m.returns |= bits(_mm_cmpeq_epi8(v, rv));
            m.high |= bits(v);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn block_masks(block: &[u8; 64], delimiter: u8, quote: u8) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        m.seps |= u64::from(b == delimiter || b == b'\n') << i;
        m.lines |= u64::from(b == b'\n') << i;
        m.quotes |= u64::from(b == quote) << i;
        m.returns |= u64::from(b == b'\r') << i;
        m.high |= u64::from(b >= 0x80) << i;
    }
    m
}

/// The checks that send a chunk to the general path, made block by block
/// in the same pass that finds the separators (as three passes of their
/// own over the chunk they took a tenth of a CSV `sum by`'s CPU).
struct Checks<'a> {
    bytes: &'a [u8],
    /// Whether quotes are looked for (quoting is on).
    quotes: bool,
    /// The chunk was found valid UTF-8 (checked at its first byte past ASCII).
    utf8: bool,
    /// The last block ended with a `\r`, which the next byte must follow as `\n`.
    open_return: bool,
}

impl Checks<'_> {
    /// `None` when block `m` (of which `valid` bits are the chunk's) holds
    /// a quote, a `\r` that does not start a `\r\n`, or the chunk is not
    /// UTF-8.
    #[inline]
    fn pass(&mut self, m: &Masks, valid: u64) -> Option<()> {
        if self.quotes && m.quotes & valid != 0 {
            return None;
        }
        if m.high & valid != 0 && !self.utf8 {
            // The general path refuses a chunk with invalid UTF-8 anywhere in it.
            std::str::from_utf8(self.bytes).ok()?;
            self.utf8 = true;
        }
        if self.open_return && m.lines & 1 == 0 {
            return None;
        }
        let returns = m.returns & valid;
        // Bytes past the chunk's end are never `\n`, so a `\r` last is refused.
        if returns & !(m.lines >> 1) & (u64::MAX >> 1) != 0 {
            return None;
        }
        self.open_return = returns >> 63 != 0;
        Some(())
    }
}

/// Parses a chunk of whole records (no header) into the `columns` of
/// `schema`, in schema order; `None` sends the chunk to the general path.
pub(super) fn parse(bytes: &[u8], schema: &Schema, columns: &[String], opts: &CsvOptions) -> Option<DataFrame> {
    scan(bytes, schema, columns, &[], opts, None)
}

/// [`parse`] into the `build` columns, where the values of the `check`
/// columns are only checked (a chunk they do not read plainly is refused
/// as when they are parsed), and, with `ends`, the offset after each
/// record's line end (the chunk's length for a last record without one).
pub(super) fn scan(
    bytes: &[u8],
    schema: &Schema,
    build: &[String],
    check: &[String],
    opts: &CsvOptions,
    ends: Option<&mut Vec<usize>>,
) -> Option<DataFrame> {
    let n_fields = schema.len();
    if bytes.is_empty() || build.is_empty() || n_fields == 0 {
        return None;
    }
    // A `\r` is only ever part of a `\r\n` line end here (`Checks`), never a delimiter.
    if [b'\r', b'\n'].contains(&opts.delimiter)
        || opts.quote.is_some_and(|q| [opts.delimiter, b'\r', b'\n'].contains(&q))
    {
        return None;
    }
    // Which builder, if any, each field feeds.
    let mut slot: Vec<Option<usize>> = vec![None; n_fields];
    let mut builders = Vec::with_capacity(build.len() + check.len());
    let rows_guess = bytes.len() / (2 * n_fields) + 1;
    let named = |list: &[String], name: &str| list.iter().any(|c| c.as_str() == name);
    for (i, (name, dtype)) in schema.iter().enumerate() {
        let builder = if named(build, name) {
            Builder::new(name.clone(), dtype, rows_guess.min(1 << 20))?
        } else if named(check, name) {
            let Some(checking) = Builder::checking(dtype)? else { continue };
            checking
        } else {
            continue;
        };
        slot[i] = Some(builders.len());
        builders.push(builder);
    }
    let nulls: Vec<Vec<u8>> = opts.null_values.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut records =
        Records { bytes, slot: &slot, builders: &mut builders, nulls: &nulls, n_fields, field: 0, start: 0, ends };
    let mut checks = Checks { bytes, quotes: opts.quote.is_some(), utf8: false, open_return: false };
    // Without quoting, the quote mask is the line ends' and goes unread.
    let quote = opts.quote.unwrap_or(b'\n');
    let mut each_block = |block: &[u8; 64], base: usize, valid: u64| -> Option<()> {
        let m = block_masks(block, opts.delimiter, quote);
        checks.pass(&m, valid)?;
        let mut seps = m.seps & valid;
        while seps != 0 {
            let i = seps.trailing_zeros() as usize;
            records.separator(base + i, m.lines >> i & 1 != 0)?;
            seps &= seps - 1;
        }
        Some(())
    };
    let mut blocks = bytes.chunks_exact(64);
    let mut base = 0;
    for block in blocks.by_ref() {
        each_block(block.try_into().ok()?, base, u64::MAX)?;
        base += 64;
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // Padded with zero bytes, which are none of the bytes looked for
        // (the delimiter or the quote being zero, they are masked off).
        let mut last = [0u8; 64];
        last[..rest.len()].copy_from_slice(rest);
        each_block(&last, base, (1u64 << rest.len()) - 1)?;
    }
    if checks.open_return {
        return None; // a `\r` last in the chunk
    }
    if records.start < bytes.len() || records.field > 0 {
        // The last record has no line end.
        records.separator(bytes.len(), true)?;
    }
    DataFrame::new(builders.into_iter().filter_map(Builder::finish).collect()).ok()
}

/// The `columns` of `schema` with no rows, as [`parse`] types them.
pub(super) fn empty(schema: &Schema, columns: &[String]) -> Option<DataFrame> {
    let builders: Option<Vec<Builder>> = schema
        .iter()
        .filter(|(name, _)| columns.iter().any(|c| c.as_str() == name.as_str()))
        .map(|(name, dtype)| Builder::new(name.clone(), dtype, 0))
        .collect();
    DataFrame::new(builders?.into_iter().filter_map(Builder::finish).collect()).ok()
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
    /// Where each record ends, when asked.
    ends: Option<&'a mut Vec<usize>>,
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
        if let Some(ends) = self.ends.as_deref_mut() {
            ends.push((at + 1).min(self.bytes.len()));
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
            ".1234567890123456",
            "-0.1234567890123456",
            "1234567890123456",
            "12345678901234567",
            "0.000000000000000000001",
            "123456789012345678901234567890",
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
    }

    /// The checks made block by block see a quote, a lone `\r` and
    /// invalid UTF-8 wherever they fall: either side of a 64-byte block's
    /// edge, in the padded last block, last in the chunk. A `\r\n` split by
    /// the edge and valid UTF-8 past ASCII parse as the general path does.
    #[test]
    fn unusual_bytes_are_seen_at_every_offset() {
        let schema = Arc::new(schema());
        let all: Vec<String> = ["i", "f", "s", "b"].iter().map(|n| n.to_string()).collect();
        let opts = CsvOptions::default();
        for pad in 0..80 {
            // Records before the byte under test, so it lands at `pad` + 2.
            let head = format!("1,1.5,{},true\n", "x".repeat(pad));
            let same = |tail: &[u8]| [head.as_bytes(), tail].concat();
            for bad in [&b"2,2.5,a\"b,false\n"[..], b"2,2.5,a\rb,false\n", b"2,2.5,a\xffb,false\n", b"2,2.5,ab,false\r"]
            {
                assert!(
                    parse(&same(bad), &schema, &all, &opts).is_none(),
                    "pad {pad}: {:?}",
                    String::from_utf8_lossy(bad)
                );
            }
            for good in [&b"2,2.5,ab,false\r\n3,3.5,c,true\r\n"[..], "2,2.5,h\u{e9}llo \u{1F600},false\n".as_bytes()] {
                let chunk = same(good);
                let fast = parse(&chunk, &schema, &all, &opts)
                    .unwrap_or_else(|| panic!("pad {pad}: {:?} refused", String::from_utf8_lossy(good)));
                let general = super::super::csv::polars_parse(&chunk, &schema, &all, &opts).unwrap();
                assert!(fast.equals_missing(&general), "pad {pad}:\nfast {fast}\ngeneral {general}");
            }
        }
        let dates: Schema = [Field::new("d".into(), DataType::Date)].into_iter().collect();
        assert!(parse(b"2024-01-01\n", &dates, &["d".to_string()], &opts).is_none());
    }
}
