//! Bad programs and bad input: clear messages, documented exit codes, no
//! panics, no partial output files.

use crate::util::*;

#[test]
fn parse_error_shows_line_caret_and_expectation() {
    let err = fails(&["run", "-e", "scan \"testdata/sales.csv\"\n| filter qty = 3"], 2, "expected an operator");
    assert!(err.contains(" --> <command line>:2:14\n  |\n2 | | filter qty = 3\n  |              ^\n"), "{err}");
    assert!(err.contains("hint: use `==` to compare values"), "{err}");
}

#[test]
fn unknown_column_names_close_matches() {
    let err = fails(&["run", "-e", r#"scan "testdata/sales.csv" | agg n = sum(qtty) by regoin"#], 2, "unknown column");
    assert!(err.contains("did you mean `qty`?") || err.contains("did you mean `region`?"), "{err}");
    let err = fails(&["run", "-e", r#"scan "testdata/sales.csv" | select zzz"#], 2, "unknown column `zzz`");
    assert!(err.contains("available columns: order_id, date, region, product, price, qty"), "{err}");
}

#[test]
fn type_errors_name_the_expression_and_types() {
    fails(
        &["run", "-e", r#"scan "testdata/sales.csv" | filter region > 3"#],
        2,
        "type error in `region > 3`: cannot compare str with int",
    );
    fails(
        &["run", "-e", r#"scan "testdata/sales.csv" | filter qty"#],
        2,
        "a filter needs a true/false condition, this is int",
    );
    fails(
        &["run", "-e", r#"scan "testdata/sales.csv" | derive y = year(region)"#],
        2,
        "`year` needs a date or datetime, `region` is str",
    );
}

#[test]
fn unknown_functions_verbs_and_names() {
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | derive x = lowr(region)"#], 2, "did you mean `lower`?");
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | srot qty"#], 2, "did you mean `sort`?");
    fails(
        &[
            "run",
            "-e",
            r#"let depts = scan "testdata/depts.csv"
scan "testdata/people/*.csv" | join dept on dept_id"#,
        ],
        2,
        "did you mean `depts`?",
    );
    fails(
        &["run", "-e", r#"scan "testdata/sales.csv" | derive x = sum(qty)"#],
        2,
        "aggregate `sum` used outside `agg`",
    );
    fails(&["run", "-e", r#"scan "testdata/sales.csv" (delimter=";")"#], 2, "did you mean `delimiter`?");
}

#[test]
fn missing_input_exit_code() {
    fails(&["run", "-e", r#"scan "testdata/nope.csv""#], 4, "no input matches `testdata/nope.csv`");
    fails(&["run", "-e", r#"scan "testdata/nothing/*.parquet""#], 4, "no input matches");
    fails(&["run", "no-such-program.dq"], 2, "cannot read program file");
}

#[test]
fn bad_rows_name_file_line_and_field() {
    let err = fails(
        &["run", "-e", r#"scan "testdata/bad_rows.csv""#],
        3,
        "testdata/bad_rows.csv:4: expected 3 fields, found 2",
    );
    assert!(err.contains("--on-bad-rows"), "{err}");
    fails(
        &["run", "-e", r#"scan "testdata/bad_values.csv" (schema=(score: int))"#],
        3,
        "testdata/bad_values.csv:5: cannot read \"oops\" as int in column `score` (field 2)",
    );
}

#[test]
fn bad_rows_can_be_skipped_or_nulled_and_are_counted() {
    let o = run(&["run", "-e", r#"scan "testdata/bad_rows.csv""#, "--on-bad-rows", "skip"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "a,b,c\n1,2,3\n4,5,6\n9,10,11\n16,17,18\n"));
    assert!(o.stderr.contains("skipped 2 malformed records"), "{}", o.stderr);
    let o = run(&["run", "-e", r#"scan "testdata/bad_values.csv" (schema=(score: int))"#, "--on-bad-rows", "null"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "id,score\n1,10\n2,20\n3,30\n4,\n5,50\n"));
    assert!(o.stderr.contains("1 malformed record"), "{}", o.stderr);
}

#[test]
fn unwritable_output_fails_without_leaving_a_partial_file() {
    let t = Tmp::new();
    std::fs::create_dir(t.path("taken.csv")).unwrap();
    let dest = t.path("taken.csv");
    let o = t.run(&[
        "run",
        "-e",
        &format!(r#"scan "{}/testdata/sales.csv""#, root().display()),
        "-o",
        dest.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 5, "{}", o.stderr);
    // A failing pipeline leaves no output file and no temporary file behind.
    let o = t.run(&["run", "-e", &format!(r#"scan "{}/testdata/bad_rows.csv""#, root().display()), "-o", "out.csv"]);
    assert_eq!(o.code, 3);
    assert_eq!(t.listing(), vec!["taken.csv"]);
    let o =
        t.run(&["run", "-e", &format!(r#"scan "{}/testdata/sales.csv""#, root().display()), "-o", "/dev/null/x/y.csv"]);
    assert_eq!(o.code, 5, "{}", o.stderr);
}

#[test]
fn write_and_dash_o_conflict() {
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | write "x.csv""#, "-o", "y.csv"], 2, "keep one");
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | write "x.csv" | head 1"#], 2, "`write` must be the last verb");
}

#[test]
fn malformed_pipelines_never_panic() {
    let programs = [
        "", "|", "scan", "scan \"", "scan \"testdata/sales.csv\" |", "scan \"testdata/sales.csv\" | head",
        "scan \"testdata/sales.csv\" | head -1", "scan \"testdata/sales.csv\" | sort", "scan \"testdata/sales.csv\" | agg",
        "scan \"testdata/sales.csv\" | agg by region", "scan \"testdata/sales.csv\" | filter (qty > 1",
        "scan \"testdata/sales.csv\" | derive = 1", "scan \"testdata/sales.csv\" | select `unterminated",
        "let = scan \"x\"", "let a = scan \"testdata/sales.csv\"", "scan \"testdata/sales.csv\" | join on x",
        "scan \"testdata/sales.csv\" | sample 2.5", "scan \"testdata/sales.csv\" | derive x = 99999999999999999999",
        "scan \"testdata/sales.csv\" | filter qty in [region]", "scan \"testdata/sales.csv\" | agg q = quantile(qty, 2)",
        "scan \"testdata/sales.csv\" | derive x = cast(qty, blob)", "scan \"testdata/sales.csv\" | derive x = substr(region)",
        "scan \"testdata/sales.csv\" | join \"testdata/depts.csv\" on region = dept_id", "§", "scan \"testdata/sales.csv\" | union \"testdata/people/part-1.csv\" | union \"testdata/bad_values.csv\" | filter id == \"x\"",
        "scan \"testdata/sales.csv\" | select qty, qty", "scan \"testdata/sales.csv\" | filter regex_match(region, \"(\")",
    ];
    for p in programs {
        let o = run(&["run", "-e", p]);
        assert!(o.code == 2 || o.code == 3, "{p:?} → exit {}: {}", o.code, o.stderr);
        assert!(o.stderr.starts_with("error: "), "{p:?}: {}", o.stderr);
    }
}

#[test]
fn malformed_input_files_never_panic() {
    let t = Tmp::new();
    let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    for name in ["junk.parquet", "junk.csv", "junk.ndjson", "junk.csv.zst", "junk.csv.gz"] {
        let f = t.file(name, &junk);
        let o = run(&["run", "-e", &format!(r#"scan "{f}" | count"#)]);
        assert!(o.code == 0 || o.code == 3 || o.code == 4, "{name}: exit {} {}", o.code, o.stderr);
        if o.code != 0 {
            assert!(o.stderr.starts_with("error: "), "{name}: {}", o.stderr);
        }
    }
}

#[test]
fn closed_stdout_pipe_is_success() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_dq"))
        .args(["run", "-e", r#"scan "testdata/trips.csv" | select trip_id, vendor"#])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once, like `| head -0`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn interrupt_stops_cleanly_and_leaves_no_partial_output() {
    use std::io::{BufRead, BufReader};
    use std::process::Command;
    let t = Tmp::new();
    let input = slow_sort_input(&t, 1_500_000);
    let out_dir = t.path("out");
    std::fs::create_dir(&out_dir).unwrap();
    let program = format!(r#"scan "{input}" | sort -v, s"#);
    let mut child = spawn_with_progress(&out_dir, &["run", "-e", &program, "-o", "result.csv", "--chunk-size", "64KB"]);
    // Wait until the run reports progress, then interrupt it.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("\"done\":false"), "the run should still be going: {first}");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {rest}");
    assert!(rest.contains("error: interrupted"), "{rest}");
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn bad_ndjson_line_is_named() {
    let t = Tmp::new();
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!("{{\"a\":{i},\"b\":\"x\"}}\n"));
    }
    text.push_str("{\"a\": 1,}\n");
    let f = t.file("bad.ndjson", text);
    let o = run(&["run", "-e", &format!(r#"scan "{f}" | count"#), "--chunk-size", "16KB"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("bad.ndjson:5001: invalid JSON: trailing comma"), "{}", o.stderr);
}

#[test]
fn an_output_path_without_a_known_extension_fails_before_any_work() {
    let t = Tmp::new();
    let o = t.run(&["run", "-e", r#"scan "/dev/null" | count"#, "-o", "out/result.xyz"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("cannot tell the output format of out/result.xyz"), "{}", o.stderr);
    assert_eq!(t.listing(), Vec::<String>::new(), "nothing written");
}
