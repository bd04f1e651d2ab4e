//! Arrow IPC files (`.arrow`, `.ipc`, `.feather` v2): the footer read at
//! open, the file memory-mapped, one job per record batch decoding only the
//! projected columns. dq's own spill files and `-o x.arrow` are this format,
//! so dq reads back what it and other Arrow tools write.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;
use polars::prelude::*;
use polars_arrow::io::ipc::read::{read_batch, read_file_dictionaries, read_file_metadata, Dictionaries, FileMetadata};

use super::chunks::{ChunkJob, Part, ScanSummary};
use super::reader::{evenly_spaced, Capabilities, FileReader, FileSample, ReadRequest};
use super::{Error, Result, StatsFilter};

/// An opened Arrow IPC file.
pub(crate) struct IpcFile {
    path: PathBuf,
    map: Arc<Mmap>,
    metadata: FileMetadata,
    dictionaries: Dictionaries,
    schema: SchemaRef,
}

impl IpcFile {
    /// Maps the file and reads its footer and dictionaries.
    ///
    /// # Errors
    /// Read errors; a file that is not Arrow IPC (an Arrow stream, which
    /// has no footer, included).
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
        let not_ipc = |e: PolarsError| {
            Error::decode(path, format!("not an Arrow IPC file (expected the ARROW1 footer of the file format): {e}"))
        };
        if file.metadata().map_err(|e| Error::read(path, e))?.len() == 0 {
            return Err(Error::decode(path, "not an Arrow IPC file (it is empty)"));
        }
        // SAFETY: read-only map; input files must not change while read
        // (as for every mmap-based reader, see `text::MappedText`).
        let map = Arc::new(unsafe { Mmap::map(&file) }.map_err(|e| Error::read(path, e))?);
        let mut cursor = Cursor::new(&map[..]);
        let metadata = read_file_metadata(&mut cursor).map_err(not_ipc)?;
        let dictionaries = read_file_dictionaries(&mut cursor, &metadata, &mut Vec::new()).map_err(not_ipc)?;
        let schema = Arc::new(Schema::from_arrow_schema(&metadata.schema));
        Ok(IpcFile { path: path.into(), map, metadata, dictionaries, schema })
    }

    fn batch_bytes(&self, batch: usize) -> u64 {
        self.metadata.blocks[batch].body_length.max(0) as u64
    }
}

impl FileReader for IpcFile {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { random_access: true, ..Default::default() }
    }

    fn plan(&self, _chunk_size: usize, _filters: &[StatsFilter], summary: &mut ScanSummary) {
        summary.tasks += self.metadata.blocks.len();
    }

    fn jobs<'a>(
        &'a self,
        file: usize,
        _chunk_size: usize,
        _filters: &[StatsFilter],
        _disk_bytes: &Arc<AtomicU64>,
    ) -> Box<dyn Iterator<Item = Result<ChunkJob>> + 'a> {
        // A job is one record batch: `Rows(batch index, 1)`.
        Box::new(
            (0..self.metadata.blocks.len()).map(move |b| Ok(ChunkJob::rows(file, (b, 1), Some(self.batch_bytes(b))))),
        )
    }

    fn read(&self, job: &ChunkJob, request: &ReadRequest) -> Result<DataFrame> {
        let Part::Rows(batch, _) = job.part else {
            return Err(Error::Unsupported { message: "internal: an IPC job that is not a record batch".into() });
        };
        let settings = request.settings;
        settings.bytes_read.fetch_add(self.batch_bytes(batch), Ordering::Relaxed);
        settings.disk_bytes.fetch_add(self.batch_bytes(batch), Ordering::Relaxed);
        let mut indices: Vec<usize> = request.columns.iter().filter_map(|c| self.schema.index_of(c)).collect();
        indices.sort_unstable();
        let decode = |e: PolarsError| Error::decode(&self.path, e);
        let mut cursor = Cursor::new(&self.map[..]);
        let (mut message, mut data) = (Vec::new(), Vec::new());
        let projection = Some(indices.as_slice()).filter(|_| !indices.is_empty());
        let batch = read_batch(
            &mut cursor,
            &self.dictionaries,
            &self.metadata,
            projection,
            None,
            batch,
            &mut message,
            &mut data,
        )
        .map_err(decode)?;
        if indices.is_empty() {
            return Ok(super::height_only(batch.len()));
        }
        let fields: ArrowSchema = indices
            .iter()
            .filter_map(|&i| self.metadata.schema.get_at_index(i).map(|(n, f)| (n.clone(), f.clone())))
            .collect();
        let df = DataFrame::try_from((batch, &fields)).map_err(decode)?;
        df.select(request.columns.iter().map(|c| c.as_str())).map_err(decode)
    }

    fn sample(&self, file: usize, fraction: f64, _piece: usize, _rng: &mut u64) -> FileSample {
        let n = self.metadata.blocks.len();
        let picked = evenly_spaced(n, fraction);
        let sampled: u64 = picked.iter().map(|&b| self.batch_bytes(b)).sum();
        let total: u64 = (0..n).map(|b| self.batch_bytes(b)).sum();
        let jobs = picked.iter().map(|&b| ChunkJob::rows(file, (b, 1), Some(self.batch_bytes(b)))).collect();
        FileSample { jobs, sampled, total, whole: picked.len() >= n }
    }

    fn row_count(&self) -> (Option<u64>, bool) {
        let mut cursor = Cursor::new(&self.map[..]);
        let rows = polars_arrow::io::ipc::read::get_row_count(&mut cursor).ok();
        (rows.map(|r| r.max(0) as u64), false)
    }
}
