//! Compressed text output: `-o out.csv.gz` / `out.ndjson.zst` are written
//! through an encoder chosen by the last extension, as gzip and zstd users
//! expect. The encoder's footer is written by [`Encoded::finish`], whose
//! errors (a full disk) are reported before the file is renamed into place.

use std::io::{self, Write};

use crate::io::Compression;

/// gzip level: the `gzip` command's default, so files compare in size
/// with what users make by hand.
const GZIP_LEVEL: u32 = 6;
/// zstd level: the `zstd` command's default.
const ZSTD_LEVEL: i32 = 3;

/// Bytes on their way out, compressed or not.
pub enum Encoded {
    Plain(Box<dyn Write + Send>),
    Gzip(flate2::write::GzEncoder<Box<dyn Write + Send>>),
    Zstd(zstd::Encoder<'static, Box<dyn Write + Send>>),
}

impl Encoded {
    /// `out` behind the encoder `compression` names.
    ///
    /// # Errors
    /// When the zstd encoder cannot start.
    pub fn new(out: Box<dyn Write + Send>, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoded::Plain(out),
            Compression::Gzip => {
                Encoded::Gzip(flate2::write::GzEncoder::new(out, flate2::Compression::new(GZIP_LEVEL)))
            }
            Compression::Zstd => Encoded::Zstd(zstd::Encoder::new(out, ZSTD_LEVEL)?),
        })
    }

    /// Writes the encoder's footer and flushes everything.
    ///
    /// # Errors
    /// Write failures.
    pub fn finish(&mut self) -> io::Result<()> {
        match self {
            Encoded::Plain(w) => w.flush(),
            Encoded::Gzip(w) => w.try_finish().and_then(|()| w.get_mut().flush()),
            Encoded::Zstd(w) => w.do_finish().and_then(|()| w.get_mut().flush()),
        }
    }
}

impl Write for Encoded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoded::Plain(w) => w.write(buf),
            Encoded::Gzip(w) => w.write(buf),
            Encoded::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoded::Plain(w) => w.flush(),
            Encoded::Gzip(w) => w.flush(),
            Encoded::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn gzip_and_zstd_round_trip() {
        let text: Vec<u8> = (0..100_000).flat_map(|i| format!("{i},x\n").into_bytes()).collect();
        for c in [Compression::Gzip, Compression::Zstd] {
            let out = Shared::default();
            let mut w = Encoded::new(Box::new(out.clone()), c).unwrap();
            w.write_all(&text).unwrap();
            w.finish().unwrap();
            let bytes = out.0.lock().unwrap().clone();
            assert!(bytes.len() < text.len() / 3, "{c:?} compressed");
            let mut back = Vec::new();
            match c {
                Compression::Gzip => flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut back).unwrap(),
                _ => zstd::Decoder::new(&bytes[..]).unwrap().read_to_end(&mut back).unwrap(),
            };
            assert!(back == text, "{c:?}");
        }
    }
}
