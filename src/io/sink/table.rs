//! Tables for people: a boxed table for terminals and a Markdown table.
//!
//! A terminal table fits the terminal, as DuckDB's and polars' do: long text
//! is cut with "…" (numbers never are), and when the columns are still too
//! wide the middle ones are left out, in a "…" column, and counted below.
//! null, the empty text and the text "null" each look different. Floats
//! are written in full (the shortest text that reads back as the same
//! number, as in CSV), in both kinds of table.

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use polars::prelude::*;

/// Characters shown of one text cell in a terminal table.
const MAX_CELL: usize = 40;

/// One cell's text; `None` for null.
fn cell(v: AnyValue) -> Option<String> {
    Some(match v {
        AnyValue::Null => return None,
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        AnyValue::Float64(x) => float(x),
        AnyValue::Float32(x) => float(f64::from(x)),
        other => other.to_string(),
    })
}

fn float(x: f64) -> String {
    if x.is_finite() {
        ryu::Buffer::new().format(x).to_string()
    } else {
        x.to_string()
    }
}

/// The rows of `frames`, as cell texts.
fn cells(frames: &[DataFrame]) -> Vec<Vec<Option<String>>> {
    let mut rows = Vec::new();
    for df in frames {
        let cols = df.get_columns();
        for i in 0..df.height() {
            rows.push(cols.iter().map(|c| c.get(i).ok().and_then(cell)).collect());
        }
    }
    rows
}

/// A Markdown pipe table: every value in full, null as an empty cell.
pub(super) fn markdown(schema: &Schema, frames: &[DataFrame], total_rows: usize) -> String {
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let rows = cells(frames);
    let mut s = format!("| {} |\n|{}\n", names.join(" | "), " --- |".repeat(names.len()));
    for r in &rows {
        let escaped: Vec<String> =
            r.iter().map(|c| c.as_deref().unwrap_or("").replace('|', "\\|").replace('\n', " ")).collect();
        s.push_str(&format!("| {} |\n", escaped.join(" | ")));
    }
    if total_rows > rows.len() {
        s.push_str(&format!("{total_rows} rows × {} columns, showing the first {}\n", names.len(), rows.len()));
    }
    s
}

/// A terminal cell: null as `null`, the empty text as `""`, the text
/// `null` quoted, long text cut.
fn shown(c: &Option<String>, text: bool) -> String {
    match c.as_deref() {
        None => "null".into(),
        Some("") if text => "\"\"".into(),
        Some("null") if text => "\"null\"".into(),
        Some(s) if text && s.chars().count() > MAX_CELL => {
            let cut: String = s.chars().take(MAX_CELL - 1).collect();
            format!("{cut}…")
        }
        Some(s) => s.replace('\n', "↵"),
    }
}

/// A boxed table for a terminal `width` columns wide (unknown: no fitting).
pub(super) fn boxed(
    schema: &Schema,
    frames: &[DataFrame],
    total_rows: usize,
    max_rows: usize,
    width: Option<u16>,
) -> String {
    let is_text: Vec<bool> = schema.iter_values().map(|t| matches!(t, DataType::String)).collect();
    let rows: Vec<Vec<String>> =
        cells(frames).iter().map(|r| r.iter().zip(&is_text).map(|(c, &t)| shown(c, t)).collect()).collect();
    let headers: Vec<(String, String)> =
        schema.iter().map(|(n, dt)| (n.to_string(), crate::io::type_name(dt))).collect();
    // Each column's width with its borders and padding.
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, (n, t))| {
            let cells = rows.iter().map(|r| r[i].chars().count());
            cells.chain([n.chars().count(), t.chars().count()]).max().unwrap_or(0) + 3
        })
        .collect();
    // A pty without a size says 0: then nothing is fitted.
    let kept = match width {
        Some(w) if w >= 40 => columns_that_fit(&widths, usize::from(w)),
        _ => (0..widths.len()).collect(),
    };
    let elided = widths.len() - kept.len();
    let gap = kept.windows(2).position(|p| p[1] != p[0] + 1).map(|i| i + 1);
    let order: Vec<Option<usize>> = match gap {
        Some(at) => {
            kept[..at].iter().map(|&i| Some(i)).chain([None]).chain(kept[at..].iter().map(|&i| Some(i))).collect()
        }
        None if elided > 0 => kept.iter().map(|&i| Some(i)).chain([None]).collect(),
        None => kept.iter().map(|&i| Some(i)).collect(),
    };
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(order.iter().map(|c| match c {
        Some(i) => format!("{}\n{}", headers[*i].0, headers[*i].1),
        None => "…".into(),
    }));
    for (at, c) in order.iter().enumerate() {
        let numeric = c.and_then(|i| schema.get_at_index(i)).is_some_and(|(_, dt)| dt.is_primitive_numeric());
        if let (true, Some(column)) = (numeric, table.column_mut(at)) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    for r in &rows {
        table.add_row(order.iter().map(|c| c.map_or("…".to_string(), |i| r[i].clone())));
    }
    let mut text = format!("{table}\n{total_rows} rows × {} columns", headers.len());
    if total_rows > max_rows {
        text.push_str(&format!(", showing the first {max_rows}"));
    }
    if elided > 0 {
        text.push_str(&format!(", {elided} not shown"));
    }
    if total_rows > max_rows || elided > 0 {
        text.push_str("; use --format csv or -o for all");
    }
    text.push('\n');
    text
}

/// The columns to show in `total` characters: the first and the last,
/// then alternately from the left and the right while they fit beside a
/// "…" column (all of them when they fit as they are).
fn columns_that_fit(widths: &[usize], total: usize) -> Vec<usize> {
    // The table's left border.
    if widths.iter().sum::<usize>() < total {
        return (0..widths.len()).collect();
    }
    let budget = total.saturating_sub(1 + 4);
    let (mut left, mut right) = (0usize, widths.len());
    let mut used = 0;
    let mut from_left = true;
    while left < right {
        let next = if from_left { left } else { right - 1 };
        if used + widths[next] > budget {
            // The first column is shown whatever its width.
            if left == 0 && right == widths.len() {
                left = 1;
            }
            break;
        }
        used += widths[next];
        if from_left {
            left += 1;
        } else {
            right -= 1;
        }
        from_left = !from_left;
    }
    (0..left).chain(right..widths.len()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middle_columns_go_first() {
        assert_eq!(columns_that_fit(&[10, 10, 10], 100), vec![0, 1, 2]);
        // 5 + 10 + 10 fit in 26 of 30; a third column does not.
        assert_eq!(columns_that_fit(&[10, 10, 10, 10, 10], 30), vec![0, 4]);
        assert_eq!(columns_that_fit(&[10, 10, 10, 10, 10], 40), vec![0, 1, 4]);
        // The first column is shown even when it alone is too wide.
        assert_eq!(columns_that_fit(&[100, 10], 40), vec![0]);
    }

    #[test]
    fn null_empty_and_the_text_null_differ() {
        assert_eq!(shown(&None, true), "null");
        assert_eq!(shown(&Some(String::new()), true), "\"\"");
        assert_eq!(shown(&Some("null".into()), true), "\"null\"");
        let long = "x".repeat(100);
        assert_eq!(shown(&Some(long), true).chars().count(), MAX_CELL);
        assert_eq!(float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float(123_456_789.123_456_79), "123456789.12345679");
    }
}
