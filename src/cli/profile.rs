//! `dq profile`: per-column statistics of files, in three tiers.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::Instant;

use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table};
use serde_json::{json, Value};

use super::args::ScanFlags;
use super::args::{parse_size, ExecArgs};
use super::usage;
use super::SourceText;
use crate::io::{type_name, ReadSettings, Source};
use crate::ops::profile::{sparkline, ColumnReport, DistinctCount, TableProfile, QUANTILES};
use crate::{exec, Error};

/// Profile files: types, nulls, distinct counts, min/max, mean/std,
/// quantiles, frequent values, string lengths and a histogram per column.
///
/// Tiers:
///   (default)      one parallel pass over all rows with bounded-memory sketches
///   --sample 1%    random pieces spread over the input; counts extrapolated
///   --metadata     only what file metadata gives (Parquet footers, file sizes)
///
/// Examples:
///
///     dq profile testdata/trips.parquet
///     dq profile "logs/*.csv.zst" --sample 5% --format json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files or globs, profiled together.
    #[arg(required_unless_present = "program", value_name = "PATH_OR_GLOB")]
    paths: Vec<String>,
    /// Profile the result of a pipeline instead (`scan … | filter …`): one
    /// pass over its rows.
    #[arg(short = 'e', long = "program", value_name = "PIPELINE", conflicts_with_all = ["paths", "metadata", "sample"])]
    program: Option<String>,
    #[command(flatten)]
    scan: ScanFlags,
    /// Only read file metadata (Parquet footers, file sizes): seconds, whatever the size.
    #[arg(long, conflicts_with = "sample")]
    metadata: bool,
    /// Profile a random sample: a fraction (0.01 or 1%) or a size (200MB).
    #[arg(long, value_name = "FRACTION|SIZE")]
    sample: Option<String>,
    /// Seed for --sample.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    format: Option<ProfileFormat>,
    #[command(flatten)]
    exec: ExecArgs,
}

/// Profile output formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum ProfileFormat {
    /// A table for people.
    Table,
    /// One JSON document (keys documented in docs/profile.md).
    Json,
    /// One CSV row per column.
    Csv,
}

/// A finished profile, whatever the tier.
struct Profile {
    tier: &'static str,
    basis: String,
    rows: Option<u64>,
    rows_estimated: bool,
    /// (path, bytes, rows, rows estimated)
    files: Vec<(String, u64, Option<u64>, bool)>,
    columns: Vec<ColumnReport>,
    elapsed: f64,
}

fn fraction_of(spec: &str, total: u64) -> Result<f64, Error> {
    let s = spec.trim();
    let f = if let Some(p) = s.strip_suffix('%') {
        p.trim().parse::<f64>().map(|v| v / 100.0).ok()
    } else if let Ok(v) = s.parse::<f64>() {
        Some(v)
    } else {
        parse_size(s).ok().map(|b| b as f64 / total.max(1) as f64)
    };
    match f {
        Some(f) if f > 0.0 => Ok(f.min(1.0)),
        _ => Err(usage(format!("--sample takes a fraction (0.01), a percentage (1%) or a size (200MB), not `{spec}`"))),
    }
}

/// Nulls as a percentage of the rows, when both are known.
fn null_pct(c: &ColumnReport) -> Option<f64> {
    c.nulls.filter(|_| c.rows > 0).map(|n| 100.0 * n as f64 / c.rows as f64)
}

