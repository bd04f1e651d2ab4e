//! `cli`: commands, flags, output choice and error reports — the only
//! module that talks to the user. One file per subcommand.

mod args;
mod cluster;
mod explain;
mod head;
mod help;
mod output;
mod profile;
mod progress;
mod report;
mod run;
mod schema;

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use clap::{Parser, Subcommand};

use crate::{exit, Error};

/// Run dataframe pipelines over files larger than memory.
///
/// A pipeline is a source followed by verbs separated by `|`:
///
///     dq 'scan "logs/*.csv" | filter status >= 500 | agg n = count() by path | sort -n | head 20'
///
/// `dq TEXT` is short for `dq run -e TEXT`, and `dq FILE.dq` for `dq run FILE.dq`.
/// `dq help language` shows the language reference (docs/language.md).
#[derive(Parser, Debug)]
#[command(name = "dq", version, about, long_about, max_term_width = 100, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Run(run::Args),
    Explain(explain::Args),
    Schema(schema::Args),
    Head(head::Args),
    Profile(profile::Args),
    Scheduler(cluster::SchedulerArgs),
    Worker(cluster::WorkerArgs),
    Help(help::HelpArgs),
    Completions(help::CompletionsArgs),
    Man(help::ManArgs),
}

const SUBCOMMANDS: &[&str] =
    &["run", "explain", "schema", "head", "profile", "scheduler", "worker", "help", "completions", "man"];

/// Extensions of the files dq reads (possibly compressed): `dq FILE` with
/// one of them shows the file, as `dq head FILE`.
const DATA_EXTENSIONS: &[&str] =
    &["csv", "tsv", "parquet", "pq", "ndjson", "jsonl", "json", "npy", "arrow", "ipc", "feather"];

/// Whether `path` names a data file dq reads (by extension, `.gz`/`.zst` aside).
fn is_data_file(path: &str) -> bool {
    let base = path.strip_suffix(".gz").or_else(|| path.strip_suffix(".zst")).unwrap_or(path);
    let ext = std::path::Path::new(base).extension().and_then(|e| e.to_str()).unwrap_or("");
    DATA_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) && std::path::Path::new(path).is_file()
}

/// `dq TEXT` → `dq run -e TEXT`; `dq FILE.dq` (or any other existing file
/// but a data file) → `dq run FILE`; `dq DATA.csv` → `dq head DATA.csv`.
fn expand_shortcut(mut args: Vec<OsString>) -> Vec<OsString> {
    if let Some(first) = args.get(1).and_then(|a| a.to_str()).map(str::to_string) {
        // Flags before the program (`dq -q -o out.csv 'scan …'`) are `run`'s.
        if first.starts_with('-') && !["-h", "--help", "-V", "--version"].contains(&first.as_str()) {
            args.insert(1, "run".into());
            return args;
        }
        if !first.starts_with('-') && !SUBCOMMANDS.contains(&first.as_str()) {
            let is_file = !first.contains('|') && (first.ends_with(".dq") || std::path::Path::new(&first).is_file());
            if is_data_file(&first) {
                args.insert(1, "head".into());
            } else if is_file {
                args.insert(1, "run".into());
            } else {
                args.insert(1, "-e".into());
                args.insert(1, "run".into());
            }
        }
    }
    args
}

/// The subcommand a lone word was probably meant to be (`dq shcema` →
/// `schema`): a lowercase word within two edits of one, that is neither a
/// file nor a verb (`dq count` counts the rows of stdin).
fn mistyped_subcommand(word: &str) -> Option<&'static str> {
    let lone_word = !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase());
    if !lone_word || SUBCOMMANDS.contains(&word) || std::path::Path::new(word).exists() || crate::lang::is_verb(word) {
        return None;
    }
    SUBCOMMANDS.iter().copied().filter(|s| !["help", "man"].contains(s)).find(|s| strsim::osa_distance(word, s) <= 2)
}

/// Prints warnings about how the input was read (unless `quiet`).
fn warn(warnings: &[String], quiet: bool) {
    if !quiet {
        for w in warnings {
            eprintln!("dq: warning: {w}");
        }
    }
}

