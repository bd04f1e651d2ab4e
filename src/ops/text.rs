//! String kernels polars has no (enabled) form of, with dq's semantics:
//! positions count characters, not bytes.

use polars::prelude::*;
use polars_arrow::array::{BooleanArray, Utf8ViewArray};
use polars_arrow::bitmap::Bitmap;

/// Applies `f` to every non-null string of the column `e` evaluates to.
fn map_strings(e: Expr, f: impl Fn(&str) -> String + Send + Sync + 'static) -> Expr {
    e.map(
        move |c| {
            let out: StringChunked = c.str()?.into_iter().map(|v| v.map(&f)).collect();
            Ok(Some(out.with_name(c.name().clone()).into_column()))
        },
        GetOutput::from_type(DataType::String),
    )
}

/// `contains(s, "needle")`: whether each string holds `needle` (null
/// where `s` is null). polars' `contains_literal` runs a regex search per
/// string, 60% of `filter contains(id3, "99")` over 10M short strings.
/// Here a string short enough to sit in its view (12 bytes) is searched
/// in the view's bits, and a longer one by one shared
/// [`memchr::memmem::Finder`].
pub fn contains(e: Expr, needle: String) -> Expr {
    e.map(
        move |c| {
            let strings = c.cast(&DataType::String)?;
            let chunks = strings.str()?.downcast_iter().map(|a| contains_in(a, needle.as_bytes())).collect::<Vec<_>>();
            Ok(Some(BooleanChunked::from_chunk_iter(c.name().clone(), chunks).into_column()))
        },
        GetOutput::from_type(DataType::Boolean),
    )
}

fn contains_in(a: &Utf8ViewArray, needle: &[u8]) -> BooleanArray {
    use polars_arrow::array::{Array, View};
    let finder = memchr::memmem::Finder::new(needle);
    let n = needle.len();
    let inline = View::MAX_INLINE_SIZE as usize;
    let valid = |i: usize| a.validity().is_none_or(|v| v.get_bit(i));
    let holds = |(i, view): (usize, &View)| {
        let len = view.length as usize;
        if n == 0 {
            true
        } else if len <= inline {
            // An inline view is its length (4 bytes), then the bytes.
            len >= n && inline_holds(view.as_u128() >> 32, len, needle)
        } else {
            valid(i) && finder.find(a.value(i).as_bytes()).is_some()
        }
    };
    let bits = Bitmap::from_trusted_len_iter(a.views().iter().enumerate().map(holds));
    BooleanArray::new(ArrowDataType::Boolean, bits, a.validity().cloned())
}

/// Whether the `len` bytes of `bytes` (little-endian, the rest zero) hold
/// `needle` (1 to `len` bytes): at each offset at once, bytewise, a byte
/// equal to the needle's j-th byte j places on marks its offset (SWAR).
fn inline_holds(bytes: u128, len: usize, needle: &[u8]) -> bool {
    const LOW7: u128 = u128::from_le_bytes([0x7F; 16]);
    const HIGH: u128 = u128::from_le_bytes([0x80; 16]);
    // High bit of each byte of x that is zero (exact: no carry crosses bytes).
    let zero = |x: u128| !(((x & LOW7) + LOW7) | x) & HIGH;
    let all =
        needle.iter().enumerate().fold(HIGH, |m, (j, &b)| m & zero((bytes >> (8 * j)) ^ u128::from_le_bytes([b; 16])));
    // Offsets 0 ..= len - n only.
    let starts = len + 1 - needle.len();
    let within = if starts >= 16 { u128::MAX } else { (1u128 << (8 * starts)) - 1 };
    all & within != 0
}

/// `split_part(s, sep, i)`: the i-th piece of `s` split on `sep`, from 1
/// (a negative i counts from the end); `""` when there is no such piece.
pub fn split_part(e: Expr, sep: String, i: i64) -> Expr {
    map_strings(e, move |s| {
        let piece = if i > 0 {
            s.split(sep.as_str()).nth(i as usize - 1)
        } else {
            s.rsplit(sep.as_str()).nth(i.unsigned_abs() as usize - 1)
        };
        piece.unwrap_or_default().to_string()
    })
}

/// `lpad`/`rpad(s, n, fill)`: `s` made exactly `n` characters long, by
/// repeating `fill` on the left (right), or by cutting `s` to its first n.
pub fn pad(e: Expr, n: usize, fill: String, left: bool) -> Expr {
    map_strings(e, move |s| pad_one(s, n, &fill, left))
}

