//! Turns program text into tokens with spans. Newlines are kept as tokens
//! because a few constructs (`let` blocks, optional verb arguments) end at
//! a line break; everything else skips them.

use super::error::Error;
use super::span::Span;

/// One token kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare or backtick-quoted identifier. `quoted` identifiers are never keywords.
    Ident { name: String, quoted: bool },
    /// A double- or single-quoted string, escapes resolved.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// Punctuation and operators, e.g. `|`, `==`, `//`.
    Sym(&'static str),
    /// A line break outside any string.
    Newline,
    /// End of input.
    Eof,
}

/// A token and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where it is.
    pub span: Span,
}

// Longest symbols first so that `==` wins over `=`.
const SYMBOLS: &[&str] = &[
    "==", "!=", "<=", ">=", "//", "||", "|", ",", "(", ")", "[", "]", "=", "<", ">", "+", "-", "*", "/", "%", ":", ";",
    ".",
];

/// Splits `src` into tokens, ending with [`Tok::Eof`]. A parameter `$name`
/// (or `${name}`) is replaced by its value from `params`: outside quotes
/// by one literal token (a number when the value parses as one, else
/// text), inside a quoted string by its text (`$$` or `\$` is a `$`).
///
/// # Errors
/// An unterminated string, a malformed number, a character that starts no
/// token, or a parameter that is not set.
pub fn lex(src: &str, params: &Params) -> Result<Vec<Token>, Error> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b'\n' => {
                out.push(Token { tok: Tok::Newline, span: Span::new(i, i + 1) });
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'$' => {
                let (name, end) = param_name(src, i).ok_or_else(|| {
                    Error::new(Span::new(i, i + 1), "`$` starts a parameter name, as in `$input` or `${input}`")
                })?;
                let value = param(params, name, Span::new(start, end))?;
                let tok = match lex_number(value, 0) {
                    Ok((tok, used)) if used == value.len() => tok,
                    _ => Tok::Str(value.to_string()),
                };
                out.push(Token { tok, span: Span::new(start, end) });
                i = end;
            }
            b'"' | b'\'' => {
                let (s, end) = lex_string(src, i, params)?;
                out.push(Token { tok: Tok::Str(s), span: Span::new(start, end) });
                i = end;
            }
            b'`' => {
                let close = src[i + 1..].find('`').ok_or_else(|| {
                    Error::new(Span::new(i, src.len()), "unterminated backtick identifier")
                        .with_hint("close the column name with another `")
                })?;
                let name = src[i + 1..i + 1 + close].to_string();
                i = i + close + 2;
                out.push(Token { tok: Tok::Ident { name, quoted: true }, span: Span::new(start, i) });
            }
            b'0'..=b'9' => {
                let (tok, end) = lex_number(src, i)?;
                out.push(Token { tok, span: Span::new(start, end) });
                i = end;
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric() || bytes[i] >= 0x80) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident { name: src[start..i].to_string(), quoted: false },
                    span: Span::new(start, i),
                });
            }
            _ => {
                let sym = SYMBOLS.iter().find(|s| src[i..].starts_with(**s)).ok_or_else(|| {
                    let ch = src[i..].chars().next().unwrap_or('?');
                    Error::new(Span::new(i, i + ch.len_utf8()), format!("unexpected character `{ch}`"))
                })?;
                i += sym.len();
                out.push(Token { tok: Tok::Sym(sym), span: Span::new(start, i) });
            }
        }
    }
    out.push(Token { tok: Tok::Eof, span: Span::new(src.len(), src.len()) });
    Ok(out)
}

/// Parameter values by name (`dq run --var name=value`).
pub type Params = std::collections::BTreeMap<String, String>;

/// The name of the parameter at `src[at]` (a `$`) and where it ends:
/// `$name` or `${name}`, a name being letters, digits and `_`.
fn param_name(src: &str, at: usize) -> Option<(&str, usize)> {
    let rest = &src[at + 1..];
    let ident = |s: &str| s.find(|c: char| !(c == '_' || c.is_ascii_alphanumeric())).unwrap_or(s.len());
    // A name starts with a letter or `_`: `$1` and `${1}` stay text (a
    // regex_replace group reference).
    let starts_well = |s: &str| s.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic());
    if let Some(inner) = rest.strip_prefix('{') {
        let len = ident(inner);
        return (len > 0 && starts_well(inner) && inner[len..].starts_with('}')).then(|| (&inner[..len], at + 3 + len));
    }
    let len = ident(rest);
    let starts_well = starts_well(rest);
    (len > 0 && starts_well).then(|| (&rest[..len], at + 1 + len))
}

/// The value of parameter `name`, or an error at `span` naming it.
fn param<'a>(params: &'a Params, name: &str, span: Span) -> Result<&'a str, Error> {
    params.get(name).map(String::as_str).ok_or_else(|| {
        let set: Vec<&str> = params.keys().map(String::as_str).collect();
        let given = if set.is_empty() { "none is set".to_string() } else { format!("set: {}", set.join(", ")) };
        Error::new(span, format!("the parameter `${name}` is not set"))
            .with_hint(format!("give it with --var {name}=VALUE ({given}); in a string, `$$` is a `$`"))
    })
}

fn lex_string(src: &str, start: usize, params: &Params) -> Result<(String, usize), Error> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        match ch {
            c if c == quote => return Ok((out, start + 1 + off + 1)),
            '$' => {
                let at = start + 1 + off;
                if src[at + 1..].starts_with('$') {
                    chars.next();
                    out.push('$');
                } else if let Some((name, end)) = param_name(src, at) {
                    out.push_str(param(params, name, Span::new(at, end))?);
                    // Skip the name's characters.
                    while chars.clone().next().is_some_and(|(o, _)| start + 1 + o < end) {
                        chars.next();
                    }
                } else {
                    out.push('$');
                }
            }
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, c)) => out.push(c),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(Error::new(Span::new(start, src.len()), "unterminated string")
        .with_hint(format!("close the string with {quote}")))
}

fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), Error> {
    let bytes = src.as_bytes();
    let mut i = start;
    let mut is_float = false;
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
        i += 1;
    }
    if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
        is_float = true;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            is_float = true;
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let text: String = src[start..i].chars().filter(|c| *c != '_').collect();
    let span = Span::new(start, i);
    let tok = if is_float {
        Tok::Float(text.parse().map_err(|_| Error::new(span, "malformed number"))?)
    } else {
        Tok::Int(text.parse().map_err(|_| {
            Error::new(span, "integer literal out of range").with_hint("write it as a float, e.g. 1e20")
        })?)
    };
    Ok((tok, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src, &Params::new()).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_operators_numbers_and_strings() {
        assert_eq!(
            kinds("a//2 >= 1.5e1 'x\\'y'"),
            vec![
                Tok::Ident { name: "a".into(), quoted: false },
                Tok::Sym("//"),
                Tok::Int(2),
                Tok::Sym(">="),
                Tok::Float(15.0),
                Tok::Str("x'y".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_are_skipped_and_newlines_kept() {
        assert_eq!(
            kinds("a # note\nb"),
            vec![
                Tok::Ident { name: "a".into(), quoted: false },
                Tok::Newline,
                Tok::Ident { name: "b".into(), quoted: false },
                Tok::Eof
            ]
        );
    }

    #[test]
    fn unterminated_string_points_at_its_start() {
        let err = lex("filter a == \"abc", &Params::new()).unwrap_err();
        assert_eq!(err.span.start, 12);
        assert!(err.message.contains("unterminated"));
    }
}
