//! The docs tell the truth: every ```dq example in docs/language.md and
//! README.md runs, and where an ```output block follows, its output matches.

use crate::util::*;

/// (program, expected output) pairs from a Markdown file.
pub(crate) fn examples(path: &str) -> Vec<(String, Option<String>)> {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let info = info.trim().to_string();
            let mut body = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                body.push_str(l);
                body.push('\n');
            }
            blocks.push((info, body));
        }
    }
    let mut out = Vec::new();
    for (i, (info, body)) in blocks.iter().enumerate() {
        if info == "dq" {
            let expected = blocks.get(i + 1).filter(|(inf, _)| inf == "output").map(|(_, b)| b.clone());
            out.push((body.clone(), expected));
        }
    }
    out
}

fn check(path: &str, min: usize) {
    let ex = examples(path);
    assert!(ex.len() >= min, "{path}: expected at least {min} examples, found {}", ex.len());
    for (program, expected) in ex {
        let got = ok(&program);
        if let Some(expected) = expected {
            assert_eq!(got, expected, "{path}: output of\n{program}");
        }
    }
}

#[test]
fn language_reference_examples_run_and_match() {
    check("docs/language.md", 14);
}

#[test]
fn readme_examples_run_and_match() {
    check("README.md", 3);
}

#[test]
fn readme_setup_commands_are_the_ones_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(readme.contains("cargo run --release -- run queries/top_cities.dq"), "README shows the demo command");
    assert!(readme.contains("cargo test --release"), "README shows the test command");
    assert!(ci.contains("cargo test --release"), ".ci/run runs the README's test command");
}

#[test]
fn readme_command_examples_run() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut in_sh = false;
    let mut lines = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if in_sh && line.starts_with("dq ") {
            lines.push(line.to_string());
        }
    }
    assert!(lines.len() >= 8, "README has runnable command examples: {lines:?}");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_dq")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let t = Tmp::new();
    std::os::unix::fs::symlink(root().join("testdata"), t.path("testdata")).unwrap();
    std::os::unix::fs::symlink(root().join("queries"), t.path("queries")).unwrap();
    for line in lines {
        let out = std::process::Command::new("sh")
            .args(["-c", &line])
            .env("PATH", &path)
            .current_dir(t.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!out.stdout.is_empty() || line.contains("sales_to_parquet"), "{line} printed nothing");
    }
}
