//! Window functions (`f(x) over (by k sort t rows N)`), checked against
//! values worked out by hand and, on generated data with nulls and ties,
//! against a row-at-a-time computation written here. The spilling case is
//! in `memory.rs`.

use std::collections::HashMap;

use crate::util::*;

const SMALL: &str = "id,k,t,v\n1,a,1,10\n2,a,2,\n3,b,1,5\n4,a,3,30\n5,b,2,7\n6,b,2,1\n7,,1,4\n";

#[test]
fn ranking_offsets_and_frames_by_hand() {
    let t = Tmp::new();
    let f = t.file("w.csv", SMALL);
    let out = ok(&format!(
        r#"scan "{f}" | derive rn = row_number() over (by k sort t), rk = rank() over (by k sort t), dr = dense_rank() over (by k sort t), prev = lag(v) over (by k sort t), nxt = lead(v, 1, 0) over (by k sort t), run = sum(v) over (by k sort t), cs = cum_sum(v) over (by k sort t), tot = sum(v) over (by k), mv = mean(v) over (by k sort t rows 2), top = first(v) over (by k sort -t), n = count() over (by k) | select id, rn, rk, dr, prev, nxt, run, cs, tot, mv, top, n"#
    ));
    // Rows keep their input order. In b, ids 5 and 6 tie on t = 2: ranks
    // share 2, row numbers follow input order, the running (peer) sum
    // includes both, cum_sum does not.
    assert_eq!(
        out,
        "id,rn,rk,dr,prev,nxt,run,cs,tot,mv,top,n\n\
         1,1,1,1,,,10,10,40,10.0,30,3\n\
         2,2,2,2,10,30,10,10,40,10.0,30,3\n\
         3,1,1,1,,7,5,5,13,5.0,7,3\n\
         4,3,3,3,,0,40,40,40,30.0,30,3\n\
         5,2,2,2,5,1,13,12,13,6.0,7,3\n\
         6,3,2,2,7,0,13,13,13,4.0,7,3\n\
         7,1,1,1,,0,4,4,4,4.0,4,1\n"
    );
}

#[test]
fn a_window_without_partitions_and_shares_of_a_total() {
    let t = Tmp::new();
    let f = t.file("w.csv", SMALL);
    let out = ok(&format!(
        r#"scan "{f}" | derive pos = row_number() over (sort -v), pct = round(100 * v / sum(v) over (), 1), lo = cum_min(v) over (sort id) | select id, pos, pct, lo"#
    ));
    assert_eq!(out, "id,pos,pct,lo\n1,2,17.5,10\n2,7,,10\n3,4,8.8,5\n4,1,52.6,5\n5,3,12.3,5\n6,6,1.8,1\n7,5,7.0,1\n");
}

