//! Invocation the way shell users expect it (issue 12): a program that
//! starts with a verb reads standard input, `dq FILE` shows a data file,
//! and a mistyped subcommand gets a suggestion.

use std::process::{Command, Stdio};

use crate::util::*;

fn sales() -> Vec<u8> {
    std::fs::read(root().join("testdata/sales.csv")).unwrap()
}

#[test]
fn a_program_that_starts_with_a_verb_reads_standard_input() {
    let o = run_in(&root(), &["filter qty > 5 | select order_id, qty | head 3"], Some(&sales()));
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The same rows picked from the file by the test itself.
    let table = csv(&String::from_utf8(sales()).unwrap());
    let (id, qty) = (0, table[0].iter().position(|c| c == "qty").unwrap());
    let want: Vec<String> =
        table[1..].iter().filter(|r| num(&r[qty]) > 5.0).take(3).map(|r| format!("{},{}", r[id], r[qty])).collect();
    assert_eq!(o.stdout, format!("order_id,qty\n{}\n", want.join("\n")));
    let o = run_in(&root(), &["count"], Some(&sales()));
    assert_eq!((o.code, o.stdout.as_str()), (0, "count\n20\n"), "{}", o.stderr);
    // The same as an explicit `scan "-"`.
    let explicit = run_in(&root(), &[r#"scan "-" | agg s = sum(qty)"#], Some(&sales()));
    let implicit = run_in(&root(), &["agg s = sum(qty)"], Some(&sales()));
    assert_eq!(implicit.stdout, explicit.stdout);
    assert_eq!(implicit.stdout, "s\n83\n");
}

/// A pseudo-terminal: its terminal end (to give dq) and the other end
/// (kept open until dq has run; closed when dropped).
fn terminal() -> (std::fs::File, std::fs::File) {
    sized_terminal(None)
}

/// A pseudo-terminal that reports `cols` columns (none: no size).
fn sized_terminal(cols: Option<u16>) -> (std::fs::File, std::fs::File) {
    let (mut master, mut slave) = (0, 0);
    let size = cols.map(|c| libc::winsize { ws_row: 50, ws_col: c, ws_xpixel: 0, ws_ypixel: 0 });
    let size_ptr = size.as_ref().map_or(std::ptr::null(), |s| s as *const libc::winsize);
    // SAFETY: openpty writes two descriptors into the integers given and
    // only reads the size it is given.
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), size_ptr) };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both are descriptors openpty just opened, each owned once here.
    unsafe { (std::os::fd::FromRawFd::from_raw_fd(slave), std::os::fd::FromRawFd::from_raw_fd(master)) }
}

