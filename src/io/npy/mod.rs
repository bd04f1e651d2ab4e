//! NumPy `.npy` arrays as tables: a 1-D array is one column `c0`, a 2-D
//! array of shape (n, k) is k columns `c0` … `c{k-1}` of n rows (a 0-d
//! array is one value). The file is memory-mapped and cut into ranges of
//! rows (axis 0) sized by bytes; each job decodes only its projected
//! columns, in C or Fortran order and either byte order, and releases its
//! pages once read. Higher dimensions are refused with the shape named.

mod header;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;
use polars::prelude::*;
use polars_arrow::array::PrimitiveArray;
use polars_arrow::buffer::Buffer;
use polars_arrow::types::NativeType;

pub(crate) use header::{shape_text, write as header, Dtype, Kind, WRITTEN_LEN};

use super::chunks::{ChunkJob, Part, ScanSummary};
use super::reader::{evenly_spaced, Capabilities, FileReader, FileSample, ReadRequest};
use super::{release_pages, Error, Result, SourceFile, StatsFilter};

/// An opened `.npy` file.
pub(crate) struct NpyFile {
    path: PathBuf,
    header: header::Header,
    map: Arc<Mmap>,
    rows: usize,
    cols: usize,
    schema: SchemaRef,
}

/// The name of array column `i`.
/// Rows a job of a wide array reaches for (see `NpyFile::rows_per_job`).
const MIN_JOB_ROWS: usize = 1024;

pub(crate) fn column_name(i: usize) -> String {
    format!("c{i}")
}

/// The polars type an element type is read as (8- and 16-bit integers
/// widen to 32 bits: dq's kernels work on 32- and 64-bit numbers).
fn polars_type(dtype: Dtype) -> DataType {
    match (dtype.kind, dtype.size) {
        (Kind::Bool, _) => DataType::Boolean,
        (Kind::Float, 4) => DataType::Float32,
        (Kind::Float, _) => DataType::Float64,
        (Kind::Int, 8) => DataType::Int64,
        (Kind::Int, _) => DataType::Int32,
        (Kind::Uint, 8) => DataType::UInt64,
        (Kind::Uint, _) => DataType::UInt32,
    }
}