/// Runs `dq profile`.
pub fn run(args: &Args, text: &mut Option<SourceText>) -> Result<(), Error> {
    let config = args.exec.config()?;
    let started = Instant::now();
    if let Some(program) = &args.program {
        let src = SourceText { name: "<command line>".into(), text: program.clone() };
        *text = Some(src.clone());
        let mut profile = of_pipeline(&src.text, args, config)?;
        profile.elapsed = started.elapsed().as_secs_f64();
        return print(&profile, args.format);
    }
    let source = Source::open_all(&args.paths, &args.scan.scan_options(text)?)?;
    super::warn(&source.warnings(), args.exec.quiet);
    let files: Vec<(String, u64)> = source.files.iter().map(|f| (f.path.display().to_string(), f.size)).collect();
    let mut profile = if args.metadata {
        let (metas, cols) = source.metadata();
        let rows = metas.iter().map(|m| m.rows).sum::<Option<u64>>();
        let estimated = metas.iter().any(|m| m.estimated);
        let columns = cols
            .into_iter()
            .map(|c| ColumnReport {
                name: c.name,
                dtype: c.dtype,
                rows: rows.unwrap_or(0),
                nulls: c.nulls,
                distinct: DistinctCount { value: 0, exact: false, error: f64::NAN },
                min: c.min,
                max: c.max,
                mean: None,
                std: None,
                quantiles: vec![],
                quantiles_exact: false,
                top: vec![],
                top_error: 0,
                lengths: None,
                histogram: vec![],
            })
            .collect();
        Profile {
            tier: "metadata",
            basis: "file metadata only: Parquet footers (rows, nulls, min/max); text row counts estimated from the first MiB".into(),
            rows,
            rows_estimated: estimated,
            files: files.iter().zip(&metas).map(|((p, b), m)| (p.clone(), *b, m.rows, m.estimated)).collect(),
            columns,
            elapsed: 0.0,
        }
    } else {
        let reporter = args.exec.reporter();
        let progress = reporter.as_ref().map(|r| r.progress()).unwrap_or_default();
        progress.total_bytes.store(source.total_bytes(), Ordering::Relaxed);
        progress.stages.store(1, Ordering::Relaxed);
        progress.enter_stage(0, format!("profile {}", source.pattern));
        let settings =
            ReadSettings::new(config.chunk_size, config.bad_rows).with_disk_counter(progress.disk_bytes.clone());
        // Per-chunk states share what earlier chunks learned about each column.
        let seed_profile = TableProfile::new(&source.schema);
        let init = || seed_profile.fresh(&source.schema);
        let cancel = super::cancel_flag();
        let fold = |p: &mut TableProfile, df: polars::prelude::DataFrame, file: usize| {
            if cancel.load(Ordering::Relaxed) {
                return Err(exec::Error::Interrupted);
            }
            progress.rows.fetch_add(df.height() as u64, Ordering::Relaxed);
            p.update(&df, file).map_err(|e| exec::Error::Compute {
                stage: 0,
                op: "profile".into(),
                message: e.to_string(),
            })
        };
        let merge = |a: &mut TableProfile, b: TableProfile| a.merge(b);
        match &args.sample {
            None => {
                let jobs = source.chunks(&settings, &[]);
                let p = exec::fold_chunks(&source, jobs, &settings, config.threads, init, fold, merge)?;
                let per_file: Vec<(String, u64, Option<u64>, bool)> = files
                    .iter()
                    .enumerate()
                    .map(|(i, (path, b))| (path.clone(), *b, Some(*p.rows_per_file.get(&i).unwrap_or(&0)), false))
                    .collect();
                Profile {
                    tier: "full",
                    basis: "one pass over all rows".into(),
                    rows: Some(p.rows_per_file.values().sum()),
                    rows_estimated: false,
                    files: per_file,
                    columns: p.finish(),
                    elapsed: 0.0,
                }
            }
            Some(spec) => {
                let fraction = fraction_of(spec, source.total_bytes())?;
                // About 16 pieces per sample so it spreads over the file,
                // each big enough to amortize finding a record boundary.
                let want = (source.total_bytes() as f64 * fraction) as usize;
                let piece = (want / 16).clamp(16 << 10, 4 << 20);
                let (jobs, basis) = source.sample_jobs(fraction, piece, args.seed);
                let sampled: u64 = jobs
                    .iter()
                    .map(|j| match j.part {
                        crate::io::Part::Bytes(start, end) => (end - start) as u64,
                        _ => 0,
                    })
                    .sum();
                if sampled > 0 {
                    progress.total_bytes.store(sampled, Ordering::Relaxed);
                }
                let p =
                    exec::fold_chunks(&source, jobs.into_iter().map(Ok), &settings, config.threads, init, fold, merge)?;
                let mut per_file = Vec::new();
                let (mut total, mut any_estimate) = (0u64, false);
                for (i, (path, b)) in files.iter().enumerate() {
                    let seen = *p.rows_per_file.get(&i).unwrap_or(&0);
                    let (rows, est) = if basis.whole[i] || basis.sampled_bytes[i] == 0 {
                        (seen, false)
                    } else {
                        (
                            (seen as f64 * basis.total_bytes[i] as f64 / basis.sampled_bytes[i] as f64).round() as u64,
                            true,
                        )
                    };
                    total += rows;
                    any_estimate |= est;
                    per_file.push((path.clone(), *b, Some(rows), est));
                }
                let sampled: u64 = p.rows_per_file.values().sum();
                // What was read, which the pieces' record boundaries (and
                // files read whole) make more than was asked for.
                let read: u64 = basis.sampled_bytes.iter().sum();
                let of: u64 = basis.total_bytes.iter().sum();
                let share = if of == 0 { fraction } else { read as f64 / of as f64 };
                Profile {
                    tier: "sample",
                    basis: format!(
                        "{sampled} sampled rows ({:.1}% of the input read, {:.1}% asked for; pieces spread over each file); row counts extrapolated by bytes (Parquet: by rows); nulls, distinct counts, top values and every other statistic describe the sample",
                        share * 100.0,
                        fraction * 100.0
                    ),
                    rows: Some(total),
                    rows_estimated: any_estimate,
                    files: per_file,
                    columns: p.finish(),
                    elapsed: 0.0,
                }
            }
        }
    };
    profile.elapsed = started.elapsed().as_secs_f64();
    print(&profile, args.format)
}

