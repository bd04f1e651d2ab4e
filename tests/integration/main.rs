//! One integration-test binary: every test runs the built `dq` and checks
//! its output against hand-computed values or a second, independent
//! computation in the test itself.

mod arrays;
mod asof;
#[cfg(feature = "cluster")]
mod cluster;
mod differential;
mod docs;
mod errors;
mod expressions;
mod formats;
mod fuzz;
mod group_by;
mod language;
mod library;
mod memory;
mod nested;
mod partitions;
mod profile;
mod progress;
mod queries;
mod regressions;
mod reshape;
mod shell;
mod util;
mod verbs;
mod windows;
