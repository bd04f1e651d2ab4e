//! Spill files: frames written to disk when the memory budget is reached.
//!
//! All spill files of a run live in one directory, `dq-spill-XXXX` under
//! `--temp-dir`, made on the first spill. A [`SpillFile`] is a sequence of
//! blocks, each a complete Arrow IPC file compressed as a whole with LZ4,
//! appended one after the other; blocks are read back one at a time by byte
//! range. (Arrow's own per-buffer zstd runs at level 3: compressing took
//! half of an external sort's time. zstd at level 1 still took a fifth of
//! the CPU of a sort spilling 10 times its budget and its decompression
//! another 7%; LZ4 compresses several times faster for somewhat more bytes,
//! and spill files are written once and read once, soon after. A block too
//! large for LZ4's 2 GB input limit falls back to zstd at level 1.) A
//! spill file is deleted when dropped, and the directory when the run ends —
//! on success, on error and on Ctrl-C alike, since all three unwind through
//! the executor.

use std::fs::File;
use std::io::{Cursor, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::Error;

/// Default share of the free disk space under `--temp-dir` that spill
/// files may take, when `--max-spill` is not given.
pub const DEFAULT_DISK_FRACTION: f64 = 0.8;

/// zstd level for blocks past LZ4's input limit: the fastest regular level.
const ZSTD_LEVEL: i32 = 1;

/// How a block's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Codec {
    Lz4,
    Zstd,
}

impl Codec {
    /// LZ4 unless `raw` is past its input limit.
    fn for_len(raw: usize) -> Codec {
        if raw <= LZ4_MAX_INPUT {
            Codec::Lz4
        } else {
            Codec::Zstd
        }
    }

    fn compress(self, raw: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Codec::Lz4 => lz4::block::compress(raw, None, false),
            Codec::Zstd => zstd::bulk::compress(raw, ZSTD_LEVEL),
        }
    }

    fn decompress(self, bytes: &[u8], raw: usize) -> std::io::Result<Vec<u8>> {
        match self {
            // `raw` fits: `for_len` chose LZ4 only under its limit.
            Codec::Lz4 => lz4::block::decompress(bytes, Some(raw as i32)),
            Codec::Zstd => zstd::bulk::decompress(bytes, raw),
        }
    }
}

/// LZ4's largest input (`LZ4_MAX_INPUT_SIZE`).
const LZ4_MAX_INPUT: usize = 0x7E00_0000;

/// The spill directory of one run, with its limits and counters.
#[derive(Debug)]
pub struct SpillDir {
    parent: PathBuf,
    /// Most bytes that may be on disk at once (`None`: a share of the free
    /// space, measured on the first spill).
    max: Mutex<Option<u64>>,
    dir: Mutex<Option<(tempfile::TempDir, crate::cleanup::Registered)>>,
    live: AtomicU64,
    written: AtomicU64,
    files: AtomicU64,
    next: AtomicU64,
}

impl SpillDir {
    /// Spill under `parent`, at most `max` bytes at once (`None`: the default share of its free space).
    pub fn new(parent: PathBuf, max: Option<u64>) -> Self {
        SpillDir {
            parent,
            max: Mutex::new(max),
            dir: Mutex::new(None),
            live: AtomicU64::new(0),
            written: AtomicU64::new(0),
            files: AtomicU64::new(0),
            next: AtomicU64::new(0),
        }
    }