/// Runs dq with these arguments (the first is the program name) and
/// returns the process exit code. Errors are reported on stderr here.
pub fn main(args: Vec<OsString>) -> i32 {
    if let Some(word) = args.get(1).and_then(|a| a.to_str()) {
        if let Some(meant) = mistyped_subcommand(word) {
            eprintln!("error: unknown command `{word}`\n  = hint: did you mean `dq {meant}`? (`dq --help` lists the commands)");
            return exit::USAGE;
        }
    }
    let cli = match Cli::try_parse_from(expand_shortcut(args)) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    let mut source_text = None;
    input_changed::install();
    // A panic is a bug in dq (or a kernel it calls): report it as one, with
    // exit code 1, instead of a raw panic message.
    let panic_message = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let slot = panic_message.clone();
    std::panic::set_hook(Box::new(move |info| {
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let msg = crate::error::panic_text(info.payload()).unwrap_or_else(|| "unknown panic".into());
        if let Ok(mut s) = slot.lock() {
            s.get_or_insert(format!("{msg}{at}"));
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &cli.command {
        Command::Run(a) => run::run(a, &mut source_text),
        Command::Explain(a) => explain::run(a, &mut source_text),
        Command::Schema(a) => schema::run(a, &mut source_text),
        Command::Head(a) => head::run(a, &mut source_text),
        Command::Profile(a) => profile::run(a, &mut source_text),
        Command::Scheduler(a) => cluster::scheduler(a),
        Command::Worker(a) => cluster::worker(a),
        Command::Help(a) => help::help(a),
        Command::Completions(a) => help::completions(a),
        Command::Man(a) => help::man(a),
    }));
    let result = outcome.unwrap_or_else(|_| {
        let message = panic_message.lock().ok().and_then(|m| m.clone()).unwrap_or_else(|| "a task panicked".into());
        Err(Error::Internal { message, file: file!(), line: line!() })
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) if report::is_broken_pipe(&e) => exit::OK,
        Err(e) => {
            eprint!("{}", report::render(&e, source_text.as_ref()));
            e.exit_code()
        }
    }
}

/// SIGBUS: a memory-mapped input file shrank while dq read it (truncated or
/// rewritten in place). Nothing can continue safely from there: say so and
/// exit with the code for unreadable input. Spill and partial files of the
/// run are removed by the next run ([`crate::cleanup`]).
mod input_changed {
    const MESSAGE: &[u8] =
        b"error: an input file changed while dq was reading it (truncated or rewritten); rerun once it is complete\n";

    extern "C" fn on_sigbus(_: libc::c_int) {
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(crate::exit::MISSING_INPUT);
        }
    }

    pub(super) fn install() {
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    }
}

/// A program's text and where it came from, for error reports.
#[derive(Debug, Clone)]
pub struct SourceText {
    /// A file name or `<command line>`.
    pub name: String,
    /// The text.
    pub text: String,
}

/// The flag a first Ctrl-C (or SIGTERM) sets: the run stops at the next
/// chunk or output batch and unwinds, so temporary output files are
/// removed, and dq exits with 130. A second signal exits at once, after
/// removing them ([`crate::cleanup`]).
pub(crate) fn cancel_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // If a handler cannot be installed (one already is), runs simply
        // cannot be cancelled gracefully; nothing else changes.
        let _ = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::SeqCst) {
                // No unwinding now: remove partial output and spill files here.
                crate::cleanup::remove_all();
                std::process::exit(exit::INTERRUPTED);
            }
        });
        flag
    })
    .clone()
}

pub(crate) fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(v: &[&str]) -> Vec<String> {
        expand_shortcut(v.iter().map(OsString::from).collect()).into_iter().map(|s| s.into_string().unwrap()).collect()
    }

    #[test]
    fn shortcut_forms() {
        assert_eq!(expand(&["dq", "scan \"a.csv\" | head 1"]), vec!["dq", "run", "-e", "scan \"a.csv\" | head 1"]);
        assert_eq!(expand(&["dq", "q.dq"]), vec!["dq", "run", "q.dq"]);
        assert_eq!(expand(&["dq", "explain", "q.dq"]), vec!["dq", "explain", "q.dq"]);
        assert_eq!(expand(&["dq", "--help"]), vec!["dq", "--help"]);
    }
}
