//! The `.npy` header: magic, version, and the Python dict literal that
//! gives dtype, memory order and shape
//! (<https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>).
//!
//! Hand-written rather than a crate: the header is one small dict literal,
//! and dq needs exact, file-naming errors for every way it can be wrong.

/// Element types dq reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `b1`
    Bool,
    /// `i1`..`i8`
    Int,
    /// `u1`..`u8`
    Uint,
    /// `f4`, `f8`
    Float,
}

/// A parsed dtype: kind, bytes per element, byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    /// Element kind.
    pub kind: Kind,
    /// Bytes per element.
    pub size: usize,
    /// Whether elements are stored big-endian.
    pub big_endian: bool,
}

impl Dtype {
    /// The NumPy dtype string (`<f8`, `|u1`).
    pub fn descr(&self) -> String {
        let order = if self.size == 1 {
            '|'
        } else if self.big_endian {
            '>'
        } else {
            '<'
        };
        let kind = match self.kind {
            Kind::Bool => 'b',
            Kind::Int => 'i',
            Kind::Uint => 'u',
            Kind::Float => 'f',
        };
        format!("{order}{kind}{}", self.size)
    }

    /// NumPy's name for it (`float64`), for messages.
    pub fn name(&self) -> String {
        match self.kind {
            Kind::Bool => "bool".into(),
            Kind::Int => format!("int{}", self.size * 8),
            Kind::Uint => format!("uint{}", self.size * 8),
            Kind::Float => format!("float{}", self.size * 8),
        }
    }
}

/// Everything the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The shape.
    pub shape: Vec<usize>,
    /// Offset of the first data byte.
    pub data_start: usize,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses the header at the start of `bytes`; the error says what is wrong.
pub fn parse(bytes: &[u8]) -> Result<Header, String> {
    if !bytes.starts_with(MAGIC) {
        return Err("not a .npy file (it does not start with the \\x93NUMPY magic)".into());
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(v) => (v[0], v[1]),
        None => return Err("truncated header".into()),
    };
    let (len, start) = match major {
        1 => (bytes.get(8..10).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize), 10),
        2 | 3 => (bytes.get(8..12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize), 12),
        _ => return Err(format!("unsupported .npy format version {major}.{minor} (dq reads 1.0, 2.0 and 3.0)")),
    };
    let len = len.ok_or("truncated header")?;
    let text = bytes.get(start..start + len).ok_or("truncated header: the file ends inside it")?;
    let text = std::str::from_utf8(text).map_err(|_| "broken header: it is not text".to_string())?;
    let dict = Dict::parse(text)?;
    let descr = dict.descr.ok_or("broken header: no 'descr' key")?;
    let fortran_order = dict.fortran_order.ok_or("broken header: no 'fortran_order' key")?;
    let shape = dict.shape.ok_or("broken header: no 'shape' key")?;
    Ok(Header { dtype: parse_descr(&descr)?, fortran_order, shape, data_start: start + len })
}

/// Bytes of every header dq writes: a version 1.0 header padded with
/// spaces, as NumPy pads to a 64-byte boundary. Fixed, so a writer can
/// reserve it before it knows the row count and fill it in at the end;
/// the longest dict dq writes (two 20-digit sizes) fits.
pub const WRITTEN_LEN: usize = 128;

