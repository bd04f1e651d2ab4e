//! Helpers: run `dq`, write input files to a temp dir, parse CSV output.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root (fixtures are under `testdata/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a run produced.
#[derive(Debug)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs dq in `dir` with `args` and optional stdin.
pub fn run_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dq"));
    cmd.args(args).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("dq runs");
    if let Some(input) = stdin {
        let mut s = child.stdin.take().unwrap();
        s.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let o = Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    };
    assert!(!o.stderr.contains("panicked"), "dq panicked: {}", o.stderr);
    o
}

/// Runs dq in the repository root.
pub fn run(args: &[&str]) -> Out {
    run_in(&root(), args, None)
}

/// Runs dq in the repository root, asserting that it exits with `code`,
/// names `needle` on stderr and prints nothing on stdout; returns stderr.
pub fn fails(args: &[&str], code: i32, needle: &str) -> String {
    let o = run(args);
    assert_eq!(o.code, code, "dq {args:?}: stderr {}", o.stderr);
    assert!(o.stderr.contains(needle), "expected {needle:?} in:\n{}", o.stderr);
    assert!(o.stdout.is_empty(), "nothing on stdout after an error: {}", o.stdout);
    o.stderr
}

/// Runs a pipeline in the repository root and returns stdout (CSV), asserting success.
pub fn ok(program: &str) -> String {
    ok_args(&["run", "-e", program])
}

/// Runs dq with arguments and returns stdout, asserting success.
pub fn ok_args(args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(o.code, 0, "dq {args:?} failed: {}", o.stderr);
    o.stdout
}

/// A temporary directory with files written into it.
pub struct Tmp {
    pub dir: tempfile::TempDir,
}

impl Tmp {
    pub fn new() -> Self {
        Tmp { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file and returns its absolute path as a string.
    pub fn file(&self, name: &str, content: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_string()
    }

    /// Runs dq inside the temp dir.
    pub fn run(&self, args: &[&str]) -> Out {
        run_in(self.dir.path(), args, None)
    }

    /// Files in the dir (names), sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// Parses CSV text (RFC 4180 quoting) into rows of fields, header included.
pub fn csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => in_quotes = false,
            ('"', false) if field.is_empty() => in_quotes = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// CSV output as header-keyed records.
pub fn records(text: &str) -> Vec<HashMap<String, String>> {
    let rows = csv(text);
    let Some((header, body)) = rows.split_first() else { return vec![] };
    body.iter().map(|r| header.iter().cloned().zip(r.iter().cloned()).collect()).collect()
}

/// One column of CSV output.
pub fn column(text: &str, name: &str) -> Vec<String> {
    records(text)
        .into_iter()
        .map(|r| r.get(name).cloned().unwrap_or_else(|| panic!("no column {name} in {text}")))
        .collect()
}

/// Asserts two floats agree to a relative 1e-9.
pub fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0), "{a} != {b}");
}

/// Parses a number cell.
pub fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// The `--stats=json` object a run printed on stderr.
pub fn stats_json(stderr: &str) -> serde_json::Value {
    let line = stderr.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no stats in: {stderr}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad stats json {line}: {e}"))
}

/// A CSV of `rows` rows (`k,v,s`) large enough that sorting it takes a while.
pub fn slow_sort_input(t: &Tmp, rows: u64) -> String {
    let mut text = String::from("k,v,s\n");
    for i in 0..rows {
        text.push_str(&format!("{},{},row-{i}\n", i % 1013, (i * 7) % 10_007));
    }
    t.file("in/big.csv", text)
}

/// Reads progress lines from a run until its spill directory `spill` holds
/// something; false if the run ended first.
pub fn wait_until_spilled(stderr: &mut impl std::io::BufRead, spill: &Path) -> bool {
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            return false;
        }
        if std::fs::read_dir(spill).unwrap().next().is_some() {
            return true;
        }
    }
}

/// Starts `dq` in `dir` with progress as JSON lines every 20 ms on a piped
/// stderr (so a test can wait for the run to be under way).
pub fn spawn_with_progress(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dq"))
        .args(args)
        .args(["--progress", "json", "--progress-interval", "20ms"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dq runs")
}

/// The seeded fuzz tests' knobs: `DQ_FUZZ_CASES` scales the number of cases
/// (default `default`), `DQ_FUZZ_SEED` varies the start (`tests/fuzz.sh` runs
/// every target for a set time with fresh seeds).
pub fn fuzz_cases(default: u64) -> u64 {
    std::env::var("DQ_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A generator's start state: `base` mixed with `DQ_FUZZ_SEED` when set
/// (never zero, which a xorshift generator would keep forever).
pub fn fuzz_seed(base: u64) -> u64 {
    let seed: u64 = std::env::var("DQ_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mixed = base ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    if mixed == 0 {
        base
    } else {
        mixed
    }
}

/// Runs dq to completion and returns (exit code, peak RSS in bytes) of the
/// child process itself, measured by the kernel (`VmHWM`), not by dq's own
/// accounting. (rusage's maxrss would not do: it keeps the high-water mark
/// across exec, so a child spawned from this big, busy test process would
/// report the parent's memory.) Polled every 5 ms until the child exits;
/// VmHWM only grows, so the last reading is the peak up to then.
pub fn peak_rss(args: &[&str]) -> (i32, u64) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dq"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dq runs");
    let status_file = format!("/proc/{}/status", child.id());
    let comm_file = format!("/proc/{}/comm", child.id());
    let mut peak = 0u64;
    loop {
        // Until it execs, the child is (v)forked from this test process and
        // its status shows the test's memory (a flaky 398 MiB under the
        // parallel suite): read only once it runs dq.
        let is_dq = std::fs::read_to_string(&comm_file).is_ok_and(|c| c.trim_end() == "dq");
        if let Some(text) = is_dq.then(|| std::fs::read_to_string(&status_file).ok()).flatten() {
            if let Some(kb) = text.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                let kb: u64 = kb.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                peak = peak.max(kb * 1024);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            // A run too short to be seen would pass any bar unmeasured.
            assert!(peak > 0, "dq {args:?} ended before its memory could be read");
            return (status.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// A CSV with text columns of many distinct values, `rows` rows.
pub fn wide_text_table(t: &Tmp, rows: u64) -> String {
    let mut text = String::with_capacity(rows as usize * 48);
    text.push_str("id,name,city,v\n");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..rows {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push_str(&format!("{i},name-{},city-{},{}\n", x % 1_000_000_007, i % 5000, (x % 1_000_000) as f64 / 1e6));
    }
    t.file("wide.csv", text)
}