    /// Total bytes written to spill files during the run.
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Spill files created during the run.
    pub fn files_created(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// The run's spill directory, if it was made.
    pub fn path(&self) -> Option<PathBuf> {
        self.dir.lock().ok()?.as_ref().map(|(d, _)| d.path().to_path_buf())
    }

    /// A new, empty spill file.
    pub fn create(self: &Arc<Self>) -> Result<SpillFile, Error> {
        let dir = {
            // Errors here name the parent directly: `disk_error` would lock `dir` again.
            let parent_error = |message: String| Error::SpillDisk { dir: self.parent.clone(), needed: 0, message };
            let mut guard = self.dir.lock().map_err(|_| parent_error("lock poisoned".into()))?;
            if guard.is_none() {
                // Spill directories of runs that were killed go first.
                crate::cleanup::remove_stale(&self.parent, "dq-spill-");
                let d = tempfile::Builder::new()
                    .prefix(&crate::cleanup::prefix("dq-spill-"))
                    .tempdir_in(&self.parent)
                    .map_err(|e| parent_error(format!("cannot create a spill directory: {e}")))?;
                let registered = crate::cleanup::register(d.path());
                *guard = Some((d, registered));
            }
            guard.as_ref().map(|(d, _)| d.path().to_path_buf()).unwrap_or_default()
        };
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{n:06}.arrows"));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| self.disk_error(0, e.to_string()))?;
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(SpillFile { dir: self.clone(), path, file, len: 0, blocks: Vec::new() })
    }

    fn limit(&self) -> u64 {
        let Ok(mut max) = self.max.lock() else { return u64::MAX };
        *max.get_or_insert_with(|| {
            let free = free_disk_bytes(&self.parent).unwrap_or(u64::MAX);
            (free as f64 * DEFAULT_DISK_FRACTION) as u64
        })
    }

    /// Charges `bytes` about to be written, or fails past `--max-spill`.
    fn charge(&self, bytes: u64) -> Result<(), Error> {
        let live = self.live.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let limit = self.limit();
        if live > limit {
            self.live.fetch_sub(bytes, Ordering::Relaxed);
            return Err(Error::SpillLimit { dir: self.shown_path(), limit, needed: live });
        }
        self.written.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    fn shown_path(&self) -> PathBuf {
        self.path().unwrap_or_else(|| self.parent.clone())
    }

    fn disk_error(&self, needed: u64, message: String) -> Error {
        Error::SpillDisk { dir: self.shown_path(), needed, message }
    }
}

/// Free bytes on the file system holding `path`.
fn free_disk_bytes(path: &Path) -> Option<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a plain C struct
    // that statvfs fills in; nothing else is touched.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
}

/// A frame encoded as a spill block, not yet written.
#[derive(Debug)]
pub struct Encoded {
    bytes: Vec<u8>,
    codec: Codec,
    raw: usize,
    rows: usize,
    mem: u64,
}

/// Encodes a frame as a block: Arrow IPC, then LZ4 (`None` for no rows).
pub fn encode(df: &mut DataFrame) -> Result<Option<Encoded>, String> {
    if df.height() == 0 {
        return Ok(None);
    }
    let mut ipc = Vec::new();
    IpcWriter::new(&mut ipc).finish(df).map_err(|e| e.to_string())?;
    let codec = Codec::for_len(ipc.len());
    let bytes = codec.compress(&ipc).map_err(|e| e.to_string())?;
    Ok(Some(Encoded { bytes, codec, raw: ipc.len(), rows: df.height(), mem: df.estimated_size() as u64 }))
}

/// One block of a spill file.
#[derive(Debug, Clone, Copy)]
struct Block {
    offset: u64,
    len: u64,
    codec: Codec,
    /// Bytes of the IPC file before compression.
    raw: usize,
    rows: usize,
    /// Estimated size in memory once read back.
    mem: u64,
}

/// A sequence of frames on disk; deleted when dropped.
#[derive(Debug)]
pub struct SpillFile {
    dir: Arc<SpillDir>,
    path: PathBuf,
    file: File,
    len: u64,
    blocks: Vec<Block>,
}

impl SpillFile {
    /// Appends one frame as a block.
    pub fn append(&mut self, df: &mut DataFrame) -> Result<(), Error> {
        let block = encode(df).map_err(|e| self.dir.disk_error(0, e))?;
        self.append_encoded(block)
    }

    /// The error for a block that could not be encoded.
    pub fn failed(&self, message: String) -> Error {
        self.dir.disk_error(0, message)
    }

