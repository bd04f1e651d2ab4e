//! `write "dir/" (partition_by=[k1, k2])`: rows split by their keys' values
//! into Hive-style directories, `dir/k1=v1/k2=v2/part-0.parquet`, the keys
//! left out of the files (their directories hold them; a scan of
//! `dir/**/*.parquet` restores them, see [`crate::io::hive`]).
//!
//! Memory stays bounded: each frame is split and its pieces appended to
//! their partition's open file as it arrives. At most [`MAX_OPEN`] files
//! are open at once; when another partition needs one, the file used
//! longest ago is finished, and that partition's next rows start
//! `part-1`, `part-2`, ….
//!
//! The whole directory appears at once: files are written under a
//! temporary directory beside `dir`, which replaces `dir` when the run
//! succeeds and is removed when it does not.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::{OutputFormat, ResultWriter};
use crate::io::hive;
use crate::io::{Error, Result};

/// Partition files open at once (each has a writer thread).
const MAX_OPEN: usize = 64;

/// A partitioned result being written.
pub struct PartitionedWriter {
    dest: PathBuf,
    staging: tempfile::TempDir,
    _registered: crate::cleanup::Registered,
    keys: Vec<String>,
    format: OutputFormat,
    open: HashMap<PathBuf, Open>,
    /// Files started so far per partition directory.
    parts: HashMap<PathBuf, usize>,
    tick: u64,
    rows: u64,
}

struct Open {
    writer: ResultWriter,
    last_used: u64,
}

impl PartitionedWriter {
    /// Starts writing into a temporary directory beside `dest`.
    ///
    /// # Errors
    /// [`Error::Write`] when `dest` is a file or its parent cannot be made.
    pub fn create(dest: &Path, keys: Vec<String>, format: OutputFormat) -> Result<Self> {
        if dest.is_file() {
            return Err(Error::write(dest, "it is a file; a partitioned write makes a directory"));
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::write(dest, e))?;
        crate::cleanup::remove_stale(&parent, ".dq-partial-");
        let staging = tempfile::Builder::new()
            .prefix(&crate::cleanup::prefix(".dq-partial-"))
            .tempdir_in(&parent)
            .map_err(|e| Error::write(dest, e))?;
        let _registered = crate::cleanup::register(staging.path());
        Ok(PartitionedWriter {
            dest: dest.to_path_buf(),
            staging,
            _registered,
            keys,
            format,
            open: HashMap::new(),
            parts: HashMap::new(),
            tick: 0,
            rows: 0,
        })
    }

    /// Appends `df`'s rows to their partitions' files.
    ///
    /// # Errors
    /// Write errors, and key columns missing from `df`.
    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        let keys: Vec<&Column> =
            self.keys.iter().map(|k| df.column(k)).collect::<PolarsResult<_>>().map_err(|e| self.error(e))?;
        let groups = crate::ops::group_rows(&keys)
            .ok_or_else(|| Error::write(&self.dest, "partition keys must be text, integers, booleans or dates"))?;
        let mut rows: Vec<Vec<IdxSize>> = vec![Vec::new(); groups.len()];
        for (row, &g) in groups.ids.iter().enumerate() {
            rows[g as usize].push(row as IdxSize);
        }
        let data = df.drop_many(self.keys.iter().map(String::as_str));
        for (g, rows) in rows.into_iter().enumerate() {
            let first = groups.first[g] as usize;
            let dir = self.directory(&keys, first)?;
            let piece = data.take(&IdxCa::from_vec("".into(), rows)).map_err(|e| self.error(e))?;
            self.rows += piece.height() as u64;
            self.writer(dir, piece.schema())?.write(&piece)?;
        }
        Ok(())
    }

    /// The directory of the partition holding row `row`: `k1=v1/k2=v2`.
    fn directory(&self, keys: &[&Column], row: usize) -> Result<PathBuf> {
        let mut dir = PathBuf::new();
        for (name, column) in self.keys.iter().zip(keys) {
            let value = column.get(row).map_err(|e| self.error(e))?;
            let text = match value {
                AnyValue::Null => hive::NULL_VALUE.to_string(),
                AnyValue::String(s) => hive::encode(s),
                AnyValue::StringOwned(s) => hive::encode(&s),
                other => hive::encode(&other.to_string()),
            };
            dir.push(format!("{}={text}", hive::encode(name)));
        }
        Ok(dir)
    }

    /// The open writer of partition `dir`, opening its next part file
    /// (and finishing the least recently used one) when it has none.
    fn writer(&mut self, dir: PathBuf, schema: &Schema) -> Result<&mut ResultWriter> {
        self.tick += 1;
        if !self.open.contains_key(&dir) {
            if self.open.len() >= MAX_OPEN {
                let oldest = self.open.iter().min_by_key(|(_, o)| o.last_used).map(|(d, _)| d.clone());
                if let Some(o) = oldest.and_then(|d| self.open.remove(&d)) {
                    o.writer.finish()?;
                }
            }
            let part = self.parts.entry(dir.clone()).or_insert(0);
            let name = format!("part-{part}.{}", self.format.extension());
            *part += 1;
            let folder = self.staging.path().join(&dir);
            std::fs::create_dir_all(&folder).map_err(|e| Error::write(&folder, e))?;
            let path = folder.join(name);
            let file = std::fs::File::create(&path).map_err(|e| Error::write(&path, e))?;
            let writer = ResultWriter::new(self.format, Box::new(file), &path, schema, usize::MAX)?;
            self.open.insert(dir.clone(), Open { writer, last_used: 0 });
        }
        let open = self.open.get_mut(&dir).ok_or_else(|| Error::write(&dir, "internal: writer missing"))?;
        open.last_used = self.tick;
        Ok(&mut open.writer)
    }

    /// Finishes every file and puts the directory in place of `dest`
    /// (replacing what was there). Returns the rows written.
    ///
    /// # Errors
    /// Write and rename errors; `dest` is left as it was.
    pub fn finish(mut self) -> Result<u64> {
        for (_, o) in self.open.drain() {
            o.writer.finish()?;
        }
        let staging = self.staging.keep();
        let result = replace_dir(&staging, &self.dest);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result.map(|()| self.rows)
    }

    fn error(&self, e: PolarsError) -> Error {
        Error::write(&self.dest, e)
    }
}

/// Puts directory `new` at `dest`: renamed into place, an existing `dest`
/// moved aside first and removed after.
fn replace_dir(new: &Path, dest: &Path) -> Result<()> {
    if !dest.exists() {
        return std::fs::rename(new, dest).map_err(|e| Error::write(dest, e));
    }
    if !dest.is_dir() {
        return Err(Error::write(dest, "it is a file; a partitioned write makes a directory"));
    }
    let aside = new.with_extension("old");
    std::fs::rename(dest, &aside).map_err(|e| Error::write(dest, e))?;
    if let Err(e) = std::fs::rename(new, dest) {
        let _ = std::fs::rename(&aside, dest);
        return Err(Error::write(dest, e));
    }
    let _ = std::fs::remove_dir_all(&aside);
    Ok(())
}
