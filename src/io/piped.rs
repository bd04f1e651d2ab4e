//! Standard input and pipes, recognised by their first bytes, as `file(1)`
//! would: gzip and zstd are decompressed as they arrive; Parquet, Arrow IPC
//! and `.npy` (whose readers seek) are first copied to a temporary file;
//! a stream whose format was not given is NDJSON when it starts with `{`
//! and CSV otherwise.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use super::{Compression, Error, Format, Result};
use crate::cleanup;

/// What a stream turned out to hold.
pub(crate) enum Piped {
    /// Text, cut into chunks as it arrives (decompressed if it was).
    Text { reader: Box<dyn Read + Send>, format: Format },
    /// A binary format, copied whole to a temporary file.
    Spooled { spool: Spool, format: Format },
}

/// A temporary copy of a stream, removed when dropped (and at a hard exit).
pub(crate) struct Spool {
    path: tempfile::TempPath,
    _registered: cleanup::Registered,
}

impl Spool {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Bytes looked at to recognise a stream: enough for every magic number
/// and for leading blank space before an NDJSON `{`.
const PEEK: usize = 256;

/// Opens stdin (`-`) or a pipe and recognises what it holds. `given` is
/// the format the program named (`format=` or a telling file name);
/// `None` lets the first bytes decide.
///
/// # Errors
/// Stdin that is a terminal, read errors, corrupt compressed data.
pub(crate) fn open(path: &Path, given: Option<Format>) -> Result<Piped> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            // Reading would wait for typing: say what to do instead.
            return Err(Error::Unsupported {
                message: "the program reads standard input, which is a terminal: pipe data in \
                          (`cat data.csv | dq '…'`) or start with a source (`scan \"data.csv\" | …`)"
                    .into(),
            });
        }
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| Error::read(path, e))?)
    };
    let (head, raw) = peek(raw, path)?;
    // A compressed stream is recognised again by its decompressed bytes.
    let compression = if head.starts_with(GZIP) {
        Compression::Gzip
    } else if head.starts_with(ZSTD) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let (head, reader) = match compression {
        Compression::None => (head, raw),
        c => peek(super::paths::decompressed(std::io::BufReader::new(raw), c, path)?, path)?,
    };
    let format = given.unwrap_or_else(|| recognise(&head));
    match format {
        Format::Parquet | Format::Ipc | Format::Npy => Ok(Piped::Spooled { spool: spool(reader, path)?, format }),
        Format::Csv | Format::Ndjson | Format::Lines => Ok(Piped::Text { reader, format }),
    }
}

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// The format the first bytes of a (decompressed) stream show.
fn recognise(head: &[u8]) -> Format {
    if head.starts_with(b"PAR1") {
        Format::Parquet
    } else if head.starts_with(b"ARROW1") {
        Format::Ipc
    } else if head.starts_with(b"\x93NUMPY") {
        Format::Npy
    } else if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        Format::Ndjson
    } else {
        Format::Csv
    }
}

/// Reads up to [`PEEK`] bytes and gives them back with a reader that
/// yields them again before the rest.
fn peek(mut reader: Box<dyn Read + Send>, path: &Path) -> Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = Vec::with_capacity(PEEK);
    (&mut reader).take(PEEK as u64).read_to_end(&mut head).map_err(|e| stream_error(path, e))?;
    let again = Cursor::new(head.clone()).chain(reader);
    Ok((head, Box::new(again)))
}

/// Copies a stream whole to a temporary file next to the spill files.
fn spool(mut reader: Box<dyn Read + Send>, path: &Path) -> Result<Spool> {
    let dir = std::env::temp_dir();
    let mut file = tempfile::Builder::new()
        .prefix(&cleanup::prefix(".dq-stdin-"))
        .tempfile_in(&dir)
        .map_err(|e| Error::read(PathBuf::from(&dir), e))?;
    let registered = cleanup::register(file.path());
    std::io::copy(&mut reader, file.as_file_mut()).map_err(|e| stream_error(path, e))?;
    Ok(Spool { path: file.into_temp_path(), _registered: registered })
}

/// A decoder's complaint is about the data (corrupt or cut short): exit 3.
fn stream_error(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput | std::io::ErrorKind::UnexpectedEof => {
            Error::decode(path, format!("corrupt or truncated compressed data: {e}"))
        }
        _ => Error::read(path, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_the_format() {
        assert_eq!(recognise(b"PAR1\x15\x04"), Format::Parquet);
        assert_eq!(recognise(b"ARROW1\0\0"), Format::Ipc);
        assert_eq!(recognise(b"\x93NUMPY\x01\0"), Format::Npy);
        assert_eq!(recognise(b"  \n{\"a\": 1}"), Format::Ndjson);
        assert_eq!(recognise(b"a,b\n1,2\n"), Format::Csv);
        assert_eq!(recognise(b""), Format::Csv);
    }

    #[test]
    fn a_peeked_stream_yields_every_byte_again() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let (head, mut rest) = peek(Box::new(Cursor::new(data.clone())), Path::new("-")).unwrap();
        assert_eq!(head, &data[..PEEK]);
        let mut all = Vec::new();
        rest.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
    }
}