    /// Appends a block made by [`encode`] (which may run in parallel).
    pub fn append_encoded(&mut self, block: Option<Encoded>) -> Result<(), Error> {
        let Some(block) = block else { return Ok(()) };
        let len = block.bytes.len() as u64;
        self.dir.charge(len)?;
        if let Err(e) = self.file.write_all(&block.bytes) {
            return Err(self.dir.disk_error(len, e.to_string()));
        }
        self.blocks.push(Block {
            offset: self.len,
            len,
            codec: block.codec,
            raw: block.raw,
            rows: block.rows,
            mem: block.mem,
        });
        self.len += len;
        Ok(())
    }

    /// Blocks in the file.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Rows in all blocks.
    pub fn rows(&self) -> usize {
        self.blocks.iter().map(|b| b.rows).sum()
    }

    /// Estimated size in memory of all blocks read back.
    pub fn mem_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.mem).sum()
    }

    /// Estimated size in memory of block `i`.
    pub fn block_mem(&self, i: usize) -> u64 {
        self.blocks[i].mem
    }

    /// Reads block `i`.
    pub fn read(&self, i: usize) -> Result<DataFrame, Error> {
        let b = self.blocks[i];
        let mut buf = vec![0u8; b.len as usize];
        self.file.read_exact_at(&mut buf, b.offset).map_err(|e| self.read_error(e.to_string()))?;
        let ipc = b.codec.decompress(&buf, b.raw).map_err(|e| self.read_error(e.to_string()))?;
        IpcReader::new(Cursor::new(ipc)).finish().map_err(|e| self.read_error(e.to_string()))
    }

    fn read_error(&self, message: String) -> Error {
        Error::SpillDisk { dir: self.path.clone(), needed: 0, message: format!("reading back a spill file: {message}") }
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        self.dir.live.fetch_sub(self.len, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_files_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Arc::new(SpillDir::new(tmp.path().to_path_buf(), None));
        let mut f = dir.create().unwrap();
        let mut a = df!("x" => [1i64, 2, 3], "s" => ["a", "b", "c"]).unwrap();
        let mut b = df!("x" => [4i64], "s" => [None::<&str>]).unwrap();
        f.append(&mut a).unwrap();
        f.append(&mut b).unwrap();
        assert_eq!((f.blocks(), f.rows()), (2, 4));
        assert!(f.read(1).unwrap().equals_missing(&b));
        assert!(f.read(0).unwrap().equals(&a));
        let path = f.path.clone();
        drop(f);
        assert!(!path.exists());
        assert!(dir.bytes_written() > 0);
        assert_eq!(dir.live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn both_codecs_round_trip_and_lz4_is_chosen_under_its_limit() {
        let mut df = df!("x" => (0..5000i64).collect::<Vec<_>>(), "s" => (0..5000).map(|i| format!("id{:03}", i % 97)).collect::<Vec<_>>()).unwrap();
        let mut ipc = Vec::new();
        IpcWriter::new(&mut ipc).finish(&mut df).unwrap();
        for codec in [Codec::Lz4, Codec::Zstd] {
            let bytes = codec.compress(&ipc).unwrap();
            assert!(bytes.len() < ipc.len() / 2, "{codec:?}: {} of {}", bytes.len(), ipc.len());
            assert_eq!(codec.decompress(&bytes, ipc.len()).unwrap(), ipc, "{codec:?}");
        }
        assert_eq!(Codec::for_len(ipc.len()), Codec::Lz4);
        assert_eq!(Codec::for_len(LZ4_MAX_INPUT), Codec::Lz4);
        assert_eq!(Codec::for_len(LZ4_MAX_INPUT + 1), Codec::Zstd);
    }

    #[test]
    fn max_spill_is_enforced() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Arc::new(SpillDir::new(tmp.path().to_path_buf(), Some(10)));
        let mut f = dir.create().unwrap();
        let mut a = df!("x" => (0..1000i64).collect::<Vec<_>>()).unwrap();
        assert!(matches!(f.append(&mut a), Err(Error::SpillLimit { limit: 10, .. })));
    }
}
