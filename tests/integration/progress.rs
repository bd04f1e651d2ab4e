//! Progress reports go to stderr only, in the documented JSON shape, and
//! never change stdout; `explain --analyze` and `--dot` describe the stages.

use serde_json::Value;

use crate::util::*;

fn big_csv(t: &Tmp, rows: usize) -> String {
    let mut text = String::from("k,v,s\n");
    for i in 0..rows {
        text.push_str(&format!("{},{},{}\n", i % 97, i % 1000, if i % 2 == 0 { "even" } else { "odd" }));
    }
    t.file("p.csv", text)
}

#[test]
fn json_progress_is_parseable_and_leaves_stdout_alone() {
    let t = Tmp::new();
    let f = big_csv(&t, 400_000);
    let q = format!(r#"scan "{f}" | agg n = count(), s = sum(v) by k | sort k"#);
    let on = run(&["run", "-e", &q, "--progress", "json", "--progress-interval", "20ms", "--chunk-size", "256KB"]);
    let off = run(&["run", "-e", &q, "--progress", "none"]);
    let default = run(&["run", "-e", &q]);
    assert_eq!(on.code, 0, "{}", on.stderr);
    assert_eq!(on.stdout, off.stdout, "progress must not change stdout");
    assert_eq!(on.stdout, default.stdout);
    assert!(
        off.stderr.is_empty() && default.stderr.is_empty(),
        "no progress unless stderr is a terminal: {}",
        default.stderr
    );
    let lines: Vec<Value> =
        on.stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        for key in [
            "elapsed_s",
            "stage",
            "stages",
            "label",
            "bytes_read",
            "bytes_total",
            "rows_read",
            "rows_per_s",
            "mb_per_s",
            "eta_s",
            "done",
        ] {
            assert!(l.get(key).is_some(), "missing {key} in {l}");
        }
    }
    let last = lines.last().unwrap();
    assert_eq!(last["done"], true);
    assert_eq!(last["rows_read"], 400_000);
    let (read, total) = (last["bytes_read"].as_f64().unwrap(), last["bytes_total"].as_f64().unwrap());
    assert!(read >= 0.99 * total && read <= total, "{read} of {total}");
    assert!(lines.iter().filter(|l| l["done"] == true).count() == 1);
    // Bytes read never go backwards.
    let bytes: Vec<f64> = lines.iter().map(|l| l["bytes_read"].as_f64().unwrap()).collect();
    assert!(bytes.windows(2).all(|w| w[0] <= w[1]), "{bytes:?}");
}

#[test]
fn profile_reports_progress_too() {
    let t = Tmp::new();
    let f = big_csv(&t, 100_000);
    let o = run(&["profile", &f, "--format", "json", "--progress", "json", "--progress-interval", "20ms"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let last: Value = serde_json::from_str(o.stderr.lines().last().unwrap()).unwrap();
    assert_eq!((last["done"].as_bool(), last["rows_read"].as_u64()), (Some(true), Some(100_000)));
    let stdout: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(stdout["rows"], 100_000);
}

#[test]
fn explain_analyze_annotates_every_stage() {
    let out = ok_args(&[
        "explain",
        "--analyze",
        "-e",
        r#"scan "testdata/sales.csv" | filter qty > 4 | agg n = count() by region | sort region"#,
    ]);
    let marks: Vec<&str> = out.lines().filter(|l| l.contains('⏱')).collect();
    assert_eq!(marks.len(), 2, "{out}");
    // qty > 4 keeps 9 of 20 rows, in 4 regions; the scan applies the
    // filter while reading, so 9 rows come in (as from a Parquet file).
    assert!(marks[0].contains("9 rows in → 4 rows out"), "{out}");
    assert!(marks[1].contains("4 rows in → 4 rows out"), "{out}");
    assert!(out.contains("0 B spilled") && out.contains("total: "), "{out}");
    // The result itself is not printed.
    assert!(!out.contains("north,"), "{out}");
}

#[test]
fn explain_dot_draws_stages_and_edges() {
    let out = ok_args(&["explain", "--dot", "queries/top_cities.dq"]);
    assert!(out.starts_with("digraph dq {"), "{out}");
    assert!(out.contains("s0 -> s1 [style=dashed, label=\"build side\"]"), "{out}");
    assert!(out.contains("s1 -> s2;"), "{out}");
    assert!(out.trim_end().ends_with('}'));
}
