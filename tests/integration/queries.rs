//! Every example program in queries/ runs and gives the right answer.
//! Expected values are computed here from the fixtures, independently of dq.

use std::collections::BTreeMap;

use crate::util::*;

/// Rows of a simple (unquoted) CSV fixture as header-keyed maps.
fn fixture(path: &str) -> Vec<std::collections::HashMap<String, String>> {
    records(&std::fs::read_to_string(root().join(path)).unwrap())
}

#[test]
fn every_query_file_is_tested() {
    let mut names: Vec<String> = std::fs::read_dir(root().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let tested = [
        "all_people.dq",
        "array_column_stats.dq",
        "array_standardize.dq",
        "compressed_sales.dq",
        "events_summary.dq",
        "long_comments.dq",
        "mean_by_category.dq",
        "sales_to_parquet.dq",
        "top_cities.dq",
        "top_fares.dq",
        "trips_by_vendor.dq",
        "word_count.dq",
    ];
    assert_eq!(names, tested, "add a test for each new query");
}

#[test]
fn mean_by_category() {
    let mut acc: BTreeMap<String, (f64, usize, f64)> = BTreeMap::new();
    for f in 1..=6 {
        for r in fixture(&format!("testdata/measurements/day-{f}.csv")) {
            let e = acc.entry(r["category"].clone()).or_insert((0.0, 0, f64::MIN));
            let v = num(&r["value"]);
            e.0 += v;
            e.1 += 1;
            e.2 = e.2.max(v);
        }
    }
    let out = ok_args(&["run", "queries/mean_by_category.dq"]);
    let got = records(&out);
    assert_eq!(got.len(), acc.len());
    for (r, (cat, (sum, n, max))) in got.iter().zip(&acc) {
        assert_eq!(&r["category"], cat);
        assert_eq!(num(&r["n"]) as usize, *n);
        close(num(&r["mean_value"]), sum / *n as f64);
        close(num(&r["max_value"]), *max);
    }
}

#[test]
fn trips_by_vendor() {
    let mut acc: BTreeMap<String, (usize, f64, f64)> = BTreeMap::new();
    for r in fixture("testdata/trips.csv") {
        if num(&r["distance_km"]) >= 10.0 && num(&r["passengers"]) > 1.0 {
            let e = acc.entry(r["vendor"].clone()).or_default();
            e.0 += 1;
            e.1 += num(&r["fare"]);
            e.2 += num(&r["distance_km"]);
        }
    }
    let mut expected: Vec<(String, (usize, f64, f64))> = acc.into_iter().collect();
    expected.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
    let out = ok_args(&["run", "queries/trips_by_vendor.dq"]);
    for (r, (vendor, (n, revenue, km))) in records(&out).iter().zip(&expected) {
        assert_eq!(&r["vendor"], vendor);
        assert_eq!(num(&r["trips"]) as usize, *n);
        close(num(&r["revenue"]), *revenue);
        close(num(&r["avg_km"]), km / *n as f64);
    }
}

#[test]
fn top_cities_by_hand() {
    // DE and over 25: Anna (Berlin, 5200), Dieter (Berlin, 4500), Eva (Munich, 7000),
    // Finn (Hamburg, 3900), Hanna (Munich, 5600); all their departments exist.
    let out = ok_args(&["run", "queries/top_cities.dq"]);
    assert_eq!(
        out,
        "city,n,avg_salary,total_bonus\nMunich,2,6300.0,1260.0\nBerlin,2,4850.0,970.0\nHamburg,1,3900.0,390.0\n"
    );
}

#[test]
fn top_fares_is_the_head_of_a_sort() {
    let mut rows: Vec<(f64, i64, String)> = fixture("testdata/trips.csv")
        .into_iter()
        .map(|r| (num(&r["fare"]), r["trip_id"].parse().unwrap(), r["vendor"].clone()))
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let out = ok_args(&["run", "queries/top_fares.dq"]);
    let got: Vec<i64> = column(&out, "trip_id").iter().map(|s| s.parse().unwrap()).collect();
    let want: Vec<i64> = rows.iter().take(5).map(|r| r.1).collect();
    assert_eq!(got, want);
    let plan = ok_args(&["explain", "queries/top_fares.dq"]);
    assert!(plan.contains("TopK k=5") && plan.contains("top_k k=5"), "{plan}");
}

#[test]
fn sales_to_parquet_writes_a_file() {
    let t = Tmp::new();
    std::os::unix::fs::symlink(root().join("testdata"), t.path("testdata")).unwrap();
    let o = t.run(&["run", root().join("queries/sales_to_parquet.dq").to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("wrote 12 rows to out/sales_by_region.parquet"), "{}", o.stderr);
    let back = t.run(&["run", "-e", r#"scan "out/sales_by_region.parquet" | agg n = sum(orders), r = sum(revenue)"#]);
    let mut revenue = 0.0;
    for r in fixture("testdata/sales.csv") {
        revenue += num(&r["price"]) * num(&r["qty"]);
    }
    let r = &records(&back.stdout)[0];
    assert_eq!(r["n"], "20");
    close(num(&r["r"]), revenue);
}

#[test]
fn events_summary() {
    // click: 120, null, 200; view: 80, 95.
    let out = ok_args(&["run", "queries/events_summary.dq"]);
    assert_eq!(out, "event,events,timed,avg_ms,p50_ms\nclick,3,2,160.0,160.0\nview,2,2,87.5,87.5\n");
}

#[test]
fn long_comments() {
    let out = ok_args(&["run", "queries/long_comments.dq"]);
    let r = records(&out);
    assert_eq!(column(&out, "multiline"), vec!["false", "true", "false", "false"]);
    assert_eq!(r[1]["chars"], "10"); // "two\r\nlines"
    assert_eq!(r[2]["chars"], "25");
}

#[test]
fn compressed_sales() {
    // Orders 5..=10: product = [apple, pear, plum][i % 3], qty = i % 7 + 1.
    let mut acc: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for i in 5..=10u32 {
        let e = acc.entry(["apple", "pear", "plum"][(i % 3) as usize]).or_default();
        e.0 += 1;
        e.1 += i % 7 + 1;
    }
    let expected: String = acc.iter().map(|(p, (n, u))| format!("{p},{n},{u}\n")).collect();
    assert_eq!(ok_args(&["run", "queries/compressed_sales.dq"]), format!("product,orders,units\n{expected}"));
}

/// testdata/matrix.npy as the test knows it: c0 = 1..8, c1 = 2·c0, c2 = 100 + row % 3.
fn matrix() -> Vec<[f64; 3]> {
    (0..8).map(|r| [r as f64 + 1.0, 2.0 * (r as f64 + 1.0), 100.0 + (r % 3) as f64]).collect()
}

/// Population mean and standard deviation of column `c` of [`matrix`].
fn mean_std_pop(c: usize) -> (f64, f64) {
    let m = matrix();
    let mean = m.iter().map(|r| r[c]).sum::<f64>() / 8.0;
    let var = m.iter().map(|r| (r[c] - mean) * (r[c] - mean)).sum::<f64>() / 8.0;
    (mean, var.sqrt())
}

#[test]
fn array_column_stats() {
    let out = ok_args(&["run", "queries/array_column_stats.dq"]);
    let rows = csv(&out);
    assert_eq!(rows[0], ["stat", "c0", "c1", "c2"]);
    assert_eq!((rows[1][0].as_str(), rows[2][0].as_str()), ("mean", "std_pop"));
    for c in 0..3 {
        let (mean, std) = mean_std_pop(c);
        close(num(&rows[1][c + 1]), mean);
        close(num(&rows[2][c + 1]), std);
    }
}

#[test]
fn array_standardize() {
    let out = ok_args(&["run", "queries/array_standardize.dq"]);
    let rows = csv(&out);
    assert_eq!(rows.len(), 9);
    for (r, values) in matrix().iter().enumerate() {
        for (c, v) in values.iter().enumerate() {
            let (mean, std) = mean_std_pop(c);
            close(num(&rows[r + 1][c]), (v - mean) / std);
        }
    }
}
