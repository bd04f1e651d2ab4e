//! Flags shared by several subcommands, and their conversion into the
//! library's config types.

use std::path::PathBuf;

use std::time::Duration;

use clap::ValueEnum;

use super::progress::{ProgressMode, Reporter};

use super::{usage, SourceText};
use crate::exec::ExecConfig;
use crate::io::BadRowPolicy;
use crate::Error;

/// Where the program comes from.
#[derive(clap::Args, Debug)]
pub struct ProgramArgs {
    /// A file holding the program (e.g. queries/top_cities.dq); `-` reads
    /// the program from standard input.
    #[arg(value_name = "FILE", required_unless_present = "expr")]
    pub file: Option<PathBuf>,
    /// The program text itself.
    #[arg(short = 'e', long = "expr", value_name = "TEXT", conflicts_with = "file")]
    pub expr: Option<String>,
    /// A parameter: `$NAME` in the program stands for VALUE (a number when
    /// it reads as one, else text; inside quotes, spliced into the text).
    /// Repeat for more.
    #[arg(short = 'p', long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

impl ProgramArgs {
    /// Reads the program text.
    pub fn load(&self) -> Result<SourceText, Error> {
        match (&self.expr, &self.file) {
            (Some(text), _) => Ok(SourceText { name: "<command line>".into(), text: text.clone() }),
            (None, Some(path)) if path.as_os_str() == "-" => {
                // `dq run -`: the program itself comes on standard input.
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| usage(format!("cannot read the program from standard input: {e}")))?;
                Ok(SourceText { name: "<stdin>".into(), text })
            }
            // Program text in the file's place (`dq -q 'scan "x.csv" | …'`
            // becomes `dq run -q TEXT`): not a file, and plainly a program.
            (None, Some(path)) if !path.exists() && looks_like_program(&path.to_string_lossy()) => {
                Ok(SourceText { name: "<command line>".into(), text: path.to_string_lossy().into_owned() })
            }
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| usage(format!("cannot read program file {}: {e}", path.display())))?;
                Ok(SourceText { name: path.display().to_string(), text })
            }
            (None, None) => Err(usage("give a program file or -e TEXT")),
        }
    }

    /// The `--var NAME=VALUE` parameters.
    pub fn params(&self) -> Result<crate::lang::Params, Error> {
        let mut params = crate::lang::Params::new();
        for var in &self.vars {
            let (name, value) = var
                .split_once('=')
                .ok_or_else(|| usage(format!("--var {var}: give NAME=VALUE, e.g. --var input=data.csv")))?;
            let valid = name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
                && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
            if !valid {
                return Err(usage(format!("--var {var}: `{name}` is not a parameter name (letters, digits, _)")));
            }
            params.insert(name.to_string(), value.to_string());
        }
        Ok(params)
    }
}

/// Whether a command-line word is program text rather than a file name:
/// it holds a pipe, a quote or a line break, or starts with a verb or `scan`.
fn looks_like_program(word: &str) -> bool {
    let first = word.split_whitespace().next().unwrap_or("");
    word.contains(['|', '"', '\n']) || first == "scan" || first == "let" || crate::lang::is_verb(first)
}

/// `--options`: scan options for `schema`, `head` and `profile`.
#[derive(clap::Args, Debug, Default)]
pub struct ScanFlags {
    /// Scan options, as inside a `scan`'s parentheses, e.g.
    /// --options 'delimiter=";", header=false, null=["NA"]'.
    #[arg(long = "options", value_name = "OPTIONS")]
    pub options: Option<String>,
}

impl ScanFlags {
    /// The options (defaults when none were given).
    pub fn scan_options(&self, source: &mut Option<SourceText>) -> Result<crate::io::ScanOptions, Error> {
        match &self.options {
            None => Ok(crate::io::ScanOptions::default()),
            Some(text) => {
                *source =
                    Some(SourceText { name: "<--options>".into(), text: crate::plan::builder::options_program(text) });
                crate::plan::scan_options_from_text(text)
            }
        }
    }
}

/// How to treat malformed CSV records.
#[derive(ValueEnum, Clone, Copy, Debug, Default)]
pub enum BadRows {
    /// Stop with an error naming file, line and column.
    #[default]
    Error,
    /// Leave bad records out and report how many.
    Skip,
    /// Keep them with missing/unparsable fields as null and report how many.
    Null,
}

