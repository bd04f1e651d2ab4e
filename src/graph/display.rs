//! Printing the task graph: an indented text outline for `explain`, and
//! Graphviz DOT for `explain --dot`.

use std::fmt::Write;

use super::{StageInput, TaskGraph};

/// Bytes for people: `12.3 MiB`.
pub fn human_bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// The task graph as text: one block per stage with its input (tasks,
/// bytes, columns read, row groups pruned), fused ops and sink.
pub fn explain_text(graph: &TaskGraph, chunk_size: usize) -> String {
    explain_stages(graph, chunk_size).concat()
}

/// [`explain_text`] as one block per stage, for annotating each.
pub fn explain_stages(graph: &TaskGraph, chunk_size: usize) -> Vec<String> {
    let mut blocks = Vec::new();
    for stage in &graph.stages {
        let mut out = String::new();
        let _ = writeln!(out, "stage {}:", stage.id);
        match &stage.input {
            StageInput::Scan(scan) => {
                let summary = scan.source.plan(chunk_size, &scan.stats_filters);
                let cols = match &scan.projection {
                    Some(c) => format!("[{}]", c.join(", ")),
                    None => "*".into(),
                };
                let approx = if summary.estimated { "≈" } else { "" };
                let mut tasks = format!("{approx}{} task{}", summary.tasks, if summary.tasks == 1 { "" } else { "s" });
                if summary.streamed_files > 0 {
                    let _ = write!(
                        tasks,
                        " + {} streamed file{} (chunked while decompressing)",
                        summary.streamed_files,
                        if summary.streamed_files == 1 { "" } else { "s" }
                    );
                }
                let _ = writeln!(
                    out,
                    "  input: scan {:?} ({} file{}, {}) → {tasks}",
                    scan.source.pattern,
                    scan.source.files.len(),
                    if scan.source.files.len() == 1 { "" } else { "s" },
                    human_bytes(summary.bytes),
                );
                let _ = writeln!(out, "  columns read: {cols}");
                if summary.row_groups > 0 {
                    let _ = writeln!(
                        out,
                        "  row groups: {} of {} pruned by statistics",
                        summary.row_groups_pruned, summary.row_groups
                    );
                }
                if !scan.source.partitions.columns.is_empty() {
                    let names: Vec<&str> = scan.source.partitions.columns.iter().map(|(n, _)| n.as_str()).collect();
                    let _ = writeln!(
                        out,
                        "  partitions ({}): {} of {} files pruned by their directories",
                        names.join(", "),
                        summary.files_pruned,
                        scan.source.files.len()
                    );
                }
                if !scan.stats_filters.is_empty() {
                    let f: Vec<String> = scan.stats_filters.iter().map(|f| f.to_string()).collect();
                    let _ = writeln!(out, "  statistics filters: {}", f.join(", "));
                }
                if !scan.dictionaries.is_empty() {
                    let keys: Vec<&str> = scan.dictionaries.iter().map(|(k, _)| k.as_str()).collect();
                    let _ = writeln!(out, "  group keys read as dictionary ids where encoded so: {}", keys.join(", "));
                }
            }
            StageInput::Stages(ids) => {
                let ids: Vec<String> = ids.iter().map(|i| format!("stage {i}")).collect();
                let _ = writeln!(out, "  input: output of {}", ids.join(" + "));
            }
        }
        for side in &stage.side_inputs {
            let _ = writeln!(out, "  side input: output of stage {side} (join build side)");
        }
        for op in &stage.ops {
            let _ = writeln!(out, "  → {}", op.describe());
        }
        let _ = writeln!(out, "  ⇒ {}", stage.sink.describe());
        blocks.push(out);
    }
    blocks
}

/// The task graph in Graphviz DOT.
pub fn to_dot(graph: &TaskGraph, chunk_size: usize) -> String {
    let mut out = String::from("digraph dq {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    for stage in &graph.stages {
        let mut label = format!("stage {}\\n", stage.id);
        if let StageInput::Scan(scan) = &stage.input {
            let s = scan.source.plan(chunk_size, &scan.stats_filters);
            let _ = write!(label, "scan {} ({} tasks)\\n", scan.source.pattern.replace('"', "'"), s.tasks);
        }
        for op in &stage.ops {
            let _ = write!(label, "{}\\n", op.name());
        }
        let _ = write!(label, "⇒ {}", stage.sink.name());
        let _ = writeln!(out, "  s{} [label=\"{}\"];", stage.id, label);
        if let StageInput::Stages(ids) = &stage.input {
            for i in ids {
                let _ = writeln!(out, "  s{i} -> s{};", stage.id);
            }
        }
        for side in &stage.side_inputs {
            let _ = writeln!(out, "  s{side} -> s{} [style=dashed, label=\"build side\"];", stage.id);
        }
    }
    out.push_str("}\n");
    out
}