impl NpyFile {
    /// Maps the file and checks its header against its size.
    ///
    /// # Errors
    /// A broken or unsupported header, more than two dimensions, or fewer
    /// data bytes than the shape needs.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
        let size = file.metadata().map_err(|e| Error::read(path, e))?.len();
        if size == 0 {
            return Err(Error::decode(path, "not a .npy file (it is empty)"));
        }
        // SAFETY: read-only map; input files must not change while read
        // (as for every mmap-based reader, see `text::MappedText`).
        let map = Arc::new(unsafe { Mmap::map(&file) }.map_err(|e| Error::read(path, e))?);
        let header = header::parse(&map).map_err(|m| Error::decode(path, m))?;
        let (rows, cols) = match header.shape.as_slice() {
            [] => (1, 1),
            [n] => (*n, 1),
            [n, k] => (*n, *k),
            dims => {
                return Err(Error::decode(
                    path,
                    format!(
                        "dq reads 1-D and 2-D arrays; this one has shape {} ({} dimensions): reshape it to 2-D first",
                        shape_text(dims),
                        dims.len()
                    ),
                ))
            }
        };
        let need = rows as u128 * cols as u128 * header.dtype.size as u128;
        let have = map.len().saturating_sub(header.data_start) as u128;
        if have < need {
            return Err(Error::decode(
                path,
                format!(
                    "truncated: shape {} of {} needs {need} bytes of data, the file holds {have}",
                    shape_text(&header.shape),
                    header.dtype.name()
                ),
            ));
        }
        let dtype = polars_type(header.dtype);
        let schema: Schema = (0..cols).map(|i| Field::new(column_name(i).into(), dtype.clone())).collect();
        Ok(NpyFile { path: path.into(), header, map, rows, cols, schema: Arc::new(schema) })
    }

    /// Bytes of one row in the file.
    fn row_bytes(&self) -> usize {
        (self.cols * self.header.dtype.size).max(1)
    }

    /// Bytes of one row once decoded.
    fn decoded_row_bytes(&self) -> usize {
        let width = match polars_type(self.header.dtype) {
            DataType::Boolean => 1,
            DataType::Float32 | DataType::Int32 | DataType::UInt32 => 4,
            _ => 8,
        };
        (self.cols * width).max(1)
    }

    /// Rows per job: a job decodes to about `chunk_size` bytes, but for a
    /// wide array up to four times that, to reach 1,024 rows: every job
    /// costs a little per column (a buffer, a series), and at 10,000
    /// columns a 16 MB job holds only 200 rows to spread it over. The job
    /// reports its real size, so admission under the memory budget (which
    /// also shrinks `chunk_size`) still holds.
    fn rows_per_job(&self, chunk_size: usize) -> usize {
        let row = self.decoded_row_bytes();
        (chunk_size / row).max(MIN_JOB_ROWS.min(4 * chunk_size / row)).max(1)
    }

    fn job(&self, file: usize, start: usize, len: usize) -> ChunkJob {
        ChunkJob::rows(file, (start, len), Some((len * self.decoded_row_bytes()) as u64))
    }

    /// The bytes of rows `start..start + len` of column `c` of an array
    /// whose columns are contiguous (Fortran order, or one column).
    fn column_bytes(&self, c: usize, start: usize, len: usize) -> &[u8] {
        let size = self.header.dtype.size;
        let from = self.header.data_start + (c * self.rows + start) * size;
        &self.map[from..from + len * size]
    }

    /// Byte ranges the job read, for releasing their pages.
    fn ranges(&self, start: usize, len: usize) -> Vec<(usize, usize)> {
        let size = self.header.dtype.size;
        let base = self.header.data_start;
        if self.header.fortran_order && self.cols > 1 {
            (0..self.cols)
                .map(|c| (base + (c * self.rows + start) * size, base + (c * self.rows + start + len) * size))
                .collect()
        } else {
            vec![(base + start * self.row_bytes(), base + (start + len) * self.row_bytes())]
        }
    }

    /// Decodes rows `start..start + len` of the columns `cols` (indices
    /// with their names) into series.
    fn decode(&self, cols: &[(usize, &str)], start: usize, len: usize) -> Vec<Column> {
        let d = self.header.dtype;
        macro_rules! read {
            ($src:ty, $out:ty, $chunked:ty) => {{
                let values = self.decode_as::<$src, $out>(cols, start, len);
                cols.iter()
                    .zip(values)
                    .map(|((_, name), v)| {
                        let array = PrimitiveArray::<$out>::new(<$out as NativeType>::PRIMITIVE.into(), v, None);
                        <$chunked>::with_chunk((*name).into(), array).into_column()
                    })
                    .collect()
            }};
        }
        match (d.kind, d.size) {
            (Kind::Bool, _) => {
                let values = self.decode_as::<u8, u8>(cols, start, len);
                cols.iter()
                    .zip(values)
                    .map(|((_, name), v)| {
                        BooleanChunked::from_iter_values((*name).into(), v.iter().map(|&b| b != 0)).into_column()
                    })
                    .collect()
            }
            (Kind::Float, 4) => read!(f32, f32, Float32Chunked),
            (Kind::Float, _) => read!(f64, f64, Float64Chunked),
            (Kind::Int, 1) => read!(i8, i32, Int32Chunked),
            (Kind::Int, 2) => read!(i16, i32, Int32Chunked),
            (Kind::Int, 4) => read!(i32, i32, Int32Chunked),
            (Kind::Int, _) => read!(i64, i64, Int64Chunked),
            (Kind::Uint, 1) => read!(u8, u32, UInt32Chunked),
            (Kind::Uint, 2) => read!(u16, u32, UInt32Chunked),
            (Kind::Uint, 4) => read!(u32, u32, UInt32Chunked),
            (Kind::Uint, _) => read!(u64, u64, UInt64Chunked),
        }
    }

    /// The values of `cols` over rows `start..start + len`, widened to `O`.
    /// A column stored contiguously (Fortran order, one column) is read in
    /// one sweep. In C order the columns are transposed into one
    /// column-major buffer that every column's series shares (one
    /// allocation a job, not one a column), `BLOCK_COLS` columns at a time
    /// over all the job's rows: the block's input lines and its output
    /// columns stay in L2 cache however wide the array (a 10,000-column
    /// row is 80 KB).
    fn decode_as<T: Element, O: From<T> + NativeType>(
        &self,
        cols: &[(usize, &str)],
        start: usize,
        len: usize,
    ) -> Vec<Buffer<O>> {
        let big = self.header.dtype.big_endian;
        if self.header.fortran_order || self.cols == 1 {
            return cols
                .iter()
                .map(|(c, _)| {
                    let bytes = self.column_bytes(*c, start, len);
                    bytes.chunks_exact(T::SIZE).map(|b| O::from(T::from_bytes(b, big))).collect::<Vec<O>>().into()
                })
                .collect();
        }
        const BLOCK_COLS: usize = 32;
        let mut all = vec![O::default(); len * cols.len()];
        let row = self.row_bytes();
        let data = &self.map[self.header.data_start + start * row..self.header.data_start + (start + len) * row];
        for (block, outs) in cols.chunks(BLOCK_COLS).zip(all.chunks_mut(BLOCK_COLS * len.max(1))) {
            let mut outs: Vec<&mut [O]> = outs.chunks_exact_mut(len).collect();
            for (r, bytes) in data.chunks_exact(row).enumerate() {
                for ((c, _), values) in block.iter().zip(outs.iter_mut()) {
                    let at = c * T::SIZE;
                    values[r] = O::from(T::from_bytes(&bytes[at..at + T::SIZE], big));
                }
            }
        }
        let all = Buffer::from(all);
        (0..cols.len()).map(|i| all.clone().sliced(i * len, len)).collect()
    }
}