/// The header of a C-order array of `dtype` and `shape`, [`WRITTEN_LEN`] bytes.
pub fn write(dtype: Dtype, shape: &[usize]) -> Vec<u8> {
    let dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", dtype.descr(), shape_text(shape));
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&((WRITTEN_LEN - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(WRITTEN_LEN - 1, b' ');
    out.push(b'\n');
    out
}

/// The shape as NumPy prints it: `()`, `(3,)`, `(3, 4)`.
pub fn shape_text(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

fn parse_descr(descr: &str) -> Result<Dtype, String> {
    let unsupported = |what: &str| {
        Err(format!("unsupported dtype '{descr}' ({what}); dq reads bool, int8-64, uint8-64, float32 and float64"))
    };
    let (order, rest) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('=', descr),
    };
    let mut chars = rest.chars();
    let kind = chars.next().unwrap_or(' ');
    match kind {
        'c' => return unsupported("complex numbers"),
        'O' => return unsupported("Python objects"),
        'M' | 'm' => return unsupported("datetimes"),
        'S' | 'U' | 'a' => return unsupported("fixed-width strings"),
        'V' => return unsupported("raw or structured records"),
        _ => {}
    }
    let size: usize = match chars.as_str().parse() {
        Ok(n) => n,
        Err(_) => return unsupported("not a plain numeric dtype"),
    };
    let kind = match (kind, size) {
        ('b', 1) => Kind::Bool,
        ('i', 1 | 2 | 4 | 8) => Kind::Int,
        ('u', 1 | 2 | 4 | 8) => Kind::Uint,
        ('f', 4 | 8) => Kind::Float,
        ('f', _) => return unsupported("a float size other than 4 or 8 bytes"),
        _ => return unsupported("an unknown kind"),
    };
    Ok(Dtype { kind, size, big_endian: order == '>' || (order == '=' && cfg!(target_endian = "big")) })
}

/// The three keys of the header dict.
#[derive(Default)]
struct Dict {
    descr: Option<String>,
    fortran_order: Option<bool>,
    shape: Option<Vec<usize>>,
}

impl Dict {
    fn parse(text: &str) -> Result<Dict, String> {
        let broken = |why: &str| format!("broken header: {why} in {}", text.trim_end());
        let body = text.trim().strip_prefix('{').and_then(|t| t.trim_end().strip_suffix('}'));
        let mut rest = body.ok_or_else(|| broken("not a {...} dict"))?.trim();
        let mut dict = Dict::default();
        while !rest.is_empty() {
            let (key, after) = quoted(rest).ok_or_else(|| broken("a key is not a quoted string"))?;
            let after = after.trim_start().strip_prefix(':').ok_or_else(|| broken("no ':' after a key"))?.trim_start();
            rest = match key {
                "descr" => {
                    if after.starts_with('[') {
                        return Err("unsupported dtype: structured records (a list of fields); dq reads bool, int8-64, uint8-64, float32 and float64".into());
                    }
                    let (v, after) = quoted(after).ok_or_else(|| broken("'descr' is not a string"))?;
                    dict.descr = Some(v.to_string());
                    after
                }
                "fortran_order" => {
                    let (v, after) = if let Some(a) = after.strip_prefix("True") {
                        (true, a)
                    } else if let Some(a) = after.strip_prefix("False") {
                        (false, a)
                    } else {
                        return Err(broken("'fortran_order' is not True or False"));
                    };
                    dict.fortran_order = Some(v);
                    after
                }
                "shape" => {
                    let inner = after.strip_prefix('(').ok_or_else(|| broken("'shape' is not a tuple"))?;
                    let close = inner.find(')').ok_or_else(|| broken("'shape' is not closed"))?;
                    let dims = inner[..close]
                        .split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(|d| d.trim_end_matches('L').parse::<usize>())
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|_| broken("'shape' holds something other than sizes"))?;
                    dict.shape = Some(dims);
                    &inner[close + 1..]
                }
                other => return Err(broken(&format!("unknown key '{other}'"))),
            };
            rest = rest.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        Ok(dict)
    }
}

/// A `'...'` or `"..."` string at the start of `s`, and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let end = s[1..].find(q)? + 1;
    Some((&s[1..end], &s[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_dict(dict: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out
    }

    #[test]
    fn reads_what_numpy_writes_in_any_key_order() {
        let h = parse(&with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }          \n")).unwrap();
        assert_eq!(h.dtype, Dtype { kind: Kind::Float, size: 8, big_endian: false });
        assert_eq!((h.fortran_order, h.shape.as_slice()), (false, &[3, 4][..]));
        let h = parse(&with_dict("{'shape': (5,), 'fortran_order': True, 'descr': '>i2'}")).unwrap();
        assert_eq!(h.dtype, Dtype { kind: Kind::Int, size: 2, big_endian: true });
        assert_eq!((h.fortran_order, h.shape.as_slice()), (true, &[5][..]));
        assert_eq!(
            parse(&with_dict("{'descr': '|b1', 'fortran_order': False, 'shape': ()}")).unwrap().shape,
            Vec::<usize>::new()
        );
    }

    #[test]
    fn written_headers_read_back_and_align_the_data() {
        let dtype = Dtype { kind: Kind::Uint, size: 2, big_endian: false };
        for shape in [vec![7], vec![3, 1000], vec![], vec![usize::MAX, usize::MAX]] {
            let bytes = write(dtype, &shape);
            assert_eq!(bytes.len(), WRITTEN_LEN);
            let h = parse(&bytes).unwrap();
            assert_eq!((h.dtype, h.shape, h.data_start), (dtype, shape, bytes.len()));
        }
    }

    #[test]
    fn bad_headers_say_what_is_wrong() {
        let err = |b: &[u8]| parse(b).unwrap_err();
        assert!(err(b"PK\x03\x04").contains("not a .npy file"));
        assert!(err(&with_dict("{'descr': '<c16', 'fortran_order': False, 'shape': (2,)}")).contains("complex"));
        assert!(err(&with_dict("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}")).contains("objects"));
        assert!(err(&with_dict("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (2,)}")).contains("datetimes"));
        assert!(
            err(&with_dict("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,)}")).contains("structured")
        );
        assert!(err(&with_dict("{'descr': '<f8', 'shape': (2,)}")).contains("no 'fortran_order'"));
        assert!(err(&with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x)}")).contains("shape"));
        let mut cut = with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}");
        cut.truncate(20);
        assert!(err(&cut).contains("truncated"));
    }
}
