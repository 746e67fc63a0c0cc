//! Table tests for every module, named by what they check.

mod aggregation;
mod bootstrap;
mod escalation;
mod matching;
mod policy;
mod reconcile;
mod scale;