#[test]
fn a_verb_first_program_on_a_terminal_says_what_to_do_instead_of_waiting() {
    // A pseudo-terminal as stdin: dq must not sit waiting for typing.
    let (tty, _master) = terminal();
    let out = Command::new(env!("CARGO_BIN_EXE_dq"))
        .arg("filter qty > 5")
        .current_dir(root())
        .stdin(Stdio::from(tty))
        .output()
        .expect("dq runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("standard input, which is a terminal") && stderr.contains("scan"), "{stderr}");
}

#[test]
fn dq_and_a_data_file_shows_its_first_rows() {
    let o = run(&["testdata/sales.csv", "-n", "2"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "order_id,date,region,product,price,qty\n1,2024-01-01,south,pear,2.0,2\n2,2024-01-02,east,plum,3.25,3\n"
    );
    let o = run(&["testdata/matrix.npy", "-n", "1"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "c0,c1,c2\n1.0,2.0,100.0\n"), "{}", o.stderr);
    // A .dq file is still a program.
    let o = run(&["queries/top_cities.dq"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn a_mistyped_subcommand_gets_the_one_it_resembles() {
    for (typed, meant) in [("shcema", "dq schema"), ("profil", "dq profile"), ("explian", "dq explain")] {
        let err = fails(&[typed, "testdata/sales.csv"], 2, &format!("unknown command `{typed}`"));
        assert!(err.contains(meant), "{err}");
    }
    // A verb is not a typo: `dq count` counts standard input.
    let o = run_in(&root(), &["count"], Some(b"a\n1\n2\n"));
    assert_eq!((o.code, o.stdout.as_str()), (0, "count\n2\n"), "{}", o.stderr);
}

/// Rows of sales.csv whose `column` satisfies `keep`, counted by the test.
fn sales_count(column: &str, keep: impl Fn(&str) -> bool) -> usize {
    let table = csv(&String::from_utf8(sales()).unwrap());
    let at = table[0].iter().position(|c| c == column).unwrap();
    table[1..].iter().filter(|r| keep(&r[at])).count()
}

#[test]
fn parameters_fill_values_and_strings_and_unset_ones_are_named() {
    let want = sales_count("qty", |q| num(q) > 5.0);
    let out = ok_args(&[
        "run",
        "-e",
        r#"scan "$input" | filter qty > $min | count"#,
        "--var",
        "input=testdata/sales.csv",
        "-p",
        "min=5",
    ]);
    assert_eq!(out, format!("count\n{want}\n"));
    // `${name}` inside a string; `$$` and a `$` before no name stay a `$`.
    let out = ok_args(&[
        "run",
        "-e",
        r#"scan "testdata/${f}.csv" | head 1 | select a = "$$5 ${f}", b = "5$", c = $f"#,
        "--var",
        "f=sales",
    ]);
    assert_eq!(out, "a,b,c\n$5 sales,5$,sales\n");
    let err = fails(
        &["run", "-e", r#"scan "testdata/sales.csv" | filter qty > $min"#, "--var", "max=3"],
        2,
        "the parameter `$min` is not set",
    );
    assert!(err.contains("set: max"), "{err}");
    fails(&["run", "-e", r#"scan "testdata/sales.csv""#, "--var", "min"], 2, "NAME=VALUE");
}

#[test]
fn env_reads_an_environment_variable_and_an_unset_one_is_an_error() {
    let want = sales_count("region", |r| r == "east");
    let program = r#"scan "testdata/sales.csv" | filter region == env("DQ_TEST_REGION") | count"#;
    let with = |value: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dq"));
        cmd.args(["run", "-e", program]).current_dir(root()).stdin(Stdio::null());
        match value {
            Some(v) => cmd.env("DQ_TEST_REGION", v),
            None => cmd.env_remove("DQ_TEST_REGION"),
        };
        cmd.output().expect("dq runs")
    };
    let out = with(Some("east"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("count\n{want}\n"));
    let out = with(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the environment variable `DQ_TEST_REGION` is not set"), "{stderr}");
}

#[test]
fn run_dash_reads_the_program_from_standard_input() {
    let program = br#"scan "testdata/sales.csv" | filter region == "east" | count"#;
    let o = run_in(&root(), &["run", "-"], Some(program));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, format!("count\n{}\n", sales_count("region", |r| r == "east")));
    // Errors point into the program read from stdin.
    let o = run_in(&root(), &["run", "-"], Some(b"scan \"testdata/sales.csv\" | filter nope > 1"));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("<stdin>") && o.stderr.contains("nope"), "{}", o.stderr);
}

#[test]
fn flags_may_come_before_the_program_text() {
    let t = Tmp::new();
    let out = t.dir.path().join("east.csv");
    let out_s = out.to_str().unwrap();
    let program = r#"scan "testdata/sales.csv" | filter region == "east" | select order_id"#;
    let o = run(&["-q", "-o", out_s, program]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv(&written).len() - 1, sales_count("region", |r| r == "east"));
    let o = run(&["--format", "json", r#"scan "testdata/sales.csv" | count"#]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.split_whitespace().collect::<String>(), r#"[{"count":20}]"#);
    // A missing program file is still named as one.
    fails(&["-q", "missing.dq"], 2, "missing.dq");
    // Help and version stay dq's own.
    assert_eq!(run(&["--version"]).code, 0);
}

/// `dq ARGS` with `input` on stdin and TMPDIR set to `tmp` (where a
/// binary stream is copied while it is read).
fn piped(tmp: &Tmp, args: &[&str], input: &[u8]) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dq"))
        .args(args)
        .env("TMPDIR", tmp.dir.path())
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dq runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread, so a large input cannot deadlock on a full pipe.
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn standard_input_is_recognised_by_its_first_bytes() {
    let t = Tmp::new();
    let program = "agg n = count(), s = sum(qty)";
    let want = piped(&t, &[program], &sales());
    assert_eq!(want.stdout, "n,s\n20,83\n", "{}", want.stderr);
    // Compressed text, decompressed as it arrives.
    let zst = zstd::encode_all(&sales()[..], 3).unwrap();
    for input in [gzip(&sales()), zst.clone()] {
        let o = piped(&t, &[program], &input);
        assert_eq!((o.code, o.stdout.as_str()), (0, want.stdout.as_str()), "{}", o.stderr);
    }
    // Parquet (plain or gzipped), told by its magic bytes or by format=.
    let pq = t.path("sales.parquet");
    ok_args(&["run", "-q", "-o", pq.to_str().unwrap(), "-e", r#"scan "testdata/sales.csv""#]);
    let pq = std::fs::read(pq).unwrap();
    for (args, input) in [
        ([program].as_slice(), pq.clone()),
        ([program].as_slice(), gzip(&pq)),
        ([&format!(r#"scan "-" (format=parquet) | {program}"#)[..]].as_slice(), pq.clone()),
    ] {
        let o = piped(&t, args, &input);
        assert_eq!((o.code, o.stdout.as_str()), (0, want.stdout.as_str()), "{}", o.stderr);
    }
    // The temporary copy is gone afterwards.
    let left: Vec<_> = std::fs::read_dir(t.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().starts_with(".dq-stdin")), "{left:?}");
    // NDJSON, told by its opening brace.
    let nd = b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 5, \"b\": null}\n";
    let o = piped(&t, &["agg s = sum(a), n = count(b)"], nd);
    assert_eq!((o.code, o.stdout.as_str()), (0, "s,n\n6,1\n"), "{}", o.stderr);
    // Corrupt compressed input is bad data (exit 3), named as stdin.
    let o = piped(&t, &["count"], &zst[..zst.len() / 2]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains('-') && o.stderr.contains("compressed"), "{}", o.stderr);
}

#[test]
fn gz_and_zst_outputs_are_written_compressed() {
    let t = Tmp::new();
    let program = r#"scan "testdata/sales.csv" | filter qty > 3"#;
    let plain = ok_args(&["run", "-q", "-e", program]);
    let gz = t.path("out.csv.gz");
    ok_args(&["run", "-q", "-o", gz.to_str().unwrap(), "-e", program]);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap()), &mut text)
        .unwrap();
    assert_eq!(text, plain);
    let zst = t.path("out.ndjson.zst");
    ok_args(&["run", "-q", "-o", zst.to_str().unwrap(), "-e", program]);
    let text = String::from_utf8(zstd::decode_all(std::fs::File::open(&zst).unwrap()).unwrap()).unwrap();
    assert_eq!(text.lines().count(), csv(&plain).len() - 1);
    assert!(text.starts_with("{\"order_id\":"), "{text}");
    // dq reads its own compressed output back.
    let back = ok_args(&["run", "-q", "-e", &format!(r#"scan "{}""#, gz.display())]);
    assert_eq!(back, plain);
    // A binary format is not compressed whole: refused before any work, nothing written.
    let pq = t.path("out.parquet.gz");
    fails(&["run", "-q", "-o", pq.to_str().unwrap(), "-e", program], 2, "drop the .gz");
    assert_eq!(t.listing(), ["out.csv.gz", "out.ndjson.zst"]);
}

#[test]
fn parquet_to_a_terminal_is_refused() {
    let (tty, _master) = terminal();
    let out = Command::new(env!("CARGO_BIN_EXE_dq"))
        .args(["--format", "parquet", r#"scan "testdata/sales.csv""#])
        .current_dir(root())
        .stdout(Stdio::from(tty))
        .stderr(Stdio::piped())
        .output()
        .expect("dq runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("terminal") && stderr.contains("-o out.parquet"), "{stderr}");
}

#[test]
fn the_language_reference_ships_inside_the_binary() {
    let reference = std::fs::read_to_string(root().join("docs/language.md")).unwrap();
    assert_eq!(ok_args(&["help", "language"]), reference);
    let verbs = ok_args(&["help", "verbs"]);
    assert!(verbs.starts_with("## Verbs") && verbs.contains("`sort key"), "{verbs}");
    let functions = ok_args(&["help", "functions"]);
    assert!(functions.contains("`coalesce(a, b, ...)`") && !functions.contains("## Verbs"), "{functions}");
    // One verb, one function, one section, one command.
    assert!(ok_args(&["help", "filter"]).contains("keeps rows where"));
    assert!(ok_args(&["help", "substr"]).contains("substring"));
    assert!(ok_args(&["help", "joins"]).starts_with("### Joins"));
    assert!(ok_args(&["help", "run"]).contains("--memory-limit"));
    fails(&["help", "fitler"], 2, "dq help filter");
    assert!(ok_args(&["completions", "bash"]).contains("complete -F _dq"));
    assert!(ok_args(&["completions", "zsh"]).contains("#compdef dq"));
    assert!(ok_args(&["man"]).contains(".TH dq 1"));
}

#[test]
fn a_quick_look_reads_one_chunk() {
    let t = Tmp::new();
    let mut text = String::from("a,b\n");
    for i in 0..200_000 {
        text.push_str(&format!("{i},{}\n", i % 7));
    }
    let plain = t.file("big.csv", &text);
    let zst = t.file("big.csv.zst", zstd::encode_all(text.as_bytes(), 3).unwrap());
    for file in [&plain, &zst] {
        let o =
            t.run(&["run", "-q", "--chunk-size", "64KB", "--stats=json", "-e", &format!(r#"scan "{file}" | head 2"#)]);
        assert_eq!((o.code, o.stdout.as_str()), (0, "a,b\n0,0\n1,1\n"), "{}", o.stderr);
        // Of about 40 chunks, one is read (the window used to be many).
        assert_eq!(stats_json(&o.stderr)["stages"][0]["chunks"], 1, "{file}: {}", o.stderr);
    }
    // A limit that one chunk does not fill reads on, in growing windows.
    let o =
        t.run(&["run", "-q", "--chunk-size", "64KB", "-e", &format!(r#"scan "{plain}" | filter b == 3 | head 20000"#)]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = csv(&o.stdout);
    assert_eq!(rows.len() - 1, 20_000);
    assert!(rows[1..].iter().enumerate().all(|(i, r)| r[0] == (3 + 7 * i).to_string()), "rows in file order");
}

#[test]
fn a_quick_look_touches_one_chunk_of_a_large_file() {
    // 64 MB of CSV in 4 MB chunks: `head 2` parses one chunk, and only one
    // chunk's pages are read to find where it ends. Record boundaries used
    // to be found sixteen chunks ahead, 64 MB of the file resident for two
    // rows. The bar: the runtime (about 45 MB) and a few chunks.
    let t = Tmp::new();
    let mut text = String::with_capacity(64 << 20);
    text.push_str("a,b,c\n");
    let mut i = 0u64;
    while text.len() < 64 << 20 {
        text.push_str(&format!("{i},{},some text {}\n", i % 7, i * 31 % 1000));
        i += 1;
    }
    let file = t.file("big.csv", &text);
    let (code, rss) = peak_rss(&["run", "-q", "--chunk-size", "4MB", "-e", &format!(r#"scan "{file}" | head 2"#)]);
    assert_eq!(code, 0);
    assert!(rss < 80 << 20, "peak RSS {} MiB for two rows", rss >> 20);
}

#[test]
fn filename_names_each_rows_file() {
    // Each file's row count, from the files themselves.
    let mut want = String::from("file,n\n");
    for day in 1..=6 {
        let name = format!("testdata/measurements/day-{day}.csv");
        let text = std::fs::read_to_string(root().join(&name)).unwrap();
        want.push_str(&format!("{name},{}\n", csv(&text).len() - 1));
    }
    for chunk in ["16MB", "200B"] {
        let program = r#"scan "testdata/measurements/*.csv" (filename=file) | agg n = count() by file | sort file"#;
        assert_eq!(ok_args(&["run", "--chunk-size", chunk, "-e", program]), want);
    }
    // A filter on it, and Parquet.
    let one = ok(
        r#"scan "testdata/measurements/*.csv" (filename=f) | filter f == "testdata/measurements/day-3.csv" | count"#,
    );
    assert_eq!(one, format!("count\n{}\n", want.lines().nth(3).unwrap().split(',').nth(1).unwrap()));
    assert_eq!(ok(r#"scan "testdata/trips.parquet" (filename=f) | select f | head 1"#), "f\ntestdata/trips.parquet\n");
    // A name the files already use is refused.
    fails(&["run", "-e", r#"scan "testdata/sales.csv" (filename=qty) | count"#], 2, "already have a column `qty`");
}

#[test]
fn schema_head_and_profile_take_a_scans_options() {
    let t = Tmp::new();
    let file = t.file("semi.txt", "1;north;NA\n2;south;4\n3;north;5\n");
    let options = r#"format=csv, delimiter=";", header=false, null="NA", names=[id, region]"#;
    let schema = ok_args(&["schema", &file, "--options", options, "--format", "csv"]);
    assert_eq!(schema, "column,type\nid,int\nregion,str\ncolumn_3,int\n");
    let head = ok_args(&["head", &file, "-n", "2", "--options", options, "--format", "csv"]);
    assert_eq!(head, "id,region,column_3\n1,north,\n2,south,4\n");
    let p: serde_json::Value =
        serde_json::from_str(&ok_args(&["profile", &file, "--options", options, "--format", "json"])).unwrap();
    let third = &p["columns"][2];
    assert_eq!(
        (third["name"].as_str(), third["nulls"].as_u64(), third["max"].as_str()),
        (Some("column_3"), Some(1), Some("5"))
    );
    // The same options in a program give the same rows.
    let run = ok(&format!(r#"scan "{file}" ({options}) | head 2"#));
    assert_eq!(run, head);
    // A mistyped option is named, with the options' text.
    let err = fails(&["head", &file, "--options", "delimter=\";\""], 2, "unknown scan option `delimter`");
    assert!(err.contains("did you mean `delimiter`"), "{err}");
    fails(
        &["schema", &file, "--options", "format=csv, header=false, names=[a, b, c, d]"],
        2,
        // (the delimiter, not given, is sniffed: `;`)
        "4 names, but the file has 3 columns",
    );
    fails(&["schema", &file, "--options", "names=[a]"], 2, "names= names CSV columns");
}

#[test]
fn a_terminal_table_fits_the_terminal() {
    let (tty, mut master) = sized_terminal(Some(80));
    let program = r#"scan "testdata/sales.csv" | derive note = "a very long note that goes on and on and on forever", e = "", n = "null", z = null, w = 123456789.123456789 | head 3"#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_dq"))
        .arg(program)
        .current_dir(root())
        .stdout(Stdio::from(tty))
        .stderr(Stdio::piped())
        .spawn()
        .expect("dq runs");
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut out = vec![0u8; 1 << 16];
    let n = std::io::Read::read(&mut master, &mut out).unwrap();
    let text = String::from_utf8_lossy(&out[..n]).replace('\r', "");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{text}");
    // The first and last columns stay, the middle ones are counted.
    assert!(lines[1].contains("order_id") && lines[1].contains(" w ") && lines[1].contains('…'), "{text}");
    assert!(text.contains("3 rows × 11 columns, 5 not shown"), "{text}");
    // null, the text "null" and full floats.
    assert!(
        lines[4].contains("\"null\"") && lines[4].contains(" null ") && lines[4].contains("123456789.12345679"),
        "{text}"
    );
    // Markdown keeps every value whole.
    let md = ok_args(&["--format", "markdown", program]);
    assert!(
        md.contains("| a very long note that goes on and on and on forever |  | null |  | 123456789.12345679 |"),
        "{md}"
    );
}

#[test]
fn the_delimiter_is_sniffed_when_not_given() {
    let t = Tmp::new();
    let semi = t.file("eu.csv", "id;price;city\n1;2,50;Köln\n2;3,00;Wien\n");
    assert_eq!(ok(&format!(r#"scan "{semi}" | select id, city"#)), "id,city\n1,Köln\n2,Wien\n");
    let pipe = t.file("p.csv", "a|b\n1|x\n");
    assert_eq!(ok(&format!(r#"scan "{pipe}""#)), "a,b\n1,x\n");
    // A given delimiter is kept, and a plain CSV stays a CSV.
    fails(&["run", "-e", &format!(r#"scan "{semi}" (delimiter=",") | count"#)], 3, "eu.csv:2");
    assert_eq!(ok(r#"scan "testdata/sales.csv" | count"#), "count\n20\n");
    // Compressed files are sniffed on their first decompressed bytes.
    let text = "id;price;city\n1;2,50;Köln\n2;3,00;Wien\n";
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
    let gz = t.file("eu.csv.gz", e.finish().unwrap());
    let zst = t.file("eu.csv.zst", zstd::encode_all(text.as_bytes(), 3).unwrap());
    for f in [gz, zst] {
        assert_eq!(ok(&format!(r#"scan "{f}" | select id, city"#)), "id,city\n1,Köln\n2,Wien\n", "{f}");
    }
}

#[test]
fn a_csv_read_as_one_column_holding_another_delimiter_is_warned_about() {
    // Standard input is not sniffed (it is read once): a `;` file comes
    // out as one column, and dq says which delimiter would split it.
    let t = Tmp::new();
    let o = piped(&t, &["run", "-e", r#"scan "-""#], b"id;name\n1;a\n");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "id;name\n1;a\n");
    assert!(
        o.stderr
            .contains(r#"warning: - read as one column `id;name`; if `;` separates its fields, add (delimiter=";")"#),
        "{}",
        o.stderr
    );
    let quiet = piped(&t, &["run", "-q", "-e", r#"scan "-""#], b"id;name\n1;a\n");
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    // A one-column file with no other delimiter in its name is not warned about.
    let plain = piped(&t, &["run", "-e", r#"scan "-""#], b"name\nx;y\n");
    assert!(plain.stderr.is_empty(), "{}", plain.stderr);
}