/// A number type stored in a `.npy` file.
trait Element: Copy {
    const SIZE: usize;
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self;
}

macro_rules! element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn from_bytes(bytes: &[u8], big_endian: bool) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(&bytes[..Self::SIZE]);
                if big_endian { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }
            }
        }
    )*};
}
element!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl FileReader for NpyFile {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { random_access: true, exact_row_count: true, row_ranges: true, ..Default::default() }
    }

    fn plan(&self, chunk_size: usize, _filters: &[StatsFilter], summary: &mut ScanSummary) {
        summary.tasks += self.rows.div_ceil(self.rows_per_job(chunk_size));
    }

    fn jobs<'a>(
        &'a self,
        file: usize,
        chunk_size: usize,
        _filters: &[StatsFilter],
        _disk_bytes: &Arc<AtomicU64>,
    ) -> Box<dyn Iterator<Item = Result<ChunkJob>> + 'a> {
        let step = self.rows_per_job(chunk_size);
        Box::new((0..self.rows).step_by(step).map(move |s| Ok(self.job(file, s, step.min(self.rows - s)))))
    }

    fn read(&self, job: &ChunkJob, request: &ReadRequest) -> Result<DataFrame> {
        let Part::Rows(start, len) = job.part else {
            return Err(Error::Unsupported { message: "internal: a .npy job that is not a row range".into() });
        };
        if start + len > self.rows {
            return Err(Error::Unsupported { message: "internal: a .npy job past the last row".into() });
        }
        let settings = request.settings;
        let bytes = (len * self.row_bytes()) as u64;
        settings.bytes_read.fetch_add(bytes, Ordering::Relaxed);
        settings.disk_bytes.fetch_add(bytes, Ordering::Relaxed);
        if request.columns.is_empty() {
            return Ok(super::height_only(len));
        }
        let cols: Vec<(usize, &str)> =
            request.columns.iter().filter_map(|name| Some((self.schema.index_of(name)?, name.as_str()))).collect();
        let columns = self.decode(&cols, start, len);
        for range in self.ranges(start, len) {
            release_pages(&self.map, range);
        }
        DataFrame::new(columns).map_err(|e| Error::decode(&self.path, e))
    }

    fn sample(&self, file: usize, fraction: f64, piece: usize, _rng: &mut u64) -> FileSample {
        let per_piece = (piece / self.row_bytes()).max(1);
        let pieces = self.rows.div_ceil(per_piece);
        let picked = evenly_spaced(pieces, fraction);
        let jobs: Vec<ChunkJob> =
            picked.iter().map(|&p| self.job(file, p * per_piece, per_piece.min(self.rows - p * per_piece))).collect();
        let sampled: usize = jobs.iter().map(|j| if let Part::Rows(_, n) = j.part { n } else { 0 }).sum();
        FileSample { jobs, sampled: sampled as u64, total: self.rows as u64, whole: picked.len() >= pieces }
    }

    fn row_count(&self) -> (Option<u64>, bool) {
        (Some(self.rows as u64), false)
    }
}

/// Several `.npy` files concatenate along axis 0, as `np.concatenate`
/// does: their trailing shapes must agree.
pub(crate) fn check_stackable(files: &[SourceFile]) -> Result<()> {
    let Some(first) = files.first() else { return Ok(()) };
    for f in &files[1..] {
        if f.schema.len() != first.schema.len() {
            return Err(Error::decode(
                &f.path,
                format!(
                    "cannot stack it ({} column{}) under {} ({} column{}): arrays concatenate along axis 0 \
                     only when the rest of their shape agrees",
                    f.schema.len(),
                    if f.schema.len() == 1 { "" } else { "s" },
                    first.path.display(),
                    first.schema.len(),
                    if first.schema.len() == 1 { "" } else { "s" },
                ),
            ));
        }
    }
    Ok(())
}
