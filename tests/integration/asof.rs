//! As-of joins: hand-checked on the shipped fixtures, and on generated data
//! (null keys, null and tied times, tiny chunks) against a row-at-a-time
//! search written here.

use std::collections::HashMap;

use crate::util::*;

const SALES_PRICES: &str = r#"scan "testdata/sales.csv" | join "testdata/prices.csv" on product asof date = since"#;

#[test]
fn each_order_takes_the_price_in_effect_on_its_day() {
    let out = ok(&format!("{SALES_PRICES} kind=left | filter order_id <= 8 | select order_id, since, list_price"));
    // pear has no price before 2024-01-05: orders 1 and 4 keep nulls.
    assert_eq!(
        out,
        "order_id,since,list_price\n1,,\n2,2023-12-01,3.0\n3,2024-01-01,1.4\n4,,\n\
         5,2023-12-01,3.0\n6,2024-01-01,1.4\n7,2024-01-05,1.9\n8,2023-12-01,3.0\n"
    );
    // Inner (the default) drops them.
    let inner = ok(&format!("{SALES_PRICES} | filter order_id <= 8 | select order_id"));
    assert_eq!(inner, "order_id\n2\n3\n5\n6\n7\n8\n");
}

#[test]
fn forward_and_nearest_directions() {
    let forward = ok(&format!("{SALES_PRICES} direction=forward | filter order_id >= 9 | select order_id, since"));
    // Apple's last price starts 2024-01-10: orders 12, 15, 18 find none after.
    assert_eq!(
        forward,
        "order_id,since\n9,2024-01-10\n10,2024-01-15\n11,2024-01-12\n13,2024-01-15\n\
         14,2024-01-18\n17,2024-01-18\n"
    );
    let nearest = ok(&format!("{SALES_PRICES} direction=nearest | filter order_id <= 6 | select order_id, since"));
    // Order 2 (plum, 01-02): 32 days after 12-01, 10 before 01-12.
    // Order 3 (apple, 01-03): 2 days after 01-01, 7 before 01-10.
    assert_eq!(
        nearest,
        "order_id,since\n1,2024-01-05\n2,2024-01-12\n3,2024-01-01\n4,2024-01-05\n5,2024-01-12\n6,2024-01-10\n"
    );
}

#[test]
fn a_filter_on_the_matched_columns_runs_after_the_match() {
    // Pear orders from 01-15 on match 2.1 and are filtered out; had the
    // filter been pushed into the prices, they would have matched 1.9.
    let out = ok(&format!("{SALES_PRICES} | filter list_price < 2 and product == \"pear\" | select order_id"));
    assert_eq!(out, "order_id\n7\n10\n13\n");
}

#[test]
fn explain_names_the_as_of_columns_as_written() {
    // Regression: the task graph's line was lowercased whole, so `Day` read `day`.
    let program = r#"scan "testdata/sales.csv" | rename Day = date | join "testdata/prices.csv" on product asof Day = since direction=nearest"#;
    let out = ok_args(&["explain", "-e", program]);
    assert!(out.contains("broadcast_join inner as-of on product asof Day = since nearest"), "{out}");
}

#[test]
fn bad_as_of_joins_are_plan_time_errors() {
    let program = |rest: &str| format!(r#"scan "testdata/sales.csv" | join "testdata/prices.csv" {rest}"#);
    fails(&["run", "-e", &program("on product asof date = since kind=full")], 2, "an as-of join is inner or left");
    fails(&["run", "-e", &program("asof region = product")], 2, "needs two numbers, dates or datetimes");
    fails(&["run", "-e", &program("on product asof date = since direction=sideways")], 2, "unknown as-of direction");
    fails(&["run", "-e", &program("asof date = nope")], 2, "nope");
}

/// Generated left and right rows: (key, time), keys 0..20 or null, times
/// 0..300 or null, many ties.
fn rows(seed: u64, n: usize) -> Vec<(Option<i64>, Option<i64>)> {
    let mut state = seed;
    let mut next = move |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    (0..n).map(|_| ((next(12) != 0).then(|| next(20) as i64), (next(9) != 0).then(|| next(300) as i64))).collect()
}

fn text(header: &str, rows: &[(Option<i64>, Option<i64>)]) -> String {
    let field = |x: Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
    let mut out = format!("{header}\n");
    for (i, (k, t)) in rows.iter().enumerate() {
        out += &format!("{i},{},{}\n", field(*k), field(*t));
    }
    out
}

/// The right row each left row takes, searched row by row.
fn expected(left: (Option<i64>, Option<i64>), right: &[(Option<i64>, Option<i64>)], direction: &str) -> Option<usize> {
    let (Some(k), Some(t)) = left else { return None };
    let same: Vec<(usize, i64)> =
        right.iter().enumerate().filter(|(_, r)| r.0 == Some(k)).filter_map(|(j, r)| Some((j, r.1?))).collect();
    // Backward: the largest time <= t, the last such row; forward: the
    // smallest time >= t, the first such row.
    let back = same.iter().filter(|(_, v)| *v <= t).max_by_key(|(j, v)| (*v, *j)).copied();
    let fwd = same.iter().filter(|(_, v)| *v >= t).min_by_key(|(j, v)| (*v, *j)).copied();
    let pick = match direction {
        "backward" => back,
        "forward" => fwd,
        _ => match (back, fwd) {
            (Some(b), Some(f)) => Some(if f.1 - t < t - b.1 { f } else { b }),
            (b, f) => b.or(f),
        },
    };
    pick.map(|(j, _)| j)
}

#[test]
fn generated_rows_match_a_row_at_a_time_search() {
    let t = Tmp::new();
    let (left, right) = (rows(0x9e37_79b9_7f4a_7c15, 3000), rows(0x2545_f491_4f6c_dd1d, 2000));
    let lf = t.file("left.csv", text("id,k,t", &left));
    let rf = t.file("right.csv", text("rid,k,rt", &right));
    // Integers, and the same times as floats (another search type).
    // Regression: the paths were put in by replacing "RF" and then "LF",
    // which also replaced an "LF" in the temporary directory's random name.
    let float = format!(
        r#"let right = scan "{rf}" | derive rt = cast(rt, float) / 4
scan "{lf}" | derive t = cast(t, float) / 4 | join right"#
    );
    let cases = [("backward", false), ("forward", false), ("nearest", false), ("backward", true), ("nearest", true)];
    for (direction, floats) in cases {
        let from = if floats { float.clone() } else { format!(r#"scan "{lf}" | join "{rf}""#) };
        let program = format!(r#"{from} on k asof t = rt kind=left direction={direction} | select id, rid"#);
        let out = ok_args(&["run", "-e", &program, "--chunk-size", "4KB", "--memory-limit", "16MiB"]);
        let got: HashMap<usize, String> =
            records(&out).into_iter().map(|r| (r["id"].parse().unwrap(), r["rid"].clone())).collect();
        assert_eq!(got.len(), left.len(), "a left join keeps every left row");
        for (i, l) in left.iter().enumerate() {
            let want = expected(*l, &right, direction).map(|j| j.to_string()).unwrap_or_default();
            assert_eq!(got[&i], want, "{direction} (floats: {floats}): left row {i} {l:?}");
        }
    }
}
