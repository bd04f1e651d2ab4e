//! String kernels polars has no (enabled) form of, with dq's semantics:
//! positions count characters, not bytes.

use polars::prelude::*;

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
