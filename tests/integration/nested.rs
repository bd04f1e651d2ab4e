//! Nested NDJSON: struct fields (`a.b`), list items (`x[i]`), `len`,
//! `split`, `flatten` and `explode` of lists, and the refusal to write
//! nested values as CSV before anything runs. Expected values are read off
//! `testdata/orders.ndjson` by hand.

use crate::util::*;

const ORDERS: &str = "testdata/orders.ndjson";

#[test]
fn struct_fields_and_list_items_by_hand() {
    assert_eq!(
        ok(&format!(
            r#"scan "{ORDERS}" | select id, name = customer.name, city = customer.city, first = items[0], last = items[-1], past = items[5], n = len(items)"#
        )),
        // Order 3's customer is null, so are its fields; its list is empty.
        // Order 4 has no city; its list is null.
        "id,name,city,first,last,past,n\n1,Ana,Lisbon,tea,cake,,2\n2,Ben,,coffee,coffee,,1\n3,,,,,,0\n4,Dee,,,,,\n"
    );
}

#[test]
fn flatten_and_explode_keep_every_row() {
    assert_eq!(
        ok(&format!(r#"scan "{ORDERS}" | flatten customer | explode items | filter customer.name != "Ben""#)),
        "id,customer.name,customer.city,items\n1,Ana,Lisbon,tea\n1,Ana,Lisbon,cake\n4,Dee,,\n"
    );
    // An empty and a null list each give one row with a null item.
    assert_eq!(ok(&format!(r#"scan "{ORDERS}" | explode items | count"#)), "count\n5\n");
    assert_eq!(
        ok(
            r#"scan "testdata/nulls.csv" | head 2 | select k, parts = split("a-b-c", "-") | explode parts | agg n = count() by k"#
        ),
        "k,n\na,6\n"
    );
}

#[test]
fn schema_shows_nested_types() {
    let out = ok_args(&["schema", ORDERS]);
    assert!(out.contains("customer,\"struct{name: str, city: str}\""), "{out}");
    assert!(out.contains("items,list[str]"), "{out}");
}

#[test]
fn nested_values_are_refused_as_csv_before_the_run_and_written_as_ndjson() {
    let o = run(&["run", "-e", &format!(r#"scan "{ORDERS}""#)]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("column `customer` is struct{name: str, city: str}"), "{}", o.stderr);
    assert!(o.stderr.contains("flatten customer"), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "nothing is written: {}", o.stdout);
    let t = Tmp::new();
    let out = t.path("out.csv");
    let o = run(&[
        "run",
        "-e",
        &format!(r#"scan "{}" | select items"#, root().join(ORDERS).display()),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("explode items"), "{}", o.stderr);
    assert!(!out.exists(), "no file is left behind");
    let json = ok_args(&["run", "-e", &format!(r#"scan "{ORDERS}" | filter id == 1"#), "--format", "ndjson"]);
    assert_eq!(json, "{\"id\":1,\"customer\":{\"name\":\"Ana\",\"city\":\"Lisbon\"},\"items\":[\"tea\",\"cake\"]}\n");
}

#[test]
fn bad_nested_access_is_a_located_error() {
    fails(&["run", "-e", &format!(r#"scan "{ORDERS}" | select customer.nam"#)], 2, "its fields are: name, city");
    fails(&["run", "-e", &format!(r#"scan "{ORDERS}" | select id.x"#)], 2, "needs a struct");
    fails(&["run", "-e", &format!(r#"scan "{ORDERS}" | select id[0]"#)], 2, "needs a list");
    fails(&["run", "-e", &format!(r#"scan "{ORDERS}" | flatten id"#)], 2, "not a struct");
    fails(&["run", "-e", &format!(r#"scan "{ORDERS}" | explode items on ",""#)], 2, "without `on`");
}