/// Execution flags.
#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// Run on a cluster: the `HOST:PORT` of a `dq scheduler` with `dq
    /// worker`s (files must be at the same absolute paths on every
    /// machine). Constructs without an exact cluster equivalent are
    /// refused before connecting. See the README, "Running on a cluster".
    #[arg(long, value_name = "HOST:PORT")]
    pub workers: Option<String>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Target size of one chunk of text input, e.g. 16MB.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub chunk_size: usize,
    /// What to do with malformed CSV records.
    #[arg(long, value_enum, default_value_t = BadRows::Error)]
    pub on_bad_rows: BadRows,
    /// Print nothing on stderr but errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// Progress on stderr: a bar on a terminal (auto), JSON lines, or none.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// How often `--progress json` reports, e.g. 500ms or 2s.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub progress_interval: Duration,
    /// Memory the run may account for: a size (512MB, 4GiB) or a share of
    /// the memory available (60%). Blocking operators spill to disk to stay
    /// inside it. [default: 60% of the available memory, cgroup limit included]
    #[arg(long, value_name = "SIZE|PCT", value_parser = crate::exec::memory::parse_size_spec)]
    pub memory_limit: Option<crate::exec::memory::SizeSpec>,
    /// Directory for spill files (a per-run subdirectory is made and removed).
    /// [default: the system temp dir, $TMPDIR or /tmp]
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<std::path::PathBuf>,
    /// Most disk space spill files may take at once.
    /// [default: 80% of the free space in the temp dir]
    #[arg(long, value_name = "SIZE", value_parser = crate::exec::memory::parse_bytes)]
    pub max_spill: Option<u64>,
}

/// Parses `500ms`, `2s`, `1.5s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 2s)"))?;
    if v <= 0.0 {
        return Err("the duration must be positive".into());
    }
    Ok(Duration::from_secs_f64(v * scale))
}

/// `--threads` beyond this (or 4 × the cores, if more) is refused: each
/// thread takes a stack and a share of the memory budget, and thousands of
/// them only thrash.
const MAX_THREADS: usize = 256;

impl ExecArgs {
    /// Sizes polars' pool (before anything touches it) and builds the config.
    pub fn config(&self) -> Result<ExecConfig, Error> {
        if self.workers.is_some() && !matches!(self.on_bad_rows, BadRows::Error) {
            return Err(usage("--on-bad-rows is not available with --workers (bad records stop a cluster job)"));
        }
        if let Some(n) = self.threads {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let most = MAX_THREADS.max(4 * cores);
            if n == 0 || n > most {
                return Err(usage(format!("--threads must be between 1 and {most} (this machine has {cores} cores)")));
            }
            // polars reads this once, when its pool is first used.
            std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        }
        let spill_parent = self.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        if !spill_parent.is_dir() {
            // Checked before any work: a run that needs to spill would fail late.
            let message = if spill_parent.exists() { "it is not a directory" } else { "it does not exist" };
            return Err(Error::Exec(crate::exec::Error::SpillDisk {
                dir: spill_parent,
                needed: 0,
                message: format!("cannot spill there: {message} (choose one with --temp-dir or $TMPDIR)"),
            }));
        }
        let threads = polars_core::POOL.current_num_threads();
        Ok(ExecConfig {
            threads,
            chunk_size: self.chunk_size,
            bad_rows: match self.on_bad_rows {
                BadRows::Error => BadRowPolicy::Error,
                BadRows::Skip => BadRowPolicy::Skip,
                BadRows::Null => BadRowPolicy::Null,
            },
            progress: None,
            cancel: Some(super::cancel_flag()),
            memory_limit: self.memory_limit.map(|m| m.resolve(crate::exec::memory::available_memory())),
            temp_dir: self.temp_dir.clone(),
            max_spill: self.max_spill,
        })
    }

    /// Starts the progress reporter these flags ask for (None: show nothing).
    pub fn reporter(&self) -> Option<Reporter> {
        Reporter::start(self.progress, self.quiet, self.progress_interval)
    }
}

/// Parses `512MB`, `4GiB`, `65536` (bytes).
pub fn parse_size(s: &str) -> Result<usize, String> {
    crate::exec::memory::parse_bytes(s).map(|v| v as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("0").is_err());
    }
}
