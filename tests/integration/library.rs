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
    let graph = dq::graph::build(&plan);
    let (frames, stats) = dq::exec::execute(&graph, &dq::exec::ExecConfig::default()).unwrap();
    let df = dq::ops::concat(frames).unwrap();
    assert_eq!(df.height(), 4);
    assert_eq!(df.column("n").unwrap().i64().unwrap().into_iter().flatten().sum::<i64>(), 20);
    assert_eq!(stats.stages.len(), graph.stages.len());
}
