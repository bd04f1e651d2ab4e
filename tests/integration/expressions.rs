//! Expression semantics, each checked against values worked out by hand.

use crate::util::*;

/// Evaluates `derive` expressions over a one-row input and returns the CSV.
fn eval(exprs: &str) -> String {
    let t = Tmp::new();
    let f = t.file("one.csv", "i,j,f,s,d,n\n7,2,-2.5,Hello World,2024-03-15,\n");
    ok(&format!(r#"scan "{f}" (schema=(n: int)) | select {exprs}"#))
}

#[test]
fn arithmetic() {
    assert_eq!(
        eval("a = i + j, b = i - j, c = i * j, d = i / j, e = i // j, m = i % j"),
        "a,b,c,d,e,m\n9,5,14,3.5,3,1\n"
    );
    // `/` is always float division; `//` floors towards minus infinity.
    assert_eq!(eval("a = -7 // 2, b = 1 / 4, c = f * 2"), "a,b,c\n-4,0.25,-5.0\n");
    // A zero divisor gives null, for every division operator.
    assert_eq!(eval("a = i / 0, b = i // 0, c = i % 0"), "a,b,c\n,,\n");
}

#[test]
fn comparisons_and_null_logic() {
    assert_eq!(
        eval("a = i > j, b = s == \"Hello World\", c = n > 1, d = n is null, e = i is not null"),
        "a,b,c,d,e\ntrue,true,,true,true\n"
    );
    // SQL three-valued logic: false and null = false, true or null = true.
    assert_eq!(eval("a = (n > 1) and false, b = (n > 1) or true, c = (n > 1) and true"), "a,b,c\nfalse,true,\n");
    assert_eq!(
        eval("a = i in [1, 7], b = i not in [1, 7], c = n in [1], d = i between 7 and 9, e = i not between 1 and 3"),
        "a,b,c,d,e\ntrue,false,,true,true\n"
    );
}

#[test]
fn filter_drops_rows_whose_condition_is_null() {
    let out = ok(r#"scan "testdata/nulls.csv" | filter v != 3 | select k, v"#);
    assert_eq!(out, "k,v\na,1\n,5\n");
}

#[test]
fn conditionals_and_casts() {
    assert_eq!(eval("a = if(i > 5, \"big\", \"small\"), b = coalesce(n, j, 0), c = cast(i, float), d = cast(s, int), e = cast(\"42\", int)"), "a,b,c,d,e\nbig,2,7.0,,42\n");
}

#[test]
fn math_functions() {
    let out = eval(
        "a = abs(f), b = round(f * 1.234, 2), c = floor(f), d = ceil(f), e = sqrt(16), g = log(exp(2)), h = pow(2, 10)",
    );
    let r = &records(&out)[0];
    close(num(&r["a"]), 2.5);
    close(num(&r["b"]), -3.09); // -3.085 rounds half away from zero
    close(num(&r["c"]), -3.0);
    close(num(&r["d"]), -2.0);
    close(num(&r["e"]), 4.0);
    close(num(&r["g"]), 2.0);
    close(num(&r["h"]), 1024.0);
}

#[test]
fn string_functions() {
    assert_eq!(
        eval("a = lower(s), b = upper(s), c = len(s), d = contains(s, \"lo W\"), e = starts_with(s, \"He\"), g = ends_with(s, \"x\")"),
        "a,b,c,d,e,g\nhello world,HELLO WORLD,11,true,true,false\n"
    );
    assert_eq!(
        eval("a = replace(s, \"o\", \"0\"), b = substr(s, 1, 5), c = substr(s, 7), d = trim(\"  x \"), e = regex_match(s, \"^H.*d$\")"),
        "a,b,c,d,e\nHell0 W0rld,Hello,World,x,true\n"
    );
    // Literal, not regex: a dot only matches a dot.
    assert_eq!(eval("a = contains(s, \".\"), b = regex_match(s, \".\")"), "a,b\nfalse,true\n");
}

#[test]
fn date_functions_and_literals() {
    assert_eq!(
        eval("y = year(d), m = month(d), dd = day(d), later = d > date(\"2024-01-01\"), same = d == \"2024-03-15\""),
        "y,m,dd,later,same\n2024,3,15,true,true\n"
    );
    assert_eq!(
        eval("p = to_date(\"15/03/2024\", \"%d/%m/%Y\") == d, bad = to_date(\"nope\", \"%Y\")"),
        "p,bad\ntrue,\n"
    );
}

#[test]
fn constant_folding_keeps_results() {
    let t = Tmp::new();
    let f = t.file("x.csv", "x\n1\n5\n11\n");
    assert_eq!(ok(&format!(r#"scan "{f}" | filter x > 2 + 2 * 1 and true"#)), "x\n5\n11\n");
    let plan = ok_args(&["explain", "-e", &format!(r#"scan "{f}" | filter x > 2 + 2 * 1 and true"#)]);
    assert!(plan.contains("filters=[(x > 4)]"), "{plan}");
}
