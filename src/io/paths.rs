//! From what the user wrote to files: globs, stdin and streams, the
//! compression suffix and the format an extension implies.

use std::path::{Path, PathBuf};

use super::{Error, Format, Result};

/// Stream compression of a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain, memory-mapped.
    None,
    /// `.gz`
    Gzip,
    /// `.zst`
    Zstd,
}

pub(super) fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    if pattern == "-" {
        return Ok(vec![PathBuf::from("-")]);
    }
    let has_glob = pattern.contains(['*', '?', '[']);
    if !has_glob {
        let p = PathBuf::from(pattern);
        return match std::fs::metadata(&p) {
            // A FIFO, /dev/stdin or a `<(...)` path is read as a stream.
            Ok(m) if !m.is_dir() => Ok(vec![p]),
            Ok(_) => Err(Error::Unsupported {
                message: format!("`{pattern}` is a directory; scan a glob such as \"{pattern}/*.csv\""),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound { pattern: pattern.into() }),
            Err(e) => Err(Error::read(p, e)),
        };
    }
    let entries =
        glob::glob(pattern).map_err(|e| Error::Unsupported { message: format!("bad glob `{pattern}`: {e}") })?;
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(p) if p.is_file() => paths.push(p),
            Ok(_) => {}
            Err(e) => return Err(Error::read(e.path().to_path_buf(), std::io::Error::other(e.to_string()))),
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(Error::NotFound { pattern: pattern.into() });
    }
    Ok(paths)
}

/// The bytes of `reader` decompressed as `compression` says (the one place
/// that maps a compression to its decoder).
///
/// # Errors
/// A zstd decoder that cannot start.
pub(super) fn decompressed(
    reader: impl std::io::BufRead + Send + 'static,
    compression: Compression,
    path: &Path,
) -> Result<Box<dyn std::io::Read + Send>> {
    Ok(match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::Decoder::with_buffer(reader).map_err(|e| Error::read(path, e))?),
        Compression::None => Box::new(reader),
    })
}

pub(super) fn strip_compression(path: &Path) -> (String, Compression) {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if let Some(stem) = name.strip_suffix(".gz") {
        (stem.to_string(), Compression::Gzip)
    } else if let Some(stem) = name.strip_suffix(".zst") {
        (stem.to_string(), Compression::Zstd)
    } else {
        (name, Compression::None)
    }
}

pub(super) fn is_tsv(path: &Path) -> bool {
    let (name, _) = strip_compression(path);
    name.ends_with(".tsv") || name.ends_with(".tab")
}

/// The format a file name implies.
///
/// # Errors
/// [`Error::Unsupported`] for an unknown extension.
pub fn format_of(path: &Path) -> Result<Format> {
    if path.as_os_str() == "-" {
        return Ok(Format::Csv);
    }
    let (name, _) = strip_compression(path);
    let ext = if name.contains('.') { name.rsplit('.').next().unwrap_or("") } else { "" };
    match ext {
        // A stream without a telling name (/dev/stdin, `<(...)`) is CSV, like `-`.
        "" if is_stream(path) || path.starts_with("/dev") || path.starts_with("/proc") => Ok(Format::Csv),
        "csv" | "tsv" | "tab" => Ok(Format::Csv),
        "txt" | "log" | "text" => Ok(Format::Lines),
        "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
        "parquet" | "pq" => Ok(Format::Parquet),
        "npy" => Ok(Format::Npy),
        "arrow" | "ipc" | "feather" => Ok(Format::Ipc),
        _ => Err(Error::Unsupported {
            message: format!(
                "cannot tell the format of {} from its extension; add (format=csv|ndjson|parquet|npy|arrow) to the scan",
                path.display()
            ),
        }),
    }
}

/// Whether `path` is stdin (`-`) or an existing file that is not a regular
/// file (a FIFO, a character device, `/dev/fd/N` of a pipe): read once, as
/// a stream.
pub fn is_stream(path: &Path) -> bool {
    path.as_os_str() == "-" || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}