/// The full-tier profile of a pipeline's result rows, folded as they come.
fn of_pipeline(program: &str, args: &Args, config: exec::ExecConfig) -> Result<Profile, Error> {
    let compiled = crate::pipeline::compile_for(program, &crate::lang::Params::new(), &config)?;
    if compiled.write.is_some() {
        return Err(usage("a profiled pipeline ends before `write`: its rows go to the profile"));
    }
    super::warn(&compiled.sources.warnings(), args.exec.quiet);
    let schema = crate::graph::output_schema(&compiled.optimized);
    let mut profile = TableProfile::new(&schema);
    // Pass-through results arrive as they are made, the rest at the end.
    let (frames, _) = {
        let mut emit = |df: polars::prelude::DataFrame| -> Result<(), crate::io::Error> {
            profile.update(&df, 0).map_err(|e| crate::io::Error::Unsupported { message: format!("profile: {e}") })
        };
        crate::pipeline::execute(&compiled, &crate::pipeline::Backend::Local(config), Some(&mut emit))?
    };
    for df in &frames {
        profile.update(df, 0).map_err(|e| crate::internal!("profile: {e}"))?;
    }
    let rows: u64 = profile.rows_per_file.values().sum();
    Ok(Profile {
        tier: "full",
        basis: "one pass over the pipeline's result rows".into(),
        rows: Some(rows),
        rows_estimated: false,
        files: Vec::new(),
        columns: profile.finish(),
        elapsed: 0.0,
    })
}

/// Prints `profile` in `format` (a table on a terminal, JSON otherwise).
fn print(profile: &Profile, format: Option<ProfileFormat>) -> Result<(), Error> {
    let profile = &profile;
    let format =
        format.unwrap_or(if std::io::stdout().is_terminal() { ProfileFormat::Table } else { ProfileFormat::Json });
    let text = match format {
        ProfileFormat::Json => {
            serde_json::to_string_pretty(&to_json(profile)).map_err(|e| crate::internal!("{e}"))? + "\n"
        }
        ProfileFormat::Csv => to_csv(profile),
        ProfileFormat::Table => to_table(profile),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::Io(crate::io::Error::write("<stdout>", e)))
}

fn num(v: Option<f64>) -> Value {
    match v {
        Some(x) if x.is_finite() => json!(x),
        _ => Value::Null,
    }
}

fn to_json(p: &Profile) -> Value {
    let columns: Vec<Value> = p
        .columns
        .iter()
        .map(|c| {
            let metadata = p.tier == "metadata";
            json!({
                "name": c.name,
                "type": type_name(&c.dtype),
                "rows": c.rows,
                "nulls": c.nulls,
                "null_pct": null_pct(c),
                "distinct": if metadata { Value::Null } else { json!(c.distinct.value) },
                "distinct_exact": c.distinct.exact,
                "distinct_error": num(Some(c.distinct.error)),
                "min": c.min,
                "max": c.max,
                "mean": num(c.mean),
                "std": num(c.std),
                "quantiles": if c.quantiles.is_empty() { Value::Null } else {
                    Value::Object(c.quantiles.iter().map(|(k, v)| (k.to_string(), num(Some(*v)))).collect())
                },
                "quantiles_exact": c.quantiles_exact,
                "top": c.top.iter().map(|(v, n)| json!({"value": v, "count": n})).collect::<Vec<_>>(),
                "top_error": c.top_error,
                "length": c.lengths.map(|(lo, hi, mean)| json!({"min": lo, "max": hi, "mean": mean})),
                "histogram": c.histogram,
            })
        })
        .collect();
    let describes = match p.tier {
        "sample" => "the sampled rows",
        "metadata" => "file metadata",
        _ => "all rows",
    };
    json!({
        "tier": p.tier,
        "basis": p.basis,
        "statistics_describe": describes,
        "rows": p.rows,
        "rows_estimated": p.rows_estimated,
        "files": p.files.iter().map(|(path, bytes, rows, est)| json!({"path": path, "bytes": bytes, "rows": rows, "rows_estimated": est})).collect::<Vec<_>>(),
        "columns": columns,
        "elapsed_seconds": p.elapsed,
    })
}

fn fmt_f(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            let s = format!("{x:.4}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            s.to_string()
        }
        _ => String::new(),
    }
}