fn pad_one(s: &str, n: usize, fill: &str, left: bool) -> String {
    let len = s.chars().count();
    if len >= n {
        return s.chars().take(n).collect();
    }
    let padding: String = fill.chars().cycle().take(n - len).collect();
    if left {
        padding + s
    } else {
        s.to_string() + &padding
    }
}

/// `repeat(s, n)`.
pub fn repeat(e: Expr, n: usize) -> Expr {
    map_strings(e, move |s| s.repeat(n))
}

/// `reverse(s)`: the characters in reverse order.
pub fn reverse(e: Expr) -> Expr {
    map_strings(e, |s| s.chars().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(e: Expr, values: &[Option<&str>]) -> Vec<Option<String>> {
        let df = DataFrame::new(vec![Column::new("s".into(), values)]).unwrap();
        let out = df.lazy().select([e]).collect().unwrap();
        out.column("s").unwrap().str().unwrap().into_iter().map(|v| v.map(str::to_string)).collect()
    }

    fn owned(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|s| s.map(str::to_string)).collect()
    }

    /// Random strings of 0 to 20 bytes from a small alphabet (so needles
    /// occur; with a zero byte and multi-byte characters), inline and not,
    /// nulls among them, and needles of 0 to 14 bytes: the same answers as
    /// `str::contains`, in several chunks.
    #[test]
    fn contains_agrees_with_str_contains() {
        let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
        let pieces = ["a", "b", "9", "\0", "é", "ab", "99"];
        let word = |rng: &mut crate::test_rng::Rng, max: u64| {
            let (mut w, len) = (String::new(), rng.below(max + 1));
            while (w.len() as u64) < len {
                w.push_str(rng.pick(&pieces));
            }
            w
        };
        let values: Vec<Option<String>> = (0..3000).map(|_| (rng.below(10) != 0).then(|| word(&mut rng, 20))).collect();
        let mut needles: Vec<String> = (0..60).map(|_| word(&mut rng, 14)).collect();
        needles.extend(["".into(), "a".into(), "99".into(), "éa".into(), "abababababab".into()]);
        let mut column = Column::new("s".into(), &values[..1000]);
        column.append(&Column::new("s".into(), &values[1000..])).unwrap();
        let df = DataFrame::new(vec![column]).unwrap();
        for needle in &needles {
            let out = df.clone().lazy().select([contains(col("s"), needle.clone())]).collect().unwrap();
            let got: Vec<Option<bool>> = out.column("s").unwrap().bool().unwrap().into_iter().collect();
            let want: Vec<Option<bool>> =
                values.iter().map(|v| v.as_ref().map(|v| v.contains(needle.as_str()))).collect();
            assert_eq!(got, want, "needle {needle:?}");
        }
    }

    #[test]
    fn split_part_counts_from_either_end_and_is_empty_past_it() {
        let input = [Some("a,b,,c"), Some("x"), None];
        assert_eq!(eval(split_part(col("s"), ",".into(), 2), &input), owned(&[Some("b"), Some(""), None]));
        assert_eq!(eval(split_part(col("s"), ",".into(), -1), &input), owned(&[Some("c"), Some("x"), None]));
        assert_eq!(eval(split_part(col("s"), ",".into(), 3), &input), owned(&[Some(""), Some(""), None]));
    }

    #[test]
    fn pad_fills_or_cuts_to_the_exact_length_in_characters() {
        let input = [Some("7"), Some("éé"), Some("12345")];
        assert_eq!(eval(pad(col("s"), 3, "0".into(), true), &input), owned(&[Some("007"), Some("0éé"), Some("123")]));
        assert_eq!(
            eval(pad(col("s"), 4, "ab".into(), false), &input),
            owned(&[Some("7aba"), Some("ééab"), Some("1234")])
        );
    }

    #[test]
    fn repeat_and_reverse_work_on_characters() {
        let input = [Some("ab"), Some("é!"), None];
        assert_eq!(eval(repeat(col("s"), 2), &input), owned(&[Some("abab"), Some("é!é!"), None]));
        assert_eq!(eval(reverse(col("s")), &input), owned(&[Some("ba"), Some("!é"), None]));
    }
}
