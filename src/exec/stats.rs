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
    /// Estimated bytes the stage held at its peak: its partials or its
    /// output (whichever is larger) plus its side inputs.
    pub held_bytes: u64,
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
}

impl RunStats {
    /// A short report for stderr.
    pub fn render(&self) -> String {
        let mut s = format!(
            "total {:.3}s, {} bytes read, {} bad rows handled{}\n",
            self.elapsed.as_secs_f64(),
            self.bytes_read,
            self.bad_rows,
            if self.streamed { ", result streamed to the output chunk by chunk" } else { "" }
        );
        for st in &self.stages {
            s.push_str(&format!(
                "  stage {}: {} chunks, {} rows in, {} rows out, {:.3}s\n",
                st.id,
                st.chunks,
                st.rows_in,
                st.rows_out,
                st.elapsed.as_secs_f64()
            ));
        }
        s
    }
}
