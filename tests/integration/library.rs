//! The library API that `dq run` is built from, used directly.

use crate::util::root;

#[test]
fn parse_plan_optimize_build_execute() {
    std::env::set_current_dir(root()).unwrap();
    let src = r#"scan "testdata/sales.csv" | agg n = count() by region | sort region"#;
    let program = dq::lang::parse(src).unwrap();
    let query = dq::plan::build(&program, src).unwrap();
    let (plan, rules) = dq::plan::optimize::optimize(query.plan);
    assert!(rules.contains(&"projection_pushdown"));
    let graph = dq::graph::build(&plan, &query.sources);
    let (frames, stats) = dq::exec::execute(&graph, &dq::exec::ExecConfig::default()).unwrap();
    let df = dq::ops::concat(frames).unwrap();
    assert_eq!(df.height(), 4);
    assert_eq!(df.column("n").unwrap().i64().unwrap().into_iter().flatten().sum::<i64>(), 20);
    assert_eq!(stats.stages.len(), graph.stages.len());
}

#[test]
fn compile_and_execute_locally() {
    // The one entry that compiles a program and the seam that runs it.
    std::env::set_current_dir(root()).unwrap();
    let src = r#"scan "testdata/sales.csv" | agg n = count() by region | sort region"#;
    let compiled = dq::pipeline::compile(src).unwrap();
    assert!(compiled.rules.contains(&"projection_pushdown"));
    let dq::plan::LogicalPlan::Sort { input, .. } = &compiled.optimized else {
        panic!("{}", compiled.optimized.display_tree())
    };
    let dq::plan::LogicalPlan::Aggregate { input, .. } = input.as_ref() else { panic!("no aggregate") };
    let dq::plan::LogicalPlan::Scan(scan) = input.as_ref() else { panic!("no scan") };
    // The plan names the files it reads, absolutely; the opened source is beside it.
    assert_eq!(scan.spec.files.len(), 1);
    assert!(scan.spec.files[0].path.is_absolute(), "{:?}", scan.spec.files[0].path);
    assert!(scan.spec.files[0].path.ends_with("testdata/sales.csv"));
    assert_eq!(scan.spec.format, dq::io::Format::Csv);
    assert_eq!(compiled.sources.get(&scan.spec).pattern, "testdata/sales.csv");
    let backend = dq::pipeline::Backend::Local(dq::exec::ExecConfig::default());
    let (frames, _) = dq::pipeline::execute(&compiled, &backend, None).unwrap();
    let df = dq::ops::concat(frames).unwrap();
    let regions: Vec<&str> = df.column("region").unwrap().str().unwrap().into_iter().flatten().collect();
    assert_eq!(regions, ["east", "north", "south", "west"]);
    assert_eq!(df.column("n").unwrap().i64().unwrap().into_iter().flatten().sum::<i64>(), 20);
}
