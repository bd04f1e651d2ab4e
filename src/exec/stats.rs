//! What a run did, for `--stats` and `explain --analyze`.

use std::time::Duration;

/// Per-stage figures.
#[derive(Debug, Clone, Default)]
pub struct StageStats {
    /// The stage.
    pub id: usize,
    /// Chunks processed.
    pub chunks: usize,
    /// Rows read into the stage.
    pub rows_in: u64,
    /// Rows the stage output.
    pub rows_out: u64,
    /// Wall time of the stage.
    pub elapsed: Duration,
    /// Peak accounted memory during the stage (including what earlier
    /// stages still held for it).
    pub held_bytes: u64,
    /// Bytes written to spill files during the stage.
    pub spilled_bytes: u64,
    /// Spill files created during the stage.
    pub spill_files: u64,
}

/// Whole-run figures.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    /// Per stage, in execution order.
    pub stages: Vec<StageStats>,
    /// Wall time.
    pub elapsed: Duration,
    /// Bytes handed to parsers.
    pub bytes_read: u64,
    /// Malformed records skipped or nulled.
    pub bad_rows: u64,
    /// Whether the result went to the writer chunk by chunk as it was made.
    pub streamed: bool,
    /// The memory budget.
    pub memory_limit: u64,
    /// Peak accounted memory.
    pub peak_memory: u64,
    /// Bytes written to spill files.
    pub spilled_bytes: u64,
    /// Spill files created.
    pub spill_files: u64,
    /// Parts of partitioned joins joined piece by piece (skewed keys).
    pub skewed_parts: u64,
}

impl RunStats {
    /// The `--stats` report for stderr.
    pub fn render(&self) -> String {
        use crate::graph::human_bytes;
        let mut s = format!(
            "dq stats: {:.3}s total, {} read, peak memory {} of {} budget, spilled {} in {} file{}{}\n",
            self.elapsed.as_secs_f64(),
            human_bytes(self.bytes_read),
            human_bytes(self.peak_memory),
            human_bytes(self.memory_limit),
            human_bytes(self.spilled_bytes),
            self.spill_files,
            if self.spill_files == 1 { "" } else { "s" },
            if self.bad_rows > 0 { format!(", {} bad rows handled", self.bad_rows) } else { String::new() },
        );
        for st in &self.stages {
            s.push_str(&format!(
                "  stage {}: {:.3}s, {} chunks, {} rows in, {} rows out, peak memory {}, spilled {}\n",
                st.id,
                st.elapsed.as_secs_f64(),
                st.chunks,
                st.rows_in,
                st.rows_out,
                human_bytes(st.held_bytes),
                human_bytes(st.spilled_bytes),
            ));
        }
        s
    }

    /// The same figures as one JSON object (`--stats json`), with exact byte counts.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "elapsed_s": self.elapsed.as_secs_f64(),
            "bytes_read": self.bytes_read,
            "bad_rows": self.bad_rows,
            "memory_limit": self.memory_limit,
            "peak_memory": self.peak_memory,
            "spilled_bytes": self.spilled_bytes,
            "spill_files": self.spill_files,
            "skewed_parts": self.skewed_parts,
            "streamed": self.streamed,
            "stages": self.stages.iter().map(|st| serde_json::json!({
                "id": st.id,
                "elapsed_s": st.elapsed.as_secs_f64(),
                "chunks": st.chunks,
                "rows_in": st.rows_in,
                "rows_out": st.rows_out,
                "peak_memory": st.held_bytes,
                "spilled_bytes": st.spilled_bytes,
                "spill_files": st.spill_files,
            })).collect::<Vec<_>>(),
        })
    }
}
