//! Text that arrives as a stream: gzip/zstd files (decompressed afresh by
//! each scan) and stdin or pipes (read once).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::csv_filtered::{Kept, Prefilter};
use super::stream::Chunker;
use crate::io::chunks::{ChunkJob, Part, ScanSummary};
use crate::io::reader::{Capabilities, FileReader, FileSample, ReadRequest};
use crate::io::{Compression, CsvOptions, Error, Format, Result, StatsFilter};

/// A compressed text file, or stdin / a pipe.
pub(crate) struct StreamedText {
    path: PathBuf,
    format: Format,
    csv: CsvOptions,
    schema: SchemaRef,
    compression: Compression,
    /// For stdin and pipes: the chunker (holding the bytes read for
    /// inference), which can be taken once. `None` for files.
    once: Option<Mutex<Option<Chunker>>>,
    /// How much of this input a pushed filter keeps (see `csv_filtered`).
    kept: Kept,
}

impl StreamedText {
    /// Opens a compressed file and infers the schema from its first MiBs.
    ///
    /// # Errors
    /// Read errors, corrupt compressed data, undecodable headers.
    pub fn open(path: &Path, format: Format, csv: &CsvOptions, compression: Compression) -> Result<Self> {
        let mut chunker = Chunker::open_file(path, compression, format, csv, 4 << 20)?;
        let schema = chunker.infer_schema(path, format, csv)?;
        Ok(StreamedText {
            path: path.into(),
            format,
            csv: csv.clone(),
            schema: Arc::new(schema),
            compression,
            once: None,
            kept: Kept::default(),
        })
    }

    /// Reads stdin or a pipe (already decompressed, see [`crate::io::piped`])
    /// once, inferring the schema from its first MiBs.
    ///
    /// # Errors
    /// Read errors, undecodable headers.
    pub fn from_stream(
        path: &Path,
        reader: Box<dyn std::io::Read + Send>,
        format: Format,
        csv: &CsvOptions,
    ) -> Result<Self> {
        let mut chunker = Chunker::new(reader, format, csv, 16 << 20).named(path);
        let schema = chunker.infer_schema(path, format, csv)?;
        Ok(StreamedText {
            path: path.into(),
            format,
            csv: csv.clone(),
            schema: Arc::new(schema),
            compression: Compression::None,
            once: Some(Mutex::new(Some(chunker))),
            kept: Kept::default(),
        })
    }

    fn chunker(&self, chunk_size: usize, disk_bytes: &Arc<AtomicU64>) -> Result<Chunker> {
        match &self.once {
            Some(slot) => slot.lock().ok().and_then(|mut s| s.take()).ok_or_else(|| Error::Unsupported {
                message: "standard input can be scanned only once per program".into(),
            }),
            None => Chunker::open_file(&self.path, self.compression, self.format, &self.csv, chunk_size)
                .map(|c| c.counting(disk_bytes.clone())),
        }
    }
}

impl FileReader for StreamedText {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn plan(&self, _chunk_size: usize, _filters: &[StatsFilter], summary: &mut ScanSummary) {
        summary.streamed_files += 1;
    }

    fn jobs<'a>(
        &'a self,
        file: usize,
        chunk_size: usize,
        _filters: &[StatsFilter],
        disk_bytes: &Arc<AtomicU64>,
    ) -> Box<dyn Iterator<Item = Result<ChunkJob>> + 'a> {
        let mut chunker = match self.chunker(chunk_size, disk_bytes) {
            Ok(c) => Some(c),
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        Box::new(std::iter::from_fn(move || {
            let next = chunker.as_mut()?.next_chunk();
            match next {
                Ok(Some((bytes, first_line))) => Some(Ok(ChunkJob::owned(file, bytes, first_line))),
                Ok(None) => {
                    chunker = None;
                    None
                }
                Err(e) => {
                    chunker = None;
                    Some(Err(e))
                }
            }
        }))
    }

    fn read(&self, job: &ChunkJob, request: &ReadRequest) -> Result<DataFrame> {
        let Part::Owned(bytes, first_line) = &job.part else {
            return Err(Error::Unsupported { message: "internal: a stream job that is not owned bytes".into() });
        };
        let settings = request.settings;
        settings.bytes_read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let line = || *first_line;
        let prefilter = request.filter.map(|filter| Prefilter { filter, kept: &self.kept });
        super::parse(
            self.format,
            &self.path,
            bytes,
            &self.schema,
            request.columns,
            &self.csv,
            settings,
            &line,
            prefilter,
        )
    }

    fn sample(&self, _file: usize, _fraction: f64, _piece: usize, _rng: &mut u64) -> FileSample {
        // A stream cannot be read at random: the profile reads it whole
        // through the scan's own jobs.
        let size = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        FileSample { jobs: Vec::new(), sampled: size, total: size, whole: true }
    }

    fn row_count(&self) -> (Option<u64>, bool) {
        (None, true)
    }
}