fn distinct_text(p: &Profile, d: &DistinctCount) -> String {
    if p.tier == "metadata" {
        String::new()
    } else if d.exact {
        d.value.to_string()
    } else {
        format!("≈{} (±{:.1}%)", d.value, d.error * 100.0)
    }
}

fn top_text(c: &ColumnReport) -> String {
    let approx = if c.top_error > 0 { "≈" } else { "" };
    c.top.iter().take(3).map(|(v, n)| format!("{v} ({approx}{n})")).collect::<Vec<_>>().join(", ")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn to_csv(p: &Profile) -> String {
    let mut out = String::from("column,type,rows,nulls,null_pct,distinct,distinct_exact,min,max,mean,std");
    for (k, _) in QUANTILES {
        out.push(',');
        out.push_str(k);
    }
    out.push_str(",top_values,len_min,len_max,len_mean\n");
    for c in &p.columns {
        let null_pct = fmt_f(null_pct(c));
        let mut fields = vec![
            c.name.clone(),
            type_name(&c.dtype),
            c.rows.to_string(),
            c.nulls.map(|n| n.to_string()).unwrap_or_default(),
            null_pct,
            if p.tier == "metadata" { String::new() } else { c.distinct.value.to_string() },
            c.distinct.exact.to_string(),
            c.min.clone().unwrap_or_default(),
            c.max.clone().unwrap_or_default(),
            fmt_f(c.mean),
            fmt_f(c.std),
        ];
        for (k, _) in QUANTILES {
            fields.push(fmt_f(c.quantiles.iter().find(|(q, _)| *q == k).map(|(_, v)| *v)));
        }
        // A JSON array of [value, count] pairs: unambiguous whatever the
        // values hold (spaces, colons, quotes).
        fields.push(if c.top.is_empty() {
            String::new()
        } else {
            json!(c.top.iter().map(|(v, n)| json!([v, n])).collect::<Vec<_>>()).to_string()
        });
        let (lo, hi, mean) = c.lengths.map_or((String::new(), String::new(), String::new()), |(a, b, m)| {
            (a.to_string(), b.to_string(), fmt_f(Some(m)))
        });
        fields.extend([lo, hi, mean]);
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

fn to_table(p: &Profile) -> String {
    let rows = match (p.rows, p.rows_estimated) {
        (Some(n), false) => format!("{n} rows"),
        (Some(n), true) => format!("≈{n} rows (estimated)"),
        (None, _) => "rows unknown".into(),
    };
    let mut out = format!(
        "profile ({} tier: {}) — {rows} in {} file{}, {:.2}s\n",
        p.tier,
        p.basis,
        p.files.len(),
        if p.files.len() == 1 { "" } else { "s" },
        p.elapsed
    );
    if p.files.len() > 1 {
        for (path, _, rows, est) in &p.files {
            let r = rows.map_or("?".into(), |r| format!("{}{r}", if *est { "≈" } else { "" }));
            out.push_str(&format!("  {path}: {r} rows\n"));
        }
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    if table.width().is_some_and(|w| w >= 40) {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    }
    // A sample's figures say so in their headers, not only in the basis line.
    let of = if p.tier == "sample" { " (sample)" } else { "" };
    table.set_header([
        "column".to_string(),
        "type".into(),
        format!("nulls{of}"),
        format!("distinct{of}"),
        format!("min{of}"),
        format!("max{of}"),
        format!("mean ± std{of}"),
        format!("p1 / p25 / p50 / p75 / p99{of}"),
        "histogram".into(),
        format!("top values{of}"),
        "length".into(),
    ]);
    for c in &p.columns {
        let nulls = match (c.nulls, null_pct(c)) {
            (Some(n), Some(pct)) => format!("{n} ({pct:.1}%)"),
            (Some(n), None) => n.to_string(),
            (None, _) => "unknown".into(),
        };
        let mean = match (c.mean, c.std) {
            (Some(m), Some(s)) => format!("{} ± {}", fmt_f(Some(m)), fmt_f(Some(s))),
            (Some(m), None) => fmt_f(Some(m)),
            _ => String::new(),
        };
        let q = c.quantiles.iter().map(|(_, v)| fmt_f(Some(*v))).collect::<Vec<_>>().join(" / ");
        let q = if c.quantiles_exact || q.is_empty() { q } else { format!("≈ {q}") };
        let len = c.lengths.map_or(String::new(), |(a, b, m)| format!("{a}..{b}, mean {}", fmt_f(Some(m))));
        table.add_row([
            c.name.clone(),
            type_name(&c.dtype),
            nulls,
            distinct_text(p, &c.distinct),
            c.min.clone().unwrap_or_default(),
            c.max.clone().unwrap_or_default(),
            mean,
            q,
            sparkline(&c.histogram),
            top_text(c),
            len,
        ]);
    }
    out.push_str(&format!("{table}\n"));
    out
}
