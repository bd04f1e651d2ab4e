//! `lang`: the dq pipeline language — lexer, parser and syntax tree.
//!
//! Input: program text. Output: [`ast::Program`], every node with a
//! [`Span`]. Errors are [`Error`] values holding the span and what was
//! expected; rendering them (line, caret) is the CLI's job.
//!
//! This module must not know about files, types or polars.

pub mod ast;
mod error;
mod lexer;
mod parser;
mod span;

pub use error::Error;
pub use lexer::Params;
pub use parser::{is_verb, parse, parse_with};
pub use span::Span;
