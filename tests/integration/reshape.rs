//! `pivot` (long to wide) and `unpivot` (wide to long), checked by hand and
//! against the same sums computed here from the rows.

use std::collections::{BTreeSet, HashMap};

use crate::util::*;

#[test]
fn unpivot_turns_columns_into_rows_row_after_row() {
    let t = Tmp::new();
    let f = t.file("wide.csv", "id,q1,q2,q3\n1,10,,30\n2,5,6,7\n");
    assert_eq!(
        ok(&format!(r#"scan "{f}" | unpivot * except (id) into quarter, sales"#)),
        "id,quarter,sales\n1,q1,10\n1,q2,\n1,q3,30\n2,q1,5\n2,q2,6\n2,q3,7\n"
    );
    // `melt` is the same verb; the other columns keep their place in front.
    assert_eq!(ok(&format!(r#"scan "{f}" | melt q3, q1 | filter id == 2"#)), "id,q2,name,value\n2,6,q3,7\n2,6,q1,5\n");
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | unpivot product, qty"#], 2, "unpivot mixes str and int");
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | unpivot qty + 1"#], 2, "is not a column");
}

/// Sales by (region, product), from the CSV itself.
fn sales_sums() -> HashMap<(String, String), i64> {
    let text = std::fs::read_to_string(root().join("testdata/sales.csv")).unwrap();
    let mut sums = HashMap::new();
    for r in records(&text) {
        *sums.entry((r["region"].clone(), r["product"].clone())).or_default() += r["qty"].parse::<i64>().unwrap();
    }
    sums
}

#[test]
fn pivot_finds_its_columns_in_a_first_pass_and_sums_each_cell() {
    let out = ok(r#"scan "testdata/sales.csv" | pivot product using sum(qty) by region | sort region"#);
    let sums = sales_sums();
    let products: BTreeSet<&String> = sums.keys().map(|(_, p)| p).collect();
    let header: Vec<String> = csv(&out)[0].clone();
    let mut want_header = vec!["region".to_string()];
    want_header.extend(products.iter().map(|p| p.to_string()));
    assert_eq!(header, want_header, "columns are the sorted values");
    for r in records(&out) {
        for p in &products {
            let want = sums.get(&(r["region"].clone(), p.to_string())).map(|s| s.to_string()).unwrap_or_default();
            assert_eq!(r[p.as_str()], want, "{} / {p}", r["region"]);
        }
    }
    // explain shows the columns the first pass found.
    let plan = ok_args(&["explain", "-e", r#"scan "testdata/sales.csv" | pivot product using sum(qty) by region"#]);
    for p in &products {
        assert!(plan.contains(&format!("{p} = sum(if((product == \"{p}\"), qty, null))")), "{plan}");
    }
}

#[test]
fn pivot_first_pass_runs_with_the_run_s_settings_and_keeps_its_exit_code() {
    // Regression: the first pass ran with default settings, so it ignored
    // --on-bad-rows and reported a bad record as a planning error (exit 2).
    let program = r#"scan "testdata/bad_rows.csv" | pivot b using count() by a"#;
    fails(&["run", "-e", program], 3, "bad_rows.csv:4: expected 3 fields, found 2");
    let out = ok_args(&["run", "-e", program, "--on-bad-rows", "skip"]);
    assert_eq!(out, "a,2,5,10,17\n1,1,0,0,0\n4,0,1,0,0\n9,0,0,1,0\n16,0,0,0,1\n");
}

#[test]
fn pivot_with_listed_values_counts_and_fills_missing_cells() {
    assert_eq!(
        ok(r#"scan "testdata/sales.csv" | pivot region in ["east", "mars"] using count() by product | sort product"#),
        "product,east,mars\napple,2,0\npear,1,0\nplum,2,0\n"
    );
    // Date values name their columns in ISO form (qty of orders 1-3 by hand).
    assert_eq!(
        ok(r#"scan "testdata/sales.csv" | filter order_id <= 3 | pivot date using sum(qty)"#),
        "2024-01-01,2024-01-02,2024-01-03\n2,3,4\n"
    );
    // A null key has a column of its own; a cell with no values is null.
    assert_eq!(ok(r#"scan "testdata/nulls.csv" | pivot k using sum(v)"#), "a,b,null\n1,,8\n");
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | pivot price using sum(qty)"#], 2, "is float");
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | pivot product using first(qty)"#], 2, "cannot fill a pivot");
    fails(&["run", "-e", r#"scan "testdata/sales.csv" | pivot product sum(qty)"#], 2, "`using`");
}

#[test]
fn pivot_then_unpivot_on_generated_rows_under_a_memory_limit_gives_back_the_sums() {
    let t = Tmp::new();
    let mut text = String::from("g,c,v\n");
    let mut sums: HashMap<(i64, i64), i64> = HashMap::new();
    for i in 0..20_000i64 {
        let (g, c, v) = (i % 97, (i * 7) % 13, (i * 31) % 100);
        text += &format!("{g},{c},{v}\n");
        *sums.entry((g, c)).or_default() += v;
    }
    let f = t.file("long.csv", text);
    let out = ok_args(&[
        "run",
        "-e",
        &format!(r#"scan "{f}" | pivot c using sum(v) by g | unpivot * except (g) into c, total"#),
        "--chunk-size",
        "8KB",
        "--memory-limit",
        "32MB",
    ]);
    let rows = records(&out);
    assert_eq!(rows.len(), sums.len());
    for r in rows {
        let key = (r["g"].parse().unwrap(), r["c"].parse().unwrap());
        assert_eq!(r["total"], sums[&key].to_string(), "{key:?}");
    }
}