#[test]
fn bad_windows_are_plan_time_errors() {
    let t = Tmp::new();
    let f = t.file("w.csv", SMALL);
    let prog = |d: &str| format!(r#"scan "{f}" | {d}"#);
    fails(&["run", "-e", &prog("derive x = lagg(v) over (by k)")], 2, "did you mean");
    fails(&["run", "-e", &prog("derive x = cum_sum(v) over (sort t rows 3)")], 2, "takes no `rows`");
    fails(&["run", "-e", &prog("derive x = lag(v) over (sort t rows 3)")], 2, "has no frame");
    fails(&["run", "-e", &prog("derive x = sum(v) over (sort t rows 0)")], 2, "at least 1");
    fails(&["run", "-e", &prog("derive x = sum(k) over (by t)")], 2, "needs numbers");
    fails(&["run", "-e", &prog("filter lag(v) over (sort t) > 1")], 2, "window function outside `derive`");
    fails(&["run", "-e", &prog("derive x = lag(v) over (by nope)")], 2, "nope");
    fails(&["run", "-e", &prog(r#"derive x = lag(v, 1, "a") over (sort t)"#)], 2, "default");
}

/// A generated row: (id, key or null, sort value with ties, value or null).
type Row = (i64, Option<i64>, i64, Option<i64>);

/// A partition's rows as (sort value, id, value), sorted.
type Part = Vec<(i64, i64, Option<i64>)>;

fn generated(n: i64) -> (String, Vec<Row>) {
    let mut text = String::from("id,k,t,v\n");
    let mut rows = Vec::new();
    for id in 0..n {
        let k = (id % 11 != 0).then_some((id * 37) % 23);
        let t = (id * 13) % 17;
        let v = (id % 5 != 0).then_some((id * 7) % 31 - 10);
        let field = |x: Option<i64>| x.map(|x| x.to_string()).unwrap_or_default();
        text += &format!("{id},{},{t},{}\n", field(k), field(v));
        rows.push((id, k, t, v));
    }
    (text, rows)
}

#[test]
fn windows_on_generated_rows_match_a_row_at_a_time_computation() {
    let t = Tmp::new();
    let (text, rows) = generated(3000);
    let f = t.file("g.csv", text);
    let program = format!(
        r#"scan "{f}" | derive rk = rank() over (by k sort t), dr = dense_rank() over (by k sort t), nxt = lead(v, 2) over (by k sort t, id), run = sum(v) over (by k sort t), mv = sum(v) over (by k sort t, id rows 3), hi = max(v) over (by k), cnt = count(v) over (by k sort t), last_v = last(v) over (by k sort t, id)"#
    );
    let out = ok_args(&["run", "-e", &program, "--chunk-size", "2KB", "--threads", "2"]);
    // By hand: partitions in (t, id) order.
    let mut parts: HashMap<Option<i64>, Part> = HashMap::new();
    for &(id, k, t, v) in &rows {
        parts.entry(k).or_default().push((t, id, v));
    }
    let field = |x: Option<i64>| x.map(|x| x.to_string()).unwrap_or_default();
    let sum = |vals: &[(i64, i64, Option<i64>)]| {
        let present: Vec<i64> = vals.iter().filter_map(|r| r.2).collect();
        (!present.is_empty()).then(|| present.iter().sum::<i64>())
    };
    let mut want: HashMap<i64, Vec<String>> = HashMap::new();
    for part in parts.values_mut() {
        part.sort();
        let hi = part.iter().filter_map(|r| r.2).max();
        for (i, &(t, id, _)) in part.iter().enumerate() {
            let rank = part.iter().filter(|r| r.0 < t).count() + 1;
            let dense = {
                let mut ts: Vec<i64> = part.iter().map(|r| r.0).filter(|&x| x < t).collect();
                ts.dedup();
                ts.len() + 1
            };
            let peers_end = part.iter().rposition(|r| r.0 == t).unwrap();
            let frame3 = &part[i.saturating_sub(2)..=i];
            let count = part[..=peers_end].iter().filter(|r| r.2.is_some()).count();
            want.insert(
                id,
                vec![
                    rank.to_string(),
                    dense.to_string(),
                    field(part.get(i + 2).and_then(|r| r.2)),
                    field(sum(&part[..=peers_end])),
                    field(sum(frame3)),
                    field(hi),
                    count.to_string(),
                    field(part[i].2),
                ],
            );
        }
    }
    let got = records(&out);
    assert_eq!(got.len(), rows.len());
    for (r, (id, ..)) in got.iter().zip(&rows) {
        // Input order is kept while the input fits in memory.
        assert_eq!(r["id"], id.to_string());
        let names = ["rk", "dr", "nxt", "run", "mv", "hi", "cnt", "last_v"];
        let got: Vec<String> = names.iter().map(|n| r[*n].clone()).collect();
        assert_eq!(got, want[id], "row {id}");
    }
}

#[test]
fn many_rows_in_memory_keep_their_input_order() {
    // Past 200,000 rows the executor may finish a sink in key-disjoint
    // pieces on several threads; a window must not, or its rows would come
    // out grouped by piece (found in review).
    let t = Tmp::new();
    let rows = 250_000u64;
    let mut text = String::from("id,k\n");
    for i in 0..rows {
        text += &format!("{i},{}\n", (i * 7919) % 1009);
    }
    let f = t.file("many.csv", text);
    let out = ok_args(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | derive rn = row_number() over (by k sort id) | select id, rn"#),
        "--threads",
        "2",
    ]);
    let got = records(&out);
    assert_eq!(got.len(), rows as usize);
    let mut seen_per_key = std::collections::HashMap::new();
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r["id"], i.to_string(), "row {i} out of input order");
        let n = seen_per_key.entry((i as u64 * 7919) % 1009).or_insert(0u64);
        *n += 1;
        assert_eq!(r["rn"], n.to_string());
    }
}
