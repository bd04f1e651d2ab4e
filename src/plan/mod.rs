//! `plan`: names and types resolved, the logical plan built and optimized.
//!
//! Input: a [`crate::lang::ast::Program`]. Output: a [`Query`] holding a
//! [`LogicalPlan`]. Sources are opened here (to learn their schemas), but
//! nothing is executed.
//!
//! * [`builder`] — AST → plan, with type checking and "did you mean".
//! * [`optimize`] — the rewrite rules, one per file, in a documented order.

pub mod builder;
mod error;
pub mod expr;
mod functions;
pub mod logical;
pub mod optimize;
pub mod sources;
pub mod types;

pub use builder::{build, build_with, scan_options_from_text, FirstPass, Query, WriteSpec};
pub use error::{close_matches, Error};
pub use functions::format_pieces;
pub use logical::LogicalPlan;
pub use sources::{ScanSpec, SourceId, Sources};
